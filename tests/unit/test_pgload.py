"""pg_load's pure parts: SQL splitting, FK rewriting, the plan checks, reject files (no database)."""
import json
import os

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.load.copy import RejectWriter, error_line
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import (
    LoadError,
    PgLoad,
    Step,
    TableTask,
    not_valid_sql,
    plan_tables,
    pre_data_steps,
    select_tables,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.load.sql import is_create_table, split_sql
from ansible_collections.pgshift.mysql.plugins.module_utils.quoting import qualified
from hypothesis import given
from hypothesis import strategies as st

# ---------------------------------------------------------------- split_sql

@pytest.mark.parametrize(("script", "expected"), [
    ("CREATE SCHEMA a; CREATE SCHEMA b;", ["CREATE SCHEMA a", "CREATE SCHEMA b"]),
    ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
    ("SELECT 'it''s;'", ["SELECT 'it''s;'"]),
    ("SELECT E'a\\';b'; SELECT 1", ["SELECT E'a\\';b'", "SELECT 1"]),
    ("SELECT 'C:\\'; SELECT 1", ["SELECT 'C:\\'", "SELECT 1"]),  # standard string: backslash is plain
    ('CREATE TABLE "a;b" (x int); SELECT 1', ['CREATE TABLE "a;b" (x int)', "SELECT 1"]),
    ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2",
     ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT 2"]),
    ("DO $b$ BEGIN PERFORM 1; END $b$; SELECT 3", ["DO $b$ BEGIN PERFORM 1; END $b$", "SELECT 3"]),
    ("-- a; comment\nSELECT 1; /* b; /* nested; */ c; */ SELECT 2;",
     ["-- a; comment\nSELECT 1", "/* b; /* nested; */ c; */ SELECT 2"]),
    ("  ;;\n-- only a comment\n", []),
])
def test_split_sql(script, expected):
    assert split_sql(script) == expected


_literal = st.text(alphabet=st.sampled_from("ab;'\"$\\ \n-*/"), max_size=12)


@given(st.lists(_literal, min_size=1, max_size=5))
def test_split_sql_keeps_quoted_literals_whole(values):
    """Any text inside a standard string literal (quotes doubled) never splits a statement."""
    statements = ["SELECT '%s'" % v.replace("'", "''") for v in values]
    assert split_sql(";\n".join(statements) + ";") == statements


@pytest.mark.parametrize(("statement", "is_table"), [
    ('CREATE TABLE "s"."t" (id int)', True),
    ("create unlogged table t (id int)", True),
    ("-- the table\nCREATE TABLE t (id int)", True),
    ("CREATE TYPE mood AS ENUM ('a')", False),
    ("CREATE TABLESPACE x LOCATION '/x'", False),
    ("CREATE SCHEMA s", False),
])
def test_is_create_table(statement, is_table):
    assert is_create_table(statement) is is_table


# ---------------------------------------------------------------- foreign keys NOT VALID

@pytest.mark.parametrize(("sql", "expected"), [
    ('ALTER TABLE "s"."c" ADD CONSTRAINT "fk" FOREIGN KEY ("p") REFERENCES "s"."p" ("id") ON DELETE CASCADE;',
     'ALTER TABLE "s"."c" ADD CONSTRAINT "fk" FOREIGN KEY ("p") REFERENCES "s"."p" ("id") ON DELETE CASCADE'
     " NOT VALID"),
    ("ALTER TABLE c ADD FOREIGN KEY (p) REFERENCES p (id) NOT VALID;",
     "ALTER TABLE c ADD FOREIGN KEY (p) REFERENCES p (id) NOT VALID"),
    ("CREATE INDEX i ON t (x);", "CREATE INDEX i ON t (x)"),
])
def test_not_valid_sql(sql, expected):
    assert not_valid_sql(sql) == expected


def test_copy_sql_names_columns_and_freezes_only_when_asked():
    task = TableTask("/d", {"schema": 'we"ird', "name": "t", "columns": [{"name": "a"}, {"name": "b c"}]})
    assert task.copy_sql(freeze=True) == ('COPY "we""ird"."t" ("a", "b c") FROM STDIN WITH (FORMAT text,'
                                          " FREEZE true)")
    assert "FREEZE" not in task.copy_sql(freeze=False)
    assert task.data_file == 'data/we"ird.t.copy'
    assert qualified("a", "b") == '"a"."b"'


def test_post_data_step_keys_are_stable_and_distinct():
    a = Step("post", "index", schema="s", table="t", name="i1", sql="CREATE INDEX i1 ON s.t (x)")
    b = Step("post", "index", schema="s", table="t", name="i2", sql="CREATE INDEX i2 ON s.t (x)")
    c = Step("post", "comment", schema="s", table="t", name=None, sql="COMMENT ON TABLE s.t IS 'x'")
    assert len({a.key, b.key, c.key}) == 3
    assert c.key == Step("post", "comment", schema="s", table="t", name=None,
                         sql=" COMMENT ON TABLE s.t IS 'x' ;").key


# ---------------------------------------------------------------- the plan

def _dir(tmp_path, tables, complete=True, pre="", sizes=None):
    os.makedirs(tmp_path / "data", exist_ok=True)
    entries = []
    for name, content in tables.items():
        (tmp_path / "data" / ("s.%s.copy" % name)).write_bytes(content)
        entries.append({"schema": "s", "name": name, "columns": [{"name": "x"}], "data_file":
                        "data/s.%s.copy" % name, "rows": content.count(b"\n"),
                        "bytes": (sizes or {}).get(name, len(content)),
                        "create_sql": "CREATE TABLE s.%s (x int);" % name, "post_data": []})
    (tmp_path / "pre-data.sql").write_text(pre)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "complete": complete, "schemas": ["s"],
                                                         "tables": entries, "views": []}))
    return str(tmp_path)


