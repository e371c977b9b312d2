"""MySQL DDL text (CREATE TABLE, CREATE VIEW, routines) -> schema_model objects.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.model.mysql_ddl import (
        classify, parse_create_table)

    table = parse_create_table(b"CREATE TABLE `t` (`id` int NOT NULL, PRIMARY KEY (`id`))", schema="db")
    classify(b"CREATE TABLE ...") -> "create_table" | "create_view" | "insert" | "use" | "set" | ...

Input is a statement as the dump reader returns it (comments and /*!NNNNN */ markers removed).
"""
import re

from ..errors import DumpSyntaxError
from . import mysqllexer as lx
from .schema import (
    Check,
    Column,
    ForeignKey,
    Index,
    IndexPart,
    Table,
    make_column,
    parse_default_sql,
)

# statement kind by its leading words (regex on the upper-cased start), first match wins
STATEMENT_KINDS = [
    ("create_table", r"CREATE\s+(TEMPORARY\s+)?TABLE\b"),
    ("create_view", r"CREATE\s+(OR\s+REPLACE\s+)?(ALGORITHM\s*=\s*\w+\s+)?(DEFINER\s*=\s*\S+\s+)?"
                    r"(SQL\s+SECURITY\s+\w+\s+)?VIEW\b"),
    ("create_database", r"CREATE\s+(DATABASE|SCHEMA)\b"),
    ("routine", r"CREATE\s+(DEFINER\s*=\s*\S+\s+)?(AGGREGATE\s+)?(PROCEDURE|FUNCTION|TRIGGER|EVENT)\b"),
    ("use", r"USE\b"),
    ("set", r"SET\b"),
    ("drop", r"DROP\b"),
    ("alter_keys", r"ALTER\s+TABLE\s+\S+\s+(DISABLE|ENABLE)\s+KEYS"),
    ("alter", r"ALTER\b"),
    ("lock", r"(LOCK|UNLOCK)\s+TABLES?\b"),
    ("transaction", r"(START\s+TRANSACTION|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b"),
    ("replication", r"(CHANGE\s+(MASTER|REPLICATION)|RESET|FLUSH|SELECT|DO)\b"),
    ("grant", r"(GRANT|REVOKE|CREATE\s+USER|CREATE\s+ROLE)\b"),
    ("truncate", r"TRUNCATE\b"),
]
_KIND_RES = [(k, re.compile(p, re.I)) for k, p in STATEMENT_KINDS]
_KEY_WORDS = {"PRIMARY", "UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL", "CONSTRAINT", "FOREIGN", "CHECK",
              "PERIOD"}
_MULTIWORD = {("DOUBLE", "PRECISION"), ("NATIONAL", "VARCHAR"), ("NATIONAL", "CHAR"), ("LONG", "VARCHAR"),
              ("LONG", "VARBINARY"), ("CHARACTER", "VARYING"), ("NATIONAL", "CHARACTER")}


def classify(text):
    head = text.lstrip()[:400].decode("utf-8", "replace")
    for kind, rx in _KIND_RES:
        if rx.match(head):
            return kind
    return None


def _toks(text):
    return [(k, t) for k, t in lx.tokenize(text)]


def _up(tok):
    return tok[1].upper().decode("ascii", "replace") if tok[0] == "word" else None


def _is_punct(tok, ch):
    return tok[0] == "punct" and tok[1] == ch


# the lexer gives operators one character at a time: these pairs are one operator (<=, >=, <>, !=,
# <=>, ||, &&, :=, >>) and must not be spread apart (`> =` is not SQL)
OPERATOR_FIRST, OPERATOR_NEXT = (b"<", b">", b"!", b"=", b":", b"|", b"&"), (b"=", b">", b"|", b"&")


def join_tokens(toks):
    """Tokens -> readable SQL text: no space before ) , or after ( and before ( of a call, none
    inside a two-character operator."""
    out = []
    prev = prev_kind = None
    for kind, t in toks:
        call = t == b"(" and prev_kind in ("word", "ident")
        operator = kind == prev_kind == "punct" and prev in OPERATOR_FIRST and t in OPERATOR_NEXT
        if out and not (t in (b")", b",", b".") or prev in (b"(", b".") or call or operator):
            out.append(b" ")
        out.append(t)
        prev, prev_kind = t, kind
    return b"".join(out).decode("utf-8", "replace")


