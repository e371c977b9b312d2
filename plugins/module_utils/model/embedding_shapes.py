"""Embedding text checked at C speed: strict JSON shapes of compiled regular expressions.

Fast path (json_object, json_array, auto; vector with text=source): one compiled regex checks the
strict JSON shape (numbers that are surely inside float32's range: <= 29 integer digits, positive
exponent <= 9), a split on '"' checks the keys are exactly "0".."N-1" in order (compared with a
cached list per dimension), and the number text is passed through: no float is ever built. Any
other value (keys reordered, NaN/Infinity, strings, nested values, '01', big exponents, ...) goes
to the careful path (json.loads), which gives the precise error or accepts it, so the fast path
accepts a subset of what the careful path accepts, with the same vector.
"""
from ..regex import compile_possessive

_WHITESPACE = b" \t\r\n"
_KEY_CACHE = {}


def _keys(n):
    """['0', '1', ..., 'n-1'] as bytes, cached per dimension count."""
    keys = _KEY_CACHE.get(n)
    if keys is None:
        keys = [str(i).encode() for i in range(n)]
        _KEY_CACHE[n] = keys
    return keys


# ---------------------------------------------------------------------------------------------
# fast path: strict JSON shape checked by one compiled regex, number text kept as is

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
    return compile_possessive(ws + rb"\{" + ws + pair + rb"(?:" + comma + pair + rb")*+\}" + ws)


def _array_shape(number, comma, ws=b""):
    item = ws + number + ws
    return compile_possessive(ws + rb"\[" + item + rb"(?:" + comma + item + rb")*+\]" + ws)


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
