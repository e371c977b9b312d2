"""float32 text: shortest decimal of a float32, and decimal text -> float32 exactly as pgvector reads it.

Exactness: values() (used by verify and by text=shortest) rounds decimal text exactly as strtof
does (expected_float32): decimal -> double -> float32 differs from strtof only when the double
lands exactly halfway between two float32 values; those few are detected with a bit test and
decided with the exact decimal (fractions.Fraction).
"""
import math
import struct
import sys
from array import array
from fractions import Fraction
from itertools import compress
from operator import ne

_FMT7 = "%.7g".__mod__
_FMT8 = "%.8g".__mod__
_FMT9 = "%.9g".__mod__


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


def exact_json_float(text):
    """json.loads parse_float: the double float32 rounding turns into strtof's value."""
    double = float(text)
    if double and math.isfinite(double) and (abs(double) < _FLOAT32_MIN_NORMAL or _is_midpoint(double)):
        fixed = expected_float32(text)
        return fixed if math.isfinite(fixed) else double
    return double


def exact_json_int(text):
    """json.loads parse_int: ints beyond 2**53 would round twice through a double."""
    value = int(text)
    if abs(value) <= 2 ** 53:
        return value
    fixed = expected_float32(text)
    return fixed if math.isfinite(fixed) else value


def _is_midpoint(double):
    return (struct.unpack("<Q", struct.pack("<d", double))[0] & 0x1FFFFFFF) == 0x10000000
