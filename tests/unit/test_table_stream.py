"""TableStream: a loader reads a table's data file while the transform is still writing it."""
import threading
import time

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.pipeline import (
    TableStream,
    TransformStopped,
)


def _read_all(stream, out):
    with stream.open() as f:
        while chunk := f.read(7):
            out.append(chunk)


def _writer(path, pieces, stream, end):
    with open(path, "ab", buffering=0) as f:
        for piece in pieces:
            f.write(piece)
            time.sleep(0.01)
    end(stream)


def test_reader_gets_every_byte_written_before_finish(tmp_path):
    path = tmp_path / "t.copy"
    path.write_bytes(b"")
    stream = TableStream(str(path))
    pieces = [b"%d\tline %d\n" % (i, i) for i in range(40)]
    got = []
    reader = threading.Thread(target=_read_all, args=(stream, got))
    reader.start()
    _writer(path, pieces, stream, lambda s: s.finish({"rows": 40}))
    reader.join(10)
    assert not reader.is_alive()
    assert b"".join(got) == b"".join(pieces)
    assert stream.wait_whole() == {"rows": 40}


def test_reader_fails_when_the_transform_stops(tmp_path):
    path = tmp_path / "t.copy"
    path.write_bytes(b"")
    stream = TableStream(str(path))
    errors = []

    def read():
        try:
            _read_all(stream, [])
        except TransformStopped as err:
            errors.append(str(err))

    reader = threading.Thread(target=read)
    reader.start()
    _writer(path, [b"1\ta\n", b"2\tb\n"], stream, lambda s: s.fail("row 3 (key 3): NaN"))
    reader.join(10)
    assert errors == ["row 3 (key 3): NaN"]
    with pytest.raises(TransformStopped, match="NaN"):
        stream.wait_whole()


def test_fail_after_finish_keeps_the_table(tmp_path):
    """abort() fails every stream; one whose table was already finished stays whole."""
    path = tmp_path / "t.copy"
    path.write_bytes(b"1\ta\n")
    stream = TableStream(str(path))
    stream.finish({"rows": 1})
    stream.fail("a later table broke")
    got = []
    _read_all(stream, got)
    assert b"".join(got) == b"1\ta\n" and stream.wait_whole() == {"rows": 1}
