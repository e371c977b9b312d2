"""live_copy's pure parts: SELECT expressions, result framing, the Python column filter."""
import os
import threading

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.copytext import copy_escape_bytes, parse_row
from ansible_collections.pgshift.mysql.plugins.module_utils.live.filter import (
    ColumnFilter,
    PythonColumn,
    RowRefused,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.live.select import (
    Policies,
    SelectColumn,
    build_select,
    column_expression,
    field_expression,
    ordered_columns,
    policy_count_select,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.live.session import ResultStream
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(("col", "expected"), [
    (SelectColumn("b", "boolean", "boolean"), "CASE `b` WHEN 0 THEN 'f' WHEN 1 THEN 't' ELSE `b` END"),
    (SelectColumn("x", "bit", "bit(10)", length=10), "LPAD(BIN(`x`), 10, '0')"),
    (SelectColumn("f", "float", "real", base_type="float"), "(`f` + 0e0)"),
    (SelectColumn("d", "float", "double precision", base_type="double"), "`d`"),
    (SelectColumn("y", "year", "smallint"), "(`y` + 0)"),
    (SelectColumn("z", "bytea", "bytea"), r"CONCAT('\\\\x', HEX(`z`))"),
    (SelectColumn("ts", "timestamptz", "timestamptz"), "CONCAT(`ts`, '+00')"),
])
def test_column_expressions(col, expected):
    assert column_expression(col) == expected


def test_text_is_escaped_backslash_first_and_converted_from_latin1():
    expr = column_expression(SelectColumn("t", "text", "text", charset="latin1"))
    assert expr.startswith("REPLACE(REPLACE(REPLACE(REPLACE(CONVERT(`t` USING utf8mb4), '\\\\', '\\\\\\\\')")
    assert "CONVERT" not in column_expression(SelectColumn("t", "text", "text", charset="utf8mb4"))


@pytest.mark.parametrize(("policy", "fragment"), [
    ("error", None), ("null", "IF((MONTH(`d`) = 0 OR DAYOFMONTH(`d`) = 0), NULL, `d`)"),
    ("1970-01-01", "IF((MONTH(`d`) = 0 OR DAYOFMONTH(`d`) = 0), '1970-01-01', `d`)"),
])
def test_zero_date_policies(policy, fragment):
    expr = column_expression(SelectColumn("d", "datetime", "timestamp"), Policies(zero_date=policy))
    assert expr == (fragment or "`d`")


def test_nul_strip_and_null_marker():
    col = SelectColumn("t", "text", "text", nullable=True)
    assert "REPLACE(`t`, '\\0', '')" in column_expression(col, Policies(nul_bytes="strip"))
    assert field_expression(col).endswith(", '\\\\N')") and field_expression(col).startswith("IFNULL(")
    assert not field_expression(SelectColumn("i", "integer", "integer", nullable=False)).startswith("IFNULL")


def test_select_puts_python_columns_last_and_counts_policies():
    cols = [SelectColumn("g", "geometry_wkt", "text"), SelectColumn("id", "integer", "integer", False),
            SelectColumn("e", "text", "vector(3)", embedding={"dimensions": 3, "format": "json_array"}),
            SelectColumn("d", "date", "date")]
    assert [c.source_name for c in ordered_columns(cols)] == ["id", "d", "g", "e"]
    sql = build_select("db", "t`x", cols, where="`id` > 3")
    assert sql.startswith("SELECT IFNULL(CONCAT(`id`, '\\t', IF(`d` IS NULL, '\\\\N', `d`), ")
    assert sql.endswith("CONCAT('\\\\E')) FROM `db`.`t``x` WHERE `id` > 3")
    assert "HEX(`g`)" in sql
    count_sql, labels = policy_count_select("db", "t", cols, Policies(zero_date="null"))
    assert labels == [("d", "zero_date", "null")] and "SUM((MONTH(`d`) = 0" in count_sql
    assert policy_count_select("db", "t", cols)[0] is None


# ---------------------------------------------------------------- framing

class _PipeSession:
    """What ResultStream needs from a ReaderSession, over a real pipe."""

    CHUNK = 7

    def __init__(self, data):
        self.marker = b"\\.pgshift-abc\n"
        self.pending, self.busy = b"", True
        r, w = os.pipe()
        self.fd = r
        threading.Thread(target=self._feed, args=(w, data), daemon=True).start()

    @staticmethod
    def _feed(w, data):
        os.write(w, data)
        os.close(w)

    def _read_chunk(self):
        return os.read(self.fd, self.CHUNK)

    def _raise_failure(self, doing):
        raise RuntimeError("client died while " + doing)


lines = st.lists(st.lists(st.text(max_size=6), min_size=1, max_size=3), max_size=8)


@settings(max_examples=200, deadline=None)
@given(first=lines, second=lines)
def test_results_are_split_exactly_at_sentinels(first, second):
    def encode(rows):
        return b"".join(b"\t".join(copy_escape_bytes(f.encode()) for f in r) + b"\n" for r in rows)

    marker = b"\\.pgshift-abc\n"
    session = _PipeSession(encode(first) + marker + encode(second) + marker)
    got_first = ResultStream(session).read_all()
    session.busy = True
    got_second = ResultStream(session).read_all()
    assert got_first == encode(first) and got_second == encode(second)
    assert [parse_row(x) for x in got_first.splitlines()] == [list(r) for r in first]


def test_eof_without_sentinel_is_a_failure():
    session = _PipeSession(b"1\tpartial\n")
    with pytest.raises(RuntimeError, match="client died"):
        ResultStream(session).read_all()


# ---------------------------------------------------------------- python column filter

class _Chunks:
    def __init__(self, data, size=5):
        self.data, self.size = data, size

    def read(self, _n=-1):
        out, self.data = self.data[:self.size], self.data[self.size:]
        return out


def _upper(raw):
    if raw == b"bad":
        raise ValueError("bad value")
    return raw.upper()


@pytest.mark.parametrize(("invalid", "expected"), [
    ("null", b"1\tx\tA\n2\ty\t\\N\n3\tz\t\\N\n"),
])
def test_filter_rewrites_only_last_fields(invalid, expected):
    f = ColumnFilter(_Chunks(b"1\tx\ta\n2\ty\tbad\n3\tz\t\\N\n"), [PythonColumn("c", _upper, invalid)],
                     key_positions=[0], key_names=["id"], label="db.t")
    out = b"".join(iter(f.read, b""))
    assert out == expected


def test_filter_error_names_the_key():
    f = ColumnFilter(_Chunks(b"1\tx\ta\n2\ty\tbad\n"), [PythonColumn("c", _upper)], key_positions=[0],
                     key_names=["id"], label="db.t")
    with pytest.raises(RowRefused, match=r"db.t: row id=2, column 'c': bad value"):
        b"".join(iter(f.read, b""))


def test_filter_table_of_only_python_columns():
    f = ColumnFilter(_Chunks(b"a\nb\n"), [PythonColumn("c", _upper)], key_positions=[], key_names=[],
                     label="t")
    assert b"".join(iter(f.read, b"")) == b"A\nB\n"
