"""Embedding values -> pgvector text: parsing, validation, formatting (pure Python, hot path).

    conv = make_converter({"type": "vector", "dimensions": 1536, "format": "json_object"})
    conv(b'{"0":0.5,"1":-0.25,...}')   -> '[0.5,-0.25,...]'
    conv.dimensions                     -> 1536 (or, with dimensions None, taken from the first row)

A value that cannot be converted raises errors.ValueConversionError whose message is the precise
reason ('missing key "17"', 'value at "3" is NaN', '1535 dimensions, expected 1536'); the caller
adds the table and row key and applies its invalid-value policy (error | null | reject).

Formats:
  json_object   {"0":v0,"1":v1,...}: keys exactly "0".."N-1" in any order, ordered by integer value
  json_array    [v0,v1,...]
  auto          json_object or json_array, decided per value by its first character
  csv           v0,v1,... (optionally inside [] )
  float32_blob  raw little-endian float32 bytes (a BLOB holding a numpy .tobytes())
  mysql_vector  MySQL 9 / MariaDB 11.7 VECTOR as dumped (binary float32 little-endian)

Spec key `text`: "source" (default for vector) or "shortest" (default for halfvec).
  source    the source's own JSON number text, once validated: pgvector reads it with strtof, one
            correct rounding to float32 (never worse than Python's decimal -> double -> float32).
  shortest  every value rounded to float32 (halfvec: float16, which must not overflow) and written
            as the shortest decimal that reads back to it (7, 8 or 9 significant digits; subnormals
            exact but not always shortest), which is what pgvector prints. ~350 ns per value.

Fast path (json_object, json_array, auto; vector with text=source): one compiled regex checks the
strict JSON shape (numbers that are surely inside float32's range: <= 29 integer digits, positive
exponent <= 9), a split on '"' checks the keys are exactly "0".."N-1" in order (compared with a
cached list per dimension), and the number text is passed through: no float is ever built. Any
other value (keys reordered, NaN/Infinity, strings, nested values, '01', big exponents, ...) goes
to the careful path (json.loads), which gives the precise error or accepts it, so the fast path
accepts a subset of what the careful path accepts, with the same vector.

Exactness: values() (used by verify and by text=shortest) rounds decimal text exactly as strtof
does (expected_float32): decimal -> double -> float32 differs from strtof only when the double
lands exactly halfway between two float32 values; those few are detected with a bit test and
decided with the exact decimal (fractions.Fraction).
"""
import json
import math
import re
import struct
import sys
from array import array
from fractions import Fraction
from itertools import compress
from operator import ne

from ..errors import ValueConversionError
from .mysqllexer import unescape_body

FORMATS = ("json_object", "json_array", "auto", "csv", "float32_blob", "mysql_vector")
TEXT_FORMATS = ("json_object", "json_array", "auto", "csv")   # read from a string's text
TYPES = ("vector", "halfvec")
MAX_DIMENSIONS = {"vector": 16000, "halfvec": 16000}
FLOAT16_MAX = 65504.0
TEXT_MODES = ("shortest", "source")
DEFAULT_TEXT = {"vector": "source", "halfvec": "shortest"}
_WHITESPACE = b" \t\r\n"

_FMT7 = "%.7g".__mod__
_FMT8 = "%.8g".__mod__
_FMT9 = "%.9g".__mod__
# Bytes a compact JSON number list may hold; anything else goes to the careful path.
_NUMBER_BYTES = b"0123456789.eE+-, \t\r\n"
_KEY_CACHE = {}


def _keys(n):
    """['0', '1', ..., 'n-1'] as bytes, cached per dimension count."""
    keys = _KEY_CACHE.get(n)
    if keys is None:
        keys = [str(i).encode() for i in range(n)]
        _KEY_CACHE[n] = keys
    return keys


# ---------------------------------------------------------------------------------------------
# float32 text

