"""Canonical text of a value, computed identically by MySQL and PostgreSQL (or by Python).

Each column gets a kind from its MySQL type and its PostgreSQL type; for each kind two SQL
expressions produce the same text for the same value on both engines, so that rows are hashed
where they live and never travel. Kinds SQL cannot canonicalize identically (JSON, embeddings,
geometry, anything unknown) are fetched and canonicalized in Python.

Canonical forms:
  integers, year     decimal digits                 booleans   1 / 0
  decimal(p,s)       digits with exactly s decimals (both engines print the declared scale)
  float, double      "<integer mantissa>p<exponent>": exact, computed with power-of-two arithmetic
                     (exact in IEEE); FLOAT compared at float32 (the PostgreSQL value is rounded
                     to real first), DOUBLE at double. A dump of MariaDB / MySQL < 8 carries FLOAT
                     with 6 significant digits only (the server prints FLOAT with %g-6), so for a
                     dump manifest FLOAT is compared at 6 significant digits (kind float4_g6, both
                     sides round the float32 value to 6 digits, parse it back as a double and
                     take the exact form above); verify reports it per table
  datetime/timestamp 'YYYY-MM-DD HH:MM:SS.ffffff', both sessions in UTC (TIMESTAMP is an instant;
                     DATETIME a wall clock); zero dates as the manifest's zero_date policy mapped them
  date, time         'YYYY-MM-DD', 'HH:MM:SS.ffffff'
  text, enum         the UTF-8 text (non-UTF-8 MySQL charsets converted)
  set -> text[]      members joined with ','
  bytes              upper-case hex          bit(n)   n binary digits
  JSON (Python)      sorted keys, compact, numbers as normalized decimals
  vectors (Python)   float32 (halfvec: float16) values of the source JSON/blob vs the vector
NULL is distinct from every value (and from ''): CONCAT_WS skips NULLs on both engines and a
null mask of the nullable columns is appended to the row text.
"""
import json
import re
import struct
from array import array
from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import ValueConversionError
from ..model.embedding_text import make_converter, parse_vector_text
from ..model.values import MINUS_INFINITY, UTF8_CHARSETS
from ..quoting import mysql_ident, quote_ident

INT_TYPES = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")
TEXT_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext")
BINARY_TYPES = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")
DATETIME_FMT_MY = "'%Y-%m-%d %H:%i:%s.%f'"
DATETIME_FMT_PG = "'YYYY-MM-DD HH24:MI:SS.US'"
SQL_KINDS = ("int", "bool", "decimal", "float4", "float4_g6", "float8", "datetime", "date", "time", "text",
             "bytes", "bit", "set", "year")
DUMP_FLOAT_DIGITS = 6        # what MariaDB and MySQL < 8 print for FLOAT (and so what mysqldump writes)


@dataclass
class Column:
    """One column as both engines see it."""
    name: str                     # PostgreSQL name
    source_name: str              # MySQL name
    my_type: str                  # information_schema COLUMN_TYPE, lower case
    my_data_type: str             # information_schema DATA_TYPE
    pg_type: str                  # format_type(), e.g. 'numeric(10,2)', 'vector(3)', 'text[]'
    my_charset: str = None
    my_collation: str = None      # information_schema COLLATION_NAME (orders a text key in MySQL)
    my_scale: int = None
    nullable: bool = True
    embedding: dict = None
    kind: str = ""
    extra: dict = field(default_factory=dict)


def classify(col):
    """The column's comparison kind from its MySQL and PostgreSQL types."""
    my, pg = col.my_data_type, col.pg_type.lower()
    if col.embedding or pg.startswith(("vector", "halfvec")):
        return "vector"
    if pg in ("json", "jsonb") or my == "json":
        return "json"
    if my in INT_TYPES:
        return "bool" if pg == "boolean" else "int"
    if my == "bit":
        return "bool" if pg == "boolean" else "bit"
    simple = {"year": "year", "decimal": "decimal", "numeric": "decimal", "float": "float4",
              "double": "float8", "real": "float8", "datetime": "datetime", "timestamp": "datetime",
              "date": "date", "time": "time", "enum": "text", "set": "set"}
    if my in simple:
        kind = simple[my]
        if kind == "float4" and "double" in pg:
            return "float4"      # compared at the source's precision
        return kind
    if my in TEXT_TYPES:
        return "bytes" if pg == "bytea" else "text"   # bytea: a type rule keeping NUL bytes
    if my in BINARY_TYPES:
        return "bytes" if pg == "bytea" else "python"
    return "python"


