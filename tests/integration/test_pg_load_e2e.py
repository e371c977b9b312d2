"""End to end with the real parts: MariaDB -> mariadb-dump -> transform -> pg_load -> PostgreSQL,
compared with MariaDB row for row (counts for every table, every value canonically for most).

world (3 tables) and sakila (16 tables: enums, sets, years, blobs, geometry, views, triggers) are
loaded into uniquely named MariaDB databases once per module, dumped, transformed, and loaded.
"""
import datetime
import decimal
import json
import os
import re
import subprocess
import uuid

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MY_CNF = os.path.join(ROOT, ".lab", "my.cnf")
SPATIAL = ("geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
           "multipolygon", "geometrycollection")


def _mariadb(database, stdin_path, rename=None):
    """Feed a SQL file to the mariadb client; `rename` rewrites the word `sakila` to a unique name."""
    proc = subprocess.Popen(["mariadb", "--defaults-extra-file=" + MY_CNF, "--default-character-set=utf8mb4",
                             *([database] if database else [])],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(stdin_path, "rb") as f:
        for line in f:
            proc.stdin.write(re.sub(rb"\bsakila\b", rename.encode(), line) if rename else line)
    proc.stdin.close()
    err = proc.stderr.read()
    assert proc.wait() == 0, err.decode(errors="replace")


def _dump(database, path):
    with open(path, "wb") as out:
        run = subprocess.run(["mariadb-dump", "--defaults-extra-file=" + MY_CNF, "--single-transaction",
                              "--hex-blob", "--routines", "--triggers", database],
                             stdout=out, stderr=subprocess.PIPE, check=False)
    assert run.returncode == 0, run.stderr.decode(errors="replace")


def _sample_source(my, shared_data, name, made):
    """A fresh MariaDB database (its name appended to made) holding the shared sample world or sakila."""
    my_db = "t_%s_%s" % (name, uuid.uuid4().hex[:8])
    made.append(my_db)
    with my.cursor() as cur:
        cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % my_db)
    if name == "world":
        _mariadb(my_db, os.path.join(shared_data, "world", "world-mariadb-mysqldump.sql"))
    else:
        for part in ("sakila-mv-schema.sql", "sakila-mv-data.sql"):
            _mariadb(None, os.path.join(shared_data, "sakila", part), rename=my_db)
    return my_db


@pytest.fixture(scope="module")
def migrated(lab, shared_data, mysql_connect, pg_connect, tmp_path_factory):
    """{name: (mysql_db, pg_db, migration dir, load result)} for world and sakila."""
    my, pg = mysql_connect(), pg_connect()
    pg.autocommit = True
    made_my, made_pg, out = [], [], {}
    try:
        for name in ("world", "sakila"):
            my_db = _sample_source(my, shared_data, name, made_my)
            pg_db = "t_%s_%s" % (name, uuid.uuid4().hex[:8])
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
            out[name] = (my_db, pg_db, dest, params, load(params, dest, jobs=2))
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


