"""Rollback after a cutover: which rows were written to PostgreSQL after the switch, and back to MySQL.

At cutover, before the application is switched, `capture_marks` records per table the high-water
mark of its integer key (max(key) and the sequence's value), its row count, the column of
"last modified" time if one exists, and the column mapping back to MySQL (from the migration
manifest). At rollback, `plan_changes` finds:
  - new rows: key > the recorded max(key) (rows inserted through the sequence after the switch);
  - updated rows: updated_at-like column > the cutover time (rows changed in place);
  - tables with neither (no integer key and no updated_at column): *unverifiable*, reported with
    their row count then and now; their changes (and deletes anywhere) cannot be detected.
`write_back_mysql` upserts those rows into MySQL (INSERT ... ON DUPLICATE KEY UPDATE, foreign key
checks off for the session, UTC); `write_sql_file` writes the same statements to a reviewable file.
Rows are streamed (server-side cursor), never loaded whole.

    marks = capture_marks(pg_conn, manifest)            # -> JSON-able dict for the cutover record
    plan = plan_changes(pg_conn, marks)                  # -> per-table figures (counts only)
    result = write_back_mysql(pg_conn, my_conn, marks)   # or write_sql_file(pg_conn, marks, path)
"""
import datetime
import json
import os
import tempfile

from ..errors import RollbackError
from ..quoting import mysql_ident, qualified, quote_ident

INTEGER_TYPES = ("smallint", "integer", "bigint", "int2", "int4", "int8", "serial", "bigserial",
                 "smallserial")
UPDATED_AT_COLUMNS = ("updated_at", "updatedAt", "updated", "modified_at", "modifiedAt", "last_modified",
                      "lastModified", "mtime")
BATCH_ROWS = 500


# ---------------------------------------------------------------------------------------------
# Marks (at cutover)
# ---------------------------------------------------------------------------------------------
def _integer_key(table):
    """The single integer primary key column of a manifest table entry, or None."""
    key = table.get("primary_key") or []
    if len(key) != 1:
        return None
    for col in table["columns"]:
        if col["name"] == key[0] and col["pg_type"].split("(")[0].strip().lower() in INTEGER_TYPES:
            return col["name"]
    return None


def _updated_at_column(table, candidates):
    names = {c["name"]: c for c in table["columns"]}
    for candidate in candidates:
        col = names.get(candidate)
        if col and col["pg_type"].lower().startswith(("timestamp", "date")):
            return col
    return None


def _column_map(table):
    return [{"name": c["name"], "source_name": c.get("source_name") or c["name"], "pg_type": c["pg_type"],
             "embedding_format": (c.get("embedding") or {}).get("format")} for c in table["columns"]]


def _table_mark(cur, table, candidates):
    schema, name = table["schema"], table["name"]
    key = _integer_key(table)
    updated = _updated_at_column(table, candidates)
    mark = {"schema": schema, "name": name,
            "source_schema": table.get("source_schema") or schema,
            "source_name": table.get("source_name") or name,
            "primary_key": table.get("primary_key") or [], "key": key, "max_key": None,
            "sequence": None, "sequence_value": None,
            "updated_at": updated["name"] if updated else None,
            "updated_at_type": updated["pg_type"] if updated else None,
            "columns": _column_map(table)}
    cur.execute("SELECT count(*) FROM %s" % qualified(schema, name))
    mark["rows"] = cur.fetchone()[0]
    if key:
        cur.execute("SELECT max(%s) FROM %s" % (quote_ident(key), qualified(schema, name)))
        mark["max_key"] = cur.fetchone()[0]
        cur.execute("SELECT pg_get_serial_sequence(%s, %s)", (qualified(schema, name), key))
        mark["sequence"] = cur.fetchone()[0]
        if mark["sequence"]:
            cur.execute("SELECT last_value, is_called FROM %s" % mark["sequence"])
            last_value, is_called = cur.fetchone()
            mark["sequence_value"] = last_value if is_called else last_value - 1
    mark["method"] = method_of(mark)
    return mark


def method_of(mark):
    """How changes to this table after the switch are found."""
    if mark["key"] and mark["updated_at"]:
        return "key+updated_at"
    if mark["key"]:
        return "key"
    if mark["updated_at"] and mark["primary_key"]:
        return "updated_at"
    return "unverifiable"


