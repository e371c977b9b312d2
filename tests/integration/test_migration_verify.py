"""migration_verify on the lab: a clean pair passes, and each corruption is found with its key."""
import io
import json
import math
import os
import subprocess
import sys
import uuid

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.verify import verify as verify_engine
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import failure_message, verify

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROWS = 300
TABLES = ("items", "pairs", "nokey", "order_lines")

MYSQL_DDL = [
    """CREATE TABLE items (
        id INT AUTO_INCREMENT PRIMARY KEY, flag TINYINT(1) NOT NULL, qty INT UNSIGNED, price DECIMAL(10,2),
        ratio FLOAT, score DOUBLE, name VARCHAR(50) NOT NULL, note TEXT NULL,
        latin VARCHAR(20) CHARSET latin1,
        created DATETIME(3), updated TIMESTAMP NULL, day DATE, blobv VARBINARY(16), bits BIT(5),
        kind ENUM('a','b'), tags SET('x','y','z'), doc JSON, emb LONGTEXT, zero_dt DATETIME NULL, yr YEAR)""",
    "CREATE TABLE pairs (a VARCHAR(10), b INT, v VARCHAR(20), PRIMARY KEY (a, b))",
    "CREATE TABLE nokey (v VARCHAR(20), n INT NULL)",
    "CREATE TABLE order_lines (order_id INT, code VARCHAR(10), qty INT NOT NULL, "
    "PRIMARY KEY (order_id, code))",
]
PG_DDL = [
    """CREATE TABLE app.items (
        id integer PRIMARY KEY, flag boolean NOT NULL, qty bigint, price numeric(10,2), ratio real,
        score double precision, name varchar(50) NOT NULL, note text, latin varchar(20), created timestamp(3),
        updated timestamptz, day date, blobv bytea, bits bit(5), kind text, tags text[], doc jsonb,
        emb vector(4), zero_dt timestamp, yr smallint)""",
    "CREATE TABLE app.pairs (a varchar(10), b integer, v varchar(20), PRIMARY KEY (a, b))",
    "CREATE TABLE app.nokey (v varchar(20), n integer)",
    "CREATE TABLE app.order_lines (order_id integer, code varchar(10), qty integer NOT NULL, "
    "PRIMARY KEY (order_id, code))",
]
PG_TYPES = {"id": "integer", "flag": "boolean", "qty": "bigint", "price": "numeric(10,2)", "ratio": "real",
            "score": "double precision", "name": "varchar(50)", "note": "text", "latin": "varchar(20)",
            "created": "timestamp(3)", "updated": "timestamptz", "day": "date", "blobv": "bytea",
            "bits": "bit(5)", "kind": "text", "tags": "text[]", "doc": "jsonb", "emb": "vector(4)",
            "zero_dt": "timestamp", "yr": "smallint", "a": "varchar(10)", "b": "integer", "v": "varchar(20)",
            "n": "integer", "order_id": "integer", "code": "varchar(10)"}
# text key: MariaDB's utf8mb4_general_ci and PostgreSQL's collations order these the same way
LINE_CODES = ["zed", "apple", "banana", "cherry", "b-x"]


def _item(i):
    emb = {str(d): round(math.sin(i * 7 + d) * 0.9, 6) for d in range(4)}
    return (i, i % 2, i * 1000, "%d.%02d" % (i, i % 100), i / 7.0, i * math.pi / 3, "name-%03d-é" % i,
            "" if i == 80 else None if i in (81, 82) else "note %d" % i, "caf\xe9 %d" % i,
            "2020-01-%02d 10:%02d:%02d.%03d" % (1 + i % 28, i % 60, (i * 7) % 60, i % 1000),
            "2021-06-%02d 0%d:00:00" % (1 + i % 28, i % 10), "0009-12-04" if i == 5 else "2022-02-%02d" % (
                1 + i % 28), bytes([i % 256, 0, 255]), i % 32, "ab"[i % 2], ["", "x", "x,z", "y,z"][i % 4],
            json.dumps({"b": i, "a": [1.5, None, "t"], "n": {"z": True}}), json.dumps(emb),
            "0000-00-00 00:00:00" if i % 50 == 0 else "2023-03-03 03:03:03", 1901 + i % 200)