def canon(value):
    """One representation per value across both drivers (MariaDB session in UTC)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")  # 12.30 and 12.3 are the same number
    if isinstance(value, float):
        return float("%.6g" % value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        return "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list):
        return ",".join(sorted(str(v) for v in value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _set_canon(value):
    return ",".join(sorted(value.split(","))) if value else value


def _columns(entry):
    """(mysql column, pg column, is_set) of the comparable columns (spatial values differ in form)."""
    return [(c["source_name"], c["name"], c["source_type"].startswith("set("))
            for c in entry["columns"] if c["source_type"].split("(")[0] not in SPATIAL]


def _rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def compare_table(mysql_connect, pg_connect, my_db, pg_db, entry):
    cols = _columns(entry)
    key = [c["source_name"] for c in entry["columns"] if c["name"] in entry["primary_key"]] or [cols[0][0]]
    pg_key = entry["primary_key"] or [cols[0][1]]
    my = mysql_connect(my_db)
    with my.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    my_cols = ", ".join("`%s`" % c for c, _, _ in cols)
    my_rows = _rows(my, "SELECT %s FROM `%s` ORDER BY %s" % (my_cols, entry["source_name"],
                                                            ", ".join("`%s`" % k for k in key)))
    my.close()
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    pg_rows = _rows(pg, 'SELECT %s FROM "%s"."%s" ORDER BY %s' % (", ".join('"%s"' % c for _, c, _ in cols),
                                                                entry["schema"], entry["name"],
                                                                ", ".join('"%s"' % k for k in pg_key)))
    pg.close()
    sets = [is_set for _, _, is_set in cols]
    left = [tuple(_set_canon(v) if s and isinstance(v, str) else canon(v)
                  for v, s in zip(r, sets, strict=True)) for r in my_rows]
    right = [tuple(canon(v) for v in r) for r in pg_rows]
    assert len(left) == len(right) == entry["rows"]
    left.sort(key=repr)  # the engines collate text differently: compare in one order
    right.sort(key=repr)
    for a, b in zip(left, right, strict=True):
        assert a == b, "%s.%s differs at key %r" % (entry["schema"], entry["name"], a[:len(key)])


def _manifest(dest):
    with open(os.path.join(dest, "manifest.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_counts_equal_mariadb(migrated, mysql_connect, pg_connect, name):
    my_db, pg_db, dest, _, result = migrated[name]
    entries = _manifest(dest)["tables"]
    assert result["rejected"] == 0 and len(result["tables"]) == len(entries)
    my = mysql_connect(my_db)
    pg = pg_connect(pg_db)
    for entry in entries:
        [(my_count,)] = _rows(my, "SELECT count(*) FROM `%s`" % entry["source_name"])
        [(pg_count,)] = _rows(pg, 'SELECT count(*) FROM "%s"."%s"' % (entry["schema"], entry["name"]))
        loaded = result["tables"]["%s.%s" % (name, entry["name"])]["rows"]
        assert my_count == pg_count == entry["rows"] == loaded
    my.close()
    pg.close()
    expected_total = {"world": 5302, "sakila": 47273}[name]
    assert result["rows"] == expected_total


WORLD_TABLES = ["city", "country", "countrylanguage"]
SAKILA_TABLES = ["actor", "category", "film", "film_actor", "customer", "payment", "rental", "staff", "store",
                 "language", "inventory", "film_text", "address"]


@pytest.mark.parametrize(("name", "table"), [("world", t) for t in WORLD_TABLES]
                         + [("sakila", t) for t in SAKILA_TABLES])
def test_every_row_equals_mariadb(migrated, mysql_connect, pg_connect, name, table):
    my_db, pg_db, dest, _, _ = migrated[name]
    entry = next(t for t in _manifest(dest)["tables"] if t["name"] == table)
    compare_table(mysql_connect, pg_connect, my_db, pg_db, entry)


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_post_data_complete_and_rerun_changes_nothing(migrated, pg_connect, name):
    _, pg_db, dest, params, _ = migrated[name]
    manifest = _manifest(dest)
    pg = pg_connect(pg_db)
    constraints = dict(_rows(pg, "SELECT conname, convalidated FROM pg_constraint"
                                 " WHERE connamespace = '%s'::regnamespace" % name))
    for entry in manifest["tables"]:
        for item in entry["post_data"]:
            if item["kind"] in ("primary_key", "foreign_key", "check"):
                assert constraints.get(item["name"]) is True, item
    for view in manifest["views"]:
        if view.get("translated", True):
            qualified = '"%s"."%s"' % (view["schema"], view["name"])
            assert _rows(pg, "SELECT to_regclass('%s')" % qualified)[0][0], view["name"]
    pg.close()
    untranslated = [v["name"] for v in manifest["views"] if not v.get("translated", True)]
    assert len([w for w in migrated[name][4]["warnings"] if w.startswith("view ")]) == len(untranslated)
    again = load(params, dest, jobs=2)
    assert again["changed"] is False
    assert {v["action"] for v in again["tables"].values()} == {"skip"}
