"""live_copy against the lab's real MariaDB and PostgreSQL: sakila, world, nasty values, snapshot, errors."""
import datetime
import decimal
import json
import os
import struct
import subprocess
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NASTY_DDL = """
CREATE TABLE nasty (
  id int unsigned NOT NULL PRIMARY KEY,
  t text, v varchar(40) CHARACTER SET latin1, b blob, vb varbinary(8), bo tinyint(1),
  e enum('a','b c','x\\\\y'), s set('a','b c','d"e','f{g}'), j json, f float, d double, n decimal(65,30),
  dt datetime(6), ts timestamp(3) NULL,
  da date, bi bit(10), b1 bit(1), y year, big bigint unsigned, tm time(2), ch char(5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""

NASTY_ROWS = [
    (1, "tab\there\nnewline\r\\back\\slash \\N not null 🌍 é", "héllo ÿ ½", bytes(range(256)), b"\x00\t\n\\",
     1, "b c", "a,b c,d\"e,f{g}", '{"k": "v\\n\\t\\\\", "a": [1, 2.5, null]}', 16777216.0,
     1.7976931348623157e308,
     decimal.Decimal("-12345678901234567890123456789012345.123456789012345678901234567891"),
     "2020-02-29 23:59:59.999999", "2038-01-19 03:14:07.123", "0009-12-04", 0b1010101010, 1, 2155,
     18446744073709551615, "23:59:59.99", "ab"),
    (2, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None,
     None, None, None),
    (3, "", "", b"", b"", 0, "a", "", "[]", -0.0001234, 5e-324, decimal.Decimal("0"), "1000-01-01 00:00:00",
     "1970-01-01 00:00:01", "9999-12-31", 0, 0, 1901, 0, "00:00:00.01", ""),
    (4, "\\", "x", b"\\x", b"\\N", 0, "x\\y", "a", '"str"', 3.4028234e38, -2.2250738585072014e-308,
     decimal.Decimal("0.000000000000000000000000000001"), "2000-01-01 00:00:00.000001", None, "2000-02-29",
     1023, 1, 2000, 1, "23:00:00", "  x"),
]


def _unique(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


def _mysql_load(lab, db, path):
    with open(path, "rb") as f:
        subprocess.run(["mariadb", "--defaults-extra-file=" + lab["mysql"]["defaults_file"], db], stdin=f,
                       check=True, capture_output=True)


@pytest.fixture(scope="module")
def source(lab, mysql_connect, shared_data):
    """sakila, world and a nasty-values database in MariaDB (dropped afterwards)."""
    names = {"sakila": _unique("lc_sakila"), "world": _unique("lc_world"), "nasty": _unique("lc_nasty")}
    conn = mysql_connect()
    with conn.cursor() as cur:
        for db in names.values():
            cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % db)
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute(NASTY_DDL.replace("CREATE TABLE nasty", "CREATE TABLE `%s`.nasty" % names["nasty"]))
        cur.executemany("INSERT INTO `%s`.nasty VALUES (%s)" % (names["nasty"], ", ".join(["%s"] * 21)),
                        NASTY_ROWS)
    _mysql_load(lab, names["sakila"], os.path.join(shared_data, "sakila", "sakila-mariadb-mysqldump.sql"))
    _mysql_load(lab, names["world"], os.path.join(shared_data, "world", "world-mariadb-mysqldump.sql"))
    yield names
    with conn.cursor() as cur:
        for db in names.values():
            cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


@pytest.fixture(scope="module")
def target(pg_connect):
    name = _unique("lc")
    admin = pg_connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    yield name
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    admin.close()


def params_for(lab, pg_database, **over):
    p = {"mysql_defaults_file": lab["mysql"]["defaults_file"], "pg_host": lab["postgresql"]["host"],
         "pg_port": lab["postgresql"]["port"], "pg_user": lab["postgresql"]["user"],
         "pg_passfile": lab["postgresql"]["passfile"], "pg_database": pg_database}
    p.update(over)
    return p


def run_live_copy(params, databases, dest, **kw):
    from ansible_collections.pgshift.mysql.plugins.module_utils.live.copy import live_copy

    return live_copy(params, databases=databases, dest=str(dest), jobs=2, **kw)


@pytest.fixture(scope="module")
def copied(lab, source, target, tmp_path_factory):
    dest = tmp_path_factory.mktemp("live")
    result = run_live_copy(params_for(lab, target), list(source.values()), dest)
    return result, dest


# ---------------------------------------------------------------- canonical compare

def _f32(v):
    return struct.pack("<f", v)


def canon_pair(pg_type, source_type, my, pg):
    """(mysql value, postgres value) -> comparable forms, per the column's types."""
    if my is None or pg is None:
        return my, pg
    st = source_type.split("(")[0].split()[0]
    if pg_type == "boolean":
        return bool(int.from_bytes(my, "big") if isinstance(my, bytes) else my), pg
    if pg_type.startswith("bit"):
        return format(int.from_bytes(my, "big"), "0%sb" % pg_type[4:-1]), pg
    if pg_type == "real":
        return _f32(my), _f32(pg)
    if pg_type == "bytea":
        return bytes(my), bytes(pg)
    if pg_type == "text[]":
        return sorted(m for m in my.split(",") if m) if isinstance(my, str) else sorted(my), sorted(pg)
    if pg_type == "jsonb":
        return json.loads(my), pg
    if pg_type.startswith("timestamptz"):
        return my, pg.astimezone(datetime.UTC).replace(tzinfo=None)
    if st == "time":
        return my, datetime.timedelta(hours=pg.hour, minutes=pg.minute, seconds=pg.second,
                                      microseconds=pg.microsecond)
    if st in ("geometry", "point", "polygon"):
        from ansible_collections.pgshift.mysql.plugins.module_utils.model.values import geometry_to_wkt

        return geometry_to_wkt(my), pg
    return my, pg


