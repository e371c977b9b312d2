"""SELECT expressions that make MySQL/MariaDB emit PostgreSQL COPY text itself (live_copy's row path).

    from ansible_collections.pgshift.mysql.plugins.module_utils.live.select import (
        SelectColumn, build_select, column_expression, SESSION_SETUP_SQL)

    cols = [SelectColumn(source_name="id", converter="integer", pg_type="integer", nullable=False),
            SelectColumn(source_name="note", converter="text", pg_type="text", charset="latin1")]
    sql = build_select("shop", "orders", cols, where="`id` > 10 AND `id` <= 20")
    # SELECT IFNULL(CONCAT(`id`, '\\t', IF(`note` IS NULL, '\\\\N', <escaped note>)), CONCAT('\\\\E'))
    #   FROM `shop`.`orders` WHERE ...

Each result row is ONE column: the whole COPY line (or a marker line, below). The mysql/mariadb
client run with --batch --raw --skip-column-names prints it followed by a newline, so its stdout is
COPY text.

Which expression a column gets is decided by the column plan's `converter` (typemap's names, the
same ones the dump transform's value converters use): one set of type rules, two readers.

The expressions assume the reader session ran SESSION_SETUP_SQL: sql_mode '' (backslash escapes in
string literals, zero dates readable), time_zone '+00:00' (TIMESTAMP values in UTC, like mysqldump),
results in utf8mb4.

Why each expression (MySQL quirks that would otherwise corrupt data):
  * The line is CONCAT(field, TAB, field, ...), each nullable field IF(col IS NULL, '\\N', expr): a
    NULL can then only come from an expression over a non-NULL value, which MySQL returns when the
    result would exceed max_allowed_packet (HEX of a 10 MB blob under a 16 MB packet, with a mere
    warning). Such a line becomes the marker `\\E<TAB>key`: live_copy fails naming the row; it never
    writes a NULL it did not read. (CONCAT_WS would skip NULL arguments, IFNULL would hide them.)
  * Rows whose big columns (TEXT/BLOB/JSON/long VARCHAR) hold more than large_value_bytes become the
    marker `\\L<TAB>key` without evaluating their escaping (nested REPLACE is quadratic in MySQL:
    seconds per MB of newline-rich text) and are fetched raw by live.large in the same snapshot.
    No data line can start with a backslash followed by L or E (COPY text has \\\\, \\N, \\t...).
  * Text is escaped for COPY with four nested REPLACE calls (backslash first).
  * Text in another character set is CONVERTed to utf8mb4 before the CONCAT: a CONCAT that mixes a
    binary argument becomes binary and would skip the result-set conversion, leaking latin1 bytes.
  * tinyint(1)/bit(1) booleans: CASE without ELSE, so NULL stays NULL (IF(NULL, 't', 'f') is 'f').
  * FLOAT is printed by MySQL with 6 significant digits (16777217 -> 16777200); adding 0e0 makes it
    a DOUBLE, printed with the 17 digits that read back to the exact stored single.
  * Binary as bytea hex (\\\\x + HEX()), bit(n) as LPAD(BIN(), n, '0'), SET as a text[] literal.
  * Zero dates (month or day 0) per policy: `error` passes them through (PostgreSQL refuses the row;
    the caller then isolates it and names its key), `null`, or a replacement literal.
  * NUL bytes per policy: `error` passes them through (PostgreSQL refuses 0x00), `strip` removes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model.values import UTF8_CHARSETS
from ..quoting import mysql_ident, mysql_string

SESSION_SETUP_SQL = (
    "SET SESSION sql_mode = ''",
    "SET SESSION time_zone = '+00:00'",
    "SET NAMES utf8mb4",
    "SET SESSION net_write_timeout = 86400",
    "SET SESSION net_read_timeout = 86400",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
)

# The literals below are written for sql_mode without NO_BACKSLASH_ESCAPES (SESSION_SETUP_SQL).
TAB = "'\\t'"
NULL_MARK = "'\\\\N'"
OVERFLOW_MARK = "'\\\\E'"            # marker lines: see the module doc
LARGE_MARK = "'\\\\L'"
TEXT_CONVERTERS = ("text", "enum", "json", "uuid", "inet")
DATE_CONVERTERS = ("date", "datetime", "timestamptz")


@dataclass
class SelectColumn:
    source_name: str
    converter: str                       # typemap converter name
    pg_type: str
    nullable: bool = True
    charset: str | None = None           # MySQL CHARACTER_SET_NAME of the column
    length: int | None = None            # bit(n)
    base_type: str = ""                  # MySQL base type (float vs double)
    embedding: dict | None = None        # embedding spec: raw value emitted for the Python filter
    extra: dict = field(default_factory=dict)


@dataclass
class Policies:
    zero_date: str = "error"             # error | null | replacement literal
    nul_bytes: str = "error"             # error | strip
    flavor: str = "mariadb"              # mariadb | mysql


def copy_escape_sql(expr):
    """SQL that escapes a string expression for a COPY text field."""
    for char, escaped in (("\\\\", "\\\\\\\\"), ("\\t", "\\\\t"), ("\\n", "\\\\n"), ("\\r", "\\\\r")):
        expr = "REPLACE(%s, '%s', '%s')" % (expr, char, escaped)
    return expr


def zero_date_condition(col_sql):
    """True for MySQL zero dates and dates with a zero month or day ('2020-00-10')."""
    return "(MONTH(%s) = 0 OR DAYOFMONTH(%s) = 0)" % (col_sql, col_sql)


def nul_condition(col_sql):
    return "(LOCATE('\\0', %s) > 0)" % col_sql


def _date_expression(col, col_sql, policies, null_sql="NULL"):
    value = col_sql
    if col.converter == "timestamptz":
        value = "CONCAT(%s, '+00')" % col_sql
    policy = policies.zero_date
    if policy == "error":
        return value
    replacement = null_sql if policy == "null" else mysql_string(policy)
    return "IF(%s, %s, %s)" % (zero_date_condition(col_sql), replacement, value)


def _text_expression(col, col_sql, policies):
    value = col_sql
    if col.charset not in UTF8_CHARSETS:
        value = "CONVERT(%s USING utf8mb4)" % value
    if policies.nul_bytes == "strip":
        value = "REPLACE(%s, '\\0', '')" % value
    return copy_escape_sql(value)


def _set_expression(col_sql):
    """SET 'a,b' -> '{"a","b"}' (every member quoted: members may hold spaces, quotes, braces)."""
    members = "REPLACE(REPLACE(%s, '\\\\', '\\\\\\\\'), '\"', '\\\\\"')" % col_sql
    array = "CONCAT('{\"', REPLACE(%s, ',', '\",\"'), '\"}')" % members
    return copy_escape_sql("IF(%s = '', '{}', %s)" % (col_sql, array))


def needs_python(col):
    """Columns converted by Python (on that column only): embeddings, and geometry (the dump path's
    WKT writer, so that both paths write the same text)."""
    return bool(col.embedding) or col.converter == "geometry_wkt"


def _python_expression(col, col_sql):
    """The raw value for the Python filter: hex for binary formats, escaped text otherwise."""
    if col.converter == "geometry_wkt" or (col.embedding or {}).get("format") in ("float32_blob",
                                                                                  "mysql_vector"):
        return "HEX(%s)" % col_sql
    return copy_escape_sql(col_sql)


def column_expression(col, policies=None, null_sql="NULL"):
    """The SQL expression giving one column's COPY text field (before NULL handling); null_sql is
    what a zero date becomes under zero_date null (the strict line writes the \\N mark itself)."""
    policies = policies or Policies()
    c = mysql_ident(col.source_name)
    conv = col.converter
    if needs_python(col):
        return _python_expression(col, c)
    if conv in ("boolean", "bit_boolean"):
        # 0/1 only, like the dump path: any other value reaches PostgreSQL as is and is refused
        return "CASE %s WHEN 0 THEN 'f' WHEN 1 THEN 't' ELSE %s END" % (c, c)
    if conv == "year":
        return "(%s + 0)" % c   # YEAR 0000 -> 0
    if conv == "bit":
        return "LPAD(BIN(%s), %d, '0')" % (c, col.length or 1)
    if conv == "bytea":   # a text column a type rule made bytea carries its UTF-8 bytes, as a dump does
        value = c if col.charset in UTF8_CHARSETS else "CONVERT(%s USING utf8mb4)" % c
        return "CONCAT('\\\\\\\\x', HEX(%s))" % value
    if conv == "float":
        # FLOAT prints 6 digits; as DOUBLE it prints enough to read back the exact single.
        return "(%s + 0e0)" % c if col.base_type == "float" else c
    if conv in ("integer", "numeric", "time"):
        return c
    if conv in DATE_CONVERTERS:
        return _date_expression(col, c, policies, null_sql)
    if conv == "set":
        return _set_expression(c)
    if conv == "vector":
        fn = "VEC_ToText" if policies.flavor == "mariadb" else "VECTOR_TO_STRING"
        return "%s(%s)" % (fn, c)
    return _text_expression(col, c, policies)


def _may_be_null(col, policies):
    if col.nullable or needs_python(col):
        return True
    return col.converter in DATE_CONVERTERS and policies.zero_date == "null"


def field_expression(col, policies=None):
    """column_expression with NULL written as \\N."""
    policies = policies or Policies()
    expr = column_expression(col, policies)
    return "IFNULL(%s, %s)" % (expr, NULL_MARK) if _may_be_null(col, policies) else expr


def ordered_columns(columns):
    """Python-converted columns go last: the filter rewrites only the last fields of each line."""
    return [c for c in columns if not needs_python(c)] + [c for c in columns if needs_python(c)]


def strict_field_expression(col, policies=None):
    """The field inside the strict line: NULL only when MySQL's expression failed (see the module doc)."""
    policies = policies or Policies()
    expr = column_expression(col, policies, null_sql=NULL_MARK)
    if not col.nullable:
        return expr
    return "IF(%s IS NULL, %s, %s)" % (mysql_ident(col.source_name), NULL_MARK, expr)


