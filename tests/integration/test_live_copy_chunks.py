"""live_copy of big tables in primary-key range chunks, on the lab: equal contents, snapshot kept across
chunks, and a run killed mid-table (SIGKILL of the console command) resumed without a duplicate."""
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from test_live_copy import params_for, run_live_copy

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIG_ROWS = 400_000
CHUNK_ROWS = 8_000


def _unique(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


def _fill(cur, db, rows):
    """big: int PK with gaps (id = 3n), text with tabs, NULLs; pair: composite (a int, b varchar) key."""
    cur.execute("CREATE TABLE `%s`.big (id int PRIMARY KEY, payload varchar(200), n bigint NULL)" % db)
    cur.execute("INSERT INTO `%s`.big SELECT seq * 3, CONCAT(REPEAT(MD5(seq), 3), '\\t', seq),"
                " IF(seq %% 7 = 0, NULL, seq * 11) FROM `%s`.seq_1_to_%d" % (db, db, rows))
    cur.execute("CREATE TABLE `%s`.pair (a int, b varchar(8), v int, PRIMARY KEY (a, b))" % db)
    cur.execute("INSERT INTO `%s`.pair SELECT seq DIV 2, IF(seq %% 2, 'x', 'y'), seq"
                " FROM `%s`.seq_1_to_40000" % (db, db))
    cur.execute("ANALYZE TABLE `%s`.big, `%s`.pair" % (db, db))
    cur.fetchall()


@pytest.fixture(scope="module")
def big_source(mysql_connect):
    db = _unique("lc_big")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        _fill(cur, db, BIG_ROWS)
    yield db, conn
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


def _mysql_rows(conn, db, table, order):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM `%s`.`%s` ORDER BY %s" % (db, table, order))
        return [tuple(r) for r in cur.fetchall()]


def _pg_rows(pg, db, table, order):
    with pg.cursor() as cur:
        cur.execute('SELECT * FROM "%s"."%s" ORDER BY %s' % (db, table, order))
        return [tuple(r) for r in cur.fetchall()]


def _chunks(pg, db, table):
    with pg.cursor() as cur:
        cur.execute("SELECT to_regclass('pgshift_state.loaded_chunks') IS NOT NULL")
        if not cur.fetchone()[0]:
            return 0
        cur.execute("SELECT count(*) FROM pgshift_state.loaded_chunks WHERE schema_name = %s"
                    " AND table_name = %s", (db, table))
        return cur.fetchone()[0]


def test_chunked_copy_equals_source(lab, big_source, pg_db, pg_connect, tmp_path):
    db, conn = big_source
    result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", chunk_rows=CHUNK_ROWS)
    big, pair = result["tables"]["%s.big" % db], result["tables"]["%s.pair" % db]
    assert big["rows"] == BIG_ROWS and big["chunks"] >= BIG_ROWS // CHUNK_ROWS // 2, big
    assert pair["rows"] == 40_000 and pair["chunks"] > 1, pair
    pg = pg_connect(pg_db)
    try:
        assert _pg_rows(pg, db, "big", "id") == _mysql_rows(conn, db, "big", "id")
        assert _pg_rows(pg, db, "pair", "a, b") == _mysql_rows(conn, db, "pair", "a, b")
        assert _chunks(pg, db, "big") == big["chunks"]
        with pg.cursor() as cur:   # post-data ran on the whole table: the primary key exists
            cur.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid = %s::regclass",
                        ('"%s".big' % db,))
            assert cur.fetchone()[0] == 1
    finally:
        pg.close()
    again = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", chunk_rows=CHUNK_ROWS)
    assert not again["changed"] and again["tables"]["%s.big" % db]["action"] == "skip"


def test_chunk_rows_zero_copies_whole(lab, big_source, pg_db, tmp_path):
    db, _ = big_source
    result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", chunk_rows=0,
                           include_tables=["pair"])
    assert "chunks" not in result["tables"]["%s.pair" % db] and result["rows"] == 40_000


def test_snapshot_holds_across_chunks(lab, mysql_connect, pg_db, pg_connect, tmp_path):
    db = _unique("lc_snap")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        _fill(cur, db, 60_000)
    before = _mysql_rows(conn, db, "big", "id")

    def after_snapshot(binlog):   # writes in the first, a middle and past the last chunk
        with conn.cursor() as cur:
            cur.execute("DELETE FROM `%s`.big WHERE id IN (3, 90000)" % db)
            cur.execute("UPDATE `%s`.big SET payload = 'late' WHERE id = 150000" % db)
            cur.execute("INSERT INTO `%s`.big VALUES (90001, 'late', 1), (999999, 'late', 2)" % db)

    try:
        result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", chunk_rows=5_000,
                               include_tables=["big"], hooks={"after_snapshot": after_snapshot})
        assert result["tables"]["%s.big" % db]["chunks"] > 5
        pg = pg_connect(pg_db)
        assert _pg_rows(pg, db, "big", "id") == before
        pg.close()
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
        conn.close()


def _cli(lab, pg_db, db, dest):
    return [sys.executable, os.path.join(ROOT, "bin", "pgshift"), "live-copy", "--databases", db,
            "--dest", str(dest), "--mysql-defaults-file", lab["mysql"]["defaults_file"],
            "--pg-host", lab["postgresql"]["host"], "--pg-port", str(lab["postgresql"]["port"]),
            "--pg-user", lab["postgresql"]["user"], "--pg-passfile", lab["postgresql"]["passfile"],
            "--pg-database", pg_db, "--jobs", "2", "--chunk-rows", str(CHUNK_ROWS),
            "--include", "big"]


def test_killed_mid_table_resumes_without_duplicates(lab, big_source, pg_db, pg_connect, tmp_path):
    db, conn = big_source
    dest = tmp_path / "d"
    proc = subprocess.Popen(_cli(lab, pg_db, db, dest), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pg = pg_connect(pg_db)
    pg.autocommit = True
    try:
        deadline = time.monotonic() + 60
        while _chunks(pg, db, "big") < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        done_at_kill = _chunks(pg, db, "big")
        total = -(-BIG_ROWS // CHUNK_ROWS)
        assert 3 <= done_at_kill < total, "the kill must land mid-table (%d chunks)" % done_at_kill
        with pg.cursor() as cur:
            cur.execute("SELECT count(*) FROM pgshift_state.loaded_tables WHERE table_name = 'big'")
            assert cur.fetchone()[0] == 0
        rerun = subprocess.run(_cli(lab, pg_db, db, dest), check=False, capture_output=True, text=True,
                               timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:] + rerun.stdout[-2000:]
        with pg.cursor() as cur:
            cur.execute('SELECT count(*), count(DISTINCT id) FROM "%s".big' % db)
            assert cur.fetchone() == (BIG_ROWS, BIG_ROWS)
        assert _pg_rows(pg, db, "big", "id") == _mysql_rows(conn, db, "big", "id")
        assert _chunks(pg, db, "big") >= done_at_kill
    finally:
        if proc.poll() is None:
            proc.kill()
        pg.close()