def compare_table(mysql_connect, pg_conn, entry):
    cols = entry["columns"]
    key = entry["primary_key"] or [cols[0]["name"]]
    # FLOAT as text has 6 digits (16777217 -> 16777200): read the exact stored single as a double
    my_cols = ", ".join(("(`%s` + 0e0)" if c["pg_type"] == "real" else "`%s`") % c["source_name"]
                        for c in cols)
    order_my = ", ".join("`%s`" % k for k in key)
    order_pg = ", ".join('"%s"' % k for k in key)
    my = mysql_connect(entry["source_schema"])
    with my.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SELECT %s FROM `%s` ORDER BY %s" % (my_cols, entry["source_name"], order_my))
        my_rows = cur.fetchall()
    my.close()
    with pg_conn.cursor() as cur:
        cur.execute('SELECT %s FROM "%s"."%s" ORDER BY %s' % (", ".join('"%s"' % c["name"] for c in cols),
                                                              entry["schema"], entry["name"], order_pg))
        pg_rows = cur.fetchall()
    assert len(my_rows) == len(pg_rows), entry["name"]
    # pair rows by key, not by ORDER BY: MySQL's _ci collations and PostgreSQL's sort text differently
    positions = [[c["name"] for c in cols].index(k) for k in key]
    pg_by_key = {tuple(str(r[i]) for i in positions): r for r in pg_rows}
    for my_row in my_rows:
        pg_row = pg_by_key[tuple(str(my_row[i]) for i in positions)]
        for col, a, b in zip(cols, my_row, pg_row, strict=True):
            ca, cb = canon_pair(col["pg_type"], col["source_type"], a, b)
            assert ca == cb, "%s.%s row %r column %s: mysql %r != pg %r" % (
                entry["schema"], entry["name"], my_row[0], col["name"], a, b)
    return len(pg_rows)


# ---------------------------------------------------------------- tests

def test_every_table_equal_row_for_row(copied, source, target, pg_connect, mysql_connect):
    result, dest = copied
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["complete"] and manifest["source"]["kind"] == "live"
    assert len(manifest["tables"]) == 16 + 3 + 1
    pg = pg_connect(target)
    counted = {e["schema"] + "." + e["name"]: compare_table(mysql_connect, pg, e) for e in manifest["tables"]}
    pg.close()
    assert sum(counted.values()) == 47273 + 5302 + len(NASTY_ROWS)
    assert result["rows"] == sum(counted.values()) and result["rejected"] == 0
    assert counted["%s.nasty" % source["nasty"]] == 4


