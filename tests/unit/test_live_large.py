"""live.large's pure parts: which columns are big, the threshold, and marker lines in the stream
(a raw row put in place of `\\L`, a row named for `\\E`). The server side is tested in
tests/integration/test_live_copy_large.py."""
import io

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import LargeValueError
from ansible_collections.pgshift.mysql.plugins.module_utils.live.large import (
    MarkedRows,
    RawPlan,
    effective_threshold,
    is_large,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.live.select import (
    Policies,
    SelectColumn,
    build_select,
)

ID = SelectColumn("id", "integer", "integer", nullable=False, base_type="int")
BODY = SelectColumn("body", "text", "text", base_type="longtext")
DATA = SelectColumn("data", "bytea", "bytea", base_type="longblob")


class ChunkedSource:
    """A byte source that returns at most n bytes per read (markers split across reads)."""

    def __init__(self, data, n):
        self.f, self.n = io.BytesIO(data), n

    def read(self, size=-1):
        return self.f.read(self.n)


class RowsRaw:
    """What MarkedRows needs from a RawReader: the rows of the raw pass, in order."""

    def __init__(self, rows):
        self.rows, self.started, self.drained = list(rows), None, False

    def start(self, sql):
        self.started = sql

    def fetch(self):
        return self.rows.pop(0) if self.rows else None

    def finish(self):
        return not self.rows

    def drain(self):
        self.drained = True


def _read_all(stream):
    out = []
    while True:
        piece = stream.read(64)
        if not piece:
            return b"".join(out)
        out.append(piece)


@pytest.mark.parametrize(("col", "large"), [
    (BODY, True), (DATA, True), (ID, False),
    (SelectColumn("v", "text", "text", base_type="varchar", length=255), False),
    (SelectColumn("v", "text", "text", base_type="varchar", length=5000), True),
    (SelectColumn("g", "geometry_wkt", "text", base_type="geometry"), False),      # Python converts it
    (SelectColumn("e", "text", "vector(3)", base_type="longtext", embedding={"dimensions": 3}), False),
])
def test_big_columns(col, large):
    assert is_large(col) is large


def test_threshold_stays_under_a_quarter_of_the_packet():
    assert effective_threshold(None, 1 << 30) == 16 << 10
    assert effective_threshold(64 << 20, 16 << 20) == 4 << 20


def test_select_marks_big_rows_without_escaping_them():
    sql = build_select("db", "t", [ID, BODY], key_columns=[ID], large_columns=[BODY], threshold=100)
    assert sql.startswith("SELECT IF((IFNULL(LENGTH(`body`), 0)) > 100, CONCAT('\\\\L', '\\t', `id`), ")


@pytest.mark.parametrize("n", [1, 3, 7, 1000])
def test_marker_lines_replaced_by_raw_rows_in_order(n):
    plan = RawPlan("db", "t", [ID, BODY, DATA], [BODY, DATA], policies=Policies(), key_columns=[ID])
    raw = RowsRaw([(b"2", b"big\ttext\n\\", b"\x00\xff"), (b"4", None, b"")])
    data = b"1\tsmall\t\\N\n\\L\t2\n3\tx\t\\\\x00\n\\L\t4\n"
    out = _read_all(MarkedRows(ChunkedSource(data, n), label="db.t", key_names=["id"], raw=raw,
                               raw_sql="SELECT ...", plan=plan))
    assert out == (b"1\tsmall\t\\N\n2\tbig\\ttext\\n\\\\\t\\\\x00ff\n3\tx\t\\\\x00\n4\t\\N\t\\\\x\n")
    assert raw.started == "SELECT ..."


def test_a_line_starting_with_an_escaped_backslash_is_data():
    data = b"\\\\L\t1\n\\\\E\n"
    assert _read_all(MarkedRows(ChunkedSource(data, 2), label="db.t", key_names=[])) == data


def test_overflow_marker_names_the_row():
    with pytest.raises(LargeValueError, match=r"db\.t: row id=7: MySQL gave NULL .*max_allowed_packet"):
        _read_all(MarkedRows(ChunkedSource(b"1\ta\n\\E\t7\n", 5), label="db.t", key_names=["id"]))


def test_raw_row_of_another_key_is_an_error():
    plan = RawPlan("db", "t", [ID, BODY], [BODY], policies=Policies(), key_columns=[ID])
    stream = MarkedRows(ChunkedSource(b"\\L\t2\n", 100), label="db.t", key_names=["id"],
                        raw=RowsRaw([(b"3", b"x")]), raw_sql="SELECT", plan=plan)
    with pytest.raises(LargeValueError, match="row id=2: the raw read gave row id=3"):
        _read_all(stream)
