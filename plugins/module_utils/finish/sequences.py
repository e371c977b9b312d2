"""Sequence reset: every identity/serial sequence in the target schemas set to the right next value.

Next value of a sequence = max(AUTO_INCREMENT recorded in the manifest, max(column) + 1); an empty
table gets AUTO_INCREMENT or the sequence's start. Rows deleted from the end of a MySQL table moved
AUTO_INCREMENT past max(id): resetting to max(id) + 1 would hand those ids out again.

    plan = plan_sequences(pg_conn, ["sakila"], manifest)   # read-only: what would change
    apply_plan(pg_conn, plan)                               # setval(seq, next, false)

`setval(seq, v, false)` makes the next nextval() return exactly v (is_called = false).
A sequence already ahead of the wanted value is left alone unless allow_decrease: lowering it
would reissue ids the application may have handed out.
"""

from ..errors import SequenceError
from ..quoting import quote_ident

# Columns that own a sequence (identity: deptype 'i', serial/OWNED BY: 'a') and columns whose
# default calls nextval() on a sequence they do not own (pg_attrdef -> sequence, deptype 'n').
DISCOVER_SQL = """
WITH links AS (
    SELECT d.objid AS seq_oid, d.refobjid AS rel_oid, d.refobjsubid AS attnum,
           CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'serial' END AS kind
      FROM pg_depend d
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    UNION
    SELECT d.refobjid, ad.adrelid, ad.adnum, 'default'
      FROM pg_attrdef ad
      JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
)
SELECT DISTINCT ON (n.nspname, c.relname, a.attnum, s.oid) n.nspname, c.relname, a.attname, l.kind,
       format('%%I.%%I', sn.nspname, s.relname) AS seq_name,
       sq.seqstart, sq.seqincrement, sq.seqmin, sq.seqmax, a.attidentity
  FROM links l
  JOIN pg_class s ON s.oid = l.seq_oid AND s.relkind = 'S'
  JOIN pg_namespace sn ON sn.oid = s.relnamespace
  JOIN pg_sequence sq ON sq.seqrelid = s.oid
  JOIN pg_class c ON c.oid = l.rel_oid AND c.relkind IN ('r', 'p')
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = l.attnum AND NOT a.attisdropped
 WHERE n.nspname = ANY(%s)
 ORDER BY n.nspname, c.relname, a.attnum, s.oid, l.kind = 'default'
"""


def manifest_auto_increments(manifest):
    """{(schema, table): (auto_increment, [identity column names])} from the manifest."""
    result = {}
    for table in (manifest or {}).get("tables", []):
        value = table.get("auto_increment")
        identity = [c["name"] for c in table.get("columns", []) if c.get("identity")]
        result[(table["schema"], table["name"])] = (int(value) if value is not None else None, identity)
    return result


def discover(cur, schemas):
    """Every sequence-backed column of the schemas, one dict each, in table/column order."""
    cur.execute(DISCOVER_SQL, (list(schemas),))
    found = []
    for row in cur.fetchall():
        (schema, table, column, kind, seq, start, increment, minv, maxv, attidentity) = row
        found.append({"schema": schema, "table": table, "column": column,
                      "kind": "identity" if attidentity in ("a", "d") else kind,
                      "sequence": seq, "start": start, "increment": increment,
                      "min_value": minv, "max_value": maxv})
    return found


def missing_schemas(cur, schemas):
    cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(schemas),))
    present = {r[0] for r in cur.fetchall()}
    return [s for s in schemas if s not in present]


def current_next(cur, seq):
    """The value nextval() would return now."""
    cur.execute("SELECT last_value, is_called FROM %s" % seq)
    last_value, is_called = cur.fetchone()
    return last_value, is_called


def column_max(cur, item):
    cur.execute("SELECT max(%s) FROM %s.%s" % (quote_ident(item["column"]), quote_ident(item["schema"]),
                                                 quote_ident(item["table"])))
    value = cur.fetchone()[0]
    return None if value is None else int(value)


def wanted_next(item, col_max, auto_increment):
    """max(AUTO_INCREMENT, max(col) + 1); empty table: AUTO_INCREMENT or the sequence's start."""
    candidates = [v for v in (auto_increment, None if col_max is None else col_max + 1) if v is not None]
    value = max(candidates) if candidates else item["start"]
    return max(value, item["min_value"])


def _auto_increment_for(item, auto_increments, seq_columns_of_table):
    """AUTO_INCREMENT applies to the manifest's identity column (or the table's only sequence column)."""
    value, identity_columns = auto_increments.get((item["schema"], item["table"]), (None, []))
    if value is None:
        return None
    if identity_columns:
        return value if item["column"] in identity_columns else None
    return value if seq_columns_of_table == 1 else None