def key_text_sql(key_columns, policies=None):
    """The key fields of a marker line, as in the data line (so markers and raw rows can be matched)."""
    return "".join(", %s, %s" % (TAB, field_expression(c, policies)) for c in key_columns)


def big_condition(large_columns, threshold):
    """True for a row whose big columns together hold more than threshold bytes."""
    total = " + ".join("IFNULL(LENGTH(%s), 0)" % mysql_ident(c.source_name) for c in large_columns)
    return "(%s) > %d" % (total, threshold)


def build_select(schema, table, columns, where=None, policies=None, *, key_columns=(), large_columns=(),
                 threshold=None):
    """One SELECT whose single result column is a complete COPY text line (no trailing newline), or a
    marker line `\\E<TAB>key` (an expression over a non-NULL value gave NULL) or `\\L<TAB>key` (a
    row of big values, when large_columns and threshold are given)."""
    fields = [strict_field_expression(c, policies) for c in ordered_columns(columns)]
    line = "CONCAT(%s)" % (", %s, " % TAB).join(fields)
    key = key_text_sql(key_columns, policies)
    row = "IFNULL(%s, CONCAT(%s%s))" % (line, OVERFLOW_MARK, key)
    if large_columns and threshold is not None:
        row = "IF(%s, CONCAT(%s%s), %s)" % (big_condition(large_columns, threshold), LARGE_MARK, key, row)
    sql = "SELECT %s FROM %s.%s" % (row, mysql_ident(schema), mysql_ident(table))
    if where:
        sql += " WHERE " + where
    return sql


