"""The benchmark's employees-like generator: deterministic, consistent, and shaped like the schema."""
import collections
import csv
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.datasets import employees  # noqa: E402
from bench.datasets_registry import EmployeesData  # noqa: E402

COLUMNS = {"departments": 2, "employees": 6, "dept_emp": 4, "dept_manager": 4, "titles": 4, "salaries": 4}


def read(path, table):
    with open(os.path.join(path, table + ".tsv"), encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("employees"))
    rows = employees.generate(out, employees=2500, seed=42)
    return out, rows


def test_same_seed_same_bytes(generated, tmp_path):
    out, rows = generated
    again = employees.generate(str(tmp_path), employees=2500, seed=42)
    assert again == rows
    assert employees._digest(str(tmp_path)) == employees._digest(out)


def test_other_seed_other_data(generated, tmp_path):
    out, _ = generated
    employees.generate(str(tmp_path), employees=2500, seed=43)
    assert employees._digest(str(tmp_path))["salaries"] != employees._digest(out)["salaries"]


def test_reuses_files_with_the_same_fingerprint(generated):
    out, rows = generated
    before = os.path.getmtime(os.path.join(out, "salaries.tsv"))
    assert employees.generate(out, employees=2500, seed=42) == rows
    assert os.path.getmtime(os.path.join(out, "salaries.tsv")) == before


@pytest.mark.parametrize("table", employees.TABLE_ORDER)
def test_row_counts_and_shape(generated, table):
    out, rows = generated
    lines = read(out, table)
    assert len(lines) == rows[table]
    assert {len(line) for line in lines} == {COLUMNS[table]}  # no tab or newline inside a value
    assert not any("\\" in v and v != "\\N" for line in lines for v in line)


@pytest.mark.parametrize(("table", "key"), [
    ("departments", (0,)), ("employees", (0,)), ("dept_emp", (0, 1)), ("dept_manager", (0, 1)),
    ("titles", (0, 1, 2)), ("salaries", (0, 2))])
def test_primary_keys_unique(generated, table, key):
    out, _ = generated
    keys = collections.Counter(tuple(line[i] for i in key) for line in read(out, table))
    assert keys and keys.most_common(1)[0][1] == 1


@pytest.mark.parametrize("table", ["dept_emp", "dept_manager", "titles", "salaries"])
def test_foreign_keys_hold(generated, table):
    out, _ = generated
    emp = {line[0] for line in read(out, "employees")}
    depts = {line[0] for line in read(out, "departments")}
    for line in read(out, table):
        assert line[0] in emp
        if table in ("dept_emp", "dept_manager"):
            assert line[1] in depts


def test_every_department_has_a_manager(generated):
    out, _ = generated
    assert {line[1] for line in read(out, "dept_manager")} == {d for d, _ in employees.DEPARTMENTS}


def test_values_fit_their_types(generated):
    out, _ = generated
    emps = read(out, "employees")
    assert all(len(e[2]) <= 14 and len(e[3]) <= 16 and e[4] in ("M", "F") for e in emps)
    assert any("'" in e[3] for e in emps), "apostrophes exercise quoting"
    assert any(not e[2].isascii() or not e[3].isascii() for e in emps), "accented UTF-8 names"
    for s in read(out, "salaries")[:2000]:
        whole, cents = s[1].split(".")
        assert whole.isdigit() and len(cents) == 2 and len(whole) <= 8
    assert any(t[3] == "\\N" for t in read(out, "titles")), "NULLs present"


def test_scale_is_linear(tmp_path):
    small = sum(employees.generate(str(tmp_path / "a"), employees=500, seed=1).values())
    large = sum(employees.generate(str(tmp_path / "b"), employees=2000, seed=1).values())
    assert 3.5 < large / small < 4.5
    # the default scale meets the ">= 4M rows" (~13.4 rows per employee)
    assert employees.DEFAULT_EMPLOYEES * large / 2000 >= 4_000_000


def test_postgres_ddl_covers_every_table():
    data = EmployeesData(None, "/nonexistent", 10)
    creates = data.create_table_sql("s")
    assert list(creates) == list(employees.TABLE_ORDER)
    assert all(sql.startswith("CREATE TABLE s.%s " % t) for t, sql in creates.items())
    fks = data.fk_statements("s")
    assert len(fks) == 2 * len(employees.PG_FOREIGN_KEYS)
    pairs = zip(fks[::2], fks[1::2], strict=True)
    assert all(("NOT VALID" in a) and ("VALIDATE CONSTRAINT" in b) for a, b in pairs)
    pk_tables = {sql.split()[2] for sql in data.index_statements("s") if "PRIMARY KEY" in sql}
    assert pk_tables == {"s." + t for t in employees.TABLE_ORDER}


def test_qa_bound_vectors_equal_the_json_embeddings(tmp_path):
    """The bound's pre-converted vectors are the same numbers, in key order, as the JSON that MariaDB
    holds (same generator pass), and the MariaDB TSV keeps the JSON text byte for byte."""
    from bench.datasets import qa
    from bench.qa_data import SEED, QAData

    data = QAData(None, str(tmp_path), qa, None, rows=40, dims=12)
    data.tsv_dir = str(tmp_path)
    mysql_paths = data._write_tsv(mysql=True, bound=True)
    source = list(qa.embedding_rows(40, 12, SEED))
    bound = read(str(tmp_path), "content_embedding")
    raw = read(str(tmp_path), "mysql-content_embedding")
    assert len(bound) == len(raw) == 40 == len(source)
    for row, vec_line, raw_line in zip(source, bound, raw, strict=True):
        emb = row[4]
        assert raw_line[4] == ("\\N" if emb is None else emb)
        if emb is None:
            assert vec_line[4] == "\\N"
        else:
            values = [float(v) for v in vec_line[4].strip("[]").split(",")]
            assert values == pytest.approx(qa.expected_vector(emb), rel=1e-6)
    assert os.path.exists(mysql_paths["content"])
