"""PostgreSQL DDL from a schema_model.Table and its typemap plans: CREATE TABLE + post-data list.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.model.pgddl import NameRegistry, table_ddl

    names = NameRegistry()                       # one per run: index names unique per schema
    create_sql, post_data, warnings = table_ddl(table, plans, pg_schema, pg_table, names, pg_names)

post_data entries are manifest dicts {"kind", "name", "sql"} in execution order.
"""
import os

from .. import manifest as mf
from ..quoting import qualified, quote_ident, quote_literal
from .names import fit_name
from .sql_translate import translate


class NameRegistry:
    """Deterministic, schema-unique relation names (indexes and index-backed constraints)."""

    def __init__(self):
        self.used = {}

    def reserve(self, schema, name):
        used = self.used.setdefault(schema, set())
        base = fit_name(name)
        candidate, n = base, 2
        while candidate in used:
            suffix = "_%d" % n
            candidate = fit_name(name, len(suffix)) + suffix
            n += 1
        used.add(candidate)
        return candidate


def create_table_sql(pg_schema, pg_table, plans):
    cols = ",\n  ".join(p.ddl for p in plans)
    return "CREATE TABLE %s (\n  %s\n);" % (qualified(pg_schema, pg_table), cols)


def table_ddl(table, plans, pg_schema, pg_table, names, col_name, ref_name=None):  # noqa: PLR0917
    """-> (create_sql, post_data list, warnings). col_name(mysql column) -> pg column name;
    ref_name(mysql db|None, mysql table) -> (pg schema, pg table) for foreign keys."""
    qt = qualified(pg_schema, pg_table)
    post, warnings = [], []
    for idx in table.indexes:
        entry = _index_entry(table, idx, qt, pg_schema, pg_table, names, col_name, warnings)
        if entry:
            post.append(entry)
    for fk in table.foreign_keys:
        post.append(_fk_entry(fk, qt, pg_schema, pg_table, col_name, ref_name, names))
    for n, chk in enumerate(table.checks, 1):
        post.append(_check_entry(chk, qt, pg_table, n, col_name, warnings))
    for plan in plans:
        for n, expr in enumerate(plan.checks, 1):
            name = "%s_%s_check%s" % (pg_table, plan.name, "" if n == 1 else n)
            post.append({"kind": "check", "name": fit_name(name),
                         "sql": "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s);"
                                % (qt, quote_ident(fit_name(name)), expr)})
    trig = _on_update_trigger(plans, pg_schema, pg_table, qt)
    if trig:
        post.append(trig)
    post.extend(_comments(table, plans, qt))
    return create_table_sql(pg_schema, pg_table, plans), [e for e in post if e], warnings


def _index_entry(table, idx, qt, pg_schema, pg_table, names, col_name, warnings):  # noqa: PLR0917
    cols = []
    for part in idx.parts:
        if part.expression:
            warnings.append("index %r: functional key part %r skipped" % (idx.name, part.expression))
            return None
        if part.length:
            warnings.append("index %r: prefix length on %r dropped (whole column indexed)"
                            % (idx.name, part.column))
        cols.append(quote_ident(col_name(part.column)) + (" DESC" if part.descending else ""))
    collist = ", ".join(cols)
    if idx.kind == "primary":
        name = names.reserve(pg_schema, "%s_pkey" % pg_table)
        return {"kind": "primary_key", "name": name,
                "sql": "ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (%s);"
                       % (qt, quote_ident(name), collist)}
    base = "%s_%s" % (pg_table, idx.name or "_".join(col_name(c) for c in idx.columns))
    if idx.kind == "unique":
        name = names.reserve(pg_schema, base)
        return {"kind": "unique", "name": name,
                "sql": "ALTER TABLE %s ADD CONSTRAINT %s UNIQUE (%s);"
                       % (qt, quote_ident(name), collist)}
    if idx.kind == "fulltext":
        name = names.reserve(pg_schema, base)
        doc = " || ' ' || ".join("coalesce(%s, '')" % quote_ident(col_name(c)) for c in idx.columns)
        warnings.append("FULLTEXT index %r -> GIN index on to_tsvector('simple', ...): queries must use "
                        "PostgreSQL full-text search" % idx.name)
        return {"kind": "index", "name": name,
                "sql": "CREATE INDEX %s ON %s USING gin (to_tsvector('simple', %s));"
                       % (quote_ident(name), qt, doc)}
    if idx.kind == "spatial":
        warnings.append("SPATIAL index %r skipped: geometry is stored as WKT text without PostGIS" % idx.name)
        return None
    name = names.reserve(pg_schema, base)
    return {"kind": "index", "name": name,
            "sql": "CREATE INDEX %s ON %s (%s);" % (quote_ident(name), qt, collist)}


