"""The source schema as plain data: what both readers (dump DDL, live information_schema) produce.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.model.schema import (
        Column, Table, column_from_information_schema, parse_column_type)

    col = column_from_information_schema(
        "id", "int(10) unsigned", is_nullable="NO", column_default=None,
        extra="auto_increment", character_set_name=None, generation_expression=None,
        flavor="mariadb")
    col.base_type -> "int", col.unsigned -> True, col.column_type -> "int(10) unsigned"

Then `typemap.map_column(col, options)` gives the PostgreSQL plan. One model, one set of rules,
whichever reader built the Column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Default kinds: a literal value ('abc', 42), an SQL expression (current_timestamp()), or NULL.
DEFAULT_LITERAL = "literal"
DEFAULT_EXPRESSION = "expression"
DEFAULT_NULL = "null"

_TYPE_RE = re.compile(
    r"^\s*(?P<base>[a-z][a-z0-9_ ]*?)\s*(?:\((?P<args>.*)\))?\s*"
    r"(?P<flags>(?:\s*(?:unsigned|signed|zerofill))*)\s*$",
    re.S | re.I)
_CURRENT_TS_RE = re.compile(r"^(current_timestamp|now|localtimestamp|localtime)(\s*\(\s*(\d*)\s*\))?$", re.I)


@dataclass
class Default:
    """A column default: kind is literal (value is the unquoted text), expression or null."""
    kind: str
    value: str | None = None

    def is_current_timestamp(self):
        return self.kind == DEFAULT_EXPRESSION and bool(_CURRENT_TS_RE.match(self.value or ""))


@dataclass
class Column:
    name: str
    base_type: str                       # lower case: int, varchar, enum, double precision...
    column_type: str                     # lower case full COLUMN_TYPE: "int(10) unsigned"
    length: int | None = None            # varchar(n), char(n), bit(n), binary(n), int display width
    precision: int | None = None         # decimal(p,s), datetime(fsp) -> fsp in precision
    scale: int | None = None
    unsigned: bool = False
    zerofill: bool = False
    values: list = field(default_factory=list)   # enum/set members, unquoted
    nullable: bool = True
    default: Default | None = None       # None: no DEFAULT clause at all
    auto_increment: bool = False
    on_update_current_timestamp: bool = False
    charset: str | None = None
    collation: str | None = None
    generated: str | None = None         # expression text of a generated column
    generated_stored: bool = False
    comment: str | None = None
    srid: int | None = None
    invisible: bool = False


@dataclass
class IndexPart:
    column: str
    length: int | None = None            # prefix length (KEY (col(10))): dropped in PostgreSQL
    descending: bool = False
    expression: str | None = None        # functional key part (MySQL 8)


@dataclass
class Index:
    name: str | None
    kind: str                            # primary | unique | index | fulltext | spatial
    parts: list = field(default_factory=list)
    using: str | None = None             # btree | hash
    comment: str | None = None

    @property
    def columns(self):
        return [p.column for p in self.parts]


@dataclass
class ForeignKey:
    name: str | None
    columns: list
    ref_table: str
    ref_columns: list
    ref_schema: str | None = None
    on_delete: str | None = None         # CASCADE, SET NULL, RESTRICT, NO ACTION, SET DEFAULT
    on_update: str | None = None


@dataclass
class Check:
    name: str | None
    expression: str


@dataclass
class Table:
    schema: str                          # MySQL database name
    name: str
    columns: list = field(default_factory=list)
    indexes: list = field(default_factory=list)
    foreign_keys: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    auto_increment: int | None = None
    comment: str | None = None
    engine: str | None = None
    charset: str | None = None
    collation: str | None = None
    partitioned: bool = False
    warnings: list = field(default_factory=list)

    def column(self, name):
        for col in self.columns:
            if col.name == name:
                return col
        lower = name.lower()
        for col in self.columns:
            if col.name.lower() == lower:
                return col
        return None

    @property
    def primary_key(self):
        for idx in self.indexes:
            if idx.kind == "primary":
                return idx.columns
        return []


def _split_quoted_list(args):
    """enum('a','b''c','d\\'e') args -> ['a', "b'c", "d'e"]: MySQL quoting, both escape styles."""
    out, i, n = [], 0, len(args)
    while i < n:
        ch = args[i]
        if ch == "'":
            buf, i = [], i + 1
            while i < n:
                c = args[i]
                if c == "\\" and i + 1 < n:
                    buf.append(_SIMPLE_UNESCAPE.get(args[i + 1], args[i + 1]))
                    i += 2
                elif c == "'" and i + 1 < n and args[i + 1] == "'":
                    buf.append("'")
                    i += 2
                elif c == "'":
                    i += 1
                    break
                else:
                    buf.append(c)
                    i += 1
            out.append("".join(buf))
        else:
            i += 1
    return out


_SIMPLE_UNESCAPE = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "Z": "\x1a", "b": "\b"}


