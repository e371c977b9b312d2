"""Quoting of identifiers and literals, for PostgreSQL and MySQL: written once for every stage.

Usage:
    quote_ident('a"b') -> '"a""b"'        qualified("s", "t") -> '"s"."t"'
    quote_literal("it's") -> "'it''s'"    mysql_ident("a`b") -> "`a``b`"
    mysql_string("x'\\n") -> "'x\\'\\\\n'"   (MySQL with backslash escapes on, see live.session)
"""


def quote_ident(name):
    """A PostgreSQL identifier."""
    return '"%s"' % name.replace('"', '""')


def qualified(schema, name):
    """A PostgreSQL schema-qualified name."""
    return "%s.%s" % (quote_ident(schema), quote_ident(name))


def quote_literal(value):
    """A PostgreSQL string literal (E'' form when it holds a backslash)."""
    if "\\" in value:
        return "E'%s'" % value.replace("\\", "\\\\").replace("'", "''")
    return "'%s'" % value.replace("'", "''")


def mysql_ident(name):
    """A MySQL identifier."""
    return "`%s`" % name.replace("`", "``")


def mysql_string(value):
    """A MySQL string literal (backslash escapes on)."""
    return "'%s'" % (value.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
                     .replace("\n", "\\n").replace("\r", "\\r").replace("\x1a", "\\Z"))
