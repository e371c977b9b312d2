"""The pipelined dump -> PostgreSQL path (pgload_pipeline.migrate_dump, `bin/pgshift migrate-dump`)
against the lab: sakila and world equal MariaDB row for row; a dump cut mid-INSERT fails clearly and
leaves only whole tables recorded; a run killed mid-way resumes to exact counts.
"""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.pipeline import migrate_dump
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import TransformOptions
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from test_pg_load_e2e import ROOT, _dump, _manifest, _rows, _sample_source, compare_table

pytestmark = pytest.mark.integration


def _params(lab, pg_db):
    p = lab["postgresql"]
    return {"pg_host": p["host"], "pg_port": p["port"], "pg_user": p["user"], "pg_passfile": p["passfile"],
            "pg_database": pg_db}


def _new_pg_db(pg_connect, made):
    name = "t_pipe_%s" % uuid.uuid4().hex[:10]
    conn = pg_connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    conn.close()
    made.append(name)
    return name


@pytest.fixture(scope="module")
def pipelined(lab, shared_data, mysql_connect, pg_connect, tmp_path_factory):
    """{name: (mysql_db, pg_db, dump path, migration dir, result)} for world and sakila."""
    my = mysql_connect()
    made_my, made_pg, out = [], [], {}
    try:
        for name in ("world", "sakila"):
            my_db = _sample_source(my, shared_data, name, made_my)
            work = tmp_path_factory.mktemp(name)
            dump = str(work / "dump.sql")
            _dump(my_db, dump)
            pg_db = _new_pg_db(pg_connect, made_pg)
            dest = str(work / "mig")
            result = migrate_dump(_params(lab, pg_db), TransformOptions(src=dump, dest=dest,
                                                                        schema_map={my_db: name}, jobs=2))
            out[name] = (my_db, pg_db, dump, dest, result)
        yield out
    finally:
        with my.cursor() as cur:
            for db in made_my:
                cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
        my.close()
        pg = pg_connect()
        pg.autocommit = True
        with pg.cursor() as cur:
            for db in made_pg:
                cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)
        pg.close()


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_pipeline_equals_mariadb_row_for_row(pipelined, mysql_connect, pg_connect, name):
    my_db, pg_db, _dump_path, dest, result = pipelined[name]
    manifest = _manifest(dest)
    assert manifest["complete"] and manifest["load_identity"] == result["manifest_id"]
    assert manifest["source"]["server_version"].startswith("10.11")
    assert {t["action"] for t in result["load"]["tables"].values()} == {"create"}
    assert result["rows"] == {"world": 5302, "sakila": 47273}[name]
    for entry in manifest["tables"]:
        compare_table(mysql_connect, pg_connect, my_db, pg_db, entry)
    pg = pg_connect(pg_db)
    constraints = dict(_rows(pg, "SELECT conname, convalidated FROM pg_constraint"
                                 " WHERE connamespace = '%s'::regnamespace" % name))
    pg.close()
    for entry in manifest["tables"]:
        for item in entry["post_data"]:
            if item["kind"] in ("primary_key", "foreign_key"):
                assert constraints.get(item["name"]) is True, item


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_rerun_changes_nothing(pipelined, lab, name):
    my_db, pg_db, dump, dest, first = pipelined[name]
    again = migrate_dump(_params(lab, pg_db), TransformOptions(src=dump, dest=dest, schema_map={my_db: name}))
    assert again["changed"] is False and again["manifest_id"] == first["manifest_id"]
    assert {t["action"] for t in again["load"]["tables"].values()} == {"skip"}


def _recorded(pg_connect, pg_db, identity):
    pg = pg_connect(pg_db)
    try:
        return {"%s.%s" % (s, t): r for s, t, r in _rows(
            pg, "SELECT schema_name, table_name, rows FROM pgshift_state.loaded_tables"
                " WHERE manifest_id = '%s'" % identity)}
    finally:
        pg.close()