def _balanced(toks, i):
    """toks[i] is '(' -> (inner tokens, index after the matching ')')."""
    depth, j = 0, i
    while j < len(toks):
        if _is_punct(toks[j], b"("):
            depth += 1
        elif _is_punct(toks[j], b")"):
            depth -= 1
            if depth == 0:
                return toks[i + 1:j], j + 1
        j += 1
    raise DumpSyntaxError("unbalanced parentheses in DDL")


def _split_commas(toks):
    parts, cur, depth = [], [], 0
    for tok in toks:
        if _is_punct(tok, b"("):
            depth += 1
        elif _is_punct(tok, b")"):
            depth -= 1
        if depth == 0 and _is_punct(tok, b","):
            parts.append(cur)
            cur = []
        else:
            cur.append(tok)
    if cur:
        parts.append(cur)
    return parts


def _name(tok):
    return lx.ident_name(tok[1])


def parse_qualified(toks, i):
    """name or db.name at toks[i] -> (db|None, name, next index)."""
    first = _name(toks[i])
    if i + 2 < len(toks) and _is_punct(toks[i + 1], b"."):
        return first, _name(toks[i + 2]), i + 3
    return None, first, i + 1


def parse_create_table(text, schema):
    toks = _toks(text)
    i = 2
    while _up(toks[i]) in ("TEMPORARY", "TABLE", "IF", "NOT", "EXISTS"):
        i += 1
    db, name, i = parse_qualified(toks, i)
    table = Table(schema=db or schema, name=name)
    if i >= len(toks) or not _is_punct(toks[i], b"("):
        raise DumpSyntaxError("CREATE TABLE %r: no column list (CREATE TABLE ... LIKE/SELECT is not "
                              "supported)" % name)
    inner, i = _balanced(toks, i)
    for part in _split_commas(inner):
        _parse_definition(table, part)
    _parse_table_options(table, toks[i:])
    _json_checks_to_json_type(table)
    return table


def _parse_definition(table, part):
    word = _up(part[0])
    if word in _KEY_WORDS and not (len(part) > 1 and part[1][0] == "punct" and part[1][1] != b"("):
        _parse_key(table, part)
    else:
        table.columns.append(_parse_column(table, part))


def _type_text(part, i):
    """The column type starting at part[i] -> (text, next index)."""
    toks = [part[i]]
    i += 1
    if i < len(part) and (_up(toks[0]), _up(part[i])) in _MULTIWORD:
        toks.append(part[i])
        i += 1
    if i < len(part) and _is_punct(part[i], b"("):
        inner, i = _balanced(part, i)
        toks.append((None, b"(" + b",".join(t for _, t in inner if t != b",") + b")"))
    while i < len(part) and _up(part[i]) in ("UNSIGNED", "SIGNED", "ZEROFILL"):
        toks.append(part[i])
        i += 1
    text = b" ".join(t for _, t in toks).replace(b" (", b"(").decode("utf-8", "replace")
    return text, i


def _default_tokens(part, i):
    """DEFAULT value at part[i] -> (sql text, next index)."""
    tok = part[i]
    if _is_punct(tok, b"("):
        inner, j = _balanced(part, i)
        return join_tokens(inner), j
    if tok[0] == "punct" and tok[1] in (b"-", b"+") and i + 1 < len(part):
        return (tok[1] + part[i + 1][1]).decode(), i + 2
    if tok[0] == "string":
        _intro, body = lx.split_introducer(tok[1])
        return body.decode("utf-8", "replace"), i + 1
    if tok[0] == "word" and i + 1 < len(part) and _is_punct(part[i + 1], b"("):
        inner, j = _balanced(part, i + 1)
        return tok[1].decode() + "(" + join_tokens(inner) + ")", j
    return tok[1].decode("utf-8", "replace"), i + 1


def _parse_column(table, part):
    name = _name(part[0])
    type_text, i = _type_text(part, 1)
    try:
        col = make_column(name, type_text)
    except ValueError:
        raise DumpSyntaxError("table %r column %r: cannot read type %r"
                              % (table.name, name, type_text)) from None
    while i < len(part):
        i = _column_attribute(table, col, part, i)
    return col


