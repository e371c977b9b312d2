"""MySQL value literals (as mysqldump writes them) -> COPY text fields, per target converter.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.model.values import Policies, make_converter

    pol = Policies(zero_date="null", invalid_utf8="error", nul_bytes="strip")
    conv = make_converter("datetime", column=None, policies=pol)
    conv(b"'2020-01-02 03:04:05'") -> b"2020-01-02 03:04:05"
    conv(b"'0000-00-00 00:00:00'") -> b"\\\\N"  (and pol.counts["zero_date"] += 1)
    conv(b"NULL") -> b"\\\\N"

Every converter takes the literal token (quoted string with optional _charset introducer, 0x.. hex,
b'..' bits, bare number, NULL) and returns escaped COPY bytes, or raises ValueConversionError with
the reason; the row loop adds table, row and byte offset. Policies are docs/contracts.md's:
zero_date error|null|<replacement>, invalid_utf8 error|replace, nul_bytes error|strip.
"""
import datetime
import json
import re
import struct
from collections import Counter
from dataclasses import dataclass, field

from ..copytext import (
    NULL,
    bytea_field,
    copy_escape_bytes,
)
from ..errors import ValueConversionError
from . import embedding_text as embeddings
from .mysqllexer import literal_bytes, unescape_string

_ZERO_DATE_RE = re.compile(rb"^0000-00-00(?:[ T]00:00:00(?:\.0+)?)?$|^\d{4}-00-|^\d{4}-\d\d-00")
_NUMBER_RE = re.compile(rb"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_TIME_RE = re.compile(rb"^(-)?(\d+):(\d\d)(?::(\d\d)(\.\d+)?)?$")
# MySQL charset names -> Python codecs (MySQL latin1 is really cp1252)
CHARSETS = {"utf8": "utf-8", "utf8mb3": "utf-8", "utf8mb4": "utf-8", "latin1": "cp1252", "ascii": "ascii",
            "binary": None, "latin2": "iso8859-2", "cp1250": "cp1250", "cp1251": "cp1251",
            "greek": "iso8859-7", "hebrew": "iso8859-8", "sjis": "shift_jis", "gbk": "gbk", "big5": "big5",
            "euckr": "euc_kr",
            "ucs2": "utf-16-be", "utf16": "utf-16-be", "utf32": "utf-32-be"}


# MySQL character sets whose text is already UTF-8 bytes (no CONVERT needed to read it as such)
UTF8_CHARSETS = (None, "utf8mb4", "utf8mb3", "utf8", "ascii", "binary")


# A zero_date replacement goes into data files, DDL defaults and (live_copy) MySQL's SELECT as is:
# only a real date or date and time is let through, never arbitrary text.
_REPLACEMENT_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?$")
DATE_CONVERTERS = ("date", "datetime", "timestamptz")
# PostgreSQL's own "before every date": a zero date that keeps NOT NULL and sorts first
MINUS_INFINITY = "-infinity"


def check_zero_date(policy, option="zero_date (--zero-date)"):
    """'error', 'null', '-infinity', or a replacement that is a valid date (YYYY-MM-DD) or date and time
    (YYYY-MM-DD HH:MM:SS[.ffffff]); anything else raises, naming the option and the value."""
    if policy in ("error", "null", MINUS_INFINITY):
        return policy
    m = _REPLACEMENT_RE.match(policy) if isinstance(policy, str) else None
    try:
        if m is None:
            raise ValueError("not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS[.ffffff]")
        datetime.datetime(*(int(g) for g in m.groups()[:6] if g is not None))
    except ValueError as err:
        raise ValueConversionError("%s must be 'error', 'null', '-infinity' or a replacement date or date"
                                   " and time such as '1970-01-01 00:00:00', got %r (%s)"
                                   % (option, policy, err)) from None
    return policy


def check_zero_date_for(policy, converter, where):
    """The replacement fits the column: a date column cannot hold a time of day (it would be cut)."""
    if converter not in DATE_CONVERTERS or policy in ("error", "null", MINUS_INFINITY):
        return
    check_zero_date(policy)
    m = _REPLACEMENT_RE.match(policy)
    if converter == "date" and m.group(4) is not None and any(int(g or 0) for g in m.groups()[3:]):
        raise ValueConversionError("%s is a date: zero_date replacement %r has a time of day it cannot hold "
                                   "(use a date such as '1970-01-01')" % (where, policy))


@dataclass
class Policies:
    zero_date: str = "error"
    invalid_utf8: str = "error"
    nul_bytes: str = "error"
    charset: str = "utf-8"          # the dump's connection character set, as a Python codec
    tz_suffix: bytes = b"+00"       # appended to TIMESTAMP values (mysqldump --tz-utc)
    counts: Counter = field(default_factory=Counter)

    def zero_date_value(self, raw):
        if self.zero_date == "error":
            raise ValueConversionError("zero date %r (zero_date policy is 'error'; use 'null', '-infinity' or"
                                       " a replacement such as '1970-01-01 00:00:00')" % raw.decode())
        self.counts["zero_date"] += 1
        if self.zero_date == "null":
            return NULL
        return self.zero_date.encode()


def _is_null(token):
    return token in (b"NULL", b"null")


def _raw(token):
    """token -> raw bytes (None for NULL)."""
    return literal_bytes(token)


# What a NUL byte in text can become: both readers' errors name the two choices.
NUL_CHOICES = ("nul_bytes policy is 'error'; 'strip' removes them, losing bytes (a PHP-serialized"
               " length no longer matches); a type_rules entry mapping the column to bytea keeps every byte:"
               " {match: {table: T, column: C}, pg_type: bytea}")


def decode_text(raw, pol):
    """Raw bytes in the dump's charset -> UTF-8 bytes, NUL and invalid-byte policies applied."""
    if b"\x00" in raw:
        if pol.nul_bytes != "strip":
            raise ValueConversionError("NUL byte at value offset %d (%s)" % (raw.index(b"\x00"), NUL_CHOICES))
        pol.counts["nul_bytes"] += 1
        raw = raw.replace(b"\x00", b"")
    if pol.charset == "utf-8":
        try:
            raw.decode("utf-8")
            return raw
        except UnicodeDecodeError as err:
            if pol.invalid_utf8 != "replace":
                raise ValueConversionError("invalid UTF-8 at value offset %d: %r (invalid_utf8 policy is "
                                           "'error'; 'replace' writes U+FFFD)"
                                           % (err.start, raw[max(0, err.start - 8):err.start + 8])) from None
            pol.counts["invalid_utf8"] += 1
            return raw.decode("utf-8", "replace").encode("utf-8")
    return raw.decode(pol.charset, "replace").encode("utf-8")


def conv_text(pol):
    def convert(token):
        if token[:1] == b"'":
            raw = unescape_string(token)       # the common case: a plain quoted string
        elif _is_null(token):
            return NULL
        else:
            raw = _raw(token)                  # _binary '..', 0x.. (bytes in the column's charset)
        return copy_escape_bytes(decode_text(raw, pol))
    return convert


def conv_integer(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        if token[:1] in (b"'", b"_", b"0x", b"b", b"B", b"x", b"X") and not _NUMBER_RE.match(raw):
            if token[:2] in (b"0x", b"0X") or token[:1] in (b"b", b"B", b"x", b"X"):
                return str(int.from_bytes(raw, "big")).encode()
            raise ValueConversionError("not an integer: %r" % token[:40])
        if not _NUMBER_RE.match(raw):
            raise ValueConversionError("not a number: %r" % token[:40])
        if b"." in raw or b"e" in raw or b"E" in raw:
            return str(round(float(raw))).encode() if abs(float(raw)) < 1e15 else raw
        return raw
    return convert


def conv_numeric(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        if not _NUMBER_RE.match(raw):
            raise ValueConversionError("not a number: %r" % token[:40])
        return raw
    return convert


conv_float = conv_numeric


def conv_boolean(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        if (token[:1] in (b"b", b"B", b"x", b"X", b"_") or token[:2] in (b"0x", b"0X")
                or raw[:1] in (b"\x00", b"\x01")):
            return b"t" if any(raw) else b"f"
        low = raw.strip().lower()
        if low in (b"0", b"false", b"f", b"n", b"no", b""):
            return b"f"
        if low in (b"1", b"true", b"t", b"y", b"yes"):
            return b"t"
        if _NUMBER_RE.match(low):
            raise ValueConversionError("value %s does not fit boolean (add a type_rules entry mapping "
                                       "tinyint(1) to smallint to keep it)" % low.decode())
        raise ValueConversionError("not a boolean: %r" % token[:40])
    return convert


conv_bit_boolean = conv_boolean


def conv_bit(column_length):
    width = column_length or 1

    def factory(pol):
        def convert(token):
            if _is_null(token):
                return NULL
            raw = _raw(token)
            if token[:1] in (b"b", b"B") and token[1:2] == b"'":
                value = int(token[2:-1] or b"0", 2)
            elif _NUMBER_RE.match(raw) and token[:1] not in (b"'", b"_"):
                value = int(raw)
            else:
                value = int.from_bytes(raw, "big")
            return format(value, "0%db" % width)[-width:].encode()
        return convert
    return factory


def conv_bytea(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        return bytea_field(_raw(token))
    return convert


def _date_value(token, pol):
    raw = _raw(token)
    if (raw[:1] == b"0" or b"-00" in raw) and _ZERO_DATE_RE.match(raw):
        return pol.zero_date_value(raw), True
    return raw, False


def conv_date(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        return _date_value(token, pol)[0]
    return convert


conv_datetime = conv_date


def conv_timestamptz(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        value, replaced = _date_value(token, pol)
        if replaced or value == NULL:
            return value
        return value + pol.tz_suffix
    return convert


def conv_time(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        m = _TIME_RE.match(raw)
        if m is None:
            raise ValueConversionError("not a time: %r" % raw[:40])
        if m.group(1) or int(m.group(2)) > 24:
            raise ValueConversionError("TIME %r is outside PostgreSQL's time of day (map it to interval "
                                       "with a type_rules entry)" % raw.decode())
        return raw
    return convert


def conv_year(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        return raw if raw != b"0000" else b"0"
    return convert


def conv_set(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = decode_text(_raw(token), pol)
        members = [m for m in raw.split(b",") if m] if raw else []
        quoted = [b'"' + m.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"' for m in members]
        return copy_escape_bytes(b"{" + b",".join(quoted) + b"}")
    return convert


def conv_json(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        text = decode_text(_raw(token), pol)
        if b"\\u0000" in text:              # jsonb cannot hold U+0000: the NUL policy decides
            if pol.nul_bytes != "strip":
                raise ValueConversionError("JSON holds \\u0000, which jsonb refuses (nul_bytes policy is "
                                           "'error'; 'strip' removes it)")
            pol.counts["nul_bytes"] += 1
            text = re.sub(rb"(?<!\\)((?:\\\\)*)\\u0000", rb"\1", text)
        return copy_escape_bytes(text)
    return convert


def conv_uuid(pol):
    return conv_text(pol)


conv_inet = conv_uuid
conv_enum = conv_text


def conv_vector(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        if len(raw) % 4:
            raise ValueConversionError("VECTOR value of %d bytes is not float32s" % len(raw))
        floats = struct.unpack("<%df" % (len(raw) // 4), raw)
        return ("[" + ",".join(repr(f) for f in floats) + "]").encode()
    return convert


def conv_geometry_wkt(pol):
    def convert(token):
        if _is_null(token):
            return NULL
        return copy_escape_bytes(geometry_to_wkt(_raw(token)).encode())
    return convert


_GEOM_NAMES = {1: "POINT", 2: "LINESTRING", 3: "POLYGON", 4: "MULTIPOINT", 5: "MULTILINESTRING",
               6: "MULTIPOLYGON", 7: "GEOMETRYCOLLECTION"}


def geometry_to_wkt(raw):
    """MySQL internal geometry (4-byte SRID + WKB) -> 'SRID=n;WKT' (EWKT), or WKT when SRID is 0."""
    if len(raw) < 9:
        raise ValueConversionError("geometry value of %d bytes is too short" % len(raw))
    srid = struct.unpack("<I", raw[:4])[0]
    text, _end = _wkb(raw, 4)
    return ("SRID=%d;%s" % (srid, text)) if srid else text


def _wkb(raw, pos):
    order = "<" if raw[pos] == 1 else ">"
    kind = struct.unpack(order + "I", raw[pos + 1:pos + 5])[0]
    pos += 5
    name = _GEOM_NAMES.get(kind)
    if name is None:
        raise ValueConversionError("unknown WKB geometry type %d" % kind)
    body, pos = _wkb_body(raw, pos, order, kind)
    return name + body, pos


def _points(raw, pos, order, n):
    vals = struct.unpack_from(order + "%dd" % (2 * n), raw, pos)
    pts = ["%r %r" % (vals[i], vals[i + 1]) for i in range(0, 2 * n, 2)]
    return pts, pos + 16 * n


def _wkb_body(raw, pos, order, kind):
    if kind == 1:
        pts, pos = _points(raw, pos, order, 1)
        return "(%s)" % pts[0], pos
    count = struct.unpack_from(order + "I", raw, pos)[0]
    pos += 4
    if kind == 2:
        pts, pos = _points(raw, pos, order, count)
        return "(%s)" % ",".join(pts), pos
    if kind == 3:
        rings = []
        for _ in range(count):
            n = struct.unpack_from(order + "I", raw, pos)[0]
            pts, pos = _points(raw, pos + 4, order, n)
            rings.append("(%s)" % ",".join(pts))
        return "(%s)" % ",".join(rings), pos
    parts = []
    for _ in range(count):
        text, pos = _wkb(raw, pos)
        parts.append(text if kind == 7 else text[text.index("("):])
    return "(%s)" % ",".join(parts), pos


FACTORIES = {
    "integer": conv_integer, "numeric": conv_numeric, "float": conv_float, "boolean": conv_boolean,
    "bit_boolean": conv_bit_boolean, "text": conv_text, "bytea": conv_bytea, "json": conv_json,
    "date": conv_date, "datetime": conv_datetime, "timestamptz": conv_timestamptz, "time": conv_time,
    "year": conv_year, "enum": conv_enum, "set": conv_set, "geometry_wkt": conv_geometry_wkt,
    "uuid": conv_uuid, "inet": conv_inet, "vector": conv_vector,
}


def make_converter(name, column=None, policies=None):
    """Converter name (typemap.ColumnPlan.converter) -> callable(token bytes) -> COPY field bytes."""
    pol = policies or Policies()
    if name == "bit":
        return conv_bit(getattr(column, "length", None))(pol)
    try:
        return FACTORIES[name](pol)
    except KeyError:
        raise ValueConversionError("unknown converter %r" % name) from None


def make_embedding_converter(spec, policies):
    """Wrap embeddings.make_converter(spec) as a token converter; the invalid
    policy (error|null|reject) is applied by the row loop, which catches ValueConversionError."""
    inner = embeddings.make_converter(spec)

    def convert(token):
        if _is_null(token):
            return NULL
        raw = _raw(token)
        if spec.get("format") != "float32_blob":
            raw = decode_text(raw, policies)
        out = inner(raw)
        return (out if isinstance(out, bytes) else out.encode("utf-8"))

    convert.bulk = inner.fast_bytes_escaped if spec.get("format") in embeddings.TEXT_FORMATS else None
    return convert


def json_roundtrip_ok(raw):
    """True when raw is valid JSON (used by checks in existing-schema mode)."""
    try:
        json.loads(raw)
        return True
    except ValueError:
        return False
