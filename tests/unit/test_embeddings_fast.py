"""embeddings fast path (strict JSON shape, source number text) vs the careful path; strtof-exact float32."""
import json
import struct
from decimal import Decimal, getcontext
from fractions import Fraction

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import ValueConversionError
from ansible_collections.pgshift.mysql.plugins.module_utils.model.embedding_shapes import (
    fast_array_tokens,
    fast_escaped_object_tokens,
    fast_object_tokens,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.model.embedding_text import (
    make_converter,
    parse_vector_text,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.model.float32 import (
    _step32,
    exact_floats,
    expected_float32,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def careful(spec):
    """The same converter with the fast path switched off: the reference behaviour."""
    conv = make_converter(spec)
    conv._fast = None
    return conv


def outcome(conv, raw):
    try:
        return "ok", conv(raw)
    except ValueConversionError as err:
        return "error", str(err)


def f32(values):
    return [struct.pack("<f", v) for v in values]


def same_vector(fast_text, careful_text):
    """float32-equal element by element, the fast side read as PostgreSQL reads it (strtof)."""
    fast = [expected_float32(t) for t in fast_text[1:-1].split(",")]
    return f32(fast) == f32(parse_vector_text(careful_text))


number_text = st.one_of(
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr),
    st.floats(min_value=-1, max_value=1).map(repr),
    st.integers(-10 ** 12, 10 ** 12).map(str),
    st.sampled_from(["0", "-0", "1e-05", "2.5E+3", "1e9", "1e10", "1e+39", "-3.4028235e38", "3.5e38",
                     "1" + "0" * 38, "1" + "0" * 29, "1e-50", "0.0", "1e00"]),
)
bad_text = st.sampled_from(["NaN", "Infinity", "-Infinity", '"0.5"', "true", "null", "[1]", "{}", "01",
                            ".5", "5.", "+1", "1_0", "0x10", "", "1e", "--1", "1 2", "inf"])
spacing = st.sampled_from([("", ""), (" ", ""), ("", " "), (" ", " "), ("\n", "\t"), ("  ", "\r\n")])


@st.composite
def embedding_documents(draw):
    """A JSON object or array of numbers, then maybe one mutation the careful path must judge."""
    values = draw(st.lists(number_text, min_size=1, max_size=12))
    keys = [str(i) for i in range(len(values))]
    after_colon, after_comma = draw(spacing)
    mutation = draw(st.sampled_from(["none", "none", "value", "key", "order", "drop", "dup", "outer_ws"]))
    if mutation == "value":
        values[draw(st.integers(0, len(values) - 1))] = draw(bad_text)
    elif mutation == "key":
        bad_key = draw(st.sampled_from(["01", "x", "-1", " 1", "99", "1.0"]))
        keys[draw(st.integers(0, len(keys) - 1))] = bad_key
    elif mutation == "order":
        order = draw(st.permutations(range(len(values))))
        keys, values = [keys[i] for i in order], [values[i] for i in order]
    elif mutation == "drop" and len(values) > 1:
        del keys[-2], values[-2]
    elif mutation == "dup":
        keys.append(keys[0])
        values.append(values[0])
    if draw(st.booleans()):
        pairs = ['"%s":%s%s' % (k, after_colon, v) for k, v in zip(keys, values, strict=True)]
        body = ("," + after_comma).join(pairs)
        doc = "{" + body + "}"
        fmt = "json_object"
    else:
        doc = "[" + ("," + after_comma).join(values) + "]"
        fmt = "json_array"
    if mutation == "outer_ws":
        doc = " \n" + doc + "\t"
    return fmt, doc


@settings(max_examples=600, deadline=None)
@given(embedding_documents(), st.sampled_from([None, "first"]), st.booleans())
def test_fast_path_agrees_with_careful_path(document, dims, as_bytes):
    fmt, doc = document
    raw = doc.encode() if as_bytes else doc
    for spec_fmt in (fmt, "auto"):
        spec = {"format": spec_fmt, "dimensions": None}
        fast_kind, fast_out = outcome(make_converter(spec), raw)
        slow_kind, slow_out = outcome(careful(spec), raw)
        assert fast_kind == slow_kind, (doc, fast_out, slow_out)
        if fast_kind == "error":
            assert fast_out == slow_out
        else:
            assert same_vector(fast_out, slow_out), (doc, fast_out, slow_out)
        # the same text still escaped as mysqldump writes it (the transform's statement-at-once path)
        escaped = make_converter(spec).fast_bytes_escaped(mysqldump_escaped(doc.encode()))
        if slow_kind == "error":
            assert escaped is None
        else:
            assert same_vector(escaped.decode(), slow_out), (doc, escaped, slow_out)


def mysqldump_escaped(raw):
    """A string literal's inside as mysqldump writes it."""
    for plain, escape in ((b"\\", b"\\\\"), (b"'", b"\\'"), (b'"', b'\\"'), (b"\n", b"\\n"),
                          (b"\r", b"\\r"), (b"\x00", b"\\0"), (b"\x1a", b"\\Z")):
        raw = raw.replace(plain, escape)
    return raw


@pytest.mark.parametrize("raw,fast", [
    ('{"0":0.5,"1":-2e-05}', "0.5,-2e-05"),
    ('{"0": 0.5, "1": -2e-05}', "0.5,-2e-05"),
    (' {\n "0" : 0.5 ,\t"1":1E+3 } ', "0.5,1E+3"),
    ('{"1":0.5,"0":1}', None),                   # reordered: the careful path sorts
    ('{"0":01,"1":1}', None),                    # not JSON
    ('{"0":NaN,"1":1}', None),
    ('{"0":1e39,"1":1}', None),                  # range decided by the careful path
    ('{"0":1' + "0" * 29 + ',"1":1}', None),
    ('{"0":"1","1":1}', None),
    ('{"0":1,"1":1,}', None),
])
def test_fast_object_tokens(raw, fast):
    assert fast_object_tokens(raw.encode()) == (fast.encode() if fast else None)


@pytest.mark.parametrize("raw,fast", [
    ('{"0":0.5,"1":-2e-05}', "0.5,-2e-05"),
    ('{"0":-0.007047934,"1":0}', "-0.007047934,0"),
    ('{"0": 0.5, "1": 1}', None),                # other spellings: unescaped first, then the usual path
    ('{"1":0.5,"0":1}', None),
    ('{"0":01,"1":1}', None),
    ('{"0":1e10,"1":1}', None),
    ('{"0":1.5.2,"1":1}', None),
])
def test_fast_escaped_object_tokens(raw, fast):
    assert fast_escaped_object_tokens(mysqldump_escaped(raw.encode())) == (fast.encode() if fast else None)


@pytest.mark.parametrize("raw,fast", [
    ("[1,2.5,-0]", "1,2.5,-0"), ("[1, 2]", "1,2"), (" [ 1 ,2 ] ", "1,2"), ("[1,,2]", None), ("[]", None),
    ("[1,Infinity]", None), ("[.5]", None), ("[1e9]", "1e9"), ("[1e10]", None),
])
def test_fast_array_tokens(raw, fast):
    assert fast_array_tokens(raw.encode()) == (fast.encode() if fast else None)


def test_default_text_is_the_source_numbers_for_vector_and_shortest_for_halfvec():
    assert make_converter({})('{"0": 0.10000000149011612, "1": 3}') == "[0.10000000149011612,3]"
    assert make_converter({"text": "shortest"})('{"0": 0.10000000149011612, "1": 3}') == "[0.1,3]"
    assert make_converter({"type": "halfvec", "format": "json_array"}).spec()["text"] == "shortest"
    assert make_converter({}).spec()["text"] == "source"


def test_dimensions_from_the_first_row_then_enforced_on_the_fast_path():
    conv = make_converter({"format": "json_array"})
    assert conv("[1,2,3]") == "[1,2,3]"
    assert conv.dimensions == 3
    with pytest.raises(ValueConversionError, match="2 dimensions, expected 3"):
        conv("[1,2]")


getcontext().prec = 100


def _near_midpoint(f, up, nudge):
    """Decimal text a hair above/below/at the midpoint after float32 f (double rounding lands on it)."""
    g = _step32(f, up)
    mid = (Fraction(f) + Fraction(g)) / 2
    exact = Decimal(mid.numerator) / Decimal(mid.denominator)
    return str(exact + nudge * abs(exact) * Decimal("1e-40")), f, g


@pytest.mark.parametrize("f", [1.0, 0.1, -3.3, 1.5e-30, 2.0 ** -140, -(2.0 ** -149), 1.7014117331926443e38])
@pytest.mark.parametrize("up", [True, False])
def test_expected_float32_decides_double_rounding_ties_like_strtof(f, up):
    f = struct.unpack("f", struct.pack("f", f))[0]
    above, _, g = _near_midpoint(f, up, 1 if up else -1)       # nearer g than f: strtof gives g
    below, _, _ = _near_midpoint(f, up, -1 if up else 1)       # nearer f
    assert float(above) == float(below)                         # one double for both texts
    assert expected_float32(above) == g
    assert expected_float32(below) == f
    assert exact_floats([above, below]) == [g, f]


@pytest.mark.parametrize("text,value", [
    ("0.1", struct.unpack("f", struct.pack("f", 0.1))[0]), ("-0", -0.0), ("1e-50", 0.0),
    ("3.4028235e38", 3.4028234663852886e38), ("3.5e38", float("inf")), ("16777217", 16777216.0),
])
def test_expected_float32_plain_values(text, value):
    assert expected_float32(text) == value


def test_careful_path_is_strtof_exact_too():
    """Keys out of order go through json.loads: its numbers are rounded as strtof would."""
    above, f, g = _near_midpoint(1.0, True, 1)
    raw = '{"1":%s,"0":0.5}' % above
    assert list(make_converter({}).values(raw)) == [0.5, g]
    tie, _, _ = _near_midpoint(1.0, True, 0)                   # exactly halfway: to even (1.0)
    array_conv = make_converter({"format": "json_array"})
    assert list(array_conv.values("[0.5, %s, %s]" % (tie, above))) == [0.5, f, g]
    assert json.loads("[%s]" % tie) == [float(above)]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_copy_batch_converter_streams_lines_across_chunks(chunk):
    """embedding_convert's COPY engine: COPY text in arbitrary chunks -> 'key<TAB>[...]' lines;
    refused values and values holding a COPY escape are left (by key) to the careful path."""
    from ansible_collections.pgshift.mysql.plugins.module_utils.embeddings.column_job import _BatchConverter

    copy_text = (b'1\t{"0":0.5,"1":-1e-05}\n2\t{"0":NaN,"1":1}\n3\t{"0":1,\\n"1":2}\n'
                 b'k4\t{"1":2,"0":1}\nk5\t[1,2]\n')
    writer = _BatchConverter(make_converter({"dimensions": 2}))
    for i in range(0, len(copy_text), chunk):
        writer.write(memoryview(copy_text[i:i + chunk]))
    writer.finish()
    assert writer.output.getvalue() == b"1\t[0.5,-1e-05]\nk4\t[1,2]\n"     # k4: reordered, still valid
    assert writer.converted == 2
    assert writer.refused == [2, "k5"] and writer.escaped == [3]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]":,0123456789.-+eE \\', max_size=40) | st.sampled_from(
    ['{"0":0.5,"1":-1e-3}', '{ "0" : 1 , "1" : 2 }', '[1, 2.5 ,3]', '{"0":01}', '[-0.0]', '{\\"0\\":1}']))
def test_shapes_compiled_greedy_match_what_the_possessive_ones_match(text):
    """Python < 3.11 (managed hosts) compiles the shapes greedy: they must accept the same texts."""
    import re

    from ansible_collections.pgshift.mysql.plugins.module_utils.model import embedding_shapes as shapes
    from ansible_collections.pgshift.mysql.plugins.module_utils.regex import _POSSESSIVE_MARK

    data = text.encode()
    for pattern in shapes._OBJECT_SHAPES + shapes._ESCAPED_OBJECT_SHAPES + shapes._ARRAY_SHAPES:
        greedy = re.compile(_POSSESSIVE_MARK.sub(b"", pattern.pattern))
        assert bool(pattern.fullmatch(data)) == bool(greedy.fullmatch(data)), (pattern.pattern, data)