def _column_attribute(table, col, part, i):
    w = _up(part[i])
    nxt = _up(part[i + 1]) if i + 1 < len(part) else None
    if w == "NOT" and nxt == "NULL":
        col.nullable = False
        return i + 2
    if w == "NULL":
        return i + 1
    if w == "DEFAULT":
        text, j = _default_tokens(part, i + 1)
        col.default = parse_default_sql(text)
        return j
    if w == "AUTO_INCREMENT":
        col.auto_increment = True
        return i + 1
    if w == "ON" and nxt == "UPDATE":
        col.on_update_current_timestamp = True
        j = i + 3
        if j < len(part) and _is_punct(part[j], b"("):
            _inner, j = _balanced(part, j)
        return j
    if w == "COMMENT":
        col.comment = lx.literal_bytes(part[i + 1][1]).decode("utf-8", "replace")
        return i + 2
    if w in ("CHARACTER", "CHARSET"):
        j = i + 2 if w == "CHARACTER" else i + 1
        col.charset = _name(part[j])
        return j + 1
    if w == "COLLATE":
        col.collation = _name(part[i + 1])
        return i + 2
    if w in ("GENERATED", "AS"):
        return _generated(col, part, i)
    if w == "PRIMARY":
        table.indexes.append(Index(None, "primary", [IndexPart(col.name)]))
        return i + 2
    if w == "UNIQUE":
        table.indexes.append(Index(None, "unique", [IndexPart(col.name)]))
        return i + 2 if nxt == "KEY" else i + 1
    if w == "CHECK":
        inner, j = _balanced(part, i + 1)
        table.checks.append(Check(None, join_tokens(inner)))
        return j
    if w == "SRID":
        col.srid = int(part[i + 1][1])
        return i + 2
    if w == "INVISIBLE":
        col.invisible = True
        return i + 1
    if w == "REFERENCES":       # inline REFERENCES is ignored by MySQL too
        return len(part)
    return i + 1                # VISIBLE, COLUMN_FORMAT x, STORAGE x, ...: no meaning here


def _generated(col, part, i):
    while _up(part[i]) != "AS":
        i += 1
    inner, j = _balanced(part, i + 1)
    col.generated = join_tokens(inner)
    if j < len(part) and _up(part[j]) in ("STORED", "PERSISTENT", "VIRTUAL"):
        col.generated_stored = _up(part[j]) != "VIRTUAL"
        j += 1
    return j


def _key_parts(toks):
    parts = []
    for p in _split_commas(toks):
        if _is_punct(p[0], b"("):
            parts.append(IndexPart(column="", expression=join_tokens(_balanced(p, 0)[0])))
            continue
        ip = IndexPart(_name(p[0]))
        k = 1
        if k < len(p) and _is_punct(p[k], b"("):
            ip.length = int(p[k + 1][1])
            k += 3
        if k < len(p) and _up(p[k]) == "DESC":
            ip.descending = True
        parts.append(ip)
    return parts