def server_flavor(server_version):
    """('mariadb'|'mysql', (major, minor)) from a VERSION() text such as '10.11.6-MariaDB-log'."""
    text = server_version or ""
    m = re.match(r"\s*(\d+)\.(\d+)", text)
    version = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    flavor = "mariadb" if "mariadb" in text.lower() or version[0] >= 10 else "mysql"
    return flavor, version


def dump_float_digits(source_kind, server_version):
    """Significant digits of FLOAT values a migration carries: DUMP_FLOAT_DIGITS for a dump of
    MariaDB or MySQL < 8 (they print FLOAT with %g-6; mysqldump copies that text), None (exact
    float32) for a live copy or a dump of MySQL 8+ (which prints the shortest round-trip text)."""
    if source_kind != "dump":
        return None
    flavor, version = server_flavor(server_version)
    if flavor == "mysql" and version >= (8, 0):
        return None
    return DUMP_FLOAT_DIGITS


# ---------------------------------------------------------------------------------------------
# MySQL side

def _my_float(x):
    """Exact '<mantissa>p<exp>' of a double expression, power-of-two arithmetic only."""
    a = "ABS(%s)" % x
    e0 = "FLOOR(LOG2(%s))" % a
    m0 = "(%s / POW(2, %s))" % (a, e0)
    p = "GREATEST(%s + (%s >= 2) - (%s < 1) - 52, -1074)" % (e0, m0, m0)
    return ("IF(%s = 0, '0', CONCAT(IF(%s < 0, '-', ''), CAST(%s / POW(2, %s) AS UNSIGNED), 'p', %s))"
            % (x, x, a, p, p))


def _my_float_g6(col, c):
    """The FLOAT value as the server prints it (6 significant digits), read back as a double.
    MariaDB: CAST AS FLOAT prints %g-6 also for FLOAT(M,D) (whose own text has D decimals);
    MySQL 5.x (no CAST AS FLOAT) prints a plain FLOAT column with %g-6 itself."""
    if col.extra.get("flavor") == "mysql":
        return "(CONCAT(%s) + 0e0)" % c
    return "(CAST(CAST(%s AS FLOAT) AS CHAR) + 0e0)" % c


def _my_zero_date(col, c, formatted, options):
    policy = options.get("zero_date", "error")
    if policy == "error" or col.kind not in ("datetime", "date"):
        return formatted
    if policy == "null":
        replacement = "NULL"
    elif policy == MINUS_INFINITY:
        replacement = "'-infinity'"   # PostgreSQL's text of it (pg_expr keeps it, even with a fraction)
    else:
        if col.kind == "datetime" and _fsp(col.my_type):
            fmt = DATETIME_FMT_MY
        else:
            fmt = "'%Y-%m-%d %H:%i:%s'" if col.kind == "datetime" else "'%Y-%m-%d'"
        replacement = "DATE_FORMAT('%s', %s)" % (policy.replace("'", "''"), fmt)
    return "IF(MONTH(%s) = 0 OR DAYOFMONTH(%s) = 0, %s, %s)" % (c, c, replacement, formatted)


