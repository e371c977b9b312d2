"""Single huge values on the dump path: one 40 MB hex blob and one 100 MB text value come out exact.

The expected COPY bytes are computed without the engine (bench/huge_values.py writes the dump from
a repeated unit whose raw and COPY forms are written out by hand). Timing goals are in
bench/huge_values.py, not here."""
import hashlib
import os
import sys

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import huge_values as hv  # noqa: E402


def test_units_agree():
    """The hand-written forms of the text unit are one value (guards the expectation itself)."""
    assert (hv.TEXT_UNIT_RAW.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
                                 .replace(b"\t", b"\\t")) == hv.TEXT_UNIT_COPY
    assert hv.TEXT_UNIT_RAW.replace(b"\\", b"\\\\").replace(b"'", b"\\'") \
        .replace(b"\n", b"\\n").replace(b"\t", b"\\t") == hv.TEXT_UNIT_DUMP


@pytest.fixture(scope="module")
def huge_dump(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("huge") / "huge.sql")
    units = hv.write_dump(path)
    want = hashlib.sha256()
    for part in hv.expected_copy_parts(units):
        want.update(part)
    yield path, want.hexdigest()
    os.unlink(path)


def test_huge_hex_and_text_values_are_exact(huge_dump, tmp_path):
    path, want = huge_dump
    dest = tmp_path / "out"
    result = run_transform(TransformOptions(src=path, dest=str(dest)))
    assert result["rows"] == 2
    got = hashlib.sha256()
    with open(dest / "data" / "public.big.copy", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            got.update(block)
    assert got.hexdigest() == want
