"""live_copy reruns (issue 15): a resumed table never mixes two snapshots and the manifest states the
binlog position each table's rows reflect; a rerun after writers says what differs; pgvector is
created in a fresh database, or its absence said in one line."""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from test_live_copy import params_for, run_live_copy

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCOUNTS, BALANCE, CHUNK_ROWS = 300_000, 1000, 8_000


def _unique(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


@pytest.fixture
def bank(mysql_connect):
    """acct: 300,000 accounts of 1000 (sum 300,000,000, kept by every transfer); meta: a small table."""
    db = _unique("lc_bank")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        cur.execute("CREATE TABLE `%s`.acct (id int PRIMARY KEY, balance bigint NOT NULL)" % db)
        cur.execute("INSERT INTO `%s`.acct SELECT seq, %d FROM `%s`.seq_1_to_%d"
                    % (db, BALANCE, db, ACCOUNTS))
        cur.execute("CREATE TABLE `%s`.meta (id int PRIMARY KEY, note varchar(20))" % db)
        cur.execute("INSERT INTO `%s`.meta VALUES (1, 'one'), (2, 'two')" % db)
    yield db, mysql_connect
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


class Transfers(threading.Thread):
    """Moves money between random accounts in single statements: the sum never changes."""

    def __init__(self, connect, db):
        super().__init__(daemon=True)
        self.conn, self.db, self.stop, self.count = connect(), db, threading.Event(), 0

    def run(self):
        rnd = random.Random(15)
        with self.conn.cursor() as cur:
            while not self.stop.is_set():
                a, b, x = rnd.randint(1, ACCOUNTS), rnd.randint(1, ACCOUNTS), rnd.randint(1, 50)
                if a == b:
                    continue
                cur.execute("UPDATE `%s`.acct SET balance = balance + IF(id = %d, -%d, %d)"
                            " WHERE id IN (%d, %d)" % (self.db, a, x, x, a, b))
                self.count += 1

    def finish(self):
        self.stop.set()
        self.join(30)
        self.conn.close()


def _cli(lab, pg_db, db, dest):
    p = lab["postgresql"]
    return [sys.executable, os.path.join(ROOT, "bin", "pgshift"), "live-copy", "--databases", db,
            "--dest", str(dest), "--mysql-defaults-file", lab["mysql"]["defaults_file"],
            "--pg-host", p["host"], "--pg-port", str(p["port"]), "--pg-user", p["user"],
            "--pg-passfile", p["passfile"], "--pg-database", pg_db, "--jobs", "2",
            "--chunk-rows", str(CHUNK_ROWS)]


def _one(pg, sql, args=()):
    with pg.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def test_resume_under_writers_keeps_one_snapshot_per_table(lab, bank, pg_db, pg_connect, tmp_path):
    db, mysql_connect = bank
    dest = tmp_path / "d"
    writer = Transfers(mysql_connect, db)
    writer.start()
    pg = pg_connect(pg_db)
    pg.autocommit = True
    proc = subprocess.Popen(_cli(lab, pg_db, db, dest), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if _one(pg, "SELECT to_regclass('pgshift_state.loaded_chunks') IS NOT NULL")[0] and _one(
                    pg, "SELECT count(*) FROM pgshift_state.loaded_chunks WHERE table_name = 'acct'")[0] >= 4:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        done = _one(pg, "SELECT count(*) FROM pgshift_state.loaded_chunks WHERE table_name = 'acct'")[0]
        assert 4 <= done < ACCOUNTS // CHUNK_ROWS, "the kill must land mid-table (%d chunks)" % done
        time.sleep(0.5)   # the writers move the source on: the rerun's snapshot is another one
        rerun = subprocess.run(_cli(lab, pg_db, db, dest), check=False, capture_output=True, text=True,
                               timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:] + rerun.stdout[-2000:]
        report = json.loads(rerun.stdout)
    finally:
        writer.finish()
        if proc.poll() is None:
            proc.kill()
    assert writer.count > 0
    try:
        assert _one(pg, 'SELECT count(*), sum(balance) FROM "%s".acct' % db) == (ACCOUNTS, ACCOUNTS * BALANCE)
        assert any("acct: copied again whole" in w for w in report["warnings"]), report["warnings"]
        manifest = json.loads((dest / "manifest.json").read_text())
        positions = {t["name"]: t["binlog"] for t in manifest["tables"]}
        with pg.cursor() as cur:
            cur.execute("SELECT DISTINCT snapshot FROM pgshift_state.loaded_chunks WHERE table_name = 'acct'")
            chunk_snapshots = [json.loads(r[0]) for r in cur.fetchall()]
            cur.execute("SELECT table_name, snapshot FROM pgshift_state.loaded_tables WHERE schema_name = %s",
                        (db,))
            recorded = {t: json.loads(s) for t, s in cur.fetchall()}
        # every chunk of acct from the one snapshot its manifest entry names, the rerun's
        assert chunk_snapshots == [recorded["acct"]] == [positions["acct"]]
        assert positions["acct"] == {k: report["snapshot"]["binlog"][k] for k in ("file", "position", "gtid")}
        assert positions["meta"] == recorded["meta"]
        # a catch-up replays from the earliest table's position (meta may be from the first run)
        earliest = min(positions.values(), key=lambda b: (b["file"], b["position"]))
        assert manifest["source"]["binlog"] == earliest
    finally:
        pg.close()


@pytest.fixture
def shop(mysql_connect):
    db = _unique("lc_rerun")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        cur.execute("CREATE TABLE `%s`.orders (id int AUTO_INCREMENT PRIMARY KEY, total int)" % db)
        cur.execute("INSERT INTO `%s`.orders (total) VALUES (10), (20)" % db)
    yield db, conn
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


def test_rerun_after_inserts_and_after_a_ddl_change(lab, shop, pg_db, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    db, conn = shop
    first = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d")
    with conn.cursor() as cur:   # INSERT writers move AUTO_INCREMENT: still the same plan
        cur.execute("INSERT INTO `%s`.orders (total) VALUES (30), (40)" % db)
    again = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d")
    assert again["manifest_id"] == first["manifest_id"] and not again["changed"]
    assert any("earlier live_copy run" in w for w in again["warnings"]), again["warnings"]
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["tables"][0]["binlog"] == first["binlog"] == manifest["source"]["binlog"]
    with conn.cursor() as cur:   # a real plan change: said, with what to do
        cur.execute("ALTER TABLE `%s`.orders ADD COLUMN note varchar(10)" % db)
    with pytest.raises(MigrationError) as err:
        run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d")
    msg = str(err.value)
    assert "%s.orders" % db in msg and "column note added" in msg and "if_exists: truncate" in msg, msg
    assert "\n" not in msg


EMBEDDINGS = [{"table": "doc", "column": "emb", "dimensions": 3, "type": "vector", "format": "json_array"}]


@pytest.fixture
def embedded(mysql_connect):
    db = _unique("lc_vec")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        cur.execute("CREATE TABLE `%s`.doc (id int PRIMARY KEY, emb longtext)" % db)
        cur.execute("INSERT INTO `%s`.doc VALUES (1, '[1, 2, 3]'), (2, '[0.5, -1, 2]')" % db)
    yield db
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


@pytest.fixture
def bare_pg(pg_connect):
    """A database without pgvector (template0: the lab's template1 has it), owned by a plain role."""
    name, role, password = _unique("t_bare"), _unique("r_plain"), uuid.uuid4().hex
    admin = pg_connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE ROLE %s LOGIN PASSWORD %%s" % role, (password,))
        cur.execute('CREATE DATABASE "%s" TEMPLATE template0 OWNER %s' % (name, role))
    yield name, role, password
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        cur.execute("DROP ROLE IF EXISTS %s" % role)
    admin.close()


def test_pgvector_missing_for_a_plain_user_is_one_line(lab, embedded, bare_pg, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    name, role, password = bare_pg
    params = params_for(lab, name, pg_user=role, pg_password=password, pg_passfile=None)
    with pytest.raises(MigrationError) as err:
        run_live_copy(params, [embedded], tmp_path / "d", embeddings=EMBEDDINGS)
    msg = str(err.value)
    assert "vector" in msg and role in msg and "CREATE EXTENSION vector" in msg and "\n" not in msg, msg


def test_pgvector_created_in_a_fresh_database(lab, embedded, bare_pg, pg_connect, tmp_path):
    name, _, _ = bare_pg
    result = run_live_copy(params_for(lab, name), [embedded], tmp_path / "d", embeddings=EMBEDDINGS)
    assert result["rows"] == 2
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in (tmp_path / "d" / "pre-data.sql").read_text()
    pg = pg_connect(name)
    assert _one(pg, 'SELECT emb::text FROM "%s".doc WHERE id = 2' % embedded) == ("[0.5,-1,2]",)
    pg.close()
