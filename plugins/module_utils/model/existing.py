"""schema_mode existing: plan a MySQL table onto a table an ORM already created in PostgreSQL.

Both readers (dump and live) map the source's columns onto the target's the same way: exact name,
then case-insensitive; values coerced to the target's column types; source columns the target lacks
fail unless listed in ignore_columns (their values are then dropped, with a warning).

Usage:
    target = introspect_target(pg_params)
    plans, (schema, table) = existing_plans(target, table, "app", "users", ignore_columns=[],
                                              apply_embedding=lambda table, col, plan: None)
"""
from ..connections import pg_connect
from ..errors import MigrationError
from .types import ColumnPlan, converter_for_target


def introspect_target(params):
    """{(schema, table): [(column, formatted pg type), ...]} of the target database (no generated columns)."""
    conn = pg_connect(params)
    try:
        with conn.cursor() as cur:
            cur.execute("""
                SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                       a.attgenerated <> '' AS generated
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 ORDER BY n.nspname, c.relname, a.attnum""")
            target = {}
            for schema, table, col, typ, generated in cur.fetchall():
                if not generated:
                    target.setdefault((schema, table), []).append((col, typ))
            return target
    finally:
        conn.close()


def find_target(target, schema, table):
    """((schema, table), columns) by exact name, then case-insensitive; also in 'public' when the
    dump's schema is absent. None when the target has no such table."""
    for s in (schema, "public"):
        if (s, table) in target:
            return (s, table), target[(s, table)]
    for (s, t), cols in target.items():
        if s.lower() in (schema.lower(), "public") and t.lower() == table.lower():
            return (s, t), cols
    return None


def _ignored(table, col, ignore):
    return col.name.lower() in ignore or ("%s.%s" % (table.name, col.name)).lower() in ignore


def existing_plans(target, table, pg_schema, pg_name, *, ignore_columns, apply_embedding):
    """(column plans, (target schema, target table)): the ORM's own spelling of the names is kept.
    apply_embedding(table, col, plan) marks embedding columns, as in create mode."""
    found = find_target(target, pg_schema, pg_name)
    if found is None:
        raise MigrationError("schema_mode existing: table %s.%s (from %s.%s) not found in the target database"
                             % (pg_schema, pg_name, table.schema, table.name))
    (tschema, tname), tcols = found
    exact = dict(tcols)
    folded = {c.lower(): (c, t) for c, t in tcols}
    ignore = {i.lower() for i in ignore_columns or ()}
    plans = []
    for col in table.columns:
        if col.name in exact:
            name, typ = col.name, exact[col.name]
        elif col.name.lower() in folded:
            name, typ = folded[col.name.lower()]
        elif col.generated:
            continue
        elif _ignored(table, col, ignore):
            table.warnings.append("column %r not in the target: its values are dropped (ignore_columns)"
                                  % col.name)
            plans.append(ColumnPlan(name="", source_name=col.name, source_type=col.column_type, pg_type="",
                                    converter="drop", rule="ignored", ddl=""))
            continue
        else:
            raise MigrationError("schema_mode existing: column %s.%s of the source has no column in target "
                                 "table %s.%s (add it to ignore_columns to drop its values)"
                                 % (table.name, col.name, tschema, tname))
        plan = ColumnPlan(name=name, source_name=col.name, source_type=col.column_type, pg_type=typ,
                          converter=converter_for_target(col, typ), rule="existing", ddl="",
                          nullable=col.nullable)
        apply_embedding(table, col, plan)
        plan.pg_type = typ
        plans.append(plan)
    return plans, (tschema, tname)
