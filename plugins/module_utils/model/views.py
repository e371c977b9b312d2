"""MySQL view bodies -> PostgreSQL CREATE VIEW, only when the translation is safe.

Usage:
    sql, translated, reason = translate_view(tokens, pg_schema, pg_name, ident)
    db, name, entry = view_entry(create_view_text, default_db, pg_schema, ident)   # manifest views[]
    entry = routine_entry(create_trigger_text)                                      # manifest routines[]

Both readers build their manifest entries here: the dump path from the dump's statements, the live
path from SHOW CREATE VIEW / TRIGGER / PROCEDURE / FUNCTION / EVENT (the same text mysqldump writes).

tokens are (kind, bytes) from mysqllexer.tokenize of the SELECT after AS. A view is translated when
it uses only portable syntax (identifiers, plain strings, numbers, operators, a whitelist of
functions); otherwise `translated` is False with the reason, and the original text is reported.
"""
from ..quoting import quote_ident, quote_literal
from . import mysqllexer as lx
from .mysql_ddl import OPERATOR_FIRST, OPERATOR_NEXT, parse_routine, parse_view

# functions with the same meaning in both engines
PORTABLE_FUNCTIONS = {"count", "sum", "min", "max", "avg", "coalesce", "nullif", "lower", "upper", "abs",
                      "round", "floor", "ceil", "length", "trim", "concat", "greatest", "least", "exists"}
# keywords whose MySQL behaviour differs or has no PostgreSQL spelling
BLOCKED_WORDS = {"if", "ifnull", "group_concat", "separator", "date_format", "cast", "convert", "interval",
                 "straight_join", "limit", "regexp", "rlike", "div", "xor", "binary", "collate",
                 "group"}  # MySQL allows loose GROUP BY that PostgreSQL refuses


_KEYWORDS_BEFORE_PAREN = {"and", "or", "not", "select", "where", "on", "in", "from", "join", "exists", "as",
                          "by", "having", "when", "then", "else", "case", "distinct", "all", "union"}


def translate_view(tokens, pg_schema, pg_name, ident):
    out = []
    prev_word = prev_punct = None
    for i, (kind, tok) in enumerate(tokens):
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else b""
        if kind == "ident":
            name = quote_ident(ident(lx.ident_name(tok)))
            if prev_word in ("from", "join") and nxt != b".":
                name = "%s.%s" % (quote_ident(pg_schema), name)   # table names: qualify with the schema
            out.append(name)
        elif kind == "string":
            intro, body = lx.split_introducer(tok)
            if intro == "binary":
                return None, False, "binary string literal"
            out.append(quote_literal(lx.unescape_string(body).decode("utf-8", "replace")))
        elif kind == "word":
            w = tok.decode("utf-8", "replace").lower()
            if w in BLOCKED_WORDS:
                return None, False, "uses %s" % w
            if nxt == b"(" and w not in PORTABLE_FUNCTIONS and w not in _KEYWORDS_BEFORE_PAREN:
                return None, False, "uses function %s()" % w
            out.append(w)
            prev_word, prev_punct = w, None
            continue
        elif kind == "punct" and out and prev_punct in OPERATOR_FIRST and tok in OPERATOR_NEXT:
            out[-1] += tok.decode("ascii")                         # <=, >=, <>, != are one operator
            prev_punct = tok
            continue
        elif kind in ("number", "punct"):
            out.append(tok.decode("ascii", "replace"))
            prev_punct = tok if kind == "punct" else None
            if tok == b"(":
                continue                                          # keep "from (((" context
        else:
            return None, False, "uses %s token %r" % (kind, tok[:20])
        prev_word = None
        if kind != "punct":
            prev_punct = None
    body = " ".join(out).replace(" . ", ".").replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    return "CREATE VIEW %s.%s AS %s;" % (quote_ident(pg_schema), quote_ident(pg_name), body), True, None


def view_entry(text, default_db, pg_schema, ident):
    """A CREATE VIEW statement (bytes) -> (MySQL db, MySQL name, manifest view entry).
    pg_schema(db) and ident(name) give the PostgreSQL names."""
    db, name, body = parse_view(text)
    db = db or default_db
    sql, translated, why = translate_view(body, pg_schema(db), ident(name), ident)
    entry = {"schema": pg_schema(db), "name": ident(name), "sql": sql, "translated": translated}
    if not translated:
        entry["reason"] = why
        entry["source_sql"] = text.decode("utf-8", "replace").strip()
    return db, name, entry


def routine_entry(text):
    """A CREATE PROCEDURE / FUNCTION / TRIGGER / EVENT statement (bytes) -> manifest routine entry.
    Routines are carried as their MySQL text: nothing translates them yet."""
    kind, name = parse_routine(text)
    return {"kind": kind, "name": name, "text": text.decode("utf-8", "replace").strip()}


def schema_object_warnings(views, routines):
    """The warnings both readers give for what they could not translate."""
    warnings = ["view %s.%s not translated (%s): recreate it by hand"
                % (v["schema"], v["name"], v.get("reason")) for v in views if not v["translated"]]
    if routines:
        names = ["%s %s" % (r["kind"], r["name"]) for r in routines]
        warnings.append("%d routine(s)/trigger(s) not translated: see manifest routines (%s%s)"
                        % (len(names), ", ".join(names[:10]), ", ..." if len(names) > 10 else ""))
    return warnings


def schema_object_summary(manifest):
    """The views and routines of a result: what was translated and what not."""
    return {"views": [{"schema": v["schema"], "name": v["name"], "translated": v["translated"]}
                      for v in manifest.get("views") or []],
            "routines": [{"kind": r["kind"], "name": r["name"]} for r in manifest.get("routines") or []]}
