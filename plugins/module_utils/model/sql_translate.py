"""MySQL scalar expressions (CHECK, DEFAULT (...), GENERATED ALWAYS AS (...)) in PostgreSQL, by sqlglot.

sqlglot parses MySQL and writes PostgreSQL; we keep only what we know it carries faithfully: an
expression whose every node is in ALLOWED (functions by name in PORTABLE_FUNCTIONS) is translated,
anything else is refused with the reason, so a caller reports it instead of writing a constraint
that means something else. Fixes applied on top of sqlglot (each a case it writes wrongly):
- MySQL LENGTH counts bytes: OCTET_LENGTH (sqlglot writes LENGTH, which counts characters);
- charset introducers (_utf8mb4'x') and COLLATE utf8mb4_* have no PostgreSQL meaning: dropped;
- CAST(x AS CHAR) is a string of any length in MySQL: TEXT (PostgreSQL's CHAR is char(1)),
  CAST(x AS CHAR(n)) truncates like VARCHAR(n);
- CONCAT of non-text values: each argument cast to TEXT (PostgreSQL has no int || int).

Usage:
    translate_expression("`n` >= 0")                 -> '"n" >= 0'
    translate("json_valid(`doc`)")                   -> Translation(None, "uses JSON_VALID()")
    translate("`Qty` > 0", rename=str.lower).sql      -> '"qty" > 0'
"""
from collections import namedtuple

import sqlglot
from sqlglot import exp

Translation = namedtuple("Translation", "sql reason")

ALLOWED = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Tuple,
    exp.And, exp.Or, exp.Not, exp.Xor, exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between, exp.Like,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.Nullif,
    exp.Case, exp.If, exp.Coalesce, exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Lower, exp.Upper,
    exp.Length, exp.Trim, exp.Substring, exp.Concat, exp.DPipe, exp.Greatest, exp.Least, exp.MD5,
    exp.Cast, exp.DataType, exp.DataTypeParam, exp.CurrentTimestamp, exp.CurrentDate, exp.Anonymous,
)
# MySQL functions sqlglot leaves unnamed (Anonymous) whose PostgreSQL namesake means the same
PORTABLE_FUNCTIONS = {"octet_length"}
# volatile functions: fine in a DEFAULT, not in a CHECK or a generated column (PostgreSQL refuses them)
DEFAULT_ONLY = (exp.Uuid, exp.CurrentTimestamp, exp.CurrentDate)
DEFAULT_ONLY_FUNCTIONS = {"now": "CURRENT_TIMESTAMP"}
CONTEXTS = ("check", "generated", "default")


def _fix_mysql_isms(tree):
    """The rewrites listed in the module docstring; returns the new tree."""
    def fix(node):
        if isinstance(node, exp.Introducer):
            return node.expression
        if isinstance(node, exp.Collate):
            return node.this
        if isinstance(node, exp.Length) and node.args.get("binary"):
            return exp.Anonymous(this="octet_length", expressions=[node.this])
        if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.CHAR:
            params = node.to.expressions
            node.set("to", exp.DataType.build("varchar(%s)" % params[0].sql() if params else "text"))
        if isinstance(node, exp.Concat):
            node.set("expressions", [e if isinstance(e, exp.Literal) and e.is_string else exp.cast(e, "text")
                                     for e in node.expressions])
        return node
    return tree.transform(fix)


def _refusal(tree, context):
    for node in tree.walk():
        if context == "default" and isinstance(node, exp.Column):
            return "refers to column %s (PostgreSQL defaults cannot)" % node.name
        if context == "default" and isinstance(node, DEFAULT_ONLY):
            continue
        if isinstance(node, DEFAULT_ONLY):
            return "uses %s() (not allowed in a %s in PostgreSQL)" % (node.key.upper(), context)
        if isinstance(node, exp.Anonymous) and node.name.lower() not in PORTABLE_FUNCTIONS:
            return "uses %s()" % node.name.upper()
        if not isinstance(node, ALLOWED):
            name = node.key.upper()
            return "uses %s()" % name if isinstance(node, exp.Func) else "uses %s" % name
    return None


def translate(expr, rename=None, context="check"):
    """Translation(pg_sql, None), or Translation(None, reason). rename(mysql column) -> pg column;
    context: check | generated (immutable functions only) | default (volatile ones too, no columns)."""
    if not expr or not expr.strip():
        return Translation(None, "empty expression")
    try:
        tree = sqlglot.parse_one(expr, read="mysql")
    except sqlglot.errors.SqlglotError as err:
        return Translation(None, "not parsed: %s" % str(err).splitlines()[0][:200])
    tree = _fix_mysql_isms(tree)
    if context == "default":
        tree = tree.transform(lambda n: exp.CurrentTimestamp() if isinstance(n, exp.Anonymous)
                              and n.name.lower() in DEFAULT_ONLY_FUNCTIONS else n)
    reason = _refusal(tree, context)
    if reason:
        return Translation(None, reason)
    for col in tree.find_all(exp.Column):
        name = col.name
        col.set("this", exp.to_identifier(rename(name) if rename else name, quoted=True))
        col.set("table", None)
    return Translation(tree.sql(dialect="postgres"), None)


def translate_expression(expr, rename=None, context="check"):
    """The PostgreSQL text of a MySQL scalar expression, or None when it is not safely translatable."""
    return translate(expr, rename, context).sql