def capture_marks(pg_conn, manifest, updated_at_columns=UPDATED_AT_COLUMNS):
    """The high-water marks of every table of the manifest, at the server's current time."""
    with pg_conn.cursor() as cur:
        cur.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                    "localtimestamp::text, current_setting('TimeZone')")
        captured_at, captured_local, timezone = cur.fetchone()
        tables = {}
        for table in manifest["tables"]:
            tables["%s.%s" % (table["schema"], table["name"])] = _table_mark(cur, table, updated_at_columns)
    pg_conn.rollback()
    return {"format": 1, "captured_at": captured_at, "captured_at_local": captured_local,
            "timezone": timezone, "tables": tables}


# ---------------------------------------------------------------------------------------------
# Changes (at rollback)
# ---------------------------------------------------------------------------------------------
def _changed_rows_condition(mark, marks):
    """SQL condition (and parameters) selecting the rows written after the marks were taken."""
    parts, params = [], []
    if mark["key"] and mark["max_key"] is not None:
        parts.append("%s > %%s" % quote_ident(mark["key"]))
        params.append(mark["max_key"])
    elif mark["key"]:  # empty table at cutover: every row is new
        parts.append("TRUE")
    if mark["updated_at"]:
        pg_type = mark["updated_at_type"].lower()
        with_tz = "with time zone" in pg_type or pg_type == "timestamptz"
        cast = "timestamptz" if with_tz else "timestamp"
        parts.append("%s > %%s::%s" % (quote_ident(mark["updated_at"]), cast))
        params.append(marks["captured_at"] if with_tz else marks["captured_at_local"])
    return " OR ".join(parts), params


def _count_changes(cur, mark, marks):
    figures = {"method": mark["method"], "rows_at_cutover": mark["rows"]}
    cur.execute("SELECT count(*) FROM %s" % qualified(mark["schema"], mark["name"]))
    figures["rows_now"] = cur.fetchone()[0]
    if mark["method"] == "unverifiable":
        figures["note"] = ("no integer key and no updated_at column: rows inserted, updated or deleted "
                           "after the switch cannot be found (row count %d at cutover, %d now)"
                           % (mark["rows"], figures["rows_now"]))
        return figures
    if mark["key"] and mark["max_key"] is not None:
        cur.execute("SELECT count(*) FROM %s WHERE %s > %%s" % (qualified(mark["schema"], mark["name"]),
                                                                quote_ident(mark["key"])), (mark["max_key"],))
        figures["new_rows"] = cur.fetchone()[0]
    condition, params = _changed_rows_condition(mark, marks)
    table = qualified(mark["schema"], mark["name"])
    cur.execute("SELECT count(*) FROM %s WHERE %s" % (table, condition), params)
    figures["rows_to_write"] = cur.fetchone()[0]
    figures.setdefault("new_rows", figures["rows_to_write"] if mark["method"] == "key" else None)
    figures["updated_rows"] = figures["rows_to_write"] - (figures["new_rows"] or 0)
    return figures


def plan_changes(pg_conn, marks):
    """Per table: method, counts of new / updated rows, or why it is unverifiable."""
    _check_marks(marks)
    with pg_conn.cursor() as cur:
        plan = {name: _count_changes(cur, mark, marks) for name, mark in marks["tables"].items()}
    pg_conn.rollback()
    return plan


def _check_marks(marks):
    if not isinstance(marks, dict) or "tables" not in marks or "captured_at" not in marks:
        raise RollbackError("the cutover record has no high-water marks (keys 'captured_at' and 'tables'): "
                            "was it written by playbooks/cutover.yml?")


def _stream_changed_rows(pg_conn, mark, marks):
    """Rows to write back, streamed through a server-side cursor, in key order."""
    condition, params = _changed_rows_condition(mark, marks)
    columns = ", ".join(_select_expression(c) for c in mark["columns"])
    order = ", ".join(quote_ident(k) for k in mark["primary_key"]) or "1"
    cur = pg_conn.cursor(name="pgshift_rollback")
    cur.itersize = BATCH_ROWS
    cur.execute("SELECT %s FROM %s WHERE %s ORDER BY %s" % (columns, qualified(mark["schema"], mark["name"]),
                                                            condition, order), params)
    try:
        yield from cur
    finally:
        cur.close()


def _select_expression(column):
    """Vectors, bits and timestamps with time zone read in forms MySQL takes back."""
    pg_type = column["pg_type"].lower()
    name = quote_ident(column["name"])
    if pg_type.startswith(("vector", "halfvec")):
        return "%s::text" % name
    if pg_type.startswith(("bit", "varbit")):
        return "%s::text" % name
    if "with time zone" in pg_type or pg_type == "timestamptz":
        return "(%s AT TIME ZONE 'UTC')" % name
    return name