def my_expr(col, options):
    """MySQL SQL for the canonical text of the column (None: the value is canonicalized in Python)."""
    c = mysql_ident(col.source_name)
    kind = col.kind
    if kind in ("int", "decimal", "set"):
        return c
    if kind == "year":
        return "(%s + 0)" % c
    if kind == "bool":
        return "(%s <> 0)" % c
    if kind in ("float4", "float8"):
        return _my_float(c)
    if kind == "float4_g6":
        return _my_float(_my_float_g6(col, c))
    if kind == "datetime":
        # without fractional seconds MySQL's own text is canonical (and 4x cheaper than DATE_FORMAT)
        formatted = c if not _fsp(col.my_type) else "DATE_FORMAT(%s, %s)" % (c, DATETIME_FMT_MY)
        return _my_zero_date(col, c, formatted, options)
    if kind == "date":
        return _my_zero_date(col, c, c, options)
    if kind == "time":
        return "TIME_FORMAT(%s, '%%H:%%i:%%s.%%f')" % c
    if kind == "text":
        return c if col.my_charset in UTF8_CHARSETS else "CONVERT(%s USING utf8mb4)" % c
    if kind == "bytes":
        if col.my_data_type in TEXT_TYPES and col.my_charset not in UTF8_CHARSETS:
            return "HEX(CONVERT(%s USING utf8mb4))" % c   # what both readers wrote
        return "HEX(%s)" % c
    if kind == "bit":
        return "LPAD(BIN(%s), %d, '0')" % (c, _bit_width(col.my_type))
    return None


def my_is_null(col, options):
    """MySQL SQL that is 1 when the canonical value is NULL."""
    c = mysql_ident(col.source_name)
    if col.kind in ("datetime", "date") and options.get("zero_date") == "null":
        return "(%s IS NULL OR MONTH(%s) = 0 OR DAYOFMONTH(%s) = 0)" % (c, c, c)
    return "(%s IS NULL)" % c


