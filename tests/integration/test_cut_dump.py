"""A dump cut at a statement boundary is refused (issue 15, silent loss 1), and verify compares the
source's table list with the manifest's, not the manifest with itself.

world (city, country, countrylanguage) in a fresh MariaDB database, dumped by mariadb-dump, cut:
- after city's first INSERT: transform / migrate-dump fail naming the file; city is not loaded;
- before countrylanguage, accepted with allow_incomplete_dump: verify fails naming
  countrylanguage, unless it was left out on purpose (exclude_tables recorded in the manifest);
- a manifest marked incomplete, or holding no table, fails verify naming why.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.pipeline import migrate_dump
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import IncompleteDump, MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_manifest
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import failure_message, verify
from test_pg_load_e2e import MY_CNF, ROOT, _dump, _sample_source

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(lab, shared_data, mysql_connect, tmp_path_factory):
    """(MariaDB database, the bytes of its mariadb-dump, work dir)."""
    my = mysql_connect()
    made = []
    try:
        my_db = _sample_source(my, shared_data, "world", made)
        work = tmp_path_factory.mktemp("cut")
        _dump(my_db, str(work / "full.sql"))
        with open(work / "full.sql", "rb") as f:
            yield my_db, f.read(), work
    finally:
        with my.cursor() as cur:
            for db in made:
                cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
        my.close()


@pytest.fixture
def pg_target(lab, pg_connect):
    name = "t_cut_%s" % uuid.uuid4().hex[:10]
    conn = pg_connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    p = lab["postgresql"]
    yield {"pg_host": p["host"], "pg_port": p["port"], "pg_user": p["user"], "pg_passfile": p["passfile"],
           "pg_database": name}
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    conn.close()


def _write(work, name, data):
    path = str(work / name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _after_first_insert(data, table):
    start = data.index(b"INSERT INTO `%s`" % table)
    return data[:data.index(b");\n", start) + 3]


def test_dump_cut_after_a_tables_first_insert_fails_migrate_dump(world, pg_target, pg_connect, tmp_path):
    my_db, data, _work = world
    cut = _write(tmp_path, "cut.sql", _after_first_insert(data, b"city"))
    with pytest.raises(IncompleteDump, match=r"cut\.sql' ends at byte offset \d+ without mysqldump's "
                                             r"'-- Dump completed' line.*allow_incomplete_dump"):
        migrate_dump(pg_target, TransformOptions(src=cut, dest=str(tmp_path / "mig"),
                                                 schema_map={my_db: "world"}))
    pg = pg_connect(pg_target["pg_database"])
    with pg.cursor() as cur:
        cur.execute("SELECT to_regclass('world.city')")
        assert cur.fetchone()[0] is None          # the cut table's COPY rolled back
    pg.close()
    assert read_manifest(str(tmp_path / "mig"), require_complete=False)["complete"] is False


def test_console_transform_refuses_the_cut_dump(world, tmp_path):
    _my_db, data, _work = world
    cut = _write(tmp_path, "cut.sql", _after_first_insert(data, b"city"))
    run = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "pgshift"), "transform", cut,
                          str(tmp_path / "mig")], capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "cut.sql' ends at byte offset" in run.stderr
    assert "--allow-incomplete-dump" in run.stderr and "Traceback" not in run.stderr + run.stdout


def _partial_migration(world, pg_target, dest, **options):
    """world cut before countrylanguage, accepted as partial, transformed and loaded."""
    my_db, data, work = world
    cut = _write(work, "partial-%s.sql" % uuid.uuid4().hex[:6],
                 data[:data.index(b"--\n-- Table structure for table `countrylanguage`")])
    result = run_transform(TransformOptions(src=cut, dest=dest, schema_map={my_db: "world"},
                                            allow_incomplete_dump=True, **options))
    assert any("allow_incomplete_dump" in w for w in result["warnings"])
    load(pg_target, dest, jobs=1)
    return read_manifest(dest)


def test_verify_names_a_source_table_the_manifest_lacks(world, pg_target, tmp_path):
    manifest = _partial_migration(world, pg_target, str(tmp_path / "mig"))
    assert {t["name"] for t in manifest["tables"]} == {"city", "country"}
    report = verify({"mysql_defaults_file": MY_CNF}, pg_target, manifest, mode="counts")
    my_db = world[0]
    assert not report["ok"]
    assert report["failed_tables"] == ["%s.countrylanguage" % my_db]
    message = failure_message(report)
    assert "source table %s.countrylanguage is not in the manifest" % my_db in message
    # naming the tables to verify says the rest was left out on purpose
    assert verify({"mysql_defaults_file": MY_CNF}, pg_target, manifest, mode="counts",
                  tables=["city", "country"])["ok"]


def test_verify_accepts_a_table_excluded_on_purpose(world, pg_target, tmp_path):
    manifest = _partial_migration(world, pg_target, str(tmp_path / "mig"), exclude_tables=["countrylanguage"])
    report = verify({"mysql_defaults_file": MY_CNF}, pg_target, manifest, mode="counts")
    assert report["ok"], failure_message(report)


@pytest.mark.parametrize("change, reason", [
    ({"complete": False}, "is not marked complete"),
    ({"tables": []}, "holds no table"),
])
def test_verify_refuses_an_incomplete_or_empty_manifest(world, pg_target, tmp_path, change, reason):
    dest = str(tmp_path / "mig")
    manifest = dict(_partial_migration(world, pg_target, dest), **change)
    with pytest.raises(MigrationError, match=reason):
        verify({"mysql_defaults_file": MY_CNF}, pg_target, manifest, mode="counts")
    with open(os.path.join(dest, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    run = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "pgshift"), "verify", "--src", dest,
                          "--mode", "counts", "--mysql-defaults-file", MY_CNF,
                          *("--pg-%s=%s" % (k[3:], v) for k, v in pg_target.items())],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and reason in run.stderr