def parse_column_type(column_type):
    """'decimal(10,2) unsigned zerofill' -> dict(base_type, length, precision, scale, unsigned,
    zerofill, values, column_type). Raises ValueError if it is not a type at all."""
    text = " ".join(column_type.strip().split())
    m = _TYPE_RE.match(text)
    if not m:
        raise ValueError("not a column type: %r" % column_type)
    base = m.group("base").lower()
    args = m.group("args")
    flags = (m.group("flags") or "").lower().split()
    info = {"base_type": base, "length": None, "precision": None, "scale": None,
            "unsigned": "unsigned" in flags, "zerofill": "zerofill" in flags, "values": []}
    if base in ("enum", "set"):
        info["values"] = _split_quoted_list(args or "")
        lower_type = "%s(%s)" % (base, args or "")
    else:
        lower_type = text.lower()
        if args is not None:
            nums = [a.strip() for a in args.split(",")]
            if base in ("decimal", "numeric", "dec", "fixed", "float", "double", "double precision", "real"):
                info["precision"] = int(nums[0]) if nums[0].isdigit() else None
                if len(nums) > 1 and nums[1].isdigit():
                    info["scale"] = int(nums[1])
            elif base in ("datetime", "timestamp", "time"):
                info["precision"] = int(nums[0]) if nums[0].isdigit() else None
            elif nums[0].isdigit():
                info["length"] = int(nums[0])
    info["column_type"] = lower_type
    return info


def make_column(name, column_type, **kw):
    """A Column from a COLUMN_TYPE string plus keyword attributes of Column."""
    info = parse_column_type(column_type)
    info.update(kw)
    return Column(name=name, **info)


def parse_default_sql(text):
    """DDL default text -> Default. "'abc'" -> literal abc; NULL -> null; current_timestamp() ->
    expression; 42 / -1.5 -> literal; b'0' -> literal '0b0'-style kept as expression text."""
    if text is None:
        return None
    t = text.strip()
    if t.upper() == "NULL":
        return Default(DEFAULT_NULL)
    if len(t) >= 2 and t[0] == "'" and t[-1] == "'":
        return Default(DEFAULT_LITERAL, _split_quoted_list(t)[0])
    if re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", t):
        return Default(DEFAULT_LITERAL, t)
    return Default(DEFAULT_EXPRESSION, t)


def column_from_information_schema(name, column_type, *, is_nullable="YES", column_default=None,
                                   extra="", character_set_name=None, generation_expression=None,
                                   comment=None, collation_name=None, flavor="mariadb"):
    """information_schema.COLUMNS values -> Column.

    flavor: 'mariadb' (COLUMN_DEFAULT is SQL text: 'abc' quoted, NULL, current_timestamp()) or
    'mysql' (COLUMN_DEFAULT is the bare value; EXTRA says DEFAULT_GENERATED for expressions).
    """
    extra_l = (extra or "").lower()
    col = make_column(name, column_type)
    col.nullable = str(is_nullable).upper() == "YES"
    col.auto_increment = "auto_increment" in extra_l
    col.on_update_current_timestamp = bool(re.search(r"on update (current_timestamp|now)", extra_l))
    col.charset = character_set_name
    col.collation = collation_name
    col.comment = comment or None
    col.invisible = "invisible" in extra_l
    if generation_expression:
        col.generated = generation_expression
        col.generated_stored = "stored" in extra_l or "persistent" in extra_l
    col.default = _default_from_is(column_default, extra_l, flavor)
    return col


def _default_from_is(value, extra_l, flavor):
    if value is None:
        return None
    if flavor == "mariadb":
        return parse_default_sql(value)
    if "default_generated" in extra_l or _CURRENT_TS_RE.match(value.strip()):
        return Default(DEFAULT_EXPRESSION, value)
    return Default(DEFAULT_LITERAL, value)