def _pg_text(value, pg_type):
    """Python value from PyMySQL -> PostgreSQL COPY text (what the transform would write)."""
    if value is None:
        return "\\N"
    if pg_type == "boolean":
        return "t" if value else "f"
    if pg_type == "bytea":
        return "\\\\x" + value.hex()
    if pg_type == "bit(5)":
        return format(int.from_bytes(value, "big"), "05b")
    if pg_type == "text[]":
        return "{%s}" % value if not isinstance(value, set) else "{%s}" % ",".join(sorted(value))
    if pg_type == "vector(4)":
        doc = json.loads(value)
        return "[%s]" % ",".join(repr(doc[str(d)]) for d in range(len(doc)))
    if pg_type == "timestamptz":
        return str(value) + "+00"
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _copy_table(my_cur, pg_cur, table, columns, select=None):
    my_cur.execute("SELECT %s FROM `%s`" % (select or ", ".join(columns), table))
    buf = io.StringIO()
    for row in my_cur.fetchall():
        buf.write("\t".join(_pg_text(v, PG_TYPES[c]) for c, v in zip(columns, row, strict=True)) + "\n")
    buf.seek(0)
    pg_cur.copy_expert("COPY app.%s (%s) FROM STDIN" % (table, ", ".join(columns)), buf)


def _manifest(db, my_cur):
    tables = []
    keys = {"items": ["id"], "pairs": ["a", "b"], "nokey": [], "order_lines": ["order_id", "code"]}
    for table, pk in keys.items():
        my_cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                       "WHERE TABLE_SCHEMA=%s "
                       "AND TABLE_NAME=%s ORDER BY ORDINAL_POSITION", (db, table))
        cols = [{"name": n, "source_name": n, "source_type": t, "pg_type": PG_TYPES[n], "identity": n == "id",
                 "embedding": {"type": "vector", "dimensions": 4, "format": "json_object", "invalid": "error"}
                 if n == "emb" else None} for n, t in my_cur.fetchall()]
        tables.append({"schema": "app", "name": table, "source_schema": db, "source_name": table,
                       "columns": cols, "primary_key": pk, "auto_increment": None})
    return {"format": 1, "complete": True, "options": {"zero_date": "null"}, "schemas": ["app"],
            "tables": tables}


