"""FLOAT through the dump path: mariadb-dump writes FLOAT with 6 significant digits, so verify of a
dump manifest compares FLOAT at 6 digits (and says so per table); a live manifest compares float32
exactly. Real MariaDB, mariadb-dump, transform, pg_load and PostgreSQL."""
import json
import os
import random
import struct
import subprocess
import uuid

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_manifest
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import failure_message, verify

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MY_CNF = os.path.join(ROOT, ".lab", "my.cnf")
# id -> FLOAT value: more digits than a dump keeps, > 2^24, ties at the 7th digit (1234565,
# 123456.5: printed to even), extremes, a denormal, zero, negative
VALUES = {1: 0.123456789, 2: 16777217, 3: 1234565, 4: 123456.5, 5: -3.4e38, 6: 1.17549435e-38, 7: 1e-45,
          8: 0.5, 9: None, 10: 0.0, 11: -3.14159265, 12: 1.0000005, 13: 99999.95, 14: 7.0}


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _random_floats(n, seed=11):
    """float32 values of every magnitude, many of them ties or near-ties at 6 digits."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        if i % 4 == 0:
            out.append(float(rnd.randrange(1000000, 1 << 24)))            # integers, many exact ties
        elif i % 4 == 1:
            out.append(rnd.randrange(1000000, 1 << 24) / 2.0 ** rnd.randrange(1, 30))
        else:
            out.append(f32(rnd.uniform(-1, 1) * 10.0 ** rnd.randrange(-40, 38)))
    return [f32(v) for v in out]


@pytest.fixture(scope="module")
def dumped(lab, mysql_connect, pg_connect, tmp_path_factory):
    """A MariaDB table with FLOAT values, dumped, transformed and loaded into PostgreSQL."""
    name = "t_vfloat_%s" % uuid.uuid4().hex[:8]
    admin_my, admin_pg = mysql_connect(), pg_connect()
    admin_pg.autocommit = True
    with admin_my.cursor() as cur:
        cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
    with admin_pg.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    try:
        my = mysql_connect(name)
        with my.cursor() as cur:
            cur.execute("CREATE TABLE fl (id INT PRIMARY KEY, f FLOAT, fmd FLOAT(7,2), d DOUBLE, label TEXT)")
            cur.executemany("INSERT INTO fl VALUES (%s, %s, %s, %s, %s)",
                            [(k, v, None if v is None or abs(v) >= 1e5 else v, v, "v%d" % k)
                             for k, v in VALUES.items()])
            cur.execute("CREATE TABLE many (id INT PRIMARY KEY, f FLOAT NOT NULL, label TEXT)")
            cur.executemany("INSERT INTO many VALUES (%s, %s, %s)",
                            [(i, v, "v%d" % i) for i, v in enumerate(_random_floats(4000), 1)])
        my.close()
        work = tmp_path_factory.mktemp("vfloat")
        with open(work / "dump.sql", "wb") as out:
            run = subprocess.run(["mariadb-dump", "--defaults-extra-file=" + MY_CNF, "--single-transaction",
                                  name], stdout=out, stderr=subprocess.PIPE, check=False)
        assert run.returncode == 0, run.stderr.decode(errors="replace")
        dest = str(work / "mig")
        run_transform(TransformOptions(src=str(work / "dump.sql"), dest=dest, schema_map={name: "app"}))
        p = lab["postgresql"]
        pg_params = {"pg_host": p["host"], "pg_port": p["port"], "pg_user": p["user"],
                     "pg_passfile": p["passfile"], "pg_database": name}
        load(pg_params, dest, jobs=1)
        pg = pg_connect(name)
        yield {"name": name, "dest": dest, "pg": pg, "pg_params": pg_params,
               "my_params": {"mysql_defaults_file": MY_CNF}, "manifest": read_manifest(dest)}
        pg.close()
    finally:
        with admin_my.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
        with admin_pg.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        admin_my.close()
        admin_pg.close()


def _as(manifest, kind, server_version=None):
    m = json.loads(json.dumps(manifest))
    m["source"]["kind"] = kind
    if server_version:
        m["source"]["server_version"] = server_version
    return m


def _verify(d, manifest, **kw):
    return verify(d["my_params"], d["pg_params"], manifest, chunk_rows=1000, **kw)


def _pg(d, sql, params=None):
    with d["pg"].cursor() as cur:
        cur.execute(sql, params)
    d["pg"].commit()


@pytest.fixture
def restore(dumped):
    """Undo a test's changes to app.fl (the dump's values back)."""
    _pg(dumped, "CREATE TABLE IF NOT EXISTS app.fl_orig AS SELECT * FROM app.fl")
    yield dumped
    _pg(dumped, "TRUNCATE app.fl; INSERT INTO app.fl SELECT * FROM app.fl_orig")


def test_dump_holds_only_six_digits(dumped):
    """The premise: the loaded values are the dump's 6-digit text, not MariaDB's float32."""
    with dumped["pg"].cursor() as cur:
        cur.execute("SELECT id, f::float8 FROM app.fl WHERE id IN (1, 2, 3)")
        got = dict(cur.fetchall())
    dumped["pg"].rollback()
    assert got == {1: f32(0.123457), 2: 16777200.0, 3: 1234560.0}
    assert got[1] != f32(VALUES[1])


def test_dump_manifest_passes_with_a_warning(dumped):
    report = _verify(dumped, dumped["manifest"])
    assert report["ok"], failure_message(report)
    assert report["float_precision"]["digits"] == 6
    assert report["float_precision"]["source_kind"] == "dump"
    fl = report["tables"]["app.fl"]
    assert fl["reduced_precision_columns"] == ["f", "fmd"]
    assert "f, fmd" in fl["warnings"][0] and "live_copy" in fl["warnings"][0]
    assert any(w.startswith("app.fl: FLOAT column(s) f, fmd") for w in report["warnings"])
    assert report["tables"]["app.many"]["reduced_precision_columns"] == ["f"]


def test_six_digit_rounding_agrees_on_thousands_of_float32_values(dumped):
    """MariaDB's %g-6 and PostgreSQL's to_char agree on every value, ties included (app.many went
    through the dump, so any disagreement would show as a difference)."""
    report = _verify(dumped, dumped["manifest"], tables=["app.many"])
    assert report["ok"], failure_message(report)
    assert report["tables"]["app.many"]["mysql_rows"] == 4000


@pytest.mark.parametrize("change, key", [
    ("UPDATE app.fl SET f = 0.123458 WHERE id = 1", 1),            # the 6th digit
    ("UPDATE app.fl SET f = 16777300 WHERE id = 2", 2),
    ("UPDATE app.fl SET f = 1234570 WHERE id = 3", 3),             # the other side of the tie
    ("UPDATE app.fl SET f = -f WHERE id = 11", 11),
    ("UPDATE app.fl SET f = NULL WHERE id = 14", 14),
    ("UPDATE app.fl SET f = 1e-44 WHERE id = 7", 7),
])
def test_dump_manifest_still_catches_a_real_difference(restore, change, key):
    _pg(restore, change)
    report = _verify(restore, restore["manifest"], tables=["app.fl"])
    assert not report["ok"]
    diffs = report["tables"]["app.fl"]["differences"]
    assert [d["key"] for d in diffs] == [{"id": key}] and list(diffs[0]["columns"]) == ["f"]


def test_a_change_below_six_digits_is_not_seen_on_a_dump(restore):
    """The documented limit of the dump path (the warning's reason)."""
    _pg(restore, "UPDATE app.fl SET f = 0.1234571 WHERE id = 1")
    assert _verify(restore, restore["manifest"], tables=["app.fl"])["ok"]


def _exact_copy(d):
    """Put MariaDB's exact float32 values into PostgreSQL (what live_copy carries)."""
    with d["pg"].cursor() as cur:
        for k, v in VALUES.items():
            cur.execute("UPDATE app.fl SET f = %s::float8::real, fmd = %s::float8::real WHERE id = %s",
                        (None if v is None else f32(v), None if v is None or abs(v) >= 1e5 else f32(
                            float("%.2f" % v)), k))
    d["pg"].commit()


def test_live_manifest_compares_float32_exactly(restore):
    live = _as(restore["manifest"], "live", "10.11.6-MariaDB")
    report = _verify(restore, live, tables=["app.fl"])
    assert not report["ok"]          # the dump's 6-digit values are not MariaDB's float32 values
    assert report["float_precision"]["digits"] is None
    differing = {d["key"]["id"] for d in report["tables"]["app.fl"]["differences"]}
    assert {1, 2, 3, 11} <= differing and 14 not in differing and 8 not in differing
    _exact_copy(restore)
    report = _verify(restore, live, tables=["app.fl"])
    assert report["ok"], failure_message(report)
    assert "reduced_precision_columns" not in report["tables"]["app.fl"] and not report["warnings"]
    bits = struct.unpack("<i", struct.pack("<f", f32(VALUES[1])))[0]
    one_ulp_up = struct.unpack("<f", struct.pack("<i", bits + 1))[0]
    _pg(restore, "UPDATE app.fl SET f = %s::float8::real WHERE id = 1", (one_ulp_up,))
    report = _verify(restore, live, tables=["app.fl"])
    assert [d["key"] for d in report["tables"]["app.fl"]["differences"]] == [{"id": 1}]


@pytest.mark.parametrize("version, digits", [("8.0.36", None), ("8.4.2-commercial", None),
                                             ("5.7.44-log", 6), ("10.11.6-MariaDB-log", 6)])
def test_dump_of_mysql8_compares_exactly(dumped, version, digits):
    """MySQL 8 prints FLOAT as the shortest round-trip text: its dumps carry exact float32."""
    report = _verify(dumped, _as(dumped["manifest"], "dump", version), tables=["app.fl"], mode="counts")
    assert report["float_precision"]["digits"] == digits
    assert report["float_precision"]["version_from"] == "manifest"
    assert bool(report["tables"]["app.fl"].get("reduced_precision_columns")) == bool(digits)
