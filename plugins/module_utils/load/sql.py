"""SQL helpers for pg_load: statement splitting, quoting, catalog look-ups, the resume state tables.

    split_sql(text) -> [statement, ...]          (quotes, dollar quotes and comments respected)
    quote_ident("a\"b") -> '"a""b"'; qualified("s", "t") -> '"s"."t"'
    ensure_state_tables(cur); read_state(cur, manifest_id) -> (tables, steps)
    object_exists(cur, kind, schema, table, name) -> bool | None (None: cannot tell, e.g. comments)
"""
import re

from ..quoting import qualified

STATE_SCHEMA = "pgshift_state"

STATE_DDL = (
    "CREATE SCHEMA IF NOT EXISTS pgshift_state",
    """CREATE TABLE IF NOT EXISTS pgshift_state.loaded_tables (
        manifest_id text NOT NULL, schema_name text NOT NULL, table_name text NOT NULL,
        rows bigint NOT NULL, rejected bigint NOT NULL DEFAULT 0, bytes bigint,
        seconds double precision, loaded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (manifest_id, schema_name, table_name))""",
    """CREATE TABLE IF NOT EXISTS pgshift_state.steps (
        manifest_id text NOT NULL, phase text NOT NULL, step text NOT NULL, kind text,
        schema_name text, table_name text, name text, seconds double precision,
        done_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (manifest_id, phase, step))""",
    """CREATE TABLE IF NOT EXISTS pgshift_state.loaded_chunks (
        manifest_id text NOT NULL, schema_name text NOT NULL, table_name text NOT NULL,
        chunk_no integer NOT NULL, key_column text NOT NULL, low bigint, high bigint,
        bounds text NOT NULL, rows bigint NOT NULL, rejected bigint NOT NULL DEFAULT 0,
        seconds double precision, loaded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (manifest_id, schema_name, table_name, chunk_no))""",
    # the source position the rows reflect (live_copy: its snapshot's binlog position, JSON; null
    # for a dump), added to state tables that older versions created
    "ALTER TABLE pgshift_state.loaded_tables ADD COLUMN IF NOT EXISTS snapshot text",
    "ALTER TABLE pgshift_state.loaded_chunks ADD COLUMN IF NOT EXISTS snapshot text",
)

_TOKEN = re.compile(r"""
    (?P<esq>\b[Ee]'(?:[^'\\]|''|\\.)*')        # E'' string: backslash escapes
  | (?P<sq>'(?:[^']|'')*')                      # standard string: '' doubled only
  | (?P<dq>"(?:[^"]|"")*")                      # quoted identifier
  | (?P<dollar>\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$) # dollar-quote opener
  | (?P<line>--[^\n]*)                          # line comment
  | (?P<block>/\*)                              # block comment (may nest)
  | (?P<semi>;)
""", re.X | re.S)


def _skip_block_comment(text, pos):
    """pos just after '/*'; returns the position after the matching '*/' (nesting allowed)."""
    depth = 1
    while depth and pos < len(text):
        if text.startswith("/*", pos):
            depth, pos = depth + 1, pos + 2
        elif text.startswith("*/", pos):
            depth, pos = depth - 1, pos + 2
        else:
            pos += 1
    return pos


def split_sql(text):
    """Split a SQL script into statements (without the trailing ';'), dropping empty ones."""
    statements, start, pos = [], 0, 0
    while True:
        m = _TOKEN.search(text, pos)
        if m is None:
            break
        kind = m.lastgroup
        if kind == "semi":
            statements.append(text[start:m.start()])
            start = pos = m.end()
        elif kind == "dollar":
            close = text.find(m.group("dollar"), m.end())
            pos = len(text) if close < 0 else close + len(m.group("dollar"))
        elif kind == "block":
            pos = _skip_block_comment(text, m.end())
        else:
            pos = m.end()
    statements.append(text[start:])
    return [s.strip() for s in statements if _strip_comments(s).strip()]


def _strip_comments(sql):
    out, pos = [], 0
    while pos < len(sql):
        if sql.startswith("--", pos):
            end = sql.find("\n", pos)
            pos = len(sql) if end < 0 else end
        elif sql.startswith("/*", pos):
            pos = _skip_block_comment(sql, pos + 2)
        else:
            out.append(sql[pos])
            pos += 1
    return "".join(out)


_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:UNLOGGED\s+)?TABLE\b", re.I)


def is_create_table(statement):
    return _CREATE_TABLE.match(_strip_comments(statement)) is not None


def normalize(statement):
    """Compare statements modulo surrounding whitespace and the trailing ';'."""
    return statement.strip().rstrip(";").strip()


def ensure_state_tables(cur):
    for ddl in STATE_DDL:
        cur.execute(ddl)


def state_exists(cur):
    cur.execute("SELECT to_regclass('pgshift_state.loaded_tables') IS NOT NULL"
                " AND to_regclass('pgshift_state.steps') IS NOT NULL")
    return cur.fetchone()[0]