def _parse_key(table, part):
    i, cname = 0, None
    if _up(part[0]) == "CONSTRAINT":
        i = 1
        if _up(part[1]) not in ("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
            cname, i = _name(part[1]), 2
    w = _up(part[i])
    if w == "CHECK":
        inner, _j = _balanced(part, i + 1)
        table.checks.append(Check(cname, join_tokens(inner)))
        return
    if w == "FOREIGN":
        _parse_fk(table, part, i + 2, cname)
        return
    kinds = {"PRIMARY": "primary", "UNIQUE": "unique", "FULLTEXT": "fulltext", "SPATIAL": "spatial"}
    kind = kinds.get(w, "index")
    i += 1
    while i < len(part) and _up(part[i]) in ("KEY", "INDEX"):
        i += 1
    name = cname
    if i < len(part) and not _is_punct(part[i], b"(") and _up(part[i]) != "USING":
        name = _name(part[i])
        i += 1
    using = None
    if i < len(part) and _up(part[i]) == "USING":
        using, i = _up(part[i + 1]).lower(), i + 2
    inner, i = _balanced(part, i)
    idx = Index(name, kind, _key_parts(inner), using=using)
    while i < len(part):
        if _up(part[i]) == "COMMENT":
            idx.comment = lx.literal_bytes(part[i + 1][1]).decode("utf-8", "replace")
        i += 1
    table.indexes.append(idx)


def _parse_fk(table, part, i, cname):
    if not _is_punct(part[i], b"("):
        cname = cname or _name(part[i])
        i += 1
    cols, i = _balanced(part, i)
    i += 1                                  # REFERENCES
    ref_db, ref_table, i = parse_qualified(part, i)
    refs, i = _balanced(part, i)
    fk = ForeignKey(cname, [_name(t) for t in cols if t[0] != "punct"], ref_table,
                    [_name(t) for t in refs if t[0] != "punct"], ref_schema=ref_db)
    while i < len(part):
        if _up(part[i]) == "ON":
            which = _up(part[i + 1])
            action, i = _fk_action(part, i + 2)
            if which == "DELETE":
                fk.on_delete = action
            else:
                fk.on_update = action
        else:
            i += 1
    table.foreign_keys.append(fk)


def _fk_action(part, i):
    w = _up(part[i])
    if w in ("SET", "NO"):
        return w + " " + _up(part[i + 1]), i + 2
    return w, i + 1


def _parse_table_options(table, toks):
    i = 0
    while i < len(toks):
        w = _up(toks[i])
        if w == "PARTITION":
            table.partitioned = True
            table.warnings.append("table %r is partitioned in MySQL: loaded as a plain table" % table.name)
            return
        if w in ("ENGINE", "AUTO_INCREMENT", "COMMENT", "CHARSET", "COLLATE", "CHARACTER"):
            j = i + 1
            if w == "CHARACTER":
                j += 1
            if j < len(toks) and _is_punct(toks[j], b"="):
                j += 1
            if j < len(toks):
                _set_table_option(table, w, toks[j])
            i = j + 1
        else:
            i += 1


def _set_table_option(table, word, tok):
    if word == "ENGINE":
        table.engine = tok[1].decode()
    elif word == "AUTO_INCREMENT":
        table.auto_increment = int(tok[1])
    elif word == "COMMENT":
        table.comment = lx.literal_bytes(tok[1]).decode("utf-8", "replace") or None
    elif word in ("CHARSET", "CHARACTER"):
        table.charset = _name(tok)
    elif word == "COLLATE":
        table.collation = _name(tok)


_JSON_VALID_RE = re.compile(r"^\(?\s*json_valid\s*\(\s*`?([^`()]+)`?\s*\)\s*\)?$", re.I)


def _json_checks_to_json_type(table):
    """MariaDB writes JSON columns as longtext + CHECK (json_valid(`col`)): they are JSON."""
    keep = []
    for chk in table.checks:
        m = _JSON_VALID_RE.match(chk.expression.replace('"', "`"))
        col = table.column(m.group(1).strip().strip('"')) if m else None
        if col is not None and col.base_type in ("longtext", "text", "mediumtext", "json"):
            col.base_type = "json"
            continue
        keep.append(chk)
    table.checks = keep


def parse_view(text):
    """CREATE ... VIEW `v` [(cols)] AS select -> (db|None, name, select text tokens-joined, raw text)."""
    toks = _toks(text)
    i = 0
    while _up(toks[i]) != "VIEW":
        i += 1
    db, name, i = parse_qualified(toks, i + 1)
    if i < len(toks) and _is_punct(toks[i], b"("):
        _cols, i = _balanced(toks, i)
    while i < len(toks) and _up(toks[i]) != "AS":
        i += 1
    return db, name, toks[i + 1:]


_ROUTINE_NAME = rb"(?:`[^`]*`|[\w$]+)"
_ROUTINE_RE = re.compile(rb"(PROCEDURE|FUNCTION|TRIGGER|EVENT)\s+(" + _ROUTINE_NAME + rb"(?:\s*\.\s*"
                         + _ROUTINE_NAME + rb")?)", re.I)


def parse_routine(text):
    """A CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT statement -> (kind, name)."""
    m = _ROUTINE_RE.search(text)
    if not m:
        return "routine", "?"
    name = m.group(2).split(b".")[-1].strip()
    return m.group(1).decode().lower(), lx.ident_name(name)


__all__ = ["Column", "classify", "parse_create_table", "parse_routine", "parse_view"]