def float32_texts(values):
    """Shortest decimal text (<= 9 significant digits) of each float32 in `values` (an array('f')).

    Bulk ladder: every value at 7 digits, the ones that do not read back at 8, the rest at 9
    (9 digits always round-trip a float32).
    """
    texts = list(map(_FMT7, values))
    back = array("f", map(float, texts))
    bad = list(compress(range(len(values)), map(ne, values, back)))
    if bad:
        wanted = [values[i] for i in bad]
        retry = list(map(_FMT8, wanted))
        back = array("f", map(float, retry))
        for i, text, ok, want in zip(bad, retry, map(ne, wanted, back), wanted):
            texts[i] = _FMT9(want) if ok else text
    return texts


def vector_text(values):
    """pgvector text '[v1,v2,...]' of float32 values."""
    return "[" + ",".join(float32_texts(values)) + "]"


# ---------------------------------------------------------------------------------------------
# decimal text -> float32 exactly as PostgreSQL/pgvector reads it (C strtof: one correct rounding)

FLOAT32_MAX = 3.4028234663852886e38
_FLOAT32_MIN_NORMAL = 2.0 ** -126
_TWO_128 = 2.0 ** 128
# Low 32 bits of a double that lies exactly halfway between two float32 neighbours (normal range):
# the 29 mantissa bits float32 drops are 1000...0; the 3 bits above them are float32's own.
_MIDPOINT_LOW_WORDS = frozenset((k << 29) | (1 << 28) for k in range(8))
_LOW_WORD = 0 if sys.byteorder == "little" else 1


def _round32(value):
    return struct.unpack("f", struct.pack("f", value))[0]


def _step32(value, up):
    """The float32 next to float32 `value` towards +inf (up) or -inf; 2**128 stands for overflow."""
    if value == 0:
        return 2.0 ** -149 if up else -(2.0 ** -149)
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    bits += 1 if up == (value > 0) else -1
    if bits & 0x7F800000 == 0x7F800000:
        return math.copysign(_TWO_128, value)
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def expected_float32(text):
    """The float32 PostgreSQL stores for the decimal `text` in '[...]'::vector (pgvector uses strtof).

    float32(float(text)) rounds twice (decimal -> double -> float32) and differs from strtof's single
    rounding when the double lands exactly halfway between two float32 values while the decimal
    does not: then the exact decimal decides. Returns inf when strtof overflows (pgvector refuses it).
    """
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("ascii")
    double = float(text)
    if not math.isfinite(double):
        return double
    try:
        near = _round32(double)
    except OverflowError:
        near = math.copysign(_TWO_128, double)
    if near == double:
        return near
    other = (math.copysign(FLOAT32_MAX, double) if abs(near) == _TWO_128
             else _step32(near, double > near))
    if near + other != 2 * double:     # not a midpoint: double rounding is harmless
        return _finite32(near)
    exact = Fraction(text.strip())
    if exact == double:                # a true tie: round half to even, as struct.pack does
        return _finite32(near)
    return _finite32(other if (exact > double) == (other > double) else near)


def _finite32(value):
    return math.copysign(math.inf, value) if abs(value) == _TWO_128 else value


def _midpoint_candidates(doubles):
    """Indexes whose double rounding to float32 may differ from strtof (cheap C-level prefilter)."""
    low = array("I", array("d", doubles).tobytes())[_LOW_WORD::2]
    tiny = min(map(abs, doubles)) < _FLOAT32_MIN_NORMAL   # float32 subnormals: other bit layout
    if _MIDPOINT_LOW_WORDS.isdisjoint(low) and not tiny:
        return []
    return [i for i, (d, w) in enumerate(zip(doubles, low))
            if w & 0x1FFFFFFF == 0x10000000 or (d and abs(d) < _FLOAT32_MIN_NORMAL)]


def exact_floats(texts):
    """Decimal texts -> list of doubles that float32 rounding turns into strtof's float32 values.

    Raises ValueError for a text float() refuses.
    """
    doubles = list(map(float, texts))
    if doubles:
        for i in _midpoint_candidates(doubles):
            if math.isfinite(doubles[i]):
                fixed = expected_float32(texts[i])
                doubles[i] = fixed if math.isfinite(fixed) else doubles[i]
    return doubles


def _exact_json_float(text):
    """json.loads parse_float: the double float32 rounding turns into strtof's value."""
    double = float(text)
    if double and math.isfinite(double) and (abs(double) < _FLOAT32_MIN_NORMAL or _is_midpoint(double)):
        fixed = expected_float32(text)
        return fixed if math.isfinite(fixed) else double
    return double


