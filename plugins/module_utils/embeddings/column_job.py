"""Embeddings already in PostgreSQL (text/json/jsonb) -> vector(N)/halfvec(N), indexed and checked.

    plan = EmbeddingJob(conn, table="public.content_embedding", column="embedding", dimensions=1536)
    result = plan.run(check_mode=False)        # convert (batches) -> swap -> index -> checks

How (the guide's step 4, in batches instead of 1536 JSON lookups per row in plpgsql):
1. A new column `<column>__pgshift` vector(N) is added (metadata only) and filled in key-range
   batches, each its own transaction. engine="copy" (default, ~2x faster): COPY the batch out,
   convert each value with embeddings.make_converter (its fast path keeps canonical JSON's number
   text, which pgvector reads with strtof), COPY the vectors into a temporary table, ONE UPDATE ...
   FROM joins them in; values it refuses take the same second chance / policy as below.
   engine="sql": ONE UPDATE per batch: json_each + string_agg ordered by
   position builds '[v0,...]', and the same aggregate validates the keys (key i at position i,
   so exactly "0".."N-1") and the value types (JSON numbers only). Rows that fail (including
   complete objects whose keys are in another order, e.g. string order) get a second chance
   through the Python validator, which orders keys by integer value. Rows still refused are
   counted and their raw text fetched, so the exact reason comes from the same Python
   validator the dump stream uses (embeddings.make_converter). A batch the cast itself refuses
   (text that is not JSON, NaN literals, values beyond float32) is redone row by row in Python.
   A rerun resumes: rows already converted are skipped.
2. Invalid rows follow the policy: error (stop, name the keys; committed batches are kept, a rerun
   resumes), null (left NULL, reported), reject (source row copied to
   pgshift_rejects.<table>_<column> with its reason, left NULL, reported).
3. Swap: one short transaction renames the old column away, the new one into place and drops the
   old one. ALTER TABLE ... RENAME / DROP COLUMN take the ACCESS EXCLUSIVE lock only for these
   catalogue changes (no rewrite), with lock_timeout so it never queues behind long readers for
   long; the long work of step 1 runs under ROW EXCLUSIVE locks that readers never wait for.
   Run it with the application's writers stopped (rows changed after their batch would be stale).
4. Index: HNSW (or IVFFlat) built with maintenance_work_mem sized to hold the whole graph
   (estimate_hnsw_memory) capped by memory_share of the server's RAM, and
   max_parallel_maintenance_workers set, both for this session only. Build time reported.
5. Checks (check_vectors): vector_dims of every row, NULL count, a sample compared element by
   element with its source JSON within float32 rounding, EXPLAIN of a nearest-neighbour query.
"""
import io
import math
import os
import time
from array import array

from ..errors import MigrationError, ValueConversionError, VerificationFailed
from ..model import embedding_text as embeddings
from ..quoting import quote_ident

INDEX_LIMITS = {"vector": 2000, "halfvec": 4000}
OPCLASS_SUFFIX = {"cosine": "cosine_ops", "l2": "l2_ops", "ip": "ip_ops"}
DISTANCE_OPERATOR = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}
SQL_FORMATS = ("json_object", "json_array")
ENGINES = ("copy", "sql")
NEW_SUFFIX = "__pgshift"
OLD_SUFFIX = "__pgshift_old"
MAX_REPORTED = 100


def split_table(name):
    """'schema.table' or 'table' -> (schema, table); quotes allowed around either part."""
    parts = [p.strip('"') for p in name.split(".", 1)] if name.count(".") else ["public", name.strip('"')]
    if len(parts) != 2 or not all(parts):
        raise MigrationError("table %r: expected schema.table" % name)
    return parts[0], parts[1]


# ---------------------------------------------------------------------------------------------
# memory and index settings

def estimate_hnsw_memory(rows, dimensions, m=16, vtype="vector"):
    """Bytes pgvector's in-memory HNSW graph needs: per element its vector plus neighbour lists
    (2m on layer 0, m per upper layer, expected 1/(m-1) upper layers), plus tuple overhead."""
    value_bytes = dimensions * (2 if vtype == "halfvec" else 4) + 8
    layers = 1.0 / max(m - 1, 1)
    neighbour_bytes = (2 * m + m * layers) * 16
    return int(rows * (value_bytes + neighbour_bytes + 96) * 1.15) + (16 << 20)