def test_plan_orders_largest_first(tmp_path):
    src = _dir(tmp_path, {"small": b"1\n", "big": b"1\n2\n3\n", "mid": b"1\n2\n"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [t.name for t in plan_tables(src, manifest["tables"])] == ["big", "mid", "small"]


def test_plan_refuses_missing_data_file(tmp_path):
    src = _dir(tmp_path, {"t": b"1\n"})
    os.unlink(tmp_path / "data" / "s.t.copy")
    with pytest.raises(LoadError, match=r"s\.t: data file .*s\.t\.copy' is missing"):
        plan_tables(src, json.loads((tmp_path / "manifest.json").read_text())["tables"])


def test_plan_refuses_a_data_file_of_the_wrong_size(tmp_path):
    src = _dir(tmp_path, {"t": b"1\n2\n"}, sizes={"t": 99})
    with pytest.raises(LoadError, match="has 4 bytes but the manifest says 99"):
        plan_tables(src, json.loads((tmp_path / "manifest.json").read_text())["tables"])


def test_select_tables_by_key_or_name_and_unknown_named(tmp_path):
    manifest = {"tables": [{"schema": "s", "name": "a"}, {"schema": "s", "name": "b"}]}
    assert [t["name"] for t in select_tables(manifest, ["s.b", "a"])] == ["b", "a"]
    assert len(select_tables(manifest, None)) == 2
    with pytest.raises(LoadError, match=r"table 'zz' is not in the manifest \(known: s\.a, s\.b\)"):
        select_tables(manifest, ["zz"])


def test_pre_data_leaves_tables_to_their_load_transaction(tmp_path):
    src = _dir(tmp_path, {"t": b"1\n"}, pre="CREATE SCHEMA s;\nCREATE TYPE s.m AS ENUM ('x');\n"
                                            "CREATE TABLE s.t (x int);\n")
    assert [s.sql for s in pre_data_steps(src)] == ["CREATE SCHEMA s", "CREATE TYPE s.m AS ENUM ('x')"]


@pytest.mark.parametrize("complete", [False, None])
def test_incomplete_manifest_refused_before_connecting(tmp_path, complete):
    src = _dir(tmp_path, {"t": b"1\n"}, complete=complete)
    with pytest.raises(MigrationError, match="not marked complete"):
        PgLoad({"pg_host": "192.0.2.1", "pg_port": 1}, src).run()


@pytest.mark.parametrize(("options", "message"), [
    ({"if_exists": "replace"}, "if_exists must be one of fail, truncate, drop"),
    ({"max_rejects": -1}, "max_rejects must be >= 0"),
])
def test_bad_options_are_named(tmp_path, options, message):
    with pytest.raises(LoadError, match=message):
        PgLoad({}, str(tmp_path), **options)


# ---------------------------------------------------------------- rejects

class _Diag:
    def __init__(self, context):
        self.context = context
        self.message_primary = "boom"


class _Err(Exception):
    def __init__(self, context):
        super().__init__("boom")
        self.diag = _Diag(context)
        self.pgcode = "22P02"


@pytest.mark.parametrize(("context", "line"), [
    ('COPY people, line 123, column age: "x"', 123),
    ("COPY people, line 7", 7),
    ("SQL statement", None),
    (None, None),
])
def test_error_line(context, line):
    assert error_line(_Err(context)) == line


def test_reject_writer_keeps_lines_verbatim_and_logs_line_numbers(tmp_path):
    writer = RejectWriter(str(tmp_path / "rejects" / "s.t.copy"), str(tmp_path / "rejects" / "s.t.log"),
                          "data/s.t.copy")
    writer.add(5, b"5\tx\\ty\n", "22P02: bad")
    writer.add(9, b"9\tlast line without newline", "22P04: extra")
    writer.close()
    assert (tmp_path / "rejects" / "s.t.copy").read_bytes() == b"5\tx\\ty\n9\tlast line without newline\n"
    assert (tmp_path / "rejects" / "s.t.log").read_text() == (
        "data/s.t.copy line 5: 22P02: bad\ndata/s.t.copy line 9: 22P04: extra\n")
    assert (writer.count, writer.first) == (2, (5, "22P02: bad"))
    writer.clear()
    assert not os.listdir(tmp_path / "rejects")


# ---------------------------------------------------------------- the module and the console command

def _documented_options(module):
    """The module's options as ansible-doc shows them: its own plus those of its doc fragments."""
    import importlib

    import yaml

    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    for fragment in doc.get("extends_documentation_fragment", []):
        name = fragment.rsplit(".", 1)[1]
        frag = importlib.import_module("ansible_collections.pgshift.mysql.plugins.doc_fragments." + name)
        options.update(yaml.safe_load(frag.ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(doc["options"])
    return options, module.ARGUMENT_SPEC


@pytest.mark.parametrize("module_name", ["pg_load", "dump_load"])
def test_module_documents_exactly_its_arguments(module_name):
    import importlib

    module = importlib.import_module("ansible_collections.pgshift.mysql.plugins.modules." + module_name)
    documented, spec = _documented_options(module)
    assert set(documented) == set(spec)
    for name, arg in spec.items():
        doc = documented[name]
        assert doc.get("type", "str") == arg.get("type", "str"), name
        assert doc.get("default") == arg.get("default"), name
        assert doc.get("choices") == arg.get("choices"), name
        assert bool(doc.get("required")) == bool(arg.get("required")), name
    assert spec["pg_password"]["no_log"] is True


def test_cli_failure_is_a_message_and_json_not_a_traceback(tmp_path, capsys):
    from ansible_collections.pgshift.mysql.plugins.module_utils.cli import load as cli_load

    src = _dir(tmp_path, {"t": b"1\n"}, complete=False)
    assert cli_load.main([src, "--pg-host", "192.0.2.1", "--pg-port", "1"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"failed": True, "msg": json.loads(out)["msg"]}
    assert "not marked complete" in json.loads(out)["msg"]
    assert err.startswith("pgshift load: ") and "Traceback" not in err
