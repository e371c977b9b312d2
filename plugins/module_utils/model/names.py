"""PostgreSQL names for MySQL identifiers: one rule for every reader (dump, live, later binlog).

- identifier_case: `preserve` keeps the MySQL spelling, `lower` folds it.
- PostgreSQL cuts names at 63 bytes, so two long names sharing their first 63 bytes would silently
  become one table or column: a longer name is cut and given `_` + 8 hex digits of the full name's
  SHA-1 (deterministic, so a foreign key finds its referenced column by the same rule).
- Column names PostgreSQL keeps for system columns (xmin, ctid, ...) get a `_` suffix.
Every renaming is reported by `rename_reason`; two source names that still meet (Foo and foo under
identifier_case lower) are refused by NameScope before anything is written.

Usage:
    pg_name("Orders", "lower") -> "orders";  pg_column_name("xmin", "preserve") -> "xmin_"
    scope = NameScope("table", "database app"); scope.claim("orders", "Orders")
"""
import hashlib

from ..errors import MigrationError

PG_NAME_MAX = 63
# attribute names PostgreSQL 12+ reserves (oid is an ordinary column name since PostgreSQL 12)
SYSTEM_COLUMNS = frozenset({"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"})


def fit_name(name, reserve=0):
    """name cut to fit 63 bytes (less `reserve`), with a digest of the whole name when cut."""
    limit = PG_NAME_MAX - reserve
    raw = name.encode("utf-8")
    if len(raw) <= limit:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:8]
    return raw[:limit - 9].decode("utf-8", "ignore") + "_" + digest


def pg_name(name, case="preserve"):
    """A schema, table or view name."""
    return fit_name(name.lower() if case == "lower" else name)


def pg_column_name(name, case="preserve"):
    folded = pg_name(name, case)
    return fit_name(folded + "_") if folded in SYSTEM_COLUMNS else folded


def rename_reason(source, pg, case="preserve"):
    """Why `source` is not called `source` (after identifier_case) in PostgreSQL, or None."""
    folded = source.lower() if case == "lower" else source
    if pg == folded:
        return None
    if folded in SYSTEM_COLUMNS:
        return "%r is named %r in PostgreSQL (%s is a system column name there)" % (source, pg, folded)
    return "%r is named %r in PostgreSQL (names are at most %d bytes there)" % (source, pg, PG_NAME_MAX)


class NameScope:
    """The PostgreSQL names taken in one namespace (a schema's tables, a table's columns)."""

    def __init__(self, kind, where):
        self.kind, self.where, self.taken = kind, where, {}

    def claim(self, pg, source):
        other = self.taken.setdefault(pg, source)
        if other != source:
            raise MigrationError("%ss %r and %r of %s both become %r in PostgreSQL: rename one in MySQL, or "
                                 "map them apart (identifier_case: preserve keeps the case)"
                                 % (self.kind, other, source, self.where, pg))
        return pg


def column_names(table, case="preserve"):
    """{MySQL column: PostgreSQL column} of a schema.Table; renamed columns are reported in
    table.warnings, two columns that meet are refused."""
    scope = NameScope("column", "table %s.%s" % (table.schema, table.name))
    names = {}
    for col in table.columns:
        names[col.name] = scope.claim(pg_column_name(col.name, case), col.name)
        why = rename_reason(col.name, names[col.name], case)
        if why:
            table.warnings.append("column " + why)
    return names


class TableNames:
    """The tables and views of one run, by PostgreSQL schema: a name two sources would share is
    refused, a renamed one reported."""

    def __init__(self, case="preserve"):
        self.case, self.scopes = case, {}

    def claim(self, pg_schema, mysql_db, mysql_name, warnings):
        pg = pg_name(mysql_name, self.case)
        scope = self.scopes.setdefault(pg_schema, NameScope("table", "PostgreSQL schema %r" % pg_schema))
        scope.claim(pg, "%s.%s" % (mysql_db, mysql_name))
        why = rename_reason(mysql_name, pg, self.case)
        if why:
            warnings.append("table " + why)
        return pg