def test_truncated_dump_fails_and_leaves_only_whole_tables(pipelined, lab, pg_connect, mysql_connect,
                                                           tmp_path):
    my_db, _, dump, _, _ = pipelined["sakila"]
    with open(dump, "rb") as f:
        data = f.read()
    cut_at = data.index(b"INSERT INTO `payment`") + 5000       # mid-INSERT of a big table
    cut = tmp_path / "cut.sql"
    cut.write_bytes(data[:cut_at])
    pg_db = _new_pg_db(pg_connect, [])
    dest = str(tmp_path / "mig")
    try:
        with pytest.raises(MigrationError, match=r"(?i)byte offset|truncated|end of"):
            migrate_dump(_params(lab, pg_db), TransformOptions(src=str(cut), dest=dest,
                                                               schema_map={my_db: "sakila"}, jobs=2))
        manifest = _manifest(dest)
        assert manifest["complete"] is False
        recorded = _recorded(pg_connect, pg_db, manifest["load_identity"])
        assert "sakila.payment" not in recorded
        before = {m.decode() for m in __import__("re").findall(rb"INSERT INTO `(\w+)`", data[:cut_at])}
        assert set(k.split(".")[1] for k in recorded) <= before - {"payment"}
        my = mysql_connect(my_db)
        pg = pg_connect(pg_db)
        for key, rows in recorded.items():       # a recorded table is whole
            [(my_count,)] = _rows(my, "SELECT count(*) FROM `%s`" % key.split(".")[1])
            [(pg_count,)] = _rows(pg, 'SELECT count(*) FROM sakila."%s"' % key.split(".")[1])
            assert my_count == pg_count == rows
        assert _rows(pg, "SELECT to_regclass('sakila.payment')")[0][0] is None
        my.close()
        pg.close()
    finally:
        _drop_pg(pg_connect, pg_db)


def _drop_pg(pg_connect, name):
    pg = pg_connect()
    pg.autocommit = True
    with pg.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    pg.close()


def _synthetic_dump(path, big_rows):
    """small `a`, a big `b` (many INSERTs), small `c`: a kill lands while `b` is converted/loaded."""
    with open(path, "wb") as f:
        f.write(b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n-- Host: h    Database: kdb\n"
                b"-- Server version\t10.11.6-MariaDB\n/*!40101 SET NAMES utf8mb4 */;\n")
        for name, rows in (("a", 1000), ("b", big_rows), ("c", 1000)):
            f.write(b"DROP TABLE IF EXISTS `%s`;\nCREATE TABLE `%s` (\n  `id` int NOT NULL,\n"
                    b"  `s` varchar(100) DEFAULT NULL,\n  `d` datetime DEFAULT NULL,\n  PRIMARY KEY (`id`)\n"
                    b") ENGINE=InnoDB;\nLOCK TABLES `%s` WRITE;\n" % ((name.encode(),) * 3))
            for start in range(1, rows + 1, 5000):
                tuples = b",".join(b"(%d,'row %d, it''s (x)','2020-01-02 03:04:05')" % (i, i)
                                   for i in range(start, min(start + 5000, rows + 1)))
                f.write(b"INSERT INTO `%s` VALUES %s;\n" % (name.encode(), tuples))
            f.write(b"UNLOCK TABLES;\n")
        f.write(b"-- Dump completed on 2026-11-22  3:24:23\n")


def test_kill_then_rerun_gives_exact_counts(lab, pg_connect, tmp_path):
    dump, dest = str(tmp_path / "k.sql"), str(tmp_path / "mig")
    big = 600_000
    _synthetic_dump(dump, big)
    pg_db = _new_pg_db(pg_connect, [])
    p = lab["postgresql"]
    argv = [os.path.join(ROOT, "bin", "pgshift"), "migrate-dump", dump, dest, "--pg-host", p["host"],
            "--pg-port", str(p["port"]), "--pg-user", p["user"], "--pg-passfile", p["passfile"],
            "--pg-database", pg_db, "--jobs", "1"]
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        recorded = {}
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                recorded = _recorded(pg_connect, pg_db, _manifest(dest).get("load_identity"))
            except Exception:  # noqa: BLE001 - state table or manifest not there yet
                recorded = {}
            if recorded:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed: %s" % proc.stderr.read()[-500:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert "kdb.a" in recorded and "kdb.b" not in recorded
        rerun = subprocess.run(argv, capture_output=True, check=False)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        result = json.loads(rerun.stdout)
        assert result["load"]["tables"]["kdb.a"]["action"] == "skip"
        assert result["load"]["tables"]["kdb.b"]["action"] in ("create", "truncate")
        pg = pg_connect(pg_db)
        counts = {t: _rows(pg, "SELECT count(*), count(DISTINCT id) FROM kdb.%s" % t)[0] for t in "abc"}
        pg.close()
        assert counts == {"a": (1000, 1000), "b": (big, big), "c": (1000, 1000)}
        assert _manifest(dest)["complete"] is True
    finally:
        _drop_pg(pg_connect, pg_db)