def test_post_data_and_state_like_pg_load(copied, source, target, pg_connect):
    result, dest = copied
    pg = pg_connect(target)
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM pgshift_state.loaded_tables WHERE manifest_id = %s",
                    (result["manifest_id"],))
        assert cur.fetchone()[0] == 20
        cur.execute("SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                    "WHERE n.nspname = %s AND c.contype = 'f' AND c.convalidated", (source["sakila"],))
        assert cur.fetchone()[0] == 22
        cur.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s", (source["sakila"],))
        assert cur.fetchone()[0] >= 16 + 20
    pg.close()
    state = json.loads((dest / "load-state.json").read_text())
    assert len(state["tables"]) == 20
    assert (dest / "pre-data.sql").read_text().count("CREATE TABLE") == 20


def test_rerun_skips_everything(copied, lab, source, target):
    result, dest = copied
    again = run_live_copy(params_for(lab, target), list(source.values()), dest)
    assert not again["changed"]
    assert {f["action"] for f in again["tables"].values()} == {"skip"}
    assert again["manifest_id"] == result["manifest_id"]


def test_binlog_recorded_and_check_mode_writes_nothing(copied, lab, source, target, tmp_path):
    result, dest = copied
    binlog = json.loads((dest / "manifest.json").read_text())["source"]["binlog"]
    assert binlog == result["binlog"] and binlog["file"] and binlog["position"] > 0
    planned = run_live_copy(params_for(lab, target), [source["world"]], tmp_path / "plan", check_mode=True,
                            if_exists="drop", schema_map={source["world"]: "w2"})
    assert planned["changed"] and any(q.startswith("CREATE TABLE") for q in planned["queries"])
    assert not (tmp_path / "plan").exists()


@pytest.fixture
def small_source(mysql_connect):
    db = _unique("lc_small")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("CREATE TABLE `%s`.t (id int PRIMARY KEY, d datetime, note varchar(20))" % db)
        cur.execute("INSERT INTO `%s`.t VALUES (1, '2020-01-01', 'ok'), (2, '0000-00-00', 'a\\0b'), "
                    "(3, '2021-00-05', 'fine')" % db)
    yield db, conn
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


def test_zero_date_error_names_the_key_and_leaves_nothing_done(lab, small_source, pg_db, pg_connect,
                                                               tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    db, _ = small_source
    with pytest.raises(MigrationError) as err:
        run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d")
    msg = str(err.value)
    # row 2 holds both a zero date and a NUL byte: either reason names it
    assert "%s.t" % db in msg and "row key: id=2" in msg and ("0000-00-00" in msg or "0x00" in msg), msg
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM pgshift_state.loaded_tables")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT to_regclass(%s)", ('"%s".t' % db,))
        assert cur.fetchone()[0] is None
    pg.close()


def test_policies_null_and_strip_counted(lab, small_source, pg_db, pg_connect, tmp_path):
    db, _ = small_source
    result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", zero_date="null", nul_bytes="strip")
    assert result["rows"] == 3
    assert any("2 value(s) of column 'd' changed by zero_date=null" in w for w in result["warnings"])
    assert any("1 value(s) of column 'note' changed by nul_bytes=strip" in w for w in result["warnings"])
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute('SELECT id, d, note FROM "%s".t ORDER BY id' % db)
        rows = cur.fetchall()
    pg.close()
    assert rows == [(1, datetime.datetime(2020, 1, 1), "ok"), (2, None, "ab"), (3, None, "fine")]


def test_max_rejects_diverts_refused_rows(lab, small_source, pg_db, tmp_path):
    db, _ = small_source
    result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", max_rejects=5, nul_bytes="strip")
    assert result["rows"] == 1 and result["rejected"] == 2
    rejects = (tmp_path / "d" / "rejects" / ("%s.t.copy" % db)).read_bytes()
    assert rejects.count(b"\n") == 2 and b"0000-00-00" in rejects


def test_write_after_snapshot_is_not_copied(lab, small_source, pg_db, pg_connect, tmp_path):
    db, conn = small_source
    seen = {}

    def after_snapshot(binlog):
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            seen["before"] = cur.fetchone()[:2]
            cur.execute("INSERT INTO `%s`.t VALUES (99, '2022-02-02', 'late')" % db)
            cur.execute("UPDATE `%s`.t SET note = 'changed' WHERE id = 1" % db)
            cur.execute("SHOW MASTER STATUS")
            seen["after"] = cur.fetchone()[:2]
        seen["binlog"] = binlog

    result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", zero_date="null", nul_bytes="strip",
                           hooks={"after_snapshot": after_snapshot})
    assert result["rows"] == 3
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute('SELECT id, note FROM "%s".t ORDER BY id' % db)
        assert cur.fetchall() == [(1, "ok"), (2, "ab"), (3, "fine")]
    pg.close()
    recorded = result["binlog"]
    assert (recorded["file"], recorded["position"]) == (seen["before"][0], int(seen["before"][1]))
    assert int(seen["after"][1]) > recorded["position"]