def meminfo_total_bytes(text):
    """MemTotal from /proc/meminfo text."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise MigrationError("MemTotal not found in /proc/meminfo")


def server_memory_bytes(cur, memory_mb=None, local_host=False):
    """RAM of the database host: memory_mb if given, else /proc/meminfo read through the server
    (needs pg_read_server_files), else this machine's when the server is local. None if unknown."""
    if memory_mb:
        return int(memory_mb) << 20
    cur.execute("SAVEPOINT pgshift_meminfo")
    try:
        cur.execute("SELECT pg_read_file('/proc/meminfo')")
        text = cur.fetchone()[0]
        cur.execute("RELEASE SAVEPOINT pgshift_meminfo")
        return meminfo_total_bytes(text)
    except Exception:  # noqa: BLE001 - no privilege or not Linux: fall through
        cur.execute("ROLLBACK TO SAVEPOINT pgshift_meminfo")
    if local_host and os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as f:
            return meminfo_total_bytes(f.read())
    return None


def plan_maintenance_memory(rows, dimensions, m, vtype, *, ram_bytes, memory_share, current_bytes):
    """(bytes to set, note): enough for the graph, never more than memory_share of RAM."""
    need = estimate_hnsw_memory(rows, dimensions, m, vtype)
    if ram_bytes is None:
        cap = 1 << 30
        note = "server RAM unknown (give memory_mb): capped at 1 GB"
    else:
        cap = int(ram_bytes * memory_share)
        note = "capped at %.0f%% of %d MB RAM" % (memory_share * 100, ram_bytes >> 20)
    chosen = max(min(need, cap), current_bytes, 64 << 20)
    if need > cap:
        note += "; the graph (~%d MB) will not fit: the build spills and is slower" % (need >> 20)
    return chosen, note


def index_opclass(vtype, metric):
    if metric not in OPCLASS_SUFFIX:
        raise MigrationError("index opclass %r is not one of %s" % (metric, ", ".join(OPCLASS_SUFFIX)))
    return "%s_%s" % (vtype, OPCLASS_SUFFIX[metric])


def check_index_dimensions(vtype, dimensions, method):
    limit = INDEX_LIMITS[vtype]
    if dimensions > limit:
        hint = (" (use type: halfvec, which %s indexes up to 4,000 dimensions)" % method
                if vtype == "vector" and dimensions <= INDEX_LIMITS["halfvec"] else "")
        raise MigrationError("%s cannot index %s(%d): its limit is %d dimensions%s"
                             % (method, vtype, dimensions, limit, hint))


def index_sql(schema, table, column, vtype, index):
    """CREATE INDEX statement for index options {method, opclass, m, ef_construction, lists, name}."""
    method = index.get("method") or "hnsw"
    opclass = index_opclass(vtype, index.get("opclass") or "cosine")
    name = index.get("name") or "%s_%s_%s_idx" % (table, column, method)
    if method == "hnsw":
        options = "m = %d, ef_construction = %d" % (int(index.get("m") or 16),
                                                   int(index.get("ef_construction") or 64))
    elif method == "ivfflat":
        options = "lists = %d" % int(index["lists"])
    else:
        raise MigrationError("index method %r is not hnsw or ivfflat" % method)
    return name, "CREATE INDEX %s ON %s.%s USING %s (%s %s) WITH (%s)" % (
        quote_ident(name), quote_ident(schema), quote_ident(table), method, quote_ident(column),
        opclass, options)


# ---------------------------------------------------------------------------------------------
# catalogue

def column_info(cur, schema, table, column):
    """(type name as format_type, dimensions or None) of a column, or None when it does not exist."""
    cur.execute("""SELECT format_type(a.atttypid, a.atttypmod), t.typname, a.atttypmod
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped""",
                ("%s.%s" % (quote_ident(schema), quote_ident(table)), column))
    row = cur.fetchone()
    if row is None:
        return None
    formatted, typname, typmod = row
    return {"formatted": formatted, "typname": typname,
            "dimensions": typmod if typname in ("vector", "halfvec") and typmod > 0 else None}


def primary_key_column(cur, schema, table):
    cur.execute("""SELECT a.attname FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                   WHERE i.indrelid = to_regclass(%s) AND i.indisprimary""",
                ("%s.%s" % (quote_ident(schema), quote_ident(table)),))
    cols = [r[0] for r in cur.fetchall()]
    if len(cols) != 1:
        raise MigrationError("table %s.%s: %s; give `key` (one integer column)" % (
            schema, table, "no primary key" if not cols else "composite primary key %s" % cols))
    return cols[0]


def existing_index(cur, schema, table, column, method):
    """Name of an index of `method` on exactly `column`, or None."""
    cur.execute("""SELECT ic.relname FROM pg_index i
                   JOIN pg_class ic ON ic.oid = i.indexrelid
                   JOIN pg_am am ON am.oid = ic.relam
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = to_regclass(%s) AND am.amname = %s AND a.attname = %s
                     AND i.indnatts = 1""",
                ("%s.%s" % (quote_ident(schema), quote_ident(table)), method, column))
    row = cur.fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------------------------------------