def my_raw(col):
    """MySQL SQL fetching the value itself (reports, Python-side kinds)."""
    c = mysql_ident(col.source_name)
    if col.my_data_type in ("geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                            "multipolygon", "geometrycollection"):
        return "ST_AsText(%s)" % c
    if col.kind == "python" and col.my_data_type in BINARY_TYPES:
        return "HEX(%s)" % c
    return c


def _fsp(my_type):
    """Fractional-second digits of datetime(n)/timestamp(n)."""
    m = re.search(r"\((\d+)\)", my_type)
    return int(m.group(1)) if m else 0


def _bit_width(my_type):
    m = re.search(r"\((\d+)\)", my_type)
    return int(m.group(1)) if m else 1


# ---------------------------------------------------------------------------------------------
# PostgreSQL side

def _pg_float(x):
    a = "abs(%s)" % x
    e0 = "floor(ln(%s) / ln(2::float8))" % a
    m0 = "(%s / power(2::float8, %s))" % (a, e0)
    p = "greatest(%s + (%s >= 2)::int - (%s < 1)::int - 52, -1074)" % (e0, m0, m0)
    # || (not concat) so that NULL stays NULL, as on the MySQL side
    return ("CASE WHEN %s = 0 THEN '0' ELSE CASE WHEN %s < 0 THEN '-' ELSE '' END || "
            "((%s / power(2::float8, %s))::bigint)::text || 'p' || (%s)::text END" % (x, x, a, p, p))


def pg_expr(col, options):
    c = quote_ident(col.name)
    pg = col.pg_type.lower()
    kind = col.kind
    if kind in ("int", "year"):
        return c if not pg.startswith(("numeric", "real", "double")) else "(%s)::numeric(30,0)" % c
    if kind == "bool":
        return "(%s)::int" % c
    if kind == "decimal":
        scale = col.my_scale or 0
        if pg == "numeric(%s,%d)" % (_precision(col.my_type), scale):
            return c
        return "round(%s::numeric, %d)" % (c, scale)
    if kind == "float4":
        return _pg_float("(%s)::float4::float8" % c)
    if kind == "float8":
        return _pg_float("(%s)::float8" % c)
    if kind == "float4_g6":
        # to_char EEEE is printf %.5e of the value: 6 significant digits, correctly rounded
        # (ties to even, as MariaDB's dtoa), parsed back as a double like the MySQL side
        return _pg_float("to_char((%s)::float4, '9.99999EEEE')::float8" % c)
    if kind == "datetime":
        if _fsp(col.my_type) and options.get("zero_date") == MINUS_INFINITY:
            # to_char gives NULL for an infinite timestamp
            return f"CASE WHEN isfinite({c}) THEN to_char({c}, {DATETIME_FMT_PG}) ELSE ({c})::text END"
        if _fsp(col.my_type):
            return "to_char(%s, %s)" % (c, DATETIME_FMT_PG)
        # ISO text of a timestamp without fraction is 'YYYY-MM-DD HH:MM:SS'; a fraction (a
        # difference) shows up as extra digits
        return "(%s AT TIME ZONE 'UTC')::text" % c if pg.startswith("timestamp with time zone") else \
            "(%s)::text" % c
    if kind == "date":
        return "(%s)::text" % c
    if kind == "time":
        return "to_char(%s, 'HH24:MI:SS.US')" % c
    if kind == "text":
        return "(%s)::text" % c if pg.startswith(("character(", "bpchar", "char")) or "[]" in pg else c
    if kind == "bytes":
        return "upper(encode(%s, 'hex'))" % c
    if kind == "bit":
        return "(%s)::text" % c
    if kind == "set":
        return "array_to_string(%s, ',')" % c if pg.endswith("[]") else "(%s)::text" % c
    return None


def _precision(my_type):
    m = re.search(r"\((\d+)", my_type)
    return m.group(1) if m else "10"


def pg_is_null(col):
    return "(%s IS NULL)" % quote_ident(col.name)


def pg_raw(col):
    c = quote_ident(col.name)
    if col.kind in ("vector", "json"):
        return "(%s)::text" % c
    if col.kind == "python" and col.pg_type == "bytea":
        return "upper(encode(%s, 'hex'))" % c
    return c


# ---------------------------------------------------------------------------------------------
# Python side (JSON, vectors, the rest)

def _decimal_text(value):
    return "0" if value.is_zero() else str(value.normalize())


def _canon_json_value(doc):
    if isinstance(doc, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _canon_json_value(doc[k]) for k in sorted(doc)) + "}"
    if isinstance(doc, list):
        return "[" + ",".join(_canon_json_value(v) for v in doc) + "]"
    if isinstance(doc, Decimal):
        return _decimal_text(doc)
    return json.dumps(doc, ensure_ascii=False)


def canon_json(value):
    """JSON text -> sorted keys, compact, numbers as normalized decimals (1.0 == 1 == 1e0)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        value = json.dumps(value)
    try:
        doc = json.loads(value, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        return "invalid-json:" + value
    return _canon_json_value(doc)


class VectorCanon:
    """Source embedding (JSON object/array, csv, blob) and pgvector text -> the same float32 bytes."""

    def __init__(self, col):
        spec = dict(col.embedding or {})
        kind = col.pg_type.lower()
        spec.setdefault("type", "halfvec" if kind.startswith("halfvec") else "vector")
        spec.setdefault("format", "auto")
        spec["dimensions"] = None
        self.invalid = spec.get("invalid") or "error"
        self.half = spec["type"] == "halfvec"
        self.converter = make_converter(spec)

    def source(self, value):
        if value is None:
            return None
        try:
            if isinstance(value, str) and self.converter.format in ("float32_blob", "mysql_vector"):
                value = bytes.fromhex(value)
            arr = self.converter.values(value)
        except ValueConversionError as err:
            if self.invalid == "null":
                return None      # the transform's policy turned it into NULL
            return "invalid-embedding: %s" % err
        return arr.tobytes().hex()

    def target(self, value):
        if value is None:
            return None
        try:
            arr = array("f", parse_vector_text(value))
        except (ValueConversionError, ValueError) as err:
            # not a vector (the PostgreSQL column is not the manifest's vector type): a text no
            # source value canonicalizes to, so the row is reported with its key and column
            return "not-a-vector: %s" % err
        if self.half:
            arr = array("f", struct.unpack("<%de" % len(arr), struct.pack("<%de" % len(arr), *arr)))
        return arr.tobytes().hex()


def _plain(value):
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex().upper()
    text = str(value)
    return re.sub(r"\s+", " ", text).strip()


def python_canonicalizers(col):
    """(mysql value -> text, postgresql value -> text) for a Python-side column."""
    if col.kind == "json":
        return canon_json, canon_json
    if col.kind == "vector":
        vc = VectorCanon(col)
        return vc.source, vc.target
    return _plain, _plain
