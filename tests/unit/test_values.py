"""Converters per target type, policies, and hypothesis round trips through the whole engine."""
import math
import struct

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.copytext import (
    bytea_field,
    copy_escape,
    parse_row,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import ValueConversionError
from ansible_collections.pgshift.mysql.plugins.module_utils.model.schema import make_column
from ansible_collections.pgshift.mysql.plugins.module_utils.model.values import (
    Policies,
    geometry_to_wkt,
    make_converter,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("conv,token,out", [
    ("integer", b"-42", b"-42"), ("integer", b"NULL", b"\\N"), ("integer", b"18446744073709551615",
                                                                 b"18446744073709551615"),
    ("numeric", b"-0.10", b"-0.10"), ("float", b"-0", b"-0"), ("float", b"1e308", b"1e308"),
    ("float", b"4.9406564584124654e-324", b"4.9406564584124654e-324"),
    ("boolean", b"1", b"t"), ("boolean", b"0", b"f"), ("bit_boolean", b"b'1'", b"t"),
    ("bit_boolean", b"_binary '\\0'", b"f"), ("bit_boolean", b"0x01", b"t"),
    ("text", b"'a\\tb'", b"a\\tb"), ("text", b"'back\\\\slash'", b"back\\\\slash"),
    ("enum", b"'PG-13'", b"PG-13"), ("set", b"'a,b c'", b'{"a","b c"}'), ("set", b"''", b"{}"),
    ("json", b"'{\\\"k\\\": \\\"\\\\u00e9\\\"}'", b'{"k": "\\\\u00e9"}'),
    ("bytea", b"0xDEAD", b"\\\\xdead"), ("bytea", b"_binary 'a\\0'", b"\\\\x6100"),
    ("bytea", b"''", b"\\\\x"),
    ("date", b"'0009-12-04'", b"0009-12-04"), ("datetime", b"'2020-01-01 10:00:00.123456'",
                                               b"2020-01-01 10:00:00.123456"),
    ("timestamptz", b"'2020-01-01 10:00:00'", b"2020-01-01 10:00:00+00"),
    ("time", b"'23:59:59'", b"23:59:59"), ("year", b"2155", b"2155"),
])
def test_converter(conv, token, out):
    assert make_converter(conv, make_column("c", "bit(1)"))(token) == out


def test_bit_n():
    assert make_converter("bit", make_column("c", "bit(10)"))(b"b'101'") == b"0000000101"
    assert make_converter("bit", make_column("c", "bit(10)"))(b"0x0101") == b"0100000001"


@pytest.mark.parametrize("conv,token", [("boolean", b"2"), ("time", b"'838:59:59'"), ("integer", b"'x'"),
                                        ("datetime", b"'0000-00-00 00:00:00'"), ("text", b"'a\\0'"),
                                        ("text", b"'\xff'")])
def test_converter_errors(conv, token):
    with pytest.raises(ValueConversionError):
        make_converter(conv)(token)


def test_policies_count():
    pol = Policies(zero_date="null", nul_bytes="strip", invalid_utf8="replace")
    assert make_converter("date", policies=pol)(b"'2020-00-00'") == b"\\N"
    assert make_converter("text", policies=pol)(b"'a\\0\xff'") == "a\ufffd".encode()
    assert pol.counts == {"zero_date": 1, "nul_bytes": 1, "invalid_utf8": 1}


def test_json_nul_escape_policy():
    with pytest.raises(ValueConversionError, match="u0000"):
        make_converter("json")(b"'\"\\\\u0000x\"'")
    assert make_converter("json", policies=Policies(nul_bytes="strip"))(b"'\"\\\\u0000x\"'") == b'"x"'


def test_geometry_wkt():
    point = struct.pack("<I", 4326) + b"\x01" + struct.pack("<Idd", 1, 1.5, -2.0)
    assert geometry_to_wkt(point) == "SRID=4326;POINT(1.5 -2.0)"


def mysql_string(s):
    """How mysqldump writes a string literal (mysql_real_escape_string)."""
    b = s.encode("utf-8")
    for a, r in ((b"\\", b"\\\\"), (b"\x00", b"\\0"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"'", b"\\'"),
                 (b'"', b'\\"'), (b"\x1a", b"\\Z")):
        b = b.replace(a, r)
    return b"'" + b + b"'"


text_no_nul = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(text_no_nul)
def test_text_roundtrip(s):
    out = make_converter("text")(mysql_string(s))
    assert parse_row(out) == [s.replace("\t", "\t")]


@given(st.binary())
def test_bytea_roundtrip(b):
    for token in (b"0x" + b.hex().encode() if b else b"''", b"_binary " + mysql_string_bytes(b)):
        field = make_converter("bytea")(token)
        assert bytes.fromhex(parse_row(field)[0][2:]) == b


def mysql_string_bytes(b):
    for a, r in ((b"\\", b"\\\\"), (b"\x00", b"\\0"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"'", b"\\'")):
        b = b.replace(a, r)
    return b"'" + b + b"'"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_roundtrip(f):
    token = repr(f).encode()
    assert float(make_converter("float")(token)) == f
    assert math.copysign(1, float(token)) == math.copysign(1, f)


def test_copy_escape():
    assert copy_escape("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert bytea_field(b"\x00") == b"\\\\x00"


# -- whole engine round trip: random typed rows -> mysqldump text -> transform -> decoded equal -------
ROW = st.tuples(st.integers(-2**31, 2**31 - 1), text_no_nul, st.one_of(st.none(), st.binary(max_size=40)),
                st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROW, min_size=1, max_size=20), st.booleans())
def test_engine_roundtrip(tmp_path_factory, rows, hex_blob):
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
        TransformOptions,
        run_transform,
    )
    tmp = tmp_path_factory.mktemp("rt")
    tuples = []
    for i, s, b, d in rows:
        blob = b"NULL" if b is None else (b"0x" + b.hex().encode() if hex_blob and b else
                                          b"_binary " + mysql_string_bytes(b))
        tuples.append(b"(%d,%s,%s,%s)" % (i, mysql_string(s), blob, str(d).encode()))
    dump = (b"/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE `r` (`i` int(11), `s` longtext, `b` blob, "
            b"`d` decimal(10,2));\nINSERT INTO `r` VALUES " + b",".join(tuples) + b";\n"
            b"-- Dump completed on 2026-11-22  3:24:23\n")
    (tmp / "d.sql").write_bytes(dump)
    run_transform(TransformOptions(src=str(tmp / "d.sql"), dest=str(tmp / "o"), default_schema="x"))
    with open(tmp / "o" / "data" / "x.r.copy", "rb") as f:
        got = [parse_row(line) for line in f]
    assert len(got) == len(rows)
    for (i, s, b, d), (gi, gs, gb, gd) in zip(rows, got, strict=True):
        assert int(gi) == i and gs == s and str(d) == gd
        assert (gb is None) if b is None else bytes.fromhex(gb[2:]) == b