# conversion SQL

def _elements_sql(fmt, source_type):
    """FROM-clause producing (k, v) for each element of the source value `s.src`."""
    j = "jsonb" if source_type == "jsonb" else "json"
    if fmt == "json_object":
        return "%s_each(s.src::%s) WITH ORDINALITY AS e(k, v, ord)" % (j, j)
    return "%s_array_elements(s.src::%s) WITH ORDINALITY AS e(v, ord)" % (j, j)


def batch_update_sql(schema, table, key, column, *, new_column, vtype, dims, fmt, source_type):
    """One UPDATE converting the rows key >= %(lo)s AND key < %(hi)s; returns (key, ok)."""
    j = "jsonb" if source_type == "jsonb" else "json"
    # conv is MATERIALIZED: on a table without statistics (just loaded, not yet analysed) the
    # planner otherwise re-runs the whole aggregation for every row of the join (O(batch^2)).
    # Keys are checked against their position (text equality, no regex, no sort): "0".."N-1" in
    # document order (jsonb: its own key order, which is the same for these keys). Rows with
    # the keys in another order get a second chance through the Python validator, which reorders.
    ordinal = "e.ord"
    keys_ok = "bool_and(e.k = (e.ord - 1)::text)" if fmt == "json_object" else "TRUE"
    t = "%s.%s" % (quote_ident(schema), quote_ident(table))
    return """
WITH src AS (
  SELECT {key} AS k, {col} AS src FROM {t}
  WHERE {key} >= %(lo)s AND {key} < %(hi)s AND {col} IS NOT NULL AND {new} IS NULL
), conv AS MATERIALIZED (
  SELECT s.k,
         '[' || string_agg(e.v::text, ',' ORDER BY {ordinal}) || ']' AS body,
         count(*) = {dims} AND {keys_ok}
           AND bool_and({j}_typeof(e.v) = 'number') AS ok
  FROM src s CROSS JOIN LATERAL {elements}
  GROUP BY s.k
), target AS (
  SELECT s.k, c.ok, CASE WHEN c.ok THEN c.body::{vtype}({dims}) END AS vec
  FROM src s LEFT JOIN conv c ON c.k = s.k
)
UPDATE {t} SET {new} = target.vec FROM target WHERE {t}.{key} = target.k
RETURNING target.k, coalesce(target.ok, FALSE)
""".format(key=quote_ident(key), col=quote_ident(column), new=quote_ident(new_column), t=t,
           ordinal=ordinal, dims=dims, keys_ok=keys_ok, j=j, elements=_elements_sql(fmt, source_type),
           vtype=vtype)


