"""jobs > 1: the same bytes, row counts, errors and rejects as jobs=1; statement splitting rules."""
import filecmp
import json
import os

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump import parallel
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.model.mysqllexer import statement_end
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TAIL = b"-- Dump completed on 2026-11-22  3:24:23\n"   # mysqldump's last line
HEAD = b"/*!40101 SET NAMES utf8mb4 */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n"
DDL = (b"CREATE TABLE `t` (`id` int NOT NULL, `s` varchar(200), `d` datetime, `b` tinyint(1), `bin` blob,"
       b" PRIMARY KEY (`id`));\n"
       b"CREATE TABLE `u` (`k` bigint unsigned NOT NULL, `j` json, `dec` decimal(10,2));\n")


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few statements, so that even small dumps use many batches and workers."""
    monkeypatch.setattr(parallel, "BATCH_BYTES", 200)


def run(tmp_path, name, body, jobs, **kw):
    src = tmp_path / "dump.sql"
    src.write_bytes(HEAD + body + TAIL)
    dest = tmp_path / name
    opts = TransformOptions(src=str(src), dest=str(dest), default_schema="db", jobs=jobs, **kw)
    result = run_transform(opts)
    return result, dest


def assert_same_output(a, b):
    files = sorted(os.listdir(a / "data"))
    assert files == sorted(os.listdir(b / "data"))
    _match, mismatch, errors = filecmp.cmpfiles(a / "data", b / "data", files, shallow=False)
    assert (mismatch, errors) == ([], [])
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    assert [(t["name"], t["rows"], t["bytes"], t["warnings"]) for t in ma["tables"]] == \
           [(t["name"], t["rows"], t["bytes"], t["warnings"]) for t in mb["tables"]]
    assert ma["tables"] and ma["complete"] and mb["complete"]


# -- hypothesis: random rows, random statement sizes, jobs=1 vs jobs=2 -------------------------

PIECES = [*"ab ,;()'\"\\\n\t\r%_é😀", "NULL", ");", "'),(", "\\'"]
NASTY_TEXT = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


def mysql_string(value):
    """A str as mysqldump writes it (backslash escapes)."""
    raw = value.encode("utf-8")
    for a, b in ((b"\\", b"\\\\"), (b"'", b"\\'"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"),
                 (b"\t", b"\\t")):
        raw = raw.replace(a, b)
    return b"'" + raw + b"'"


ROW_T = st.tuples(st.one_of(st.none(), NASTY_TEXT),
                  st.one_of(st.none(), st.sampled_from(["2020-01-02 03:04:05", "0009-12-04 00:00:00",
                                                         "1999-12-31 23:59:59.5"])),
                  st.sampled_from([b"0", b"1", b"NULL"]),
                  st.one_of(st.none(), st.binary(max_size=6)))


def t_tuple(i, row):
    s, d, b, blob = row
    blob_lit = b"NULL" if blob is None else (b"0x" + blob.hex().upper().encode() if blob else b"''")
    return b"(%d,%s,%s,%s,%s)" % (i, b"NULL" if s is None else mysql_string(s),
                                  b"NULL" if d is None else b"'" + d.encode() + b"'", b, blob_lit)


def build_dump(rows, sizes, u_rows):
    out, i, k = [DDL], 0, 0
    while i < len(rows):
        n = sizes[k % len(sizes)]
        k += 1
        chunk = [t_tuple(i + j + 1, r) for j, r in enumerate(rows[i:i + n])]
        sep = b",\n" if k % 2 else b","
        out.append(b"INSERT INTO `t` VALUES " + sep.join(chunk) + b";\n")
        i += n
        if u_rows and k % 3 == 0:            # interleave another table's statements
            out.append(b"INSERT INTO `u` VALUES (%d,'{\\\"a\\\": \\\"x;y\\\"}',%d.25);\n" % (k, k))
    return b"".join(out)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW_T, min_size=1, max_size=60),
       sizes=st.lists(st.integers(1, 9), min_size=1, max_size=4), u_rows=st.booleans())
def test_jobs_2_output_is_byte_identical(tmp_path_factory, small_batches, rows, sizes, u_rows):
    tmp = tmp_path_factory.mktemp("par")
    body = build_dump(rows, sizes, u_rows)
    r1, one = run(tmp, "one", body, 1)
    r2, two = run(tmp, "two", body, 2)
    assert r1["tables"]["db.t"]["rows"] == r2["tables"]["db.t"]["rows"] == len(rows)
    assert_same_output(one, two)


# -- real dumps ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dump", ["sakila/sakila-mariadb-mysqldump.sql", "world/world-mariadb-mysqldump.sql"])
def test_shipped_dumps_identical_with_jobs(tmp_path, shared_data, dump):
    src = os.path.join(shared_data, dump)
    out = {}
    for jobs in (1, 2):
        dest = tmp_path / ("j%d" % jobs)
        result = run_transform(TransformOptions(src=src, dest=str(dest), jobs=jobs))
        out[jobs] = (dest, result)
    assert out[2][1]["jobs"] == 2 and out[1][1]["rows"] == out[2][1]["rows"] > 5000
    assert_same_output(out[1][0], out[2][0])


# -- errors and rejects: those of jobs=1 ---------------------------------------------------------

def bad_value_dump(bad):
    good = [t_tuple(i, ("x;y),('z", "2020-01-02 03:04:05", b"1", b"\x00")) for i in range(1, 40)]
    stmts = [b"INSERT INTO `t` VALUES " + b",".join(good[k:k + 7]) + b";\n" for k in range(0, 39, 7)]
    return DDL + b"".join(stmts) + b"INSERT INTO `t` VALUES (40,'a',NULL,0,NULL)," + bad + b";\n"


@pytest.mark.parametrize("bad, match", [
    (b"(41,'b','0000-00-00 00:00:00',1,NULL)", r"row 41 \(key 41\) at byte offset \d+, column d: zero date"),
    (b"(41,'b\\0c',NULL,1,NULL)", r"row 41 \(key 41\) at byte offset \d+, column s: NUL byte"),
    (b"(41,'b',NULL,7,NULL)", r"row 41 \(key 41\).*column b: value 7 does not fit boolean"),
    (b"(41,'b',NULL,1", r"table t.*byte offset \d+"),
])
def test_errors_are_those_of_jobs_1(tmp_path, small_batches, bad, match):
    body = bad_value_dump(bad)
    messages = []
    for jobs in (1, 2):
        with pytest.raises(MigrationError, match=match) as err:
            run(tmp_path, "j%d" % jobs, body, jobs)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_policies_counted_once_per_value(tmp_path, small_batches):
    body = bad_value_dump(b"(41,'b','0000-00-00 00:00:00',1,NULL),(42,'c\\0',NULL,1,NULL)")
    r1, one = run(tmp_path, "one", body, 1, zero_date="null", nul_bytes="strip")
    r2, two = run(tmp_path, "two", body, 2, zero_date="null", nul_bytes="strip")
    assert r1["tables"]["db.t"]["warnings"] == r2["tables"]["db.t"]["warnings"]
    assert any("zero_date" in w for w in r2["tables"]["db.t"]["warnings"])
    assert_same_output(one, two)


def test_rejects_are_those_of_jobs_1(tmp_path, small_batches):
    pytest.importorskip("ansible_collections.pgshift.mysql.plugins.module_utils.model.embedding_text",
                        reason="embeddings.py (owned by the embeddings engineer) not present yet")
    ddl = b"CREATE TABLE `ce` (`id` int NOT NULL, `embedding` longtext, PRIMARY KEY (`id`));\n"
    stmts = [b"INSERT INTO `ce` VALUES (%d,'[0.5,1,2]'),(%d,'[1,2]'),(%d,NULL);\n"
             % (3 * i + 1, 3 * i + 2, 3 * i + 3) for i in range(20)]
    spec = {"table": "ce", "column": "embedding", "dimensions": 3, "format": "json_array",
            "invalid": "reject"}
    r1, one = run(tmp_path, "one", ddl + b"".join(stmts), 1, embeddings=[spec])
    r2, two = run(tmp_path, "two", ddl + b"".join(stmts), 2, embeddings=[spec])
    assert r1["tables"]["db.ce"]["rejected"] == r2["tables"]["db.ce"]["rejected"] == 20
    assert_same_output(one, two)
    for name in os.listdir(one / "rejects"):
        assert (one / "rejects" / name).read_bytes() == (two / "rejects" / name).read_bytes()


def test_unsplittable_statements_are_converted_in_process(tmp_path, small_batches):
    """') ;' and a double-quoted string: the splitter leaves them to the row loop, in order."""
    body = (DDL + b"INSERT INTO `t` VALUES (1,'a',NULL,1,NULL);\n"
            b"INSERT INTO `t` VALUES (2,\"it's\",NULL,1,NULL) ;\n"
            b"INSERT INTO `t` VALUES (3,'c',NULL,1,NULL);\n")
    _r, one = run(tmp_path, "one", body, 1)
    _r, two = run(tmp_path, "two", body, 2)
    assert_same_output(one, two)
    assert (two / "data" / "db.t.copy").read_bytes().count(b"\n") == 3


# -- the splitter --------------------------------------------------------------------------------

@pytest.mark.parametrize("buf, expected", [
    (b"(1,'a');\nINSERT", (8, False)),
    (b"(1,'a;b'),(2,'c');", (18, False)),
    (b"(1,'a);b'),(2,'c');x", (19, False)),
    (b"(1,'it\\'s;'),(2,'\\\\');", (22, False)),
    (b"(1,'a') ;", (None, False)),                 # not mysqldump's layout
    (b"(1,\"a';\");", (None, True)),               # a double-quoted string hides a quote: read on
    (b"(1,\"a''\");", (None, False)),              # ... and never split here
    (b"(1,'a;", (None, True)),                     # the rest is still to be read
    (b"(1,'a'),(2,", (None, True)),
    (b"x(1);", (None, False)),
    (b"(1,'{\\\"k\\\":1}');", (16, False)),         # JSON text: every " escaped, inside a string
    (b"(1,'{\\\"k\\\":1}'),(2,\"x\");", (None, False)),  # ... but a bare " outside: not split here
    (b"(1,'a\\\\'),(2,'b;');", (19, False)),         # \\' : an escaped backslash, then the quote
    (b"(1,'a\\\\\\';'),(2,'b');", (21, False)),    # \\\' : backslash, then an escaped quote
])
def test_statement_end(buf, expected):
    assert statement_end(buf, 0) == expected


def test_jobs_reported_and_default(tmp_path):
    body = DDL + b"INSERT INTO `t` VALUES (1,'a',NULL,1,NULL);\n"
    result, _dest = run(tmp_path, "d", body, None)
    assert result["jobs"] == parallel.default_jobs() >= 1


def test_cli_jobs(tmp_path, capsys):
    from ansible_collections.pgshift.mysql.plugins.module_utils.cli import transform as cli_transform
    src = tmp_path / "d.sql"
    src.write_bytes(HEAD + DDL + b"INSERT INTO `t` VALUES (1,'a',NULL,1,NULL);\n" + TAIL)
    assert cli_transform.main([str(src), str(tmp_path / "out"), "--jobs", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"] == 2
    assert cli_transform.main([str(src), str(tmp_path / "out2"), "--jobs", "0"]) == 1
    assert "jobs must be a positive integer" in capsys.readouterr().err


def test_module_documents_jobs():
    import yaml
    from ansible_collections.pgshift.mysql.plugins.doc_fragments.transform import ModuleDocFragment
    from ansible_collections.pgshift.mysql.plugins.modules import dump_transform
    doc = yaml.safe_load(dump_transform.DOCUMENTATION)
    assert "pgshift.mysql.transform" in doc["extends_documentation_fragment"]
    assert yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["jobs"]["type"] == "int"
    assert "jobs" in yaml.safe_load(dump_transform.RETURN)
    assert "jobs" in dump_transform.OPTION_NAMES


def test_worker_keeps_no_output_and_few_codecs(tmp_path):
    """Memory stays bounded: a cached codec holds no batch output, and only a few codecs are kept."""
    import pickle

    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import Transformer
    tr = Transformer(TransformOptions(src="-", dest=str(tmp_path), check_mode=True))
    tr.current_db = "db"
    tr.on_create_table(DDL.split(b";\n")[0] + b";", 0)
    ts = tr.tables[("db", "t")]
    codec = tr._codec(ts, None)
    spec = pickle.dumps((parallel._WorkerTable(ts), codec.ncols, codec.positions, codec.check_mode))
    stmt = b"(1,'a',NULL,1,NULL),(2,'b',NULL,0,NULL);"
    for codec_id in range(3 * parallel._MAX_CODECS):
        got = parallel.convert_batch(codec_id, spec, [stmt], [100])
        assert got[:3] == ("ok", b"1\ta\t\\N\tt\t\\N\n2\tb\t\\N\tf\t\\N\n", 2)
    assert len(parallel._CODECS) == parallel._MAX_CODECS
    assert all(wts.out is None for _codec, wts in parallel._CODECS.values())


@pytest.mark.parametrize("jobs", [1, 2])
def test_rows_resuming_after_many_tables_are_appended(tmp_path, jobs):
    """Only a few data files stay open: a table whose INSERTs come back later is reopened, appended."""
    names = [b"a%d" % i for i in range(7)]
    ddl = b"".join(b"CREATE TABLE `%s` (`id` int NOT NULL);\n" % n for n in names)
    ins = b"".join(b"INSERT INTO `%s` VALUES (%d);\n" % (n, i) for i, n in enumerate(names))
    again = b"INSERT INTO `a0` VALUES (100),(101);\n"
    _r, dest = run(tmp_path, "d", ddl + ins + again, jobs)
    assert (dest / "data" / "db.a0.copy").read_bytes() == b"0\n100\n101\n"
    assert (dest / "data" / "db.a6.copy").read_bytes() == b"6\n"


@pytest.mark.parametrize("cpus, expected", [(1, 1), (2, 2), (4, 4), (8, 4), (64, 4)])
def test_default_jobs_capped(monkeypatch, cpus, expected):
    """Default workers stop at DEFAULT_JOBS_CAP (memory per worker; the main process bounds speed)."""
    monkeypatch.setattr(parallel, "usable_cpus", lambda: cpus)
    assert parallel.default_jobs() == expected


def test_explicit_jobs_not_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 64)
    src = tmp_path / "d.sql"
    src.write_bytes(b"CREATE TABLE `t` (`id` int NOT NULL, PRIMARY KEY (`id`));\n"
                    b"INSERT INTO `t` VALUES (1),(2);\n" + TAIL)
    explicit = run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "a"), jobs=6,
                                              default_schema="db"))
    default = run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "b"), default_schema="db"))
    assert (explicit["jobs"], default["jobs"]) == (6, 4)