def _exact_json_int(text):
    """json.loads parse_int: ints beyond 2**53 would round twice through a double."""
    value = int(text)
    if abs(value) <= 2 ** 53:
        return value
    fixed = expected_float32(text)
    return fixed if math.isfinite(fixed) else value


def _is_midpoint(double):
    return (struct.unpack("<Q", struct.pack("<d", double))[0] & 0x1FFFFFFF) == 0x10000000


# ---------------------------------------------------------------------------------------------
# fast path: strict JSON shape checked by one compiled regex, number text kept as is

# Possessive quantifiers (*+ ++ ?+ {m,n}+) spare the shapes any backtracking on Python 3.11+; older
# Pythons (managed hosts with 3.9/3.10) get the same shapes greedy, which match the same texts here
# (what follows each quantified part can never be what it repeats), only slower.
POSSESSIVE = sys.version_info >= (3, 11)


def _compile(pattern):
    return re.compile(pattern if POSSESSIVE else re.sub(rb"(?<=[*+?}])\+", b"", pattern))


_WS = rb"[ \t\n\r]*+"
# A strict JSON number that is surely inside float32's range (< 1e38): at most 29 integer digits and
# a positive exponent of at most 9. Bigger ones are valid JSON too but go to the careful path,
# which checks the range exactly, so the fast path needs no range test at all. Every shape below
# wants a delimiter right after a number, so '01', 30 digits or 'e10' fail there (no lookahead:
# possessive quantifiers never give back a digit). Without an exponent part the regex runs 2.5x
# faster, so each shape is tried without one first.
_PLAIN_NUMBER = rb"-?+(?:0|[1-9][0-9]{0,28}+)(?:\.[0-9]++)?+"
_JSON_NUMBER = _PLAIN_NUMBER + rb"(?:[eE](?:-[0-9]++|\+?+0*+[0-9]))?+"


def _object_shape(pair, comma, ws=b""):
    return _compile(ws + rb"\{" + ws + pair + rb"(?:" + comma + pair + rb")*+\}" + ws)


def _array_shape(number, comma, ws=b""):
    return _compile(ws + rb"\[" + ws + number + ws + rb"(?:" + comma + ws + number + ws + rb")*+\]" + ws)


def _both_numbers(make):
    """(shape with plain numbers, shape allowing exponents), for make(number) -> compiled shape."""
    return make(_PLAIN_NUMBER), make(_JSON_NUMBER)


# Tried in order: compact (the guide's LONGTEXT), MySQL JSON / json.dumps spacing, then any
# whitespace; each fails at its first pair on the other spellings, so trying costs little.
_OBJECT_SHAPES = (
    *_both_numbers(lambda num: _object_shape(rb'"[0-9]++":' + num, rb",")),
    _object_shape(rb'"[0-9]++": ' + _JSON_NUMBER, rb", "),
    _object_shape(rb'"[0-9]++"' + _WS + rb":" + _WS + _JSON_NUMBER + _WS, rb"," + _WS, _WS),
)
# The compact object as mysqldump writes it inside a string literal: {\"0\":v0,\"1\":v1,...}
_ESCAPED_OBJECT_SHAPES = _both_numbers(lambda num: _object_shape(rb'\\"[0-9]++\\":' + num, rb","))
_ARRAY_SHAPES = (
    *_both_numbers(lambda num: _array_shape(num, rb",")),
    _array_shape(_JSON_NUMBER, rb", "),
    _array_shape(_JSON_NUMBER, rb",", _WS),
)
_STRIP = b" \t\r\n:"


def _any_fullmatch(patterns, data):
    """patterns[0] is the plain-number shape: skipped when the text has an exponent (it would fail
    there, after scanning up to it)."""
    if b"e" in data or b"E" in data:
        patterns = patterns[1:]
    return any(p.fullmatch(data) is not None for p in patterns)