def read_state(cur, manifest_id):
    """({"schema.table": {rows, rejected, seconds, snapshot}}, {(phase, step)}) recorded for this manifest."""
    if not state_exists(cur):
        return {}, set()
    has_snapshot = _has_column(cur, "loaded_tables", "snapshot")
    cur.execute("SELECT schema_name, table_name, rows, rejected, seconds, %s FROM pgshift_state.loaded_tables"
                " WHERE manifest_id = %%s" % ("snapshot" if has_snapshot else "NULL"), (manifest_id,))
    tables = {"%s.%s" % (s, t): {"rows": r, "rejected": rej, "seconds": sec, "snapshot": snap}
              for s, t, r, rej, sec, snap in cur.fetchall()}
    cur.execute("SELECT phase, step FROM pgshift_state.steps WHERE manifest_id = %s", (manifest_id,))
    return tables, {(p, s) for p, s in cur.fetchall()}


def _has_column(cur, table, column):
    cur.execute("SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s"
                " AND NOT attisdropped", ("pgshift_state." + table, column))
    return cur.fetchone() is not None


def record_table(cur, manifest_id, schema, table, *, rows, rejected, nbytes, seconds, snapshot=None):
    """In the table's load transaction: the load is done exactly when this row is committed.
    snapshot: the source position its rows reflect (text), for a later catch-up."""
    cur.execute("DELETE FROM pgshift_state.loaded_tables WHERE manifest_id = %s AND schema_name = %s"
                " AND table_name = %s", (manifest_id, schema, table))
    cur.execute("INSERT INTO pgshift_state.loaded_tables"
                " (manifest_id, schema_name, table_name, rows, rejected, bytes, seconds, snapshot)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (manifest_id, schema, table, rows, rejected, nbytes, seconds, snapshot))


def read_chunks(cur, manifest_id):
    """{"schema.table": {chunk_no: {rows, rejected, bounds, key_column}}} recorded for this manifest."""
    cur.execute("SELECT to_regclass('pgshift_state.loaded_chunks') IS NOT NULL")
    if not cur.fetchone()[0]:
        return {}
    snapshot = "snapshot" if _has_column(cur, "loaded_chunks", "snapshot") else "NULL"
    cur.execute("SELECT schema_name, table_name, chunk_no, rows, rejected, bounds, key_column, %s"
                " FROM pgshift_state.loaded_chunks WHERE manifest_id = %%s" % snapshot, (manifest_id,))
    chunks = {}
    for schema, table, no, rows, rejected, bounds, key, snap in cur.fetchall():
        chunks.setdefault("%s.%s" % (schema, table), {})[no] = {
            "rows": rows, "rejected": rejected, "bounds": bounds, "key_column": key, "snapshot": snap}
    return chunks


def record_chunk(cur, manifest_id, schema, table, chunk_no, *, key_column, low, high, bounds, rows,
                 rejected, seconds, snapshot=None):
    """In the chunk's COPY transaction: the chunk is loaded exactly when this row is committed.
    snapshot: the source snapshot the chunk was read in (a resume may only add chunks of the same)."""
    cur.execute("INSERT INTO pgshift_state.loaded_chunks (manifest_id, schema_name, table_name, chunk_no,"
                " key_column, low, high, bounds, rows, rejected, seconds, snapshot)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (manifest_id, schema, table, chunk_no, key_column, low, high, bounds, rows, rejected,
                 seconds, snapshot))


def forget_chunks(cur, manifest_id, schema, table):
    """A table created or truncated again has none of its chunks (same transaction as the TRUNCATE)."""
    cur.execute("DELETE FROM pgshift_state.loaded_chunks WHERE manifest_id = %s AND schema_name = %s"
                " AND table_name = %s", (manifest_id, schema, table))


def forget_table_steps(cur, manifest_id, schema, table):
    """A freshly created table has none of its post-data objects any more."""
    cur.execute("DELETE FROM pgshift_state.steps WHERE manifest_id = %s AND phase = 'post'"
                " AND schema_name = %s AND table_name = %s", (manifest_id, schema, table))


def record_step(cur, manifest_id, phase, step, *, kind, schema=None, table=None, name=None, seconds=0.0):
    cur.execute("INSERT INTO pgshift_state.steps"
                " (manifest_id, phase, step, kind, schema_name, table_name, name, seconds)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (manifest_id, phase, step)"
                " DO UPDATE SET seconds = EXCLUDED.seconds, done_at = now()",
                (manifest_id, phase, step, kind, schema, table, name, seconds))


def table_exists(cur, schema, table):
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified(schema, table),))
    return cur.fetchone()[0]


def _constraint(cur, schema, table, name):
    cur.execute("SELECT convalidated FROM pg_constraint WHERE conname = %s AND conrelid = to_regclass(%s)",
                (name, qualified(schema, table)))
    row = cur.fetchone()
    return None if row is None else row[0]


def constraint_state(cur, schema, table, name):
    """'valid', 'not_valid' or None (absent)."""
    valid = _constraint(cur, schema, table, name)
    return None if valid is None else ("valid" if valid else "not_valid")


def object_exists(cur, kind, schema, table, name):
    """Whether a post-data object is already there (None: not checkable, rely on the record)."""
    if not name:
        return None
    if kind in ("primary_key", "unique", "foreign_key", "check"):
        if _constraint(cur, schema, table, name) is not None:
            return True
        if kind != "unique":
            return False
        kind = "index"  # a unique key may be written as CREATE UNIQUE INDEX
    if kind in ("index", "view"):
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified(schema, name),))
        return cur.fetchone()[0]
    if kind == "trigger":
        cur.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = to_regclass(%s)",
                    (name, qualified(schema, table)))
        return cur.fetchone() is not None
    return None