class EmbeddingJob:
    """One column's conversion, index and checks. Results accumulate in self.result."""

    def __init__(self, conn, table, column, *, key=None, dimensions=None, vtype="vector",
                 fmt="json_object", invalid="error", batch_rows=2000, index=None, memory_share=0.25,
                 memory_mb=None, parallel_workers=None, check=False, expected_nulls=None,
                 sample_rows=200, local_host=False, lock_timeout="5s", engine="copy"):
        if vtype not in embeddings.TYPES:
            raise MigrationError("type %r is not one of %s" % (vtype, ", ".join(embeddings.TYPES)))
        if fmt not in SQL_FORMATS:
            raise MigrationError("format %r: data already in PostgreSQL is converted from %s"
                                 % (fmt, " or ".join(SQL_FORMATS)))
        if engine not in ENGINES:
            raise MigrationError("engine %r is not one of %s" % (engine, ", ".join(ENGINES)))
        if invalid not in ("error", "null", "reject"):
            raise MigrationError("invalid policy %r is not error, null or reject" % invalid)
        if not 0 < memory_share <= 0.9:
            raise MigrationError("memory_share %s must be in (0, 0.9]" % memory_share)
        self.conn = conn
        self.schema, self.table = split_table(table)
        self.column, self.key, self.dimensions = column, key, dimensions
        self.vtype, self.fmt, self.invalid = vtype, fmt, invalid
        self.batch_rows = int(batch_rows)
        self.index = index
        self.memory_share, self.memory_mb = memory_share, memory_mb
        self.parallel_workers = parallel_workers
        self.check, self.expected_nulls, self.sample_rows = check, expected_nulls, sample_rows
        self.local_host, self.lock_timeout = local_host, lock_timeout
        self.new_column = column + NEW_SUFFIX
        self.engine = engine
        self.queries = []
        self.result = {"changed": False, "converted": 0, "nulled": 0, "rejected": 0, "invalid_rows": [],
                       "batches": 0, "warnings": []}

    @property
    def qualified(self):
        return "%s.%s" % (quote_ident(self.schema), quote_ident(self.table))

    @property
    def label(self):
        return "%s.%s" % (self.schema, self.table)

    # -- planning ---------------------------------------------------------------------------
    def inspect(self):
        """Read the catalogue: what exists, what is left to do."""
        with self.conn.cursor() as cur:
            info = column_info(cur, self.schema, self.table, self.column)
            if info is None:
                cur.execute("SELECT to_regclass(%s)", (self.qualified,))
                what = "column %s" % self.column if cur.fetchone()[0] else "table"
                raise MigrationError("%s: %s does not exist" % (self.label, what))
            self.key = self.key or primary_key_column(cur, self.schema, self.table)
            new_info = column_info(cur, self.schema, self.table, self.new_column)
            self.source_type = info["typname"]
            converted = info["typname"] in ("vector", "halfvec")
            if converted:
                self.vtype = info["typname"]
                self.dimensions = self.dimensions or info["dimensions"]
                if self.dimensions != info["dimensions"]:
                    raise MigrationError("%s.%s is already %s, not %s(%s)" % (
                        self.label, self.column, info["formatted"], self.vtype, self.dimensions))
            elif not _has_extension(cur, self.vtype):
                raise MigrationError(
                    "%s.%s: the database %s has no %s type: the pgvector extension is not installed"
                    " there (CREATE EXTENSION vector, as a superuser or the database owner; the role"
                    " pgshift.mysql.postgresql_pgvector installs it)"
                    % (self.label, self.column, self.conn.info.dbname, self.vtype))
            elif info["typname"] not in ("text", "varchar", "json", "jsonb", "bpchar"):
                raise MigrationError("%s.%s is %s: expected text, json or jsonb holding embeddings" % (
                    self.label, self.column, info["formatted"]))
            if not converted and self.dimensions is None:
                self.dimensions = self._first_row_dimensions(cur)
            cur.execute("SELECT count(*), min(%s), max(%s) FROM %s" % (
                quote_ident(self.key), quote_ident(self.key), self.qualified))
            self.rows, self.min_key, self.max_key = cur.fetchone()
            method = (self.index or {}).get("method") or "hnsw"
            self.index_name = existing_index(cur, self.schema, self.table, self.column, method) \
                if converted and self.index else None
        self.conn.rollback()
        return {"converted": converted, "resuming": new_info is not None}

    def _first_row_dimensions(self, cur):
        cur.execute("SELECT %s::text FROM %s WHERE %s IS NOT NULL ORDER BY %s LIMIT 1" % (
            quote_ident(self.column), self.qualified, quote_ident(self.column), quote_ident(self.key)))
        row = cur.fetchone()
        if row is None:
            raise MigrationError("%s.%s: no non-NULL value to take the dimensions from; give dimensions"
                                 % (self.label, self.column))
        conv = embeddings.make_converter({"type": self.vtype, "format": self.fmt})
        try:
            conv.values(row[0])
        except ValueConversionError as err:
            raise MigrationError("%s.%s: the first row cannot give the dimensions (%s); give dimensions"
                                 % (self.label, self.column, err)) from None
        return conv.dimensions

    # -- conversion -------------------------------------------------------------------------
    def convert(self):
        with self.conn.cursor() as cur:
            self._run(cur, "SET LOCAL lock_timeout = %s", (self.lock_timeout,))
            self._run(cur, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s(%d)" % (
                self.qualified, quote_ident(self.new_column), self.vtype, self.dimensions))
        self.conn.commit()
        sql = batch_update_sql(self.schema, self.table, self.key, self.column, new_column=self.new_column,
                               vtype=self.vtype, dims=self.dimensions, fmt=self.fmt,
                               source_type=self.source_type)
        self.queries.append(sql.strip())
        if self.rows == 0:
            return
        start = time.monotonic()
        lo = self.min_key
        while lo <= self.max_key:
            hi = lo + self.batch_rows
            if self.engine == "copy":
                self._copy_batch(lo, hi)
            else:
                self._convert_batch(sql, lo, hi)
            lo = hi
        self.result["convert_seconds"] = round(time.monotonic() - start, 3)

    def _convert_batch(self, sql, lo, hi):
        with self.conn.cursor() as cur:
            cur.execute("SAVEPOINT batch")
            try:
                cur.execute(sql, {"lo": lo, "hi": hi})
                results = cur.fetchall()
                cur.execute("RELEASE SAVEPOINT batch")
            except Exception as err:  # noqa: BLE001 - the cast refused something: go row by row
                if not _is_data_error(err):
                    raise
                cur.execute("ROLLBACK TO SAVEPOINT batch")
                results = self._convert_rows_in_python(cur, lo, hi)
            bad = [k for k, ok in results if not ok]
            if bad:
                bad = self._second_chance(cur, bad)
            self.result["converted"] += len(results) - len(bad)
            if bad:
                self._handle_invalid(cur, bad)
        self.conn.commit()
        self.result["batches"] += 1

    def _copy_batch(self, lo, hi):
        """One key range through the stream's converter: COPY out, convert (C-speed fast path for
        canonical JSON), COPY the vectors into a temporary table, one UPDATE ... FROM joins them in.
        About twice the speed of the json_each UPDATE; both run in PostgreSQL's own transaction."""
        with self.conn.cursor() as cur:
            writer = _BatchConverter(self._converter())
            cur.copy_expert("COPY (SELECT %s, %s::text FROM %s WHERE %s >= %s AND %s < %s AND %s IS NOT NULL "
                            "AND %s IS NULL) TO STDOUT" % (
                                quote_ident(self.key), quote_ident(self.column), self.qualified,
                                quote_ident(self.key), _literal(cur, lo), quote_ident(self.key),
                                _literal(cur, hi), quote_ident(self.column), quote_ident(self.new_column)),
                            writer)
            writer.finish()
            bad = writer.refused + writer.escaped
            if writer.converted:
                self._load_vectors(cur, writer)
            converted = writer.converted
            if bad:
                bad = self._second_chance(cur, bad)
                converted += len(writer.refused) + len(writer.escaped) - len(bad)
            self.result["converted"] += converted
            if bad:
                self._handle_invalid(cur, bad)
        self.conn.commit()
        self.result["batches"] += 1

    def _load_vectors(self, cur, writer):
        temp = quote_ident("pgshift_vectors")
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS %s ON COMMIT DROP AS SELECT %s AS k, NULL::%s(%d) AS v "
                    "FROM %s WITH NO DATA" % (temp, quote_ident(self.key), self.vtype, self.dimensions,
                                              self.qualified))
        writer.output.seek(0)
        cur.copy_expert("COPY %s (k, v) FROM STDIN" % temp, writer.output)
        cur.execute("UPDATE %s AS t SET %s = c.v FROM %s AS c WHERE t.%s = c.k" % (
            self.qualified, quote_ident(self.new_column), temp, quote_ident(self.key)))
        cur.execute("DROP TABLE %s" % temp)

    def _convert_rows_in_python(self, cur, lo, hi):
        """Fallback for a batch PostgreSQL refused as a whole: each row through the stream validator."""
        cur.execute("SELECT %s, %s::text FROM %s WHERE %s >= %%s AND %s < %%s AND %s IS NOT NULL "
                    "AND %s IS NULL" % (quote_ident(self.key), quote_ident(self.column), self.qualified,
                                        quote_ident(self.key), quote_ident(self.key),
                                        quote_ident(self.column), quote_ident(self.new_column)), (lo, hi))
        conv = self._converter()
        results = []
        for key, raw in cur.fetchall():
            try:
                text = conv(raw)
            except ValueConversionError:
                results.append((key, False))
                continue
            cur.execute("UPDATE %s SET %s = %%s::%s(%d) WHERE %s = %%s" % (
                self.qualified, quote_ident(self.new_column), self.vtype, self.dimensions,
                quote_ident(self.key)), (text, key))
            results.append((key, True))
        return results

    def _second_chance(self, cur, keys):
        """Rows the SQL check refused, through the Python validator (it accepts keys in any order);
        returns the keys that are really invalid."""
        cur.execute("SELECT %s, %s::text FROM %s WHERE %s = ANY(%%s)" % (
            quote_ident(self.key), quote_ident(self.column), self.qualified, quote_ident(self.key)),
            (list(keys),))
        conv = self._converter()
        invalid = []
        for key, raw in cur.fetchall():
            try:
                text = conv(raw)
            except ValueConversionError:
                invalid.append(key)
                continue
            cur.execute("UPDATE %s SET %s = %%s::%s(%d) WHERE %s = %%s" % (
                self.qualified, quote_ident(self.new_column), self.vtype, self.dimensions,
                quote_ident(self.key)), (text, key))
        return invalid

    def _converter(self):
        return embeddings.make_converter({"type": self.vtype, "dimensions": self.dimensions,
                                          "format": self.fmt})

    def _reasons(self, cur, keys):
        """{key: (raw text, reason)} from the same validator as the dump stream."""
        cur.execute("SELECT %s, %s::text FROM %s WHERE %s = ANY(%%s)" % (
            quote_ident(self.key), quote_ident(self.column), self.qualified, quote_ident(self.key)),
            (list(keys),))
        conv = self._converter()
        out = {}
        for key, raw in cur.fetchall():
            try:
                conv(raw)
                reason = "refused by PostgreSQL's %s(%d) input" % (self.vtype, self.dimensions)
            except ValueConversionError as err:
                reason = str(err)
            out[key] = (raw, reason)
        return out

    def _handle_invalid(self, cur, keys):
        reasons = self._reasons(cur, keys)
        for key in sorted(keys):
            if len(self.result["invalid_rows"]) < MAX_REPORTED:
                self.result["invalid_rows"].append({"key": key, "reason": reasons[key][1]})
        if self.invalid == "error":
            self.conn.rollback()
            first = sorted(keys)[0]
            raise ValueConversionError("%s.%s: %d invalid embedding(s) in key range; first %s = %s: %s"
                                       " (invalid: null or reject to continue; converted batches are "
                                       "kept and a rerun resumes)" % (
                                           self.label, self.column, len(keys), self.key, first,
                                           reasons[first][1]))
        if self.invalid == "reject":
            self._reject(cur, keys, reasons)
            self.result["rejected"] += len(keys)
        else:
            self.result["nulled"] += len(keys)

    def reject_table(self):
        return "%s.%s" % (quote_ident("pgshift_rejects"), quote_ident("%s_%s" % (self.table, self.column)))

    def _reject(self, cur, keys, reasons):
        cur.execute("CREATE SCHEMA IF NOT EXISTS pgshift_rejects")
        cur.execute("CREATE TABLE IF NOT EXISTS %s (LIKE %s, pgshift_reason text, "
                    "pgshift_rejected_at timestamptz DEFAULT now())" % (self.reject_table(), self.qualified))
        cur.execute("ALTER TABLE %s DROP COLUMN IF EXISTS %s" % (
            self.reject_table(), quote_ident(self.new_column)))
        cols = self._source_columns(cur)
        cur.execute("DELETE FROM %s WHERE %s = ANY(%%s)" % (self.reject_table(), quote_ident(self.key)),
                    (list(keys),))
        for key in keys:
            cur.execute("INSERT INTO %s (%s, pgshift_reason) SELECT %s, %%s FROM %s WHERE %s = %%s" % (
                self.reject_table(), cols, cols, self.qualified, quote_ident(self.key)),
                (reasons[key][1], key))
        cur.execute("UPDATE %s SET %s = NULL WHERE %s = ANY(%%s)" % (
            self.qualified, quote_ident(self.column), quote_ident(self.key)), (list(keys),))

    def _source_columns(self, cur):
        cur.execute("""SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0
                       AND NOT attisdropped AND attname <> %s ORDER BY attnum""",
                    (self.qualified, self.new_column))
        return ", ".join(quote_ident(r[0]) for r in cur.fetchall())

    # -- swap -------------------------------------------------------------------------------
    def swap(self):
        """Old column out, new column in, old dropped: catalogue-only changes in one short transaction."""
        old = self.column + OLD_SUFFIX
        with self.conn.cursor() as cur:
            self._run(cur, "SET LOCAL lock_timeout = %s", (self.lock_timeout,))
            self._run(cur, "ALTER TABLE %s RENAME COLUMN %s TO %s" % (
                self.qualified, quote_ident(self.column), quote_ident(old)))
            self._run(cur, "ALTER TABLE %s RENAME COLUMN %s TO %s" % (
                self.qualified, quote_ident(self.new_column), quote_ident(self.column)))
            self._run(cur, "ALTER TABLE %s DROP COLUMN %s" % (self.qualified, quote_ident(old)))
        self.conn.commit()

    def _run(self, cur, sql, args=None):
        self.queries.append(cur.mogrify(sql, args).decode() if args else sql)
        cur.execute(sql, args)

    # -- index ------------------------------------------------------------------------------
    def build_index(self):
        method = self.index.get("method") or "hnsw"
        check_index_dimensions(self.vtype, self.dimensions, method)
        if method == "ivfflat" and not self.index.get("lists"):
            self.index = dict(self.index, lists=max(1, min(self.rows // 1000, 1000)) or 1)
        name, create = index_sql(self.schema, self.table, self.column, self.vtype, self.index)
        with self.conn.cursor() as cur:
            settings = self._index_settings(cur, method)
            for setting, value in settings.items():
                self._run(cur, "SELECT set_config(%s, %s, false)", (setting, value))
            start = time.monotonic()
            self._run(cur, create)
            seconds = time.monotonic() - start
            cur.execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers")
        self.conn.commit()
        self.result["index"] = {"name": name, "method": method, "seconds": round(seconds, 3),
                                "settings": settings, "sql": create}
        self.index_name = name

    def _index_settings(self, cur, method):
        cur.execute("SELECT current_setting('maintenance_work_mem'), "
                    "pg_size_bytes(current_setting('maintenance_work_mem')), "
                    "current_setting('max_parallel_workers')::int, "
                    "current_setting('max_parallel_maintenance_workers')::int")
        _, current, max_parallel, current_workers = cur.fetchone()
        ram = server_memory_bytes(cur, self.memory_mb, self.local_host)
        m = int(self.index.get("m") or 16)
        chosen, note = plan_maintenance_memory(self.rows, self.dimensions, m, self.vtype, ram_bytes=ram,
                                               memory_share=self.memory_share, current_bytes=current)
        self.result["memory_note"] = note
        workers = self.parallel_workers
        if workers is None:
            cores = (os.cpu_count() or 2) - 1 if self.local_host else 4
            workers = max(current_workers, min(max_parallel, max(cores, 1)))
        return {"maintenance_work_mem": "%dkB" % (chosen >> 10),
                "max_parallel_maintenance_workers": str(int(workers))}

    # -- checks -----------------------------------------------------------------------------
    def sample_sources(self):
        """{key: source text} for a sample of converted rows (read before the swap drops them)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT %s, %s::text FROM %s WHERE %s IS NOT NULL ORDER BY md5(%s::text) LIMIT %d" % (
                quote_ident(self.key), quote_ident(self.column), self.qualified,
                quote_ident(self.new_column), quote_ident(self.key), int(self.sample_rows)))
            rows = dict(cur.fetchall())
        self.conn.rollback()
        return rows

    # -- the whole job ----------------------------------------------------------------------
    def run(self, check_mode=False):
        state = self.inspect()
        plan = self.plan(state)
        self.result["plan"] = plan
        if check_mode:
            self.result["changed"] = bool(plan["steps"])
            return self.result
        samples = None
        if "convert" in plan["steps"]:
            self.convert()
            self.result["changed"] = True
            samples = self.sample_sources() if self.check else None
            self.swap()
        if "index" in plan["steps"]:
            self.build_index()
            self.result["changed"] = True
        if self.check:
            self.result["checks"] = check_vectors(
                self.conn, "%s.%s" % (self.schema, self.table), self.column, self.dimensions,
                key=self.key, expected_nulls=self.expected_nulls, samples=samples,
                fmt=self.fmt, vtype=self.vtype, metric=(self.index or {}).get("opclass") or "cosine",
                expect_index=bool(self.index))
        self.result.update({"dimensions": self.dimensions, "type": self.vtype, "key": self.key,
                            "rows": self.rows, "queries": self.queries})
        return self.result

    def plan(self, state):
        steps = []
        if not state["converted"]:
            steps.append("convert")
        if self.index and not self.index_name:
            check_index_dimensions(self.vtype, self.dimensions, self.index.get("method") or "hnsw")
            steps.append("index")
        return {"steps": steps, "rows": self.rows, "dimensions": self.dimensions, "type": self.vtype,
                "key": self.key, "resuming": state["resuming"], "source_type": self.source_type,
                "batches": 0 if self.rows == 0 else
                int(math.ceil((self.max_key - self.min_key + 1) / self.batch_rows))}


def _has_extension(cur, vtype):
    """pgvector's type (vector or halfvec) exists in this database (the extension may be absent,
    or too old for halfvec)."""
    cur.execute("SELECT to_regtype(%s) IS NOT NULL", (vtype,))
    return cur.fetchone()[0]


def _literal(cur, value):
    return cur.mogrify("%s", (value,)).decode()


class _BatchConverter(io.RawIOBase):
    """File-like target of COPY ... TO STDOUT: converts each 'key<TAB>text' line as it arrives
    (memory: one batch of converted text, never the source batch) into COPY lines 'key<TAB>[...]'.
    Keys of refused values are kept for the careful path (second chance, then the policy); values
    with a COPY backslash escape are left to it too."""

    def __init__(self, converter):
        super().__init__()
        self.convert = converter
        self.output = io.BytesIO()
        self.refused, self.escaped = [], []
        self.converted = 0
        self._tail = b""

    def writable(self):
        return True

    def write(self, data):
        lines = (self._tail + bytes(data)).split(b"\n")
        self._tail = lines.pop()
        for line in lines:
            self._line(line)
        return len(data)

    def finish(self):
        if self._tail:
            self._line(self._tail)
            self._tail = b""

    def _line(self, line):
        key, _, raw = line.partition(b"\t")
        if b"\\" in raw:
            self.escaped.append(_copy_key(key))
            return
        try:
            text = self.convert(raw)
        except ValueConversionError:
            self.refused.append(_copy_key(key))
            return
        self.output.write(key + b"\t" + text.encode("ascii") + b"\n")
        self.converted += 1


def _copy_key(text):
    """A key as COPY wrote it -> the Python value psycopg2 would pass back (int when it is one)."""
    value = text.decode("utf-8")
    return int(value) if value.lstrip("-").isdigit() else value


def _is_data_error(err):
    code = getattr(err, "pgcode", None) or ""
    return code.startswith("22")


# ---------------------------------------------------------------------------------------------
# checks after load

def check_vectors(conn, table, column, dimensions, *, key=None, expected_nulls=None, samples=None,
                  fmt="json_object", vtype="vector", metric="cosine", expect_index=True):
    """Verify a loaded vector column; raise VerificationFailed naming what differs, else return figures.

    samples: {key: source text (JSON)} compared element by element with the stored vectors, within
    float32 rounding (halfvec: float16). The EXPLAIN runs with enable_seqscan=off for its own
    transaction: on a small table the planner rightly prefers a scan and sort, and the question is
    whether the index can serve the nearest-neighbour query at all, not whether it is cheapest here.
    """
    schema, name = split_table(table)
    qualified = "%s.%s" % (quote_ident(schema), quote_ident(name))
    col = quote_ident(column)
    out = {}
    with conn.cursor() as cur:
        key = key or primary_key_column(cur, schema, name)
        cur.execute("SELECT count(*), count(*) FILTER (WHERE %s IS NULL), "
                    "count(*) FILTER (WHERE vector_dims(%s) <> %d) FROM %s"
                    % (col, col, dimensions, qualified))
        rows, nulls, wrong = cur.fetchone()
        out.update(rows=rows, nulls=nulls)
        if wrong:
            cur.execute("SELECT %s, vector_dims(%s) FROM %s WHERE vector_dims(%s) <> %d LIMIT 1" % (
                quote_ident(key), col, qualified, col, dimensions))
            k, d = cur.fetchone()
            raise VerificationFailed("%s.%s: %d row(s) without %d dimensions; first %s = %s has %d"
                                     % (table, column, wrong, dimensions, key, k, d))
        if expected_nulls is not None and nulls != expected_nulls:
            raise VerificationFailed("%s.%s: %d NULL embeddings, the source had %d"
                                     % (table, column, nulls, expected_nulls))
        out["sample_compared"] = _compare_samples(cur, qualified, key, col, samples or {}, fmt=fmt,
                                                  vtype=vtype, table=table, column=column)
        if expect_index:
            out["explain_uses_index"] = _explain_uses_index(cur, qualified, col, metric=metric, table=table,
                                                            column=column)
    conn.rollback()
    return out


def _compare_samples(cur, qualified, key, col, samples, *, fmt, vtype, table, column):
    if not samples:
        return 0
    cur.execute("SELECT %s, %s::text FROM %s WHERE %s = ANY(%%s)" % (quote_ident(key), col, qualified,
                                                                     quote_ident(key)), (list(samples),))
    stored = dict(cur.fetchall())
    conv = embeddings.make_converter({"type": vtype, "format": fmt})
    for k, raw in samples.items():
        if k not in stored:
            raise VerificationFailed("%s.%s: sampled row %s = %s is missing" % (table, column, key, k))
        expected = list(conv.values(raw))
        got = list(array("f", embeddings.parse_vector_text(stored[k])))  # pgvector prints float32
        if len(got) != len(expected):
            raise VerificationFailed("%s.%s: row %s = %s has %d values, source %d"
                                     % (table, column, key, k, len(got), len(expected)))
        for i, (a, b) in enumerate(zip(got, expected)):
            if a != b:
                raise VerificationFailed("%s.%s: row %s = %s element %d is %r, source %r"
                                         % (table, column, key, k, i, a, b))
    return len(samples)


def _explain_uses_index(cur, qualified, col, *, metric, table, column):
    cur.execute("SELECT %s::text FROM %s WHERE %s IS NOT NULL LIMIT 1" % (col, qualified, col))
    row = cur.fetchone()
    if row is None:
        return None
    cur.execute("SET LOCAL enable_seqscan = off")
    cur.execute("EXPLAIN (FORMAT JSON) SELECT 1 FROM %s ORDER BY %s %s %%s LIMIT 10" % (
        qualified, col, DISTANCE_OPERATOR[metric]), (row[0],))
    plan = cur.fetchone()[0]
    node = plan[0]["Plan"]
    found = []
    while node:
        if node.get("Node Type", "").startswith("Index"):
            found.append(node.get("Index Name"))
        node = (node.get("Plans") or [None])[0]
    cur.execute("RESET enable_seqscan")
    if not found:
        raise VerificationFailed("%s.%s: EXPLAIN of a nearest-neighbour query (%s) does not use an index"
                                 % (table, column, DISTANCE_OPERATOR[metric]))
    return found[0]