def plan_sequences(conn, schemas, manifest=None, allow_decrease=False):
    """Read-only: one entry per sequence-backed column with before/after and the setval to run."""
    auto_increments = manifest_auto_increments(manifest)
    warnings = []
    with conn.cursor() as cur:
        absent = missing_schemas(cur, schemas)
        if absent:
            raise SequenceError("sequence_reset: schema(s) not found in PostgreSQL: %s"
                                % ", ".join(repr(s) for s in absent))
        items = discover(cur, schemas)
        per_table = {}
        for item in items:
            per_table[(item["schema"], item["table"])] = per_table.get((item["schema"], item["table"]), 0) + 1
        for item in items:
            _plan_one(cur, item, auto_increments, per_table, allow_decrease=allow_decrease, warnings=warnings)
    _check_shared_sequences(items)
    _warn_unmatched_manifest(auto_increments, per_table, schemas, warnings)
    return {"items": items, "warnings": warnings}


def _plan_one(cur, item, auto_increments, per_table, *, allow_decrease, warnings):
    name = "%s.%s.%s" % (item["schema"], item["table"], item["column"])
    if item["increment"] < 0:
        item.update(action="skip", before=None, after=None, max=None, auto_increment=None)
        warnings.append("%s: descending sequence %s left alone" % (name, item["sequence"]))
        return
    last_value, is_called = current_next(cur, item["sequence"])
    before = last_value + item["increment"] if is_called else last_value
    col_max = column_max(cur, item)
    auto_increment = _auto_increment_for(item, auto_increments, per_table[(item["schema"], item["table"])])
    after = wanted_next(item, col_max, auto_increment)
    if after > item["max_value"]:
        raise SequenceError("sequence_reset: %s needs next value %d but sequence %s stops at %d "
                            "(widen the column type)" % (name, after, item["sequence"], item["max_value"]))
    action = "setval"
    if after == before:
        action = "none"
    elif after < before and not allow_decrease:
        action = "keep_ahead"
        warnings.append("%s: sequence %s already at %d, beyond the wanted %d; left alone "
                        "(allow_decrease to lower it)" % (name, item["sequence"], before, after))
        after = before
    item.update(action=action, before=before, after=after, max=col_max, auto_increment=auto_increment,
                is_called=is_called, query="SELECT setval('%s', %d, false)"
                % (item["sequence"].replace("'", "''"), after) if action == "setval" else None)


def _check_shared_sequences(items):
    """One sequence feeding several columns must get the highest wanted value of them all."""
    by_seq = {}
    for item in items:
        by_seq.setdefault(item["sequence"], []).append(item)
    for group in by_seq.values():
        if len(group) < 2:
            continue
        top = max((i["after"] for i in group if i["after"] is not None), default=None)
        for item in group:
            if item["after"] is not None and item["after"] != top:
                item["after"] = top
                item["action"] = "none" if top == item["before"] else "setval"
                item["query"] = ("SELECT setval('%s', %d, false)" % (item["sequence"].replace("'", "''"), top)
                                 if item["action"] == "setval" else None)
        seen = False
        for item in group:  # run the shared setval once
            if item["action"] == "setval":
                if seen:
                    item["query"] = None
                seen = True


def _warn_unmatched_manifest(auto_increments, per_table, schemas, warnings):
    for (schema, table), (value, _identity) in sorted(auto_increments.items()):
        if value is not None and schema in schemas and (schema, table) not in per_table:
            warnings.append("%s.%s: AUTO_INCREMENT=%d recorded in the manifest but the PostgreSQL table "
                            "has no identity or serial column" % (schema, table, value))


def apply_plan(conn, plan):
    """Run the planned setval calls in one transaction; returns the queries run."""
    queries = [i["query"] for i in plan["items"] if i.get("query")]
    with conn.cursor() as cur:
        for query in queries:
            cur.execute(query)
    conn.commit()
    return queries


def summarize(plan):
    """Result keys: tables {schema.table: {columns: {col: figures}}}, sequences, queries, diff."""
    tables = {}
    for item in plan["items"]:
        figures = {k: item.get(k) for k in ("sequence", "kind", "max", "auto_increment", "before", "after",
                                             "action")}
        tables.setdefault("%s.%s" % (item["schema"], item["table"]), {"columns": {}})["columns"][
            item["column"]] = figures
    queries = [i["query"] for i in plan["items"] if i.get("query")]
    changed = any(i["action"] == "setval" for i in plan["items"])
    before = "".join("%s.%s.%s (%s): next %s\n" % (i["schema"], i["table"], i["column"], i["sequence"],
                                                    i["before"]) for i in plan["items"])
    after = "".join("%s.%s.%s (%s): next %s\n" % (i["schema"], i["table"], i["column"], i["sequence"],
                                                   i["after"]) for i in plan["items"])
    return {"changed": changed, "tables": tables, "queries": queries, "warnings": plan["warnings"],
            "diff": {"before": before, "after": after}}


def reset_sequences(conn, schemas, manifest=None, check_mode=False, allow_decrease=False):
    """Plan, then (unless check_mode) apply; the summary dict of summarize()."""
    plan = plan_sequences(conn, schemas, manifest, allow_decrease)
    conn.rollback()
    if not check_mode:
        apply_plan(conn, plan)
    return summarize(plan)
