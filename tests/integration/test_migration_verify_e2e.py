"""End to end: sakila and world into MariaDB, mariadb-dump, transform, pg_load; then migration_verify
passes on every table and sequence_reset puts every identity at MariaDB's AUTO_INCREMENT."""
import os
import re
import subprocess
import uuid

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.pgload import load
from ansible_collections.pgshift.mysql.plugins.module_utils.sequences import load_manifest, reset_sequences
from ansible_collections.pgshift.mysql.plugins.module_utils.transform import TransformOptions, run_transform
from ansible_collections.pgshift.mysql.plugins.module_utils.verify import failure_message, verify

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MY_CNF = os.path.join(ROOT, ".lab", "my.cnf")


def _mariadb(database, path, rename=None):
    proc = subprocess.Popen(["mariadb", "--defaults-extra-file=" + MY_CNF, "--default-character-set=utf8mb4",
                             *([database] if database else [])],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(path, "rb") as f:
        for line in f:
            proc.stdin.write(re.sub(rb"\bsakila\b", rename.encode(), line) if rename else line)
    proc.stdin.close()
    err = proc.stderr.read()
    assert proc.wait() == 0, err.decode(errors="replace")


def _dump(database, path):
    with open(path, "wb") as out:
        run = subprocess.run(["mariadb-dump", "--defaults-extra-file=" + MY_CNF, "--single-transaction",
                              "--hex-blob", database], stdout=out, stderr=subprocess.PIPE, check=False)
    assert run.returncode == 0, run.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def migrated(lab, shared_data, mysql_connect, pg_connect, tmp_path_factory):
    my, pg = mysql_connect(), pg_connect()
    pg.autocommit = True
    made_my, made_pg, out = [], [], {}
    try:
        for name in ("world", "sakila"):
            my_db, pg_db = "t_%s_%s" % (name, uuid.uuid4().hex[:8]), "t_%s_%s" % (name, uuid.uuid4().hex[:8])
            made_my.append(my_db)
            with my.cursor() as cur:
                cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % my_db)
            if name == "world":
                _mariadb(my_db, os.path.join(shared_data, "world", "world-mariadb-mysqldump.sql"))
            else:
                for part in ("sakila-mv-schema.sql", "sakila-mv-data.sql"):
                    _mariadb(None, os.path.join(shared_data, "sakila", part), rename=my_db)
            work = tmp_path_factory.mktemp(name)
            _dump(my_db, str(work / "dump.sql"))
            dest = str(work / "mig")
            run_transform(TransformOptions(src=str(work / "dump.sql"), dest=dest, schema_map={my_db: name}))
            with pg.cursor() as cur:
                cur.execute('CREATE DATABASE "%s"' % pg_db)
            made_pg.append(pg_db)
            p = lab["postgresql"]
            params = {"pg_host": p["host"], "pg_port": p["port"], "pg_user": p["user"],
                      "pg_passfile": p["passfile"], "pg_database": pg_db}
            load(params, dest, jobs=2)
            out[name] = {"my_db": my_db, "pg_db": pg_db, "dest": dest, "pg": params,
                         "mysql": {"mysql_defaults_file": MY_CNF}}
        yield out
    finally:
        with my.cursor() as cur:
            for db in made_my:
                cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
        with pg.cursor() as cur:
            for db in made_pg:
                cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)
        my.close()
        pg.close()


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_verify_passes_after_transform_and_load(migrated, name):
    m = migrated[name]
    manifest = load_manifest(m["dest"])
    report = verify(m["mysql"], m["pg"], manifest, chunk_rows=1000)
    assert report["ok"], failure_message(report)
    assert set(report["tables"]) == {"%s.%s" % (t["schema"], t["name"]) for t in manifest["tables"]}
    assert report["rows"] == {"world": 5302, "sakila": 47273}[name]
    assert all(t["chunks_checked"] == t["chunks"] for t in report["tables"].values())


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_verify_catches_a_change_after_load(migrated, pg_connect, name):
    m = migrated[name]
    table, key, column = {"world": ("city", "ID", "Population"),
                          "sakila": ("payment", "payment_id", "amount")}[name]
    pg = pg_connect(m["pg_db"])
    with pg, pg.cursor() as cur:
        cur.execute('UPDATE %s.%s SET "%s" = "%s" + 1 WHERE "%s" = 1234' % (name, table, column, column, key))
    try:
        report = verify(m["mysql"], m["pg"], load_manifest(m["dest"]), tables=[table], chunk_rows=1000)
        diffs = report["tables"]["%s.%s" % (name, table)]["differences"]
        assert [d["key"] for d in diffs] == [{key: 1234}] and column in diffs[0]["columns"]
    finally:
        with pg, pg.cursor() as cur:
            cur.execute('UPDATE %s.%s SET "%s" = "%s" - 1 WHERE "%s" = 1234'
                        % (name, table, column, column, key))
        pg.close()


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_sequence_reset_matches_mariadb_auto_increment(migrated, mysql_connect, pg_connect, name):
    m = migrated[name]
    manifest = load_manifest(m["dest"])
    my = mysql_connect(m["my_db"])
    with my.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s "
                    "AND AUTO_INCREMENT IS NOT NULL", (m["my_db"],))
        expected = {"%s.%s" % (name, t): v for t, v in cur.fetchall()}
    my.close()
    pg = pg_connect(m["pg_db"])
    result = reset_sequences(pg, [name], manifest)
    got = {t: next(iter(v["columns"].values()))["after"] for t, v in result["tables"].items()}
    assert got == expected
    assert reset_sequences(pg, [name], manifest)["changed"] is False
    insert, table = {
        "world": ("INSERT INTO world.city (\"Name\", \"CountryCode\", \"District\", \"Population\") "
                  "VALUES ('x', 'NLD', 'd', 1) RETURNING \"ID\"", "world.city"),
        "sakila": ("INSERT INTO sakila.actor (first_name, last_name) VALUES ('A', 'B') RETURNING actor_id",
                   "sakila.actor")}[name]
    with pg.cursor() as cur:
        cur.execute(insert)
        assert cur.fetchone()[0] == expected[table]
    pg.rollback()
    pg.close()
