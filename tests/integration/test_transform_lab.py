"""Dump real databases with mariadb-dump (several flag sets), transform, load with psql, and compare
every row, canonicalized, with MariaDB: zero differences allowed."""
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
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.model.values import geometry_to_wkt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MYCNF = os.path.join(ROOT, ".lab", "my.cnf")
SAKILA = "/work/shared/data/sakila"

NASTY_DDL = """CREATE TABLE nasty (
  id int NOT NULL PRIMARY KEY, s varchar(200), t longtext, bin varbinary(64), blb longblob,
  u bigint unsigned, i bigint, flag tinyint(1), dec1 decimal(30,10), dbl double, flt float,
  d date, dt datetime(6), ts timestamp NULL DEFAULT NULL, tm time, yr year, j json,
  e enum('a','b c'), st set('x','y','z'), bits bit(8), b1 bit(1)
) DEFAULT CHARSET=utf8mb4"""
NASTY_ROWS = [
    (1, "it's a \\ (test), \"q\"\n\ttab),('", "emoji \U0001F600 \u00e9 \u4e2d", b"\x00\x01'\\\n\xff",
     bytes(range(256)), 18446744073709551615, -9223372036854775808, 1,
     decimal.Decimal("12345678901234567890.0123456789"), -0.0, 1.5,
     "0000-00-00", "2020-01-01 00:00:00.123456", "2021-06-01 12:00:00", "-01:02:03", 2155,
     '{"a": "\\u00e9\\n\\"", "b": [1, 2.5, null]}', "b c", "x,z", 5, 1),
    (2, "),(", "", b"", b"", 0, 9223372036854775807, 0, decimal.Decimal("-0.0000000001"), 1e308, -0.0,
     "0009-12-04", "1000-01-01 00:00:00", None, "838:59:59", 1901, "[]", "a", "", 0, 0),
    (3, None, None, None, None, None, None, None, None, 5e-324, None, None, "0000-00-00 00:00:00", None, None,
     None, None, None, None, None, None),
    (4, "';\n--", "NULL", b"NULL", b"\x1a", 1, -1, 1, decimal.Decimal("0"), 2.2250738585072014e-308, 3.25,
     "2024-02-29", "2024-02-29 23:59:59.999999", "1970-01-02 00:00:00", "00:00:00", 2000, '"\\u0001x"',
     None, "x,y,z", 255, 1),
]


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def mariadb(db, sql=None, path=None):
    cmd = ["mariadb", "--defaults-extra-file=" + MYCNF, db]
    data = sql.encode() if sql is not None else _read(path).encode()
    subprocess.run(cmd, input=data, check=True, capture_output=True)


@pytest.fixture(scope="module")
def source_dbs(mysql_connect):
    """sakila, world and the nasty table in MariaDB, once per module."""
    tag = uuid.uuid4().hex[:8]
    names = {"sakila": "sak_" + tag, "world": "wld_" + tag, "nasty": "nst_" + tag}
    conn = mysql_connect()
    with conn.cursor() as cur:
        for db in names.values():
            cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % db)
    try:
        schema = _read(os.path.join(SAKILA, "sakila-mv-schema.sql"))
        mariadb(names["sakila"], re.sub(r"\bsakila\b", names["sakila"], schema))
        data = _read(os.path.join(SAKILA, "sakila-mv-data.sql"))
        mariadb(names["sakila"], re.sub(r"\bUSE sakila;", "USE %s;" % names["sakila"], data))
        mariadb(names["world"], path="/work/shared/data/world/world-mariadb-mysqldump.sql")
        nasty = mysql_connect(names["nasty"])
        with nasty.cursor() as cur:
            cur.execute("SET SESSION sql_mode = '', time_zone = '+00:00'")
            cur.execute(NASTY_DDL)
            cur.executemany("INSERT INTO nasty VALUES (%s)" % ",".join(["%s"] * 21), NASTY_ROWS)
        nasty.close()
        yield names
    finally:
        with conn.cursor() as cur:
            for db in names.values():
                cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
        conn.close()