@pytest.fixture(scope="module")
def pair(lab, mysql_connect, pg_connect, tmp_path_factory):
    """A MariaDB database and its PostgreSQL copy, shared by the module's tests (restored after each)."""
    name = "t_verify_%s" % uuid.uuid4().hex[:10]
    admin_my, admin_pg = mysql_connect(), pg_connect()
    admin_pg.autocommit = True
    with admin_my.cursor() as cur:
        cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
    with admin_pg.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    my, pg = mysql_connect(name), pg_connect(name)
    try:
        with my.cursor() as my_cur, pg.cursor() as pg_cur:
            my_cur.execute("SET SESSION sql_mode = '', time_zone = '+00:00'")
            for ddl in MYSQL_DDL:
                my_cur.execute(ddl)
            my_cur.executemany("INSERT INTO items VALUES (%s)" % ", ".join(["%s"] * 20),
                               [_item(i) for i in range(1, ROWS + 1)])
            my_cur.executemany("INSERT INTO pairs VALUES (%s, %s, %s)",
                               [("k%d" % (i % 7), i, "v%d" % i) for i in range(60)])
            my_cur.executemany("INSERT INTO nokey VALUES (%s, %s)",
                               [("dup", 1), ("dup", 1), ("dup", 1), ("x", None), ("", 2)])
            my_cur.executemany("INSERT INTO order_lines VALUES (%s, %s, %s)",
                               [(o, code, o * 10 + n) for o in range(1, 41)
                                for n, code in enumerate(LINE_CODES)])
            pg_cur.execute("CREATE SCHEMA app; CREATE EXTENSION IF NOT EXISTS vector")
            for ddl in PG_DDL:
                pg_cur.execute(ddl)
            item_cols = [c.split()[0] for c in PG_DDL[0].split("(", 1)[1].split(",\n")]
            item_cols = ["id", "flag", "qty", "price", "ratio", "score", "name", "note", "latin", "created",
                         "updated", "day", "blobv", "bits", "kind", "tags", "doc", "emb", "zero_dt", "yr"]
            select = ", ".join("ratio+0e0" if c == "ratio" else "NULLIF(zero_dt, 0)" if c == "zero_dt"
                               else c for c in item_cols)
            _copy_table(my_cur, pg_cur, "items", item_cols, select)
            _copy_table(my_cur, pg_cur, "pairs", ["a", "b", "v"])
            _copy_table(my_cur, pg_cur, "nokey", ["v", "n"])
            _copy_table(my_cur, pg_cur, "order_lines", ["order_id", "code", "qty"])
            for t in TABLES:
                pg_cur.execute("CREATE TABLE app.%s_orig AS SELECT * FROM app.%s" % (t, t))
            manifest = _manifest(name, my_cur)
        pg.commit()
        params_my = {"mysql_defaults_file": lab["mysql"]["defaults_file"]}
        params_pg = {"pg_host": lab["postgresql"]["host"], "pg_port": lab["postgresql"]["port"],
                     "pg_user": lab["postgresql"]["user"], "pg_passfile": lab["postgresql"]["passfile"],
                     "pg_database": name}
        directory = tmp_path_factory.mktemp("verify")
        (directory / "manifest.json").write_text(json.dumps(manifest))
        yield {"name": name, "pg": pg, "my": my, "manifest": manifest, "mysql": params_my,
               "postgresql": params_pg,
               "dir": str(directory)}
    finally:
        pg.close()
        my.close()
        with admin_my.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
        with admin_pg.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


@pytest.fixture
def clean(pair):
    yield pair
    with pair["pg"].cursor() as cur:
        for t in TABLES:
            cur.execute("TRUNCATE app.%s; INSERT INTO app.%s SELECT * FROM app.%s_orig" % (t, t, t))
    pair["pg"].commit()


def _run(pair, **kw):
    kw.setdefault("chunk_rows", 40)
    return verify(pair["mysql"], pair["postgresql"], pair["manifest"], **kw)


def _pg(pair, sql, params=None):
    with pair["pg"].cursor() as cur:
        cur.execute(sql, params)
    pair["pg"].commit()


@pytest.mark.parametrize("mode", ["checksums", "counts", "sample"])
def test_clean_pair_passes(clean, mode):
    report = _run(clean, mode=mode, sample_percent=50)
    assert report["ok"], failure_message(report)
    assert report["tables"]["app.items"]["mysql_rows"] == ROWS
    assert report["tables"]["app.items"]["strategy"] == "range"
    assert report["tables"]["app.pairs"]["strategy"] == "hash"
    assert report["tables"]["app.nokey"]["strategy"] == "keyless"
    if mode == "checksums":
        assert report["tables"]["app.items"]["chunks_checked"] == report["tables"]["app.items"]["chunks"] > 1
        assert report["tables"]["app.items"]["python_columns"] == ["doc", "emb"]
    if mode != "counts":
        lines = report["tables"]["app.order_lines"]
        # text in the key: PostgreSQL orders it as MySQL's PRIMARY KEY does, no chunk disagrees on order
        assert lines["chunk_checksum"] == "md5_of_chunk" and lines["chunks_rechecked"] == 0
        assert lines["key_order"] == "scan"