PLAYBOOK = """
- name: dump_load through Ansible
  hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: Dump into PostgreSQL, pipelined
      pgshift.mysql.dump_load:
        src: "%(src)s"
        dest: "%(dest)s"
        pg_host: "%(host)s"
        pg_port: %(port)d
        pg_user: "%(user)s"
        pg_password: "{{ lab_pg_password }}"
        pg_database: "%(db)s"
      register: first

    - name: Again
      pgshift.mysql.dump_load:
        src: "%(src)s"
        dest: "%(dest)s"
        pg_host: "%(host)s"
        pg_port: %(port)d
        pg_user: "%(user)s"
        pg_password: "{{ lab_pg_password }}"
        pg_database: "%(db)s"
      register: second

    - name: The first run loaded, the second changed nothing
      ansible.builtin.assert:
        that:
          - first is changed
          - first.load.tables['kdb.b'].rows == 3000
          - second is not changed
"""


def test_dump_load_module(tmp_path, lab, pg_connect, pg_db):
    dump = str(tmp_path / "k.sql")
    _synthetic_dump(dump, 3000)
    p = lab["postgresql"]
    (tmp_path / "secrets.yml").write_text("lab_pg_password: %s\n" % json.dumps(p["password"]))
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"src": dump, "dest": str(tmp_path / "mig"),
                                                   "host": p["host"], "port": p["port"], "user": p["user"],
                                                   "db": pg_db})
    venv_bin = os.path.join(ROOT, ".venv", "bin")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""))
    run = subprocess.run([os.path.join(venv_bin, "ansible-playbook"), "-vvv", str(tmp_path / "play.yml")],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "ok=3" in output and "changed=1" in output
    assert p["password"] not in output


def test_streamed_table_with_rows_postgresql_refuses(lab, pg_connect, tmp_path):
    """A row the transform passes but PostgreSQL refuses (30 February): the streamed COPY fails, the
    table is then loaded again from its whole file with the row diverted to rejects (max_rejects)."""
    dump = tmp_path / "r.sql"
    rows = b",".join(b"(%d,'2020-02-%02d')" % (i, 30 if i == 777 else 1 + i % 28) for i in range(1, 3001))
    dump.write_bytes(b"-- MariaDB dump 10.19\n-- Host: h    Database: rdb\n/*!40101 SET NAMES utf8mb4 */;\n"
                     b"CREATE TABLE `r` (\n  `id` int NOT NULL,\n  `d` date DEFAULT NULL,\n"
                     b"  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\nINSERT INTO `r` VALUES " + rows + b";\n"
                     b"-- Dump completed on 2026-11-22  3:24:23\n")
    made = []
    pg_db = _new_pg_db(pg_connect, made)
    try:
        with pytest.raises(MigrationError, match=r"rdb\.r.*line 777"):
            migrate_dump(_params(lab, pg_db),
                         TransformOptions(src=str(dump), dest=str(tmp_path / "a"), jobs=2))
        result = migrate_dump(_params(lab, pg_db), TransformOptions(src=str(dump), dest=str(tmp_path / "b"),
                                                                    jobs=2), max_rejects=5)
        table = result["load"]["tables"]["rdb.r"]
        assert (table["rows"], table["rejected"]) == (2999, 1)
        with open(table["reject_file"], "rb") as f:
            assert b"777\t2020-02-30" in f.read()
        pg = pg_connect(pg_db)
        assert _rows(pg, "SELECT count(*), min(id), max(id) FROM rdb.r") == [(2999, 1, 3000)]
        pg.close()
    finally:
        for name in made:
            _drop_pg(pg_connect, name)