def canon_pair(mv, pv):
    """MariaDB value, PostgreSQL value -> comparable pair."""
    if mv is None or pv is None:
        if isinstance(mv, str) and mv.startswith("0000-00-00"):
            mv = None                                   # zero date, transformed with zero_date=null
        return mv, pv
    if isinstance(pv, bool):
        return (int.from_bytes(mv, "big") if isinstance(mv, bytes) else int(mv)) != 0, pv
    if isinstance(pv, memoryview | bytes):
        return bytes(mv), bytes(pv)
    if isinstance(pv, list):
        items = mv if isinstance(mv, set) else [x for x in mv.split(",") if x]
        return sorted(items), sorted(pv)
    if isinstance(pv, datetime.datetime):
        if pv.tzinfo:
            pv = pv.astimezone(datetime.UTC).replace(tzinfo=None)
        return mv, pv
    if isinstance(mv, datetime.timedelta) and isinstance(pv, datetime.time):
        return mv, datetime.timedelta(hours=pv.hour, minutes=pv.minute, seconds=pv.second)
    if isinstance(mv, bytes) and isinstance(pv, str) and set(pv) <= {"0", "1"}:
        return int.from_bytes(mv, "big"), int(pv, 2)
    if isinstance(mv, bytes) and isinstance(pv, str):
        return geometry_to_wkt(mv), pv
    if isinstance(mv, float):
        return repr(mv), repr(pv)
    return mv, pv


def compare_table(my, pg, mdb, pschema, table, key):  # noqa: PLR0917
    """Rows paired by primary key (collations order keys differently), every value compared."""
    with my.cursor() as cur:
        cur.execute("SELECT * FROM `%s`.`%s`" % (mdb, table))
        names = [d[0] for d in cur.description]
        mrows = cur.fetchall()
    pcur = pg.cursor()
    pcur.execute('SELECT * FROM "%s"."%s"' % (pschema, table))
    prows = pcur.fetchall()
    assert len(mrows) == len(prows), table
    idx = [names.index(k) for k in key] or list(range(len(names)))

    def by_key(rows):
        return {tuple(str(r[i]) for i in idx): r for r in rows}
    mmap, pmap = by_key(mrows), by_key(prows)
    assert mmap.keys() == pmap.keys(), table
    diffs = []
    for k, mr in mmap.items():
        for name, mv, pv in zip(names, mr, pmap[k], strict=True):
            a, b = (json.loads(mv), pv) if name == "j" and mv is not None else canon_pair(mv, pv)
            if a != b:
                diffs.append((table, k, name, a, b))
    assert diffs == []
    return len(prows)


def psql_load(dest, pgdb, lab, manifest):
    env = dict(os.environ, PGPASSFILE=os.path.join(ROOT, ".lab", "pgpass"), PGHOST=lab["postgresql"]["host"],
               PGPORT=str(lab["postgresql"]["port"]), PGUSER=lab["postgresql"]["user"], PGDATABASE=pgdb)
    copy = "\n".join("\\copy \"%s\".\"%s\" (%s) from '%s'" % (
        t["schema"], t["name"], ", ".join('"%s"' % c["name"] for c in t["columns"]),
        os.path.join(dest, t["data_file"])) for t in manifest["tables"])
    for script in (_read(os.path.join(dest, "pre-data.sql")), copy,
                   _read(os.path.join(dest, "post-data.sql"))):
        proc = subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-X"], input=script.encode(), env=env,
                              capture_output=True, check=False)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]


FLAG_SETS = {"default": [], "hex_blob": ["--hex-blob"], "complete_insert": ["--complete-insert"],
             "skip_extended_insert": ["--skip-extended-insert"], "compact": ["--compact", "--hex-blob"]}


@pytest.mark.parametrize("flags", list(FLAG_SETS), ids=list(FLAG_SETS))
def test_dump_transform_load_compare(flags, source_dbs, tmp_path, *, pg_db, pg_connect, mysql_connect, lab):
    dump = tmp_path / "dump.sql"
    with open(dump, "wb") as out:
        subprocess.run(["mariadb-dump", "--defaults-extra-file=" + MYCNF, "--single-transaction",
                        "--routines", "--triggers", *FLAG_SETS[flags], "--databases", *source_dbs.values()],
                       stdout=out, check=True)
    schema_map = {db: name for name, db in source_dbs.items()}
    dest = tmp_path / "migr"
    rules = [{"match": {"type": "time"}, "pg_type": "interval", "converter": "text"}]
    opts = {"src": str(dump), "schema_map": schema_map, "zero_date": "null", "type_rules": rules,
            # --compact drops the comments, the final "-- Dump completed" among them: the user says so
            "allow_incomplete_dump": flags == "compact"}
    result = run_transform(TransformOptions(dest=str(dest), jobs=2, **opts))
    assert any("allow_incomplete_dump" in w for w in result["warnings"]) == (flags == "compact")
    manifest = json.loads(_read(dest / "manifest.json"))
    assert manifest["complete"] is True
    assert_same_as_jobs_1(dest, tmp_path / "serial", manifest, opts)
    assert result["tables"]["sakila.rental"]["rows"] == 16044
    assert result["tables"]["world.city"]["rows"] == 4079
    assert any(r["kind"] == "trigger" for r in manifest["routines"])
    psql_load(str(dest), pg_db, lab, manifest)
    my = mysql_connect()
    with my.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    pg = pg_connect(pg_db)
    total = 0
    for t in manifest["tables"]:
        total += compare_table(my, pg, source_dbs[t["schema"]], t["schema"], t["name"], t["primary_key"])
    assert total == 47273 + 5302 + len(NASTY_ROWS)
    pg.close()
    my.close()