@pytest.mark.parametrize("mode", ["checksums", "sample"])
def test_composite_key_with_text_chunk_digests(clean, mode):
    _pg(clean, "UPDATE app.order_lines SET qty = qty + 1 WHERE order_id = 23 AND code = 'banana'")
    _pg(clean, "DELETE FROM app.order_lines WHERE order_id = 31 AND code = 'b-x'")
    report = _run(clean, tables=["order_lines"], chunk_rows=20, mode=mode, sample_percent=100)
    lines = report["tables"]["app.order_lines"]
    assert lines["chunk_checksum"] == "md5_of_chunk" and lines["chunks"] > 5
    assert lines["chunks_differing"] == 2
    assert [(d["kind"], d["key"]) for d in lines["differences"] if d["kind"] != "row_count"] == [
        ("values_differ", {"order_id": 23, "code": "banana"}),
        ("missing_in_postgresql", {"order_id": 31, "code": "b-x"})]


def test_cut_group_concat_falls_back_to_row_hashes(clean, monkeypatch):
    """A chunk text longer than group_concat_max_len (warning 1260) is checked row by row instead."""
    monkeypatch.setattr(verify_engine, "MYSQL_SESSION", verify_engine.MYSQL_SESSION[:-1] + [
        "SET SESSION group_concat_max_len = 1024"])
    report = _run(clean, tables=["order_lines"], chunk_rows=100)
    lines = report["tables"]["app.order_lines"]
    assert report["ok"] and lines["chunks_rechecked"] == lines["chunks"] > 1
    _pg(clean, "UPDATE app.order_lines SET qty = 0 WHERE order_id = 7 AND code = 'cherry'")
    report = _run(clean, tables=["order_lines"], chunk_rows=100)
    assert [d["key"] for d in report["tables"]["app.order_lines"]["differences"]] == [
        {"order_id": 7, "code": "cherry"}]


def test_too_long_string_agg_falls_back_to_row_hashes(clean, monkeypatch):
    """PostgreSQL refusing a chunk's string_agg (over 1 GB: its real message, raised by a function
    around the aggregate) makes the chunk checked row by row, not the run fail."""
    _pg(clean, "CREATE OR REPLACE FUNCTION app.pgshift_too_big(text) RETURNS text LANGUAGE plpgsql AS $$"
               " BEGIN RAISE EXCEPTION 'out of memory' USING DETAIL = 'Cannot enlarge string buffer"
               " containing 1073741812 bytes by 20 more bytes.'; END $$")
    real = verify_engine._digest_select

    def refusing(plan, side, layout, chunk):
        sql = real(plan, side, layout, chunk)
        return sql.replace("md5(string_agg(", "md5(app.pgshift_too_big(string_agg(").replace(
            "')) FROM (", "'))) FROM (") if side.dialect is verify_engine.PG else sql
    monkeypatch.setattr(verify_engine, "_digest_select", refusing)
    try:
        _pg(clean, "UPDATE app.order_lines SET qty = 0 WHERE order_id = 7 AND code = 'cherry'")
        report = _run(clean, tables=["order_lines"], chunk_rows=100)
        lines = report["tables"]["app.order_lines"]
        assert lines["chunks_rechecked"] == lines["chunks"] > 1
        assert [d["key"] for d in lines["differences"]] == [{"order_id": 7, "code": "cherry"}]
    finally:
        _pg(clean, "DROP FUNCTION app.pgshift_too_big(text)")


def _descending_in_pg(order_expr):
    def descending(side, col, canonical):
        expr = order_expr(side, col, canonical)
        return expr + " DESC" if side is verify_engine.PG else expr
    return descending


def test_row_order_disagreement_is_not_a_difference(clean, monkeypatch):
    """Chunk digests that differ only because the engines' row orders differ are rechecked with the
    order-independent row hashes: slower, never a false report."""
    for name in ("_order_expr", "_scan_order_expr"):
        monkeypatch.setattr(verify_engine, name, _descending_in_pg(getattr(verify_engine, name)))
    report = _run(clean, tables=["order_lines"], chunk_rows=20)
    lines = report["tables"]["app.order_lines"]
    assert report["ok"], failure_message(report)
    assert lines["chunks_rechecked"] == lines["chunks"] > 1 and lines["chunks_differing"] == 0


def _nudge_double(pair, key):
    with pair["pg"].cursor() as cur:
        cur.execute("SELECT score FROM app.items WHERE id = %s", (key,))
        value = cur.fetchone()[0]
    _pg(pair, "UPDATE app.items SET score = %s WHERE id = %s", (math.nextafter(value, math.inf), key))


