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

The fast path lives in embedding_shapes, float32 exactness in float32.
"""
import json
import math
import struct
from array import array

from ..errors import ValueConversionError
from .embedding_shapes import FAST_TOKENS, fast_array_tokens, fast_escaped_object_tokens, fast_object_tokens
from .float32 import (
    exact_floats,
    exact_json_float,
    exact_json_int,
    expected_float32,
    float32_texts,
    vector_text,
)
from .mysqllexer import unescape_body

FORMATS = ("json_object", "json_array", "auto", "csv", "float32_blob", "mysql_vector")
TEXT_FORMATS = ("json_object", "json_array", "auto", "csv")   # read from a string's text
TYPES = ("vector", "halfvec")
MAX_DIMENSIONS = {"vector": 16000, "halfvec": 16000}
FLOAT16_MAX = 65504.0
_WHITESPACE = b" \t\r\n"
TEXT_MODES = ("shortest", "source")
DEFAULT_TEXT = {"vector": "source", "halfvec": "shortest"}

# Bytes a compact JSON number list may hold; anything else goes to the careful path.
_NUMBER_BYTES = b"0123456789.eE+-, \t\r\n"
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
                          parse_float=exact_json_float, parse_int=exact_json_int)
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
            _label(fmt, index), "%.9g" % arr[index], FLOAT16_MAX)) from None
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