# ---------------------------------------------------------------------------------------------
# Values PostgreSQL -> MySQL
# ---------------------------------------------------------------------------------------------
def _embedding_text(text, fmt):
    values = json.loads(text)
    if fmt == "json_object":
        return "{%s}" % ",".join('"%d":%s' % (i, json.dumps(v)) for i, v in enumerate(values))
    if fmt == "csv":
        return ",".join(json.dumps(v) for v in values)
    return json.dumps(values, separators=(",", ":"))


def to_mysql_value(value, column):
    """A PostgreSQL value as MySQL stores it in the source column."""
    if value is None:
        return None
    pg_type = column["pg_type"].lower()
    if pg_type.startswith(("vector", "halfvec")):
        return _embedding_text(value, column.get("embedding_format"))
    if pg_type.startswith(("bit", "varbit")):
        return int(value, 2) if value else 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)) and pg_type in ("json", "jsonb"):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):  # text[] from a MySQL SET
        return ",".join(str(v) for v in value)
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _upsert_sql(mark):
    target = "%s.%s" % (mysql_ident(mark["source_schema"]), mysql_ident(mark["source_name"]))
    names = [mysql_ident(c["source_name"]) for c in mark["columns"]]
    updates = ", ".join("%s = VALUES(%s)" % (n, n) for n in names)
    return "INSERT INTO %s (%s) VALUES (%%s) ON DUPLICATE KEY UPDATE %s" % (target, ", ".join(names), updates)


def _converted_rows(pg_conn, mark, marks):
    for row in _stream_changed_rows(pg_conn, mark, marks):
        yield tuple(to_mysql_value(v, c) for v, c in zip(row, mark["columns"]))


def _writable_tables(marks, plan):
    return [(name, marks["tables"][name]) for name, figures in plan.items()
            if figures["method"] != "unverifiable" and figures.get("rows_to_write")]


def write_back_mysql(pg_conn, my_conn, marks):
    """Upsert every row written after the switch into MySQL; one transaction per table."""
    plan = plan_changes(pg_conn, marks)
    with my_conn.cursor() as cur:
        cur.execute("SET SESSION foreign_key_checks = 0, time_zone = '+00:00'")
    for name, mark in _writable_tables(marks, plan):
        sql = _upsert_sql(mark).replace("(%s)", "(%s)" % ", ".join(["%s"] * len(mark["columns"])), 1)
        written = affected = 0
        my_conn.begin()
        try:
            with my_conn.cursor() as cur:
                batch = []
                for row in _converted_rows(pg_conn, mark, marks):
                    batch.append(row)
                    if len(batch) >= BATCH_ROWS:
                        affected += cur.executemany(sql, batch) or 0
                        written += len(batch)
                        batch = []
                if batch:
                    affected += cur.executemany(sql, batch) or 0
                    written += len(batch)
            my_conn.commit()
        except Exception as err:
            my_conn.rollback()
            raise RollbackError("writing %s back to MySQL %s.%s failed after %d rows (rolled back): %s"
                                % (name, mark["source_schema"], mark["source_name"], written, err)) from None
        finally:
            pg_conn.rollback()
        plan[name].update({"written": written, "mysql_affected": affected})
    return plan


def write_sql_file(pg_conn, marks, path, escape):
    """The same upserts as a reviewable SQL file (atomic write); `escape(value)` quotes a literal."""
    plan = plan_changes(pg_conn, marks)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rollback-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("-- pgshift rollback: rows written to PostgreSQL after the switch (%s)\n"
                      "-- Review, then apply with: mariadb --defaults-extra-file=... < %s\n"
                      "SET SESSION foreign_key_checks = 0, time_zone = '+00:00';\nSTART TRANSACTION;\n"
                      % (marks["captured_at"], os.path.basename(path)))
            for name, figures in plan.items():
                if figures["method"] == "unverifiable":
                    out.write("-- %s: UNVERIFIABLE: %s\n" % (name, figures["note"]))
            for name, mark in _writable_tables(marks, plan):
                head, tail = _upsert_sql(mark).split("(%s)")
                out.write("-- %s: %d rows (%s)\n" % (name, plan[name]["rows_to_write"], mark["method"]))
                written = 0
                for row in _converted_rows(pg_conn, mark, marks):
                    out.write("%s(%s)%s;\n" % (head, ", ".join(escape(v) for v in row), tail))
                    written += 1
                plan[name]["written"] = written
                pg_conn.rollback()
            out.write("COMMIT;\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return plan