def policy_count_select(schema, table, columns, policies=None, where=None):
    """SELECT counting values a non-error policy touches, one SUM per (column, policy); or None.

    Returns (sql, labels) where labels[i] describes the i-th result column."""
    policies = policies or Policies()
    sums, labels = [], []
    for col in columns:
        c = mysql_ident(col.source_name)
        if col.converter in DATE_CONVERTERS and policies.zero_date != "error":
            sums.append("IFNULL(SUM(%s), 0)" % zero_date_condition(c))
            labels.append((col.source_name, "zero_date", policies.zero_date))
        if col.converter in TEXT_CONVERTERS and policies.nul_bytes == "strip":
            sums.append("IFNULL(SUM(%s), 0)" % nul_condition(c))
            labels.append((col.source_name, "nul_bytes", "strip"))
    if not sums:
        return None, []
    sql = "SELECT %s FROM %s.%s" % (", ".join(sums), mysql_ident(schema), mysql_ident(table))
    if where:
        sql += " WHERE " + where
    return sql, labels


def range_condition(key_column, low, high):
    """`key` in (low, high]; None bounds are open ends, so ranges cover every row."""
    c = mysql_ident(key_column)
    parts = []
    if low is not None:
        parts.append("%s > %d" % (c, low))
    if high is not None:
        parts.append("%s <= %d" % (c, high))
    return " AND ".join(parts) or None