def _change_vector(pair, key):
    with pair["pg"].cursor() as cur:
        cur.execute("SELECT emb::text FROM app.items WHERE id = %s", (key,))
        values = json.loads(cur.fetchone()[0])
    values[2] = values[2] + 0.001
    _pg(pair, "UPDATE app.items SET emb = %s::vector WHERE id = %s", (json.dumps(values), key))


CORRUPTIONS = [
    ("changed value", "UPDATE app.items SET qty = qty + 1 WHERE id = 17", 17, "values_differ", "qty"),
    ("missing row", "DELETE FROM app.items WHERE id = 42", 42, "missing_in_postgresql", None),
    ("extra row", "INSERT INTO app.items SELECT 1000, flag, qty, price, ratio, score, name, note, latin, "
     "created, "
     "updated, day, blobv, bits, kind, tags, doc, emb, zero_dt, yr FROM app.items WHERE id = 3", 1000,
     "extra_in_postgresql", None),
    ("one ulp in a double", _nudge_double, 55, "values_differ", "score"),
    ("truncated string", "UPDATE app.items SET name = left(name, -1) WHERE id = 60", 60, "values_differ",
     "name"),
    ("vector element", _change_vector, 64, "values_differ", "emb"),
    ("timestamp shifted an hour",
     "UPDATE app.items SET updated = updated + interval '1 hour' WHERE id = 77", 77,
     "values_differ", "updated"),
    ("'' became NULL", "UPDATE app.items SET note = NULL WHERE id = 80", 80, "values_differ", "note"),
    ("NULL became ''", "UPDATE app.items SET note = '' WHERE id = 81", 81, "values_differ", "note"),
    ("json value", "UPDATE app.items SET doc = jsonb_set(doc, '{a,0}', '1.25') WHERE id = 90", 90,
     "values_differ", "doc"),
    ("float32 value", "UPDATE app.items SET ratio = ratio * 1.0000001 WHERE id = 99", 99, "values_differ",
     "ratio"),
    ("zero date policy", "UPDATE app.items SET zero_dt = '1970-01-01' WHERE id = 100", 100, "values_differ",
     "zero_dt"),
    ("latin1 text", "UPDATE app.items SET latin = 'cafe 110' WHERE id = 110", 110, "values_differ", "latin"),
    ("bytes", "UPDATE app.items SET blobv = '\\x00' WHERE id = 120", 120, "values_differ", "blobv"),
    ("set member", "UPDATE app.items SET tags = '{x}' WHERE id = 122", 122, "values_differ", "tags"),
    ("boolean", "UPDATE app.items SET flag = NOT flag WHERE id = 123", 123, "values_differ", "flag"),
    ("last row deleted", "DELETE FROM app.items WHERE id = %d" % ROWS, ROWS, "missing_in_postgresql", None),
]


PYTHON_COLUMNS = ("doc", "emb")


def _sql_only(manifest):
    """The manifest without items' JSON and vector columns: items is then checked with chunk digests."""
    manifest = json.loads(json.dumps(manifest))
    items = next(t for t in manifest["tables"] if t["name"] == "items")
    items["columns"] = [c for c in items["columns"] if c["name"] not in PYTHON_COLUMNS]
    return manifest