def fast_object_tokens(data):
    """b'{"0":v0,"1":v1,...}' with keys exactly "0".."N-1" in order -> b'v0,v1,...', else None."""
    if not _any_fullmatch(_OBJECT_SHAPES, data):
        return None
    pieces = data.split(b'"')
    n = len(pieces) // 2
    if pieces[1::2] != _keys(n):
        return None
    return b"".join(pieces[2::2]).translate(None, _STRIP)[:-1]


def fast_escaped_object_tokens(data):
    """fast_object_tokens for the text still escaped as in the dump ({\\"0\\":v0,...}): saves undoing
    thousands of \\" escapes first."""
    if not _any_fullmatch(_ESCAPED_OBJECT_SHAPES, data):
        return None
    pieces = data.split(b'\\"')
    if pieces[1::2] != _keys(len(pieces) // 2):
        return None
    return b"".join(pieces[2::2]).translate(None, b":")[:-1]


def fast_array_tokens(data):
    """b'[v0,v1,...]' of strict JSON numbers -> b'v0,v1,...', else None."""
    if not _any_fullmatch(_ARRAY_SHAPES, data):
        return None
    return data.translate(None, _WHITESPACE)[1:-1]


def fast_auto_tokens(data):
    head = data.lstrip()[:1]
    if head == b"{":
        return fast_object_tokens(data)
    return fast_array_tokens(data) if head == b"[" else None


FAST_TOKENS = {"json_object": fast_object_tokens, "json_array": fast_array_tokens, "auto": fast_auto_tokens}


# ---------------------------------------------------------------------------------------------
# parsing: each returns a list of Python numbers (or raises ValueConversionError)

def _reject_number(value, label):
    """Why `value` (a parsed JSON value) is not an acceptable embedding element, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "value at %s is not a number (%s)" % (label, _short(json.dumps(value)))
    if isinstance(value, float) and math.isnan(value):
        return "value at %s is NaN" % label
    if isinstance(value, float) and math.isinf(value):
        return "value at %s is %s" % (label, "Infinity" if value > 0 else "-Infinity")
    return None


def _short(text, limit=40):
    return text if len(text) <= limit else text[:limit] + "..."


def _as_bytes(raw):
    if isinstance(raw, str):
        return raw.encode("utf-8")
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw)
    raise ValueConversionError("not a text value (%s)" % type(raw).__name__)


class _Numbers(list):
    """Parsed numbers that remember their source text (comma-separated), for text='source'."""

    text = None


def _floats_from_numbers_text(body):
    """Comma-separated JSON numbers (bytes) -> list of floats, or None when the careful path must decide."""
    if body.translate(None, _NUMBER_BYTES) or b"+" in body.replace(b"e+", b"").replace(b"E+", b""):
        return None
    parts = body.split(b",")
    for part in (parts[0], parts[-1]):
        if not part.strip():
            return None
    try:
        values = _Numbers(exact_floats(parts))
    except ValueError:
        return None
    values.text = body
    return values


def _json_load(data):
    try:
        return json.loads(data, parse_constant=_keep_constant, object_pairs_hook=_pairs,
                          parse_float=_exact_json_float, parse_int=_exact_json_int)
    except ValueError as err:
        raise ValueConversionError("not valid JSON (%s)" % err) from None
    except RecursionError:
        raise ValueConversionError("not valid JSON (nested too deeply)") from None


def _keep_constant(name):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


class _Pairs(list):
    """An object's (key, value) pairs in document order (duplicates kept, so they can be reported)."""


def _pairs(pairs):
    return _Pairs(pairs)


def parse_json_object(data):
    """{"0":..,"1":..} (bytes) -> list of numbers ordered by integer key."""
    tokens = fast_object_tokens(data)
    if tokens is not None:
        return _numbers_of_tokens(tokens)
    return _parse_json_object_careful(data)


def _numbers_of_tokens(tokens):
    """b'v0,v1,...' of validated JSON numbers -> their (strtof-exact) values, remembering the text."""
    values = _Numbers(exact_floats(tokens.split(b",")))
    values.text = tokens
    return values


def _parse_json_object_careful(data):
    doc = _json_load(data)
    if not isinstance(doc, _Pairs):
        raise ValueConversionError("not a JSON object (%s)" % _kind(doc))
    if not doc:
        raise ValueConversionError("empty JSON object")
    by_index = {}
    for key, value in doc:
        index = _key_index(key)
        if index is None:
            raise ValueConversionError("key %s is not a non-negative integer" % json.dumps(key))
        if index in by_index:
            raise ValueConversionError("duplicate key %s" % json.dumps(key))
        reason = _reject_number(value, json.dumps(key))
        if reason:
            raise ValueConversionError(reason)
        by_index[index] = value
    n = len(by_index)
    missing = [i for i in range(n) if i not in by_index]
    if missing:
        extra = sorted(i for i in by_index if i >= n)
        raise ValueConversionError('keys are not 0..N-1: missing key "%d"%s' % (
            missing[0], ', unexpected key "%d"' % extra[0] if extra else ""))
    return [by_index[i] for i in range(n)]


def _key_index(key):
    if not key.isdigit() or not key.isascii() or (len(key) > 1 and key[0] == "0"):
        return None
    return int(key)


def _kind(doc):
    if isinstance(doc, list):
        return "an array"
    if doc is None:
        return "null"
    return type(doc).__name__


def parse_json_array(data):
    """[v0,v1,...] (bytes) -> list of numbers."""
    tokens = fast_array_tokens(data)
    if tokens is not None:
        return _numbers_of_tokens(tokens)
    doc = _json_load(data)
    if not isinstance(doc, list):
        raise ValueConversionError("not a JSON array (%s)" % ("an object" if isinstance(doc, _Pairs)
                                                              else _kind(doc)))
    if not doc:
        raise ValueConversionError("empty JSON array")
    for i, value in enumerate(doc):
        reason = _reject_number(value, "[%d]" % i)
        if reason:
            raise ValueConversionError(reason)
    return doc


def parse_auto(data):
    head = data.lstrip()[:1]
    if head == b"{":
        return parse_json_object(data)
    if head == b"[":
        return parse_json_array(data)
    raise ValueConversionError("neither a JSON object nor a JSON array (starts with %r)"
                               % head.decode("latin-1"))


def parse_csv(data):
    """v0,v1,... or [v0,v1,...] (bytes) -> list of floats."""
    body = data.strip()
    if body[:1] == b"[" and body[-1:] == b"]":
        body = body[1:-1]
    if not body.strip():
        raise ValueConversionError("empty list of values")
    values = _floats_from_numbers_text(body)
    if values is not None:
        return values
    out = []
    for i, part in enumerate(body.split(b",")):
        try:
            value = float(part)
        except ValueError:
            raise ValueConversionError("value at [%d] is not a number (%s)"
                                       % (i, _short(part.strip().decode("utf-8", "replace")))) from None
        reason = _reject_number(value, "[%d]" % i)
        if reason:
            raise ValueConversionError(reason)
        out.append(value)
    return out


def parse_float32_le(data):
    """Little-endian float32 bytes -> array('f')."""
    if len(data) % 4:
        raise ValueConversionError("%d bytes is not a whole number of float32 values" % len(data))
    if not data:
        raise ValueConversionError("empty binary vector")
    values = array("f")
    values.frombytes(data)
    if struct.pack("=I", 1) != struct.pack("<I", 1):
        values.byteswap()
    return values


PARSERS = {
    "json_object": parse_json_object,
    "json_array": parse_json_array,
    "auto": parse_auto,
    "csv": parse_csv,
    "float32_blob": parse_float32_le,
    "mysql_vector": parse_float32_le,
}


# ---------------------------------------------------------------------------------------------
# validation after parsing

def _label(fmt, index):
    return '"%d"' % index if fmt in ("json_object", "auto_object") else "[%d]" % index


def to_float32(values, fmt):
    """Numbers -> array('f'), rejecting NaN, Infinity and values beyond float32's range."""
    try:
        arr = values if isinstance(values, array) else array("f", values)
    except TypeError:
        for i, value in enumerate(values):
            reason = _reject_number(value, _label(fmt, i))
            if reason:
                raise ValueConversionError(reason) from None
        raise
    except OverflowError:  # an int too large for a C float
        index = next(i for i, v in enumerate(values) if abs(float(v)) > 3.4028234663852886e38)
        raise ValueConversionError("value at %s is out of float32 range" % _label(fmt, index)) from None
    total = sum(arr)
    if total - total != 0:  # NaN or +-inf somewhere (float32 max * 16000 is still finite)
        _raise_non_finite(values, arr, fmt)
    return arr


def _raise_non_finite(values, arr, fmt):
    for i, value in enumerate(arr):
        if math.isnan(value):
            raise ValueConversionError("value at %s is NaN" % _label(fmt, i))
        if math.isinf(value):
            original = values[i]
            if isinstance(original, float) and math.isinf(original):
                raise ValueConversionError("value at %s is %s" % (
                    _label(fmt, i), "Infinity" if original > 0 else "-Infinity"))
            raise ValueConversionError("value at %s is out of float32 range (%s)"
                                       % (_label(fmt, i), original))
    raise ValueConversionError("non-finite value")


def to_float16(arr, fmt):
    """float32 array -> float32 array holding float16-rounded values; overflow is an error."""
    n = len(arr)
    try:
        packed = struct.pack("<%de" % n, *arr)
    except OverflowError:
        index = next(i for i, v in enumerate(arr) if abs(v) > FLOAT16_MAX)
        raise ValueConversionError("value at %s (%s) is out of halfvec range (+-%g)" % (
            _label(fmt, index), _FMT9(arr[index]), FLOAT16_MAX)) from None
    return array("f", struct.unpack("<%de" % n, packed))


# ---------------------------------------------------------------------------------------------
# the converter

class EmbeddingConverter:
    """Callable raw value -> pgvector text; enforces one dimension count across all rows."""

    def __init__(self, vtype="vector", dimensions=None, fmt="json_object", text=None):
        if vtype not in TYPES:
            raise ValueConversionError("embedding type %r is not one of %s" % (vtype, ", ".join(TYPES)))
        if fmt not in PARSERS:
            raise ValueConversionError("embedding format %r is not one of %s" % (fmt, ", ".join(FORMATS)))
        if dimensions is not None and not 1 <= int(dimensions) <= MAX_DIMENSIONS[vtype]:
            raise ValueConversionError("%s dimensions must be 1..%d, not %s"
                                       % (vtype, MAX_DIMENSIONS[vtype], dimensions))
        text = text or DEFAULT_TEXT.get(vtype, "shortest")
        if text not in TEXT_MODES:
            raise ValueConversionError("embedding text %r is not one of %s" % (text, ", ".join(TEXT_MODES)))
        self.type = vtype
        self.format = fmt
        self.text = text
        self.dimensions = int(dimensions) if dimensions is not None else None
        self._parse = PARSERS[fmt]
        self._label_fmt = "json_object" if fmt == "json_object" else "array"
        # C-speed path: strict JSON shape, keys in order, number text passed through to strtof
        self._fast = FAST_TOKENS.get(fmt) if vtype == "vector" and text == "source" else None

    def values(self, raw):
        """raw -> array('f') of the rounded values (validated, dimension enforced)."""
        return self._convert(raw)[0]

    def _convert(self, raw):
        """raw -> (array('f') of rounded values, source number text or None)."""
        data = raw if type(raw) is bytes else _as_bytes(raw)
        numbers = self._parse(data)
        label_fmt = self._label_fmt
        if self.format == "auto" and data.lstrip()[:1] == b"{":
            label_fmt = "json_object"
        arr = to_float32(numbers, label_fmt)
        self._check_dimensions(len(arr))
        if self.type == "halfvec":
            arr = to_float16(arr, label_fmt)
        return arr, getattr(numbers, "text", None)

    def _fast_text(self, data):
        """pgvector text straight from the source numbers, or None when the careful path must decide
        (anything unusual, and every error, so messages and policies stay the careful path's)."""
        tokens = self._fast(data)
        return None if tokens is None else self._tokens_text(tokens)

    def _tokens_text(self, tokens):
        """Validated number tokens b'v0,v1,...' -> pgvector text, or None on a dimension mismatch."""
        n = tokens.count(b",") + 1
        if n != self.dimensions and (self.dimensions is not None or n > MAX_DIMENSIONS[self.type]):
            return None
        self.dimensions = n
        return "[" + tokens.decode("ascii") + "]"

    def _check_dimensions(self, n):
        if self.dimensions is None:
            if n > MAX_DIMENSIONS[self.type]:
                raise ValueConversionError("%d dimensions, more than %s allows (%d)"
                                           % (n, self.type, MAX_DIMENSIONS[self.type]))
            self.dimensions = n
        elif n != self.dimensions:
            raise ValueConversionError("%d dimensions, expected %d" % (n, self.dimensions))

    def __call__(self, raw):
        if self._fast is not None:
            data = raw if type(raw) is bytes else _as_bytes(raw)
            text = self._fast_text(data)
            if text is not None:
                return text
            raw = data
        arr, source = self._convert(raw)
        if source is not None and self.text == "source":
            # validated above: the same numbers pgvector will read (and round) itself
            return "[" + source.translate(None, _WHITESPACE).decode("ascii") + "]"
        return vector_text(arr)

    def fast_bytes(self, data):
        """Raw text (bytes) -> pgvector text as bytes, or None when the value is invalid: the caller
        then converts it in its row-by-row path, which applies the invalid-value policy."""
        try:
            return self(data).encode("ascii")      # the fast path first, as always
        except ValueConversionError:
            return None

    def fast_bytes_escaped(self, body):
        """fast_bytes for a string literal's inside as mysqldump writes it (escapes not undone)."""
        if self._fast is not None and self.format in ("json_object", "auto"):
            tokens = fast_escaped_object_tokens(body)
            text = self._tokens_text(tokens) if tokens is not None else None
            if text is not None:
                return text.encode("ascii")
        return self.fast_bytes(unescape_body(body) if b"\\" in body else body)

    def spec(self):
        return {"type": self.type, "dimensions": self.dimensions, "format": self.format, "text": self.text}


def make_converter(spec):
    """A converter for one embedding column; spec keys: type, dimensions, format (see module doc)."""
    spec = spec or {}
    return EmbeddingConverter(vtype=spec.get("type") or "vector", dimensions=spec.get("dimensions"),
                              fmt=spec.get("format") or "json_object", text=spec.get("text"))


def pg_type(spec):
    """'vector(1536)' / 'halfvec(3072)' for a spec with known dimensions."""
    return "%s(%d)" % (spec.get("type") or "vector", int(spec["dimensions"]))


# ---------------------------------------------------------------------------------------------
# detection

def detect_embedding(sample_values, min_dimensions=2):
    """A spec {"type", "dimensions", "format"} when every non-NULL sample is an embedding, else None.

    Embeddings are JSON objects keyed "0".."N-1" or JSON arrays of numbers, all with the same N
    (>= min_dimensions). Above 2,000 dimensions (pgvector's HNSW limit for vector) the type is
    halfvec up to 4,000; beyond that vector (storable, not HNSW-indexable).
    """
    found_format = None
    dims = None
    seen = 0
    for raw in sample_values:
        if raw is None:
            continue
        try:
            data = _as_bytes(raw)
        except ValueConversionError:
            return None
        head = data.lstrip()[:1]
        fmt = {b"{": "json_object", b"[": "json_array"}.get(head)
        if fmt is None or (found_format and fmt != found_format):
            return None
        try:
            arr = to_float32(PARSERS[fmt](data), fmt)
        except ValueConversionError:
            return None
        if dims is not None and len(arr) != dims:
            return None
        found_format, dims, seen = fmt, len(arr), seen + 1
    if not seen or dims < min_dimensions:
        return None
    vtype = "halfvec" if 2000 < dims <= 4000 else "vector"
    return {"type": vtype, "dimensions": dims, "format": found_format}


def parse_vector_text(text):
    """pgvector text '[1,2,3]' -> list of floats (for checks and tests)."""
    body = text.strip()
    if body[:1] != "[" or body[-1:] != "]":
        raise ValueConversionError("not pgvector text: %s" % _short(body))
    return [float(x) for x in body[1:-1].split(",")] if body[1:-1].strip() else []


__all__ = ["FORMATS", "TYPES", "EmbeddingConverter", "detect_embedding", "exact_floats", "expected_float32",
           "float32_texts",
           "make_converter", "parse_vector_text", "pg_type", "vector_text"]