def test_wrong_password_is_a_clear_error(lab, pg_db, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    params = params_for(lab, pg_db, mysql_defaults_file=None, mysql_user=lab["mysql"]["user"],
                        mysql_password="not-the-password", mysql_host="127.0.0.1", mysql_port=3306)
    with pytest.raises(MigrationError, match="cannot connect to MySQL .*Access denied") as err:
        run_live_copy(params, ["mysql"], tmp_path / "d")
    assert "not-the-password" not in str(err.value)
    assert not (tmp_path / "d").exists()


def test_unreachable_host_is_a_clear_error(lab, pg_db, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    params = params_for(lab, pg_db, mysql_defaults_file=None, mysql_user="x", mysql_password="y",
                        mysql_host="127.0.0.1", mysql_port=1)
    with pytest.raises(MigrationError, match="cannot connect to MySQL x@127.0.0.1:1"):
        run_live_copy(params, ["mysql"], tmp_path / "d")


def test_missing_privilege_is_a_clear_error(lab, small_source, pg_db, pg_connect, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    db, conn = small_source
    user, password = "lc_%s" % uuid.uuid4().hex[:8], uuid.uuid4().hex
    with conn.cursor() as cur:
        cur.execute("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'" % (user, password))
        cur.execute("CREATE USER '%s'@'localhost' IDENTIFIED BY '%s'" % (user, password))
        cur.execute("GRANT SELECT ON `%s`.* TO '%s'@'127.0.0.1'" % (db, user))
        cur.execute("GRANT SELECT ON `%s`.* TO '%s'@'localhost'" % (db, user))
    try:
        params = params_for(lab, pg_db, mysql_defaults_file=None, mysql_user=user, mysql_password=password,
                            mysql_host="127.0.0.1", mysql_port=lab["mysql"]["port"])
        with pytest.raises(MigrationError, match="RELOAD privilege"):
            run_live_copy(params, [db], tmp_path / "d", zero_date="null", nul_bytes="strip")
        pg = pg_connect(pg_db)
        with pg.cursor() as cur:
            cur.execute("SELECT count(*) FROM pgshift_state.loaded_tables")
            assert cur.fetchone()[0] == 0
        pg.close()
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP USER '%s'@'127.0.0.1'" % user)
            cur.execute("DROP USER '%s'@'localhost'" % user)


def test_module_through_ansible_playbook_keeps_password_out_of_ps(lab, small_source, pg_db, tmp_path):
    db, _ = small_source
    pg = lab["postgresql"]
    secret = lab["mysql"]["password"]
    (tmp_path / "vars.yml").write_text("mysql_password: %s\n" % json.dumps(secret))
    playbook = tmp_path / "live.yml"
    playbook.write_text("""- name: Live copy
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [vars.yml]
  tasks:
    - name: Copy
      pgshift.mysql.live_copy:
        databases: ["%s"]
        dest: "%s"
        mysql_host: 127.0.0.1
        mysql_port: %d
        mysql_user: "%s"
        mysql_password: "{{ mysql_password }}"
        pg_host: "%s"
        pg_port: %d
        pg_user: "%s"
        pg_passfile: "%s"
        pg_database: "%s"
        zero_date: "null"
        nul_bytes: strip
      register: out
""" % (db, tmp_path / "d", lab["mysql"]["port"], lab["mysql"]["user"], pg["host"], pg["port"], pg["user"],
       pg["passfile"], pg_db))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
    seen, stop = [], threading.Event()

    def watch_ps():
        while not stop.is_set():
            out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False).stdout
            seen.extend(line for line in out.splitlines() if "mariadb" in line and "--batch" in line)
            if secret in out:
                seen.append("SECRET-VISIBLE")
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_ps)
    watcher.start()
    try:
        proc = subprocess.run([os.path.join(ROOT, ".venv/bin/ansible-playbook"), str(playbook)], env=env,
                              capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    finally:
        stop.set()
        watcher.join()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert res["changed"] and res["rows"] == 3 and res["binlog"]["position"] > 0
    assert "SECRET-VISIBLE" not in seen
    assert secret not in proc.stdout
    if seen:  # the client's argv, when ps caught it: an option file, never a password
        assert all("--defaults-extra-file=" in line and "password" not in line for line in seen)


@pytest.mark.parametrize("name", ["sakila", "world"])
def test_dump_path_and_live_path_give_identical_postgresql(name, lab, source, pg_db, tmp_path):
    import psycopg2
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
        TransformOptions,
        run_transform,
    )
    from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load

    dump = os.path.join(ROOT, os.pardir, "shared", "data", name, "%s-mariadb-mysqldump.sql" % name)
    run_transform(TransformOptions(src=dump, dest=str(tmp_path / "dump"), schema_map={name: "d_" + name}))
    load(params_for(lab, pg_db), str(tmp_path / "dump"), jobs=2)
    run_live_copy(params_for(lab, pg_db), [source[name]], tmp_path / "live",
                  schema_map={source[name]: "l_" + name})
    dumped = json.loads((tmp_path / "dump" / "manifest.json").read_text())
    live = json.loads((tmp_path / "live" / "manifest.json").read_text())
    by_name = {t["name"]: t for t in live["tables"]}
    assert sorted(by_name) == sorted(t["name"] for t in dumped["tables"])
    p = lab["postgresql"]
    pg = psycopg2.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                          dbname=pg_db)
    for d in dumped["tables"]:
        lt = by_name[d["name"]]
        assert lt["create_sql"].replace("l_" + name, "d_" + name) == d["create_sql"]
        assert [p["sql"].replace("l_" + name, "d_" + name) for p in lt["post_data"]] == \
            [p["sql"] for p in d["post_data"]]
        with pg.cursor() as cur:
            rows = []
            for schema in ("d_" + name, "l_" + name):
                cur.execute('SELECT t::text FROM "%s"."%s" t ORDER BY 1' % (schema, d["name"]))
                rows.append(cur.fetchall())
        assert rows[0] == rows[1], d["name"]
        assert len(rows[0]) == d["rows"] == lt["rows"]
    # the same views (created, same SQL) and the same routines, read from the dump or from the server
    def views(manifest, schema):
        return sorted((v["name"], v["translated"], (v["sql"] or "").replace(schema, "S"))
                      for v in manifest["views"])
    assert views(live, "l_" + name) == views(dumped, "d_" + name)
    assert sorted((r["kind"], r["name"]) for r in live["routines"]) == \
        sorted((r["kind"], r["name"]) for r in dumped["routines"])
    with pg.cursor() as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.views WHERE table_schema IN %s",
                    (("d_" + name, "l_" + name),))
        created = cur.fetchall()
    by_schema = {sch: sorted(n for s, n in created if s == sch) for sch in ("d_" + name, "l_" + name)}
    assert by_schema["d_" + name] == by_schema["l_" + name]
    assert (name != "sakila") or len(by_schema["l_" + name]) > 0
    pg.close()