def _fk_entry(fk, qt, pg_schema, pg_table, col_name, ref_name, names):  # noqa: PLR0917
    ref_schema, ref_table = ref_name(fk.ref_schema, fk.ref_table) if ref_name else (pg_schema, fk.ref_table)
    columns, ref_columns = [col_name(c) for c in fk.columns], [col_name(c) for c in fk.ref_columns]
    cols = ", ".join(quote_ident(c) for c in columns)
    refs = ", ".join(quote_ident(c) for c in ref_columns)
    # an unnamed FOREIGN KEY clause gets PostgreSQL's own default name, unique in the schema
    name = (fit_name(fk.name) if fk.name
            else names.reserve(pg_schema, "%s_%s_fkey" % (pg_table, "_".join(columns))))
    sql = "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)" % (
        qt, quote_ident(name), cols, qualified(ref_schema, ref_table), refs)
    for which, action in (("DELETE", fk.on_delete), ("UPDATE", fk.on_update)):
        if action and action not in ("RESTRICT", "NO ACTION"):
            sql += " ON %s %s" % (which, action)
    # the structured fields let model.foreign_keys align the referencing columns' types
    return {"kind": "foreign_key", "name": name, "sql": sql + ";", "columns": columns,
            "ref_schema": ref_schema, "ref_table": ref_table, "ref_columns": ref_columns}


def _check_entry(chk, qt, pg_table, n, col_name, warnings):  # noqa: PLR0917
    expr, why = translate(chk.expression, rename=col_name)
    name = fit_name(chk.name or "%s_chk_%d" % (pg_table, n))
    if expr is None:
        warnings.append("CHECK %r (%s) not translated: %s" % (chk.name, chk.expression, why))
        return None
    return {"kind": "check", "name": name,
            "sql": "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s);" % (qt, quote_ident(name), expr)}


def _on_update_trigger(plans, pg_schema, pg_table, qt):
    cols = [p.name for p in plans if p.on_update_trigger]
    if not cols:
        return None
    fn = qualified(pg_schema, fit_name("%s_on_update" % pg_table))
    sets = "\n".join("  IF NEW.%s IS NOT DISTINCT FROM OLD.%s THEN NEW.%s := CURRENT_TIMESTAMP; END IF;"
                     % (quote_ident(c), quote_ident(c), quote_ident(c)) for c in cols)
    tname = quote_ident(fit_name("%s_on_update" % pg_table))
    sql = ("CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $pgshift$\nBEGIN\n"
           "  IF ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN\n%s\n  END IF;\n  RETURN NEW;\nEND\n$pgshift$;\n"
           "CREATE TRIGGER %s BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s();"
           % (fn, sets, tname, qt, fn))
    return {"kind": "trigger", "name": fit_name("%s_on_update" % pg_table), "sql": sql}


def _comments(table, plans, qt):
    out = []
    if table.comment:
        out.append({"kind": "comment", "name": table.name,
                    "sql": "COMMENT ON TABLE %s IS %s;" % (qt, quote_literal(table.comment))})
    by_source = {p.source_name: p for p in plans}
    for col in table.columns:
        if col.comment and col.name in by_source:
            out.append({"kind": "comment", "name": "%s.%s" % (table.name, col.name),
                        "sql": "COMMENT ON COLUMN %s.%s IS %s;" % (qt, quote_ident(by_source[col.name].name),
                                                                   quote_literal(col.comment))})
    return out


# -- the migration dir's pre-data.sql / post-data.sql, for psql users: the same for every reader --

POST_DATA_ORDER = ("column_type", "primary_key", "unique", "index", "foreign_key", "trigger", "comment",
                   "check")
CREATE_VECTOR = "CREATE EXTENSION IF NOT EXISTS vector"
VECTOR_TYPES = ("vector(", "halfvec(", "sparsevec(")


def needs_pgvector(manifest):
    """Some column is an embedding or of a pgvector type (a MySQL 9 / MariaDB 11.7 VECTOR)."""
    return any(c.get("embedding") or c.get("pg_type", "").startswith(VECTOR_TYPES)
               for t in manifest["tables"] for c in t["columns"])


def pre_data_sql(manifest):
    parts = ["SET client_encoding = 'UTF8';"]
    for schema in manifest["schemas"]:
        parts.append("CREATE SCHEMA IF NOT EXISTS %s;" % quote_ident(schema))
    if needs_pgvector(manifest):
        parts.append(CREATE_VECTOR + ";")
    parts.extend(t["create_sql"] for t in manifest["tables"] if t["create_sql"])
    return "\n\n".join(parts) + "\n"


def post_data_sql(manifest):
    """Keys before the foreign keys that need them, whatever the tables' order; views last."""
    parts = []
    for kind in POST_DATA_ORDER:
        for t in manifest["tables"]:
            parts.extend(e["sql"] for e in t["post_data"] if e["kind"] == kind)
    parts.extend(v["sql"] for v in manifest.get("views") or [] if v["translated"])
    return "\n\n".join(parts) + "\n"


def write_sql_files(dest, manifest):
    if manifest["options"].get("schema_mode") == "existing":
        pre, post = "-- schema_mode existing: the target schema already exists\n", "-- nothing\n"
    else:
        pre, post = pre_data_sql(manifest), post_data_sql(manifest)
    for name, text in ((mf.PRE_DATA, pre), (mf.POST_DATA, post)):
        path = os.path.join(dest, name)
        mf.write_text(path + ".tmp", text)          # 0600: the schema is the database's too
        os.replace(path + ".tmp", path)