def assert_same_as_jobs_1(dest, serial, manifest, opts):
    """Parallel conversion writes the very bytes and counts of one process."""
    run_transform(TransformOptions(dest=str(serial), jobs=1, **opts))
    one = json.loads(_read(serial / "manifest.json"))
    assert [(t["name"], t["rows"], t["bytes"]) for t in one["tables"]] == \
           [(t["name"], t["rows"], t["bytes"]) for t in manifest["tables"]]
    for t in manifest["tables"]:
        with open(dest / t["data_file"], "rb") as a, open(serial / t["data_file"], "rb") as b:
            assert a.read() == b.read(), t["data_file"]


def test_shipped_sakila_dump(tmp_path, pg_db, lab):
    dest = tmp_path / "migr"
    run_transform(TransformOptions(src=os.path.join(SAKILA, "sakila-mariadb-mysqldump.sql"), dest=str(dest)))
    manifest = json.loads(_read(dest / "manifest.json"))
    assert sum(t["rows"] for t in manifest["tables"]) == 47273
    psql_load(str(dest), pg_db, lab, manifest)


def test_schema_existing_coerces_to_orm_schema(tmp_path, mysql_db, *, mysql_connect, pg_db, pg_connect, lab):
    my = mysql_connect(mysql_db)
    with my.cursor() as cur:
        cur.execute("CREATE TABLE Post (id int PRIMARY KEY, isPublished tinyint(4), meta longtext, "
                    "extra int)")
        cur.execute("""INSERT INTO Post VALUES (1, 1, '{"k": [1]}', 5), (2, 0, NULL, 6)""")
    my.close()
    pg = pg_connect(pg_db)
    with pg, pg.cursor() as cur:
        cur.execute('CREATE TABLE public."post" (id integer PRIMARY KEY, "ispublished" boolean, meta jsonb)')
    for name, flags in (("plain.sql", []), ("d.sql", ["--complete-insert"])):
        with open(tmp_path / name, "wb") as out:
            subprocess.run(["mariadb-dump", "--defaults-extra-file=" + MYCNF, "--no-create-info", *flags,
                            mysql_db], stdout=out, check=True)
    dump = tmp_path / "d.sql"
    p = lab["postgresql"]
    params = {"pg_host": p["host"], "pg_port": p["port"], "pg_user": p["user"], "pg_password": p["password"],
              "pg_database": pg_db, "pg_sslmode": "prefer", "pg_service": None, "pg_passfile": None}
    opts = {"src": str(dump), "schema_mode": "existing", "pg_params": params, "default_schema": mysql_db}
    with pytest.raises(MigrationError, match="--complete-insert"):
        plain = dict(opts, src=str(tmp_path / "plain.sql"))
        run_transform(TransformOptions(dest=str(tmp_path / "p"), **plain))
    with pytest.raises(MigrationError, match="extra"):
        run_transform(TransformOptions(dest=str(tmp_path / "a"), **opts))
    run_transform(TransformOptions(dest=str(tmp_path / "b"), ignore_columns=["extra"], **opts))
    with pg, pg.cursor() as cur, open(tmp_path / "b" / "data" / "public.post.copy", "rb") as f:
        cur.copy_expert('COPY public.post (id, ispublished, meta) FROM STDIN', f)
        cur.execute("SELECT id, ispublished, meta FROM public.post ORDER BY id")
        assert cur.fetchall() == [(1, True, {"k": [1]}), (2, False, None)]
    pg.close()
