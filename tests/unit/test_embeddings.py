"""embeddings.make_converter / detect_embedding: every format, every kind of bad row, round trips."""
import json
import math
import struct
from array import array

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import ValueConversionError
from ansible_collections.pgshift.mysql.plugins.module_utils.model.embedding_text import (
    detect_embedding,
    make_converter,
    parse_vector_text,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.model.float32 import float32_texts
from hypothesis import example, given, settings
from hypothesis import strategies as st


def obj(values, order=None):
    keys = order if order is not None else [str(i) for i in range(len(values))]
    return "{" + ",".join('"%s":%s' % (k, values[int(k)]) for k in keys) + "}"


VALID = [0.5, -0.25, 3, 1e-5, 0, -0.0, 0.1, 2.5e3, 7, 8, 9, 10]


@pytest.mark.parametrize("fmt,raw", [
    ("json_object", obj(VALID)),
    ("json_object", json.dumps({str(i): v for i, v in enumerate(VALID)})),  # MySQL JSON spacing
    ("json_array", json.dumps(VALID)),
    ("auto", obj(VALID)),
    ("auto", json.dumps(VALID)),
    ("csv", ",".join(map(str, VALID))),
    ("csv", "[" + ", ".join(map(str, VALID)) + "]"),
    ("float32_blob", struct.pack("<%df" % len(VALID), *VALID)),
    ("mysql_vector", struct.pack("<%df" % len(VALID), *VALID)),
])
@pytest.mark.parametrize("text", ["shortest", "source"])
def test_every_format_gives_the_same_vector(fmt, raw, text):
    conv = make_converter({"type": "vector", "dimensions": 12, "format": fmt, "text": text})
    out = conv(raw)
    assert out.startswith("[") and out.endswith("]") and " " not in out
    assert list(array("f", parse_vector_text(out))) == list(array("f", VALID))


def test_shortest_text():
    assert make_converter({})(obj([0.1, -2e-5, 3])) == "[0.1,-2e-05,3]"
    assert float32_texts(array("f", [0.1, 1 / 3, 16777217.0])) == ["0.1", "0.33333334", "16777216"]


def test_keys_in_string_order_are_ordered_by_integer_value():
    values = [float(i) for i in range(12)]
    raw = obj(values, order=sorted(str(i) for i in range(12)))  # "0","1","10","11","2",...
    assert raw.index('"10"') < raw.index('"2"')
    assert parse_vector_text(make_converter({"dimensions": 12})(raw)) == values


def test_dimensions_taken_from_first_row_then_enforced():
    conv = make_converter({"dimensions": None})
    conv(obj(VALID))
    assert conv.dimensions == 12
    with pytest.raises(ValueConversionError, match="11 dimensions, expected 12"):
        conv(obj(VALID[:11]))


def _big(n=1536):
    return [((i * 37) % 101) / 1000 for i in range(n)]


@pytest.mark.parametrize("raw,reason", [
    (obj(_big(1535)), "1535 dimensions, expected 1536"),
    (obj(_big()).replace('"3":%s' % _big()[3], '"3":NaN'), 'value at "3" is NaN'),
    (obj(_big()).replace('"5":%s,' % _big()[5], '"5":"0.5",'), 'value at "5" is not a number ("0.5")'),
    (obj(_big()).replace('"17":', '"1536":'), 'missing key "17"'),
    (obj(_big())[:-1] + ',"1536":0.5}', "1537 dimensions, expected 1536"),
    (obj(_big()).replace('"2":%s,' % _big()[2], '"2":Infinity,'), 'value at "2" is Infinity'),
    (obj(_big()).replace('"2":%s,' % _big()[2], '"2":-Infinity,'), 'value at "2" is -Infinity'),
    (obj(_big()).replace('"4":%s,' % _big()[4], '"4":1e39,'), 'value at "4" is out of float32 range'),
    (obj(_big()).replace('"4":%s,' % _big()[4], '"4":true,'), 'value at "4" is not a number'),
    (obj(_big()).replace('"4":%s,' % _big()[4], '"4":null,'), 'value at "4" is not a number'),
    (obj(_big()).replace('"4":%s,' % _big()[4], '"4":[1],'), 'value at "4" is not a number'),
    (obj(_big()).replace('"1":', '"01":'), 'key "01" is not a non-negative integer'),
    (obj(_big()).replace('"1":', '"0":'), 'duplicate key "0"'),
    ("{}", "empty JSON object"),
    ('{"0":0.1,', "not valid JSON"),
    ("[0.1,0.2]", "not a JSON object"),
    ("", "not valid JSON"),
])
def test_bad_rows_give_a_precise_reason(raw, reason):
    conv = make_converter({"type": "vector", "dimensions": 1536})
    with pytest.raises(ValueConversionError) as err:
        conv(raw)
    assert reason in str(err.value)


@pytest.mark.parametrize("fmt,raw,reason", [
    ("json_array", "[1,NaN]", "value at [1] is NaN"),
    ("json_array", '[1,"x"]', "value at [1] is not a number"),
    ("json_array", "[]", "empty JSON array"),
    ("csv", "1,abc", "value at [1] is not a number (abc)"),
    ("csv", "1,nan", "value at [1] is NaN"),
    ("float32_blob", b"\x00\x00\x80", "3 bytes is not a whole number of float32 values"),
    ("float32_blob", struct.pack("<2f", 1, math.nan), "value at [1] is NaN"),
    ("mysql_vector", struct.pack("<2f", math.inf, 1), "value at [0] is Infinity"),
    ("auto", "1,2", "neither a JSON object nor a JSON array"),
])
def test_bad_values_in_other_formats(fmt, raw, reason):
    with pytest.raises(ValueConversionError) as err:
        make_converter({"format": fmt})(raw)
    assert reason in str(err.value)


def test_halfvec_overflow_and_rounding():
    conv = make_converter({"type": "halfvec", "format": "json_array"})
    with pytest.raises(ValueConversionError, match=r"value at \[1\] \(70000\) is out of halfvec range"):
        conv("[1,70000]")
    assert conv("[0.1,65504]") == "[0.099975586,65504]"


@pytest.mark.parametrize("spec,message", [
    ({"type": "vectr"}, "embedding type 'vectr'"),
    ({"format": "xml"}, "embedding format 'xml'"),
    ({"dimensions": 0}, "dimensions must be 1..16000"),
    ({"text": "long"}, "embedding text 'long'"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ValueConversionError, match=message):
        make_converter(spec)


@pytest.mark.parametrize("samples,expected", [
    (['{"0":1,"1":2}', None, '{"1":4, "0":3}'], {"type": "vector", "dimensions": 2, "format": "json_object"}),
    (["[1,2,3]", b"[4,5,6]"], {"type": "vector", "dimensions": 3, "format": "json_array"}),
    ([json.dumps([0.1] * 3000)], {"type": "halfvec", "dimensions": 3000, "format": "json_array"}),
    (['{"a":1}'], None),
    (['{"0":1,"1":2}', '{"0":1}'], None),
    (['{"0":1,"1":2}', "[1,2]"], None),
    (["hello", "[1,2]"], None),
    ([None, None], None),
    (['{"0":"x","1":2}'], None),
    (["[1]"], None),
])
def test_detect_embedding(samples, expected):
    assert detect_embedding(samples) == expected


finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite32, min_size=1, max_size=64), st.sampled_from(["shortest", "source"]),
       st.booleans())
def test_round_trip_float32_vectors(values, text, spaced):
    """random float32 vector -> JSON object -> converter -> parsed back equal (as float32)."""
    doc = {str(i): v for i, v in enumerate(values)}
    raw = json.dumps(doc) if spaced else json.dumps(doc, separators=(",", ":"))
    out = make_converter({"dimensions": len(values), "text": text})(raw)
    assert list(array("f", parse_vector_text(out))) == list(array("f", values))


normal32 = finite32.filter(lambda v: v == 0 or abs(v) >= 1.1754944e-38)  # subnormals: exact, not shortest


@settings(max_examples=100, deadline=None)
@given(st.lists(normal32, min_size=1, max_size=40))
@example(values=[500000.0])
def test_shortest_text_is_short_and_exact(values):
    arr = array("f", values)
    texts = float32_texts(arr)
    assert list(array("f", map(float, texts))) == list(arr)
    for text, value in zip(texts, arr, strict=True):
        # significant digits: '500000' has 1 ('5e+05' is the same number, not a shorter one)
        digits = len(text.lstrip("-").split("e")[0].replace(".", "").strip("0")) or 1
        if digits > 1 and value != 0:
            shorter = "%.*g" % (digits - 2, value)
            assert array("f", [float(shorter)])[0] != value or len(shorter) >= len(text)


@settings(max_examples=100, deadline=None)
@given(st.permutations(list(range(20))))
def test_any_key_order_is_accepted(order):
    values = [i / 8 for i in range(20)]
    raw = obj(values, order=[str(i) for i in order])
    assert parse_vector_text(make_converter({})(raw)) == values
