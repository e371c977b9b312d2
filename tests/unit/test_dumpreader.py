"""The streaming reader: formats, statements, DELIMITER blocks, truncation, bounded buffer."""
import gzip
import io

import pytest
import zstandard
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.reader import DumpReader, open_dump
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import DumpSyntaxError, MigrationError

DUMP = (b"/*M!999999\\- enable the sandbox mode */ \r\n-- header\r\n/*!40101 SET NAMES utf8mb4 */;\r\n"
        b"# hash comment\nDROP TABLE IF EXISTS `a;b`;\nSET @x = 'semi;colon';\n"
        b"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; END ;;\nDELIMITER ;\n"
        b"INSERT INTO `t` VALUES (1);\n")


def events(data, chunk=1 << 20):
    r = DumpReader(io.BytesIO(data), chunk=chunk)
    out = []
    while (ev := r.next_event()) is not None:
        kind, payload, _off = ev
        if kind == "insert":
            end = r.buf.index(b";", r.pos)
            payload, r.pos = payload.group("table"), end + 1
        out.append((kind, payload.strip()))
    return out


@pytest.mark.parametrize("chunk", [1 << 20, 7])
def test_statements(chunk):
    assert events(DUMP, chunk) == [
        ("statement", b"SET NAMES utf8mb4"), ("statement", b"DROP TABLE IF EXISTS `a;b`"),
        ("statement", b"SET @x = 'semi;colon'"), ("routine", b"CREATE PROCEDURE p() BEGIN SELECT 1; END"),
        ("insert", b"`t`")]


@pytest.mark.parametrize("wrap", ["plain", "gz", "zst"])
def test_formats(tmp_path, wrap):
    data = {"plain": DUMP, "gz": gzip.compress(DUMP), "zst": zstandard.ZstdCompressor().compress(DUMP)}[wrap]
    path = tmp_path / "d.any"
    path.write_bytes(data)
    with open_dump(str(path)) as stream:
        assert stream.read() == DUMP


def test_missing_file():
    with pytest.raises(MigrationError, match="open dump"):
        open_dump("/nonexistent/dump.sql")


def test_truncated_statement():
    with pytest.raises(DumpSyntaxError, match="truncated"):
        events(b"CREATE TABLE `t` (`a` int DEFAULT 'x")


def test_buffer_grows_geometrically_for_long_lines():
    long = b"SET @v = '" + b"x" * 200_000 + b"';\n"
    r = DumpReader(io.BytesIO(long * 3), chunk=1024)
    n = 0
    while r.next_event() is not None:
        n += 1
    assert n == 3 and r.peak_buffer < 2_000_000