@pytest.mark.parametrize("columns", ["all", "sql_only"])
@pytest.mark.parametrize("label, corrupt, key, kind, column", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corruption_is_found_with_its_key(clean, label, corrupt, key, kind, column, columns):  # noqa: PLR0917
    """all: items has Python-side columns (rows hashed in Python); sql_only: MD5 of whole chunks."""
    if columns == "sql_only" and column in PYTHON_COLUMNS:
        pytest.skip("the column is not compared without the Python-side columns")
    if callable(corrupt):
        corrupt(clean, key)
    else:
        _pg(clean, corrupt)
    manifest = _sql_only(clean["manifest"]) if columns == "sql_only" else clean["manifest"]
    report = verify(clean["mysql"], clean["postgresql"], manifest, chunk_rows=40, tables=["app.items"])
    assert not report["ok"]
    table = report["tables"]["app.items"]
    assert table["chunk_checksum"] == ("md5_of_chunk" if columns == "sql_only" else "xor_of_row_md5")
    assert table["chunks_differing"] == 1
    diffs = [d for d in report["tables"]["app.items"]["differences"] if d["kind"] != "row_count"]
    assert len(diffs) == 1, diffs
    assert diffs[0]["kind"] == kind and diffs[0]["key"] == {"id": key}
    if column:
        assert list(diffs[0]["columns"]) == [column]
    assert "app.items" in failure_message(report) and str(key) in failure_message(report)


def test_vector_column_that_is_not_a_vector_is_named_with_key_and_column(clean):
    """The manifest says vector(4) but PostgreSQL holds text (a conversion not done): the row that
    is not pgvector text is reported with its table, key and column, not as a bare parse error."""
    _pg(clean, "ALTER TABLE app.items ALTER emb TYPE text; "
               "UPDATE app.items SET emb = '{\"0\": 1}' WHERE id = 7")
    try:
        report = _run(clean, tables=["items"])
    finally:
        _pg(clean, "UPDATE app.items SET emb = NULL WHERE id = 7; "
                   "ALTER TABLE app.items ALTER emb TYPE vector(4) USING emb::vector(4)")
    diffs = report["tables"]["app.items"]["differences"]
    assert [(d["kind"], d["key"], list(d["columns"])) for d in diffs] == \
        [("values_differ", {"id": 7}, ["emb"])]
    assert diffs[0]["columns"]["emb"]["postgresql"] == '{"0": 1}'
    message = failure_message(report)
    assert "app.items" in message and "{'id': 7}" in message and "emb" in message


def test_composite_key_difference(clean):
    _pg(clean, "UPDATE app.pairs SET v = 'changed' WHERE a = 'k3' AND b = 10")
    report = _run(clean, tables=["pairs"], chunk_rows=10)
    diffs = report["tables"]["app.pairs"]["differences"]
    assert diffs == [{"kind": "values_differ", "key": {"a": "k3", "b": 10},
                      "columns": {"v": {"mysql": "v10", "postgresql": "changed"}}}]


@pytest.mark.parametrize("sql, kind, row", [
    ("DELETE FROM app.nokey WHERE ctid = (SELECT min(ctid) FROM app.nokey WHERE v = 'dup')",
     "missing_in_postgresql", {"v": "dup", "n": 1}),
    ("UPDATE app.nokey SET v = NULL WHERE v = ''", "missing_in_postgresql", {"v": "", "n": 2}),
])
def test_table_without_key(clean, sql, kind, row):
    _pg(clean, sql)
    report = _run(clean, tables=["nokey"], chunk_rows=2)
    diffs = [d for d in report["tables"]["app.nokey"]["differences"] if d["kind"] == kind]
    assert diffs and diffs[0]["row"] == row


def test_counts_mode_sees_only_counts(clean):
    _pg(clean, "UPDATE app.items SET qty = 0 WHERE id = 5")
    assert _run(clean, mode="counts")["ok"]
    _pg(clean, "DELETE FROM app.items WHERE id = 6")
    report = _run(clean, mode="counts")
    assert report["tables"]["app.items"]["differences"] == [{"kind": "row_count", "mysql": ROWS,
                                                             "postgresql": ROWS - 1}]


def test_missing_table_fails_clearly(clean):
    manifest = json.loads(json.dumps(clean["manifest"]))
    manifest["tables"][1]["name"] = "nope"
    report = verify(clean["mysql"], clean["postgresql"], manifest, tables=["app.nope"])
    assert report["failed_tables"] == ["app.nope"]
    assert "missing in PostgreSQL" in failure_message(report)


def test_console_command_writes_the_report(clean, tmp_path):
    _pg(clean, "UPDATE app.items SET name = 'x' WHERE id = 9")
    out = tmp_path / "report.json"
    pg = clean["postgresql"]
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "pgshift"), "verify",
                           "--src", clean["dir"],
                           "--mysql-defaults-file", clean["mysql"]["mysql_defaults_file"],
                           "--pg-host", pg["pg_host"], "--pg-port", str(pg["pg_port"]),
                           "--pg-database", pg["pg_database"], "--pg-user", pg["pg_user"],
                           "--pg-passfile", pg["pg_passfile"], "--report-path", str(out), "--progress",
                           "--chunk-rows", "50"], check=False, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "app.items" in proc.stderr and "'id': 9" in proc.stderr
    assert json.loads(proc.stdout)["failed_tables"] == ["app.items"]
    assert json.loads(out.read_text())["tables"]["app.items"]["differences"][0]["key"] == {"id": 9}


def test_under_ansible_playbook(clean, lab, tmp_path):
    pgl = lab["postgresql"]
    secrets = {"pg_pw": pgl["password"], "my_pw": lab["mysql"]["password"]}
    (tmp_path / "vars.yml").write_text(json.dumps(secrets))
    task = """
      pgshift.mysql.migration_verify:
        src: %(dir)s
        mysql_user: %(myuser)s
        mysql_password: "{{ my_pw }}"
        pg_database: %(db)s
        pg_user: %(pguser)s
        pg_password: "{{ pg_pw }}"
        chunk_rows: 50
        report_path: %(out)s
""" % {"dir": clean["dir"], "myuser": lab["mysql"]["user"], "db": clean["name"], "pguser": pgl["user"],
       "out": tmp_path / "report.json"}
    (tmp_path / "play.yml").write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [vars.yml]
  tasks:
    - name: Clean pair passes
%(task)s      register: clean_run
    - name: Corrupt one row
      community.postgresql.postgresql_query:
        login_host: 127.0.0.1
        login_user: %(pguser)s
        login_password: "{{ pg_pw }}"
        db: %(db)s
        query: UPDATE app.items SET price = 0 WHERE id = 33
    - name: Corruption fails the task
%(task)s      register: bad_run
      ignore_errors: true
    - name: Checks
      ansible.builtin.assert:
        that:
          - clean_run is not changed
          - clean_run.ok
          - bad_run is failed
          - "'app.items' in bad_run.msg"
          - bad_run.tables['app.items'].differences[0].key.id == 33
""" % {"task": task, "pguser": pgl["user"], "db": clean["name"]})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    venv = os.path.join(ROOT, ".venv", "bin")
    proc = subprocess.run([os.path.join(venv, "ansible-playbook"), "-i", "localhost,", "-v", "-e",
                           "ansible_python_interpreter=" + os.path.join(venv, "python"),
                           str(tmp_path / "play.yml")], check=False, capture_output=True, text=True, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pgl["password"] not in proc.stdout + proc.stderr
    assert lab["mysql"]["password"] not in proc.stdout + proc.stderr


def test_text_key_order_mismatch_switches_to_sorting(clean, monkeypatch):
    """When PostgreSQL's key order is not MySQL's (here: the text key descending in PostgreSQL), the
    first wave's rechecks see it and both sides sort by the canonical bytes."""
    original = verify_engine._scan_order_expr

    def text_descending_in_pg(side, col, canonical):
        expr = original(side, col, canonical)
        return expr + " DESC" if side is verify_engine.PG and col.kind == "text" else expr
    monkeypatch.setattr(verify_engine, "_scan_order_expr", text_descending_in_pg)
    report = _run(clean, tables=["order_lines"], chunk_rows=20)
    lines = report["tables"]["app.order_lines"]
    assert report["ok"], failure_message(report)
    assert lines["key_order"] == "sorted" and lines["chunks_rechecked"] > 0 and lines["chunks_differing"] == 0
    _pg(clean, "UPDATE app.order_lines SET qty = -1 WHERE order_id = 12 AND code = 'b-x'")
    report = _run(clean, tables=["order_lines"], chunk_rows=20)
    assert [d["key"] for d in report["tables"]["app.order_lines"]["differences"]] == [
        {"order_id": 12, "code": "b-x"}]
