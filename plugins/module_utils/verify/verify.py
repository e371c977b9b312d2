"""migration_verify engine: row counts and per-chunk content checksums, computed where the rows live.

    report = verify(mysql_params, pg_params, manifest, mode="checksums", chunk_rows=10000)
    report["ok"]  -> False when anything differs; report["tables"]["sakila.actor"]["differences"]

Per table, each engine hashes every row's canonical text (canonical.py) and aggregates per chunk:
  range    single integer primary key: chunks are key ranges; a differing chunk is bisected on
           both sides down to a few hundred keys, whose row hashes are compared one by one
  hash     other keys: chunks are buckets of the key's hash (one scan per side)
  keyless  no key: buckets of the row hash, SUM of 60-bit row hashes (duplicates count)
Keyed chunks aggregate with XOR of 64-bit row hashes (the key is part of the row text). Columns SQL
cannot canonicalize identically (JSON, embeddings) are streamed and hashed in Python, per table.
The MySQL and PostgreSQL queries of a step run at the same time (one thread each, `jobs` each).
"""
import contextlib
import hashlib
import json
import math
import os
import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import manifest as mf
from ..connections import mysql_connect, pg_connect
from ..errors import MigrationError, VerifyError
from ..quoting import mysql_ident, quote_ident
from . import canonical as cn

MASK64 = (1 << 64) - 1
LEAF_ROWS = 256
SEGMENT_CHUNKS = 64
DIGEST_SEGMENT_CHUNKS = 16          # chunk digests per query (UNION ALL): several queries per job
CHUNK_TEXT_BYTES = 16 << 20         # target size of one chunk's text for chunk digests
NULL_MARK = "\\N"
DISPLAY_LIMIT = 200


# ---------------------------------------------------------------------------------------------
# the two engines' SQL dialects

class MySQLDialect:
    name = "mysql"

    @staticmethod
    def row_text(exprs):
        return "CONCAT_WS(_binary'|', %s)" % ", ".join(exprs)

    @staticmethod
    def mask(null_exprs):
        return "CONCAT(%s)" % ", ".join(null_exprs)

    @staticmethod
    def h64(text):
        return "CAST(CONV(LEFT(MD5(%s), 16), 16, 10) AS UNSIGNED)" % text

    @staticmethod
    def h60(text):
        return "CAST(CONV(LEFT(MD5(%s), 15), 16, 10) AS UNSIGNED)" % text

    @staticmethod
    def md5(text):
        return "MD5(%s)" % text

    def bucket_of(self, text, n):
        return "MOD(CAST(CONV(LEFT(MD5(%s), 8), 16, 10) AS UNSIGNED), %d)" % (text, n)

    @staticmethod
    def range_bucket(key, base, width, _numeric):
        return "((%s - %d) DIV %d)" % (key, base, width)

    xor = "BIT_XOR"
    ident = staticmethod(mysql_ident)

    @property
    def dialect(self):
        return self


class PGDialect:
    name = "postgresql"

    @staticmethod
    def row_text(exprs):
        return "concat_ws('|', %s)" % ", ".join(exprs)

    @staticmethod
    def mask(null_exprs):
        return "concat(%s)" % ", ".join("(%s)::int" % e for e in null_exprs)

    @staticmethod
    def h64(text):
        return "('x' || left(md5(%s), 16))::bit(64)::bigint" % text

    @staticmethod
    def h60(text):
        return "('x' || left(md5(%s), 15))::bit(60)::bigint" % text

    @staticmethod
    def md5(text):
        return "md5(%s)" % text

    def bucket_of(self, text, n):
        return "(('x' || left(md5(%s), 8))::bit(32)::bigint %% %d)" % (text, n)

    @staticmethod
    def range_bucket(key, base, width, numeric):
        if numeric:
            return "div(%s - %d, %d)" % (key, base, width)
        return "((%s)::bigint - %d) / %d" % (key, base, width) if base < 0 else \
            "(%s - %d) / %d" % (key, base, width)

    xor = "bit_xor"
    ident = staticmethod(quote_ident)

    @property
    def dialect(self):
        return self


MY = MySQLDialect()
PG = PGDialect()


# ---------------------------------------------------------------------------------------------
# connections: a small pool per side, sessions set for canonical output

# group_concat_max_len: room for a whole chunk's text (chunks are sized to CHUNK_TEXT_BYTES; a
# truncated chunk raises warning 1260 and is checked row by row instead)
GROUP_CONCAT_MAX = 256 << 20
MYSQL_SESSION = ["SET SESSION time_zone = '+00:00'", "SET SESSION TRANSACTION READ ONLY",
                 "SET SESSION group_concat_max_len = %d" % GROUP_CONCAT_MAX]
# JIT off: compiling the canonical expressions costs more than it saves on chunk-sized queries.
# No parallel workers: verify already runs MySQL and PostgreSQL side by side, and the planner
# (which cannot estimate the number of chunk buckets) otherwise sorts every row of the segment
# for a parallel GroupAggregate, spilling to disk. work_mem keeps the bucket HashAggregate in memory.
PG_SESSION = ["SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET extra_float_digits = 1",
              "SET bytea_output = 'hex'", "SET statement_timeout = 0",
              "SET max_parallel_workers_per_gather = 0", "SET work_mem = '64MB'", "SET jit = off"]


class Side:
    """One engine: a dialect, a pool of connections, and queries that return all rows or stream."""

    def __init__(self, dialect, connect, size):
        self.dialect = dialect
        self._connect = connect
        self._pool = queue.Queue()
        self._all = []
        self._lock = threading.Lock()
        self.size = size

    def __getattr__(self, attr):
        # name, xor, bucket_of, range_bucket...: the dialect's
        return getattr(self.dialect, attr)

    def _get(self):
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
            with self._lock:
                self._all.append(conn)
            return conn

    def query(self, sql, warnings=None):
        """All rows of sql; MySQL warnings (code, message) are appended to the list warnings."""
        conn = self._get()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                rows = cur.fetchall()
                if warnings is not None and getattr(cur, "warning_count", 0):
                    cur.execute("SHOW WARNINGS")
                    warnings.extend((int(w[1]), w[2]) for w in cur.fetchall())
            if self.dialect is PG:
                conn.rollback()
            return rows
        except Exception as err:
            self._fail(conn, err, sql)
        finally:
            self._pool.put(conn)

    def stream(self, sql, consume):
        """Feed every row of sql to consume(row) without holding the result in memory."""
        conn = self._get()
        try:
            if self.dialect is PG:
                with conn.cursor(name="pgshift_verify") as cur:
                    cur.itersize = 5000
                    cur.execute(sql)
                    for row in cur:
                        consume(row)
                conn.rollback()
            else:
                import pymysql.cursors
                with conn.cursor(pymysql.cursors.SSCursor) as cur:
                    cur.execute(sql)
                    for row in cur:
                        consume(row)
        except Exception as err:
            self._fail(conn, err, sql)
        finally:
            self._pool.put(conn)

    def _fail(self, conn, err, sql):
        if self.dialect is PG:
            conn.rollback()
        if isinstance(err, MigrationError):
            raise err
        raise VerifyError("%s query failed: %s (SQL: %s)" % (self.dialect.name, str(err).strip(),
                                                             sql[:300])) from None

    def literal(self, value):
        conn = self._get()
        try:
            if self.dialect is PG:
                from psycopg2.extensions import adapt
                quoted = adapt(value)
                if hasattr(quoted, "prepare"):
                    quoted.prepare(conn)
                return quoted.getquoted().decode()
            return conn.escape(value)
        finally:
            self._pool.put(conn)

    def close(self):
        for conn in self._all:
            with contextlib.suppress(Exception):  # closing is best effort
                conn.close()


def open_sides(mysql_params, pg_params, jobs):
    def my_connect():
        conn = mysql_connect(mysql_params)
        with conn.cursor() as cur:
            for stmt in MYSQL_SESSION:
                cur.execute(stmt)
        return conn

    def pg_conn():
        conn = pg_connect(pg_params)
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            for stmt in PG_SESSION:
                cur.execute(stmt)
        conn.commit()
        return conn

    my = Side(MY, my_connect, jobs)
    pg = Side(PG, pg_conn, jobs)
    my.literal(0)   # connect now: bad credentials fail before any work
    pg.literal(0)
    return my, pg


# ---------------------------------------------------------------------------------------------
# table plans

@dataclass
class TablePlan:
    key: str
    my_name: tuple
    pg_name: tuple
    columns: list
    pk: list
    strategy: str = "range"
    py_cols: list = field(default_factory=list)
    sql_cols: list = field(default_factory=list)
    exprs: dict = field(default_factory=dict)
    py_canon: list = field(default_factory=list)
    my_primary: list = field(default_factory=list)    # MySQL's PRIMARY KEY columns (source names)
    sorted_keys: bool = False     # chunk digests sort rows (MySQL's key order proved different)

    def source(self, side):
        if side.dialect is MY:
            return "%s.%s" % (mysql_ident(self.my_name[0]), mysql_ident(self.my_name[1]))
        return "%s.%s" % (quote_ident(self.pg_name[0]), quote_ident(self.pg_name[1]))

    def x(self, side, what):
        return self.exprs[side.dialect.name][what]

    @property
    def reduced_float_columns(self):
        return [c.name for c in self.columns if c.kind == "float4_g6"]


def mysql_columns(my, schema, table):
    rows = my.query(
        "SELECT COLUMN_NAME, LOWER(COLUMN_TYPE), LOWER(DATA_TYPE), CHARACTER_SET_NAME, NUMERIC_SCALE, "
        "IS_NULLABLE = 'YES', COLUMN_KEY, COLLATION_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"
        % (my.literal(schema), my.literal(table)))
    return {r[0]: r for r in rows}


def mysql_primary_key(my, schema, table):
    rows = my.query(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s AND "
        "TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION"
        % (my.literal(schema), my.literal(table)))
    return [r[0] for r in rows]


def pg_columns(pg, schema, table):
    rows = pg.query(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        % pg.literal("%s.%s" % (quote_ident(schema), quote_ident(table))))
    return {r[0]: r for r in rows}


def build_plan(my, pg, table, options, floats=None):
    """A TablePlan for one manifest table; raises VerifyError for a missing table or column.
    floats: the source's FLOAT policy (source_float_policy); None compares FLOAT at float32."""
    key = "%s.%s" % (table["schema"], table["name"])
    my_name = (table.get("source_schema") or table["schema"], table.get("source_name") or table["name"])
    pg_name = (table["schema"], table["name"])
    my_cols = mysql_columns(my, *my_name)
    if not my_cols:
        raise VerifyError("table %s: MySQL table %s.%s not found" % (key, *my_name))
    pg_cols = pg_columns(pg, *pg_name)
    if not pg_cols:
        raise VerifyError("table %s: missing in PostgreSQL" % key)
    columns = []
    for entry in table.get("columns") or []:
        source_name = entry.get("source_name") or entry["name"]
        if source_name not in my_cols:
            raise VerifyError("table %s: column %r not found in MySQL" % (key, source_name))
        if entry["name"] not in pg_cols:
            raise VerifyError("table %s: column %r missing in PostgreSQL" % (key, entry["name"]))
        m, p = my_cols[source_name], pg_cols[entry["name"]]
        col = cn.Column(name=entry["name"], source_name=source_name, my_type=m[1], my_data_type=m[2],
                        pg_type=p[1], my_charset=m[3], my_scale=m[4], nullable=bool(m[5]) or bool(p[2]),
                        embedding=entry.get("embedding"), my_collation=m[7])
        col.kind = cn.classify(col)
        if col.kind == "float4" and floats and floats["digits"]:
            col.kind = "float4_g6"
            col.extra["flavor"] = floats["flavor"]
        columns.append(col)
    by_name = {c.name: c for c in columns}
    pk_names = table.get("primary_key") or [
        c.name for s in mysql_primary_key(my, *my_name) for c in columns if c.source_name == s]
    pk = [by_name[n] for n in pk_names if n in by_name]
    plan = TablePlan(key=key, my_name=my_name, pg_name=pg_name, columns=columns, pk=pk)
    plan.my_primary = mysql_primary_key(my, *my_name)
    _choose_strategy(plan)
    _build_exprs(plan, options)
    return plan


def _choose_strategy(plan):
    plan.py_cols = [c for c in plan.columns if c.kind not in cn.SQL_KINDS]
    plan.sql_cols = [c for c in plan.columns if c.kind in cn.SQL_KINDS]
    if not plan.pk or any(c.kind not in cn.SQL_KINDS for c in plan.pk):
        plan.pk = []
        plan.strategy = "keyless"
    elif plan.pk[0].kind == "int":
        plan.strategy = "range"     # chunks are ranges of the first key column (emp_no of (emp_no, date))
    else:
        plan.strategy = "hash"
    plan.py_canon = [cn.python_canonicalizers(c) for c in plan.py_cols]


def _build_exprs(plan, options):
    for side in (MY, PG):
        expr = cn.my_expr if side is MY else cn.pg_expr
        is_null = (lambda c: cn.my_is_null(c, options)) if side is MY else cn.pg_is_null
        parts = [expr(c, options) for c in plan.sql_cols]
        nullable = [is_null(c) for c in plan.sql_cols if _may_be_null(c, options)]
        if nullable:
            parts.append(side.mask(nullable))
        if not parts:
            parts = ["''"]
        row = side.row_text(parts)
        key_text = side.row_text([expr(c, options) for c in plan.pk]) if plan.pk else None
        key_col = side.ident(plan.pk[0].source_name if side is MY else plan.pk[0].name) if plan.pk else None
        plan.exprs[side.name] = {
            "row": row, "h": side.h64(row) if plan.pk else side.h60(row), "md5": side.md5(row),
            "key_text": key_text, "key_col": key_col,
            "key_raw": [side.ident(c.source_name if side is MY else c.name) for c in plan.pk],
            "py_raw": [cn.my_raw(c) if side is MY else cn.pg_raw(c) for c in plan.py_cols],
            "all_raw": [cn.my_raw(c) if side is MY else cn.pg_raw(c) for c in plan.columns],
            "canon": {c.name: (expr(c, options), is_null(c)) for c in plan.sql_cols},
            "order": [_order_expr(side, c, expr(c, options)) for c in plan.pk],
            "scan_order": [_scan_order_expr(side, c, expr(c, options)) for c in plan.pk],
        }


def _may_be_null(col, options):
    """Whether the canonical value can be NULL: a nullable column on either side, or a zero date the
    transform mapped to NULL. Other columns add nothing to the null mask (a constant 0 costs time)."""
    return col.nullable or (col.kind in ("datetime", "date") and options.get("zero_date") == "null")


# Key kinds both engines order the same way by value; other key columns (text, enum/set, bit) are
# ordered by their canonical text's bytes (utf8mb4 binary = PostgreSQL's "C" collation)
NATURAL_ORDER_KINDS = ("int", "bool", "decimal", "float4", "float4_g6", "float8", "datetime", "date",
                       "time", "year", "bytes")


def _order_expr(side, col, canonical):
    if col.kind in NATURAL_ORDER_KINDS:
        return side.ident(col.source_name if side is MY else col.name)
    return "CAST(%s AS BINARY)" % canonical if side is MY else '(%s) COLLATE "C"' % canonical


def _scan_order_expr(side, col, _canonical):
    """The key column in its engine's own order (PostgreSQL: the column's collation, read from the
    primary key index without sorting). MySQL's collation and PostgreSQL's agree on most key text
    (codes, ASCII words); where they do not, the first wave's rechecks see it and both sides sort."""
    return side.ident(col.source_name if side is MY else col.name)


def digestible(plan):
    """Chunks can be hashed as a whole (MD5 of the rows' texts in key order): key ranges, SQL columns."""
    return plan.strategy == "range" and not plan.py_cols


def key_order(plan):
    """How chunk digests order rows: 'natural' (MySQL reads its PRIMARY KEY range in key order, and
    PostgreSQL its index, with no sort), 'scan' (text key columns: each engine's own key order,
    see _scan_order_expr) or 'sorted' (both sort by the canonical bytes)."""
    if plan.sorted_keys or plan.my_primary != [c.source_name for c in plan.pk]:
        return "sorted"
    if all(c.kind in NATURAL_ORDER_KINDS for c in plan.pk):
        return "natural"
    if all(c.kind in NATURAL_ORDER_KINDS or (c.kind == "text" and c.my_data_type != "enum") for c in plan.pk):
        return "scan"
    return "sorted"


# ---------------------------------------------------------------------------------------------
# running both sides at once

class Runner:
    def __init__(self, my, pg, jobs):
        self.my, self.pg = my, pg
        self.jobs = max(1, jobs)
        self.pool = ThreadPoolExecutor(max_workers=2 * self.jobs)

    def both(self, fn):
        """fn(side) on MySQL and PostgreSQL at the same time -> (mysql result, pg result)."""
        fut_my = self.pool.submit(fn, self.my)
        fut_pg = self.pool.submit(fn, self.pg)
        return fut_my.result(), fut_pg.result()

    def many(self, fn, items):
        """fn(side, item) for every item on both sides, concurrently -> [(my, pg)] in item order."""
        futures = [(self.pool.submit(fn, self.my, i), self.pool.submit(fn, self.pg, i)) for i in items]
        return [(a.result(), b.result()) for a, b in futures]

    def close(self):
        self.pool.shutdown(wait=True)


# ---------------------------------------------------------------------------------------------
# row hashes in Python (tables with Python-side columns, and row-level diffs)

def python_row_hash(plan, md5hex, py_values, side):
    """The row's hash as an int: from SQL's md5 alone, or combined with the Python-side columns."""
    bits = 16 if plan.pk else 15
    if not plan.py_cols:
        return int(md5hex[:bits], 16)
    index = 0 if side.dialect is MY else 1
    parts = [md5hex]
    for canon, value in zip(plan.py_canon, py_values):
        text = canon[index](value)
        parts.append(NULL_MARK if text is None else "v" + text)
    digest = hashlib.md5("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return int(digest[:bits], 16)


def _as_text(value):
    if isinstance(value, (bytes, bytearray)):
        return value.decode("ascii")
    return value


# ---------------------------------------------------------------------------------------------
# chunk layout

@dataclass
class Layout:
    strategy: str
    base: int = 0
    width: int = 1
    chunks: int = 1
    numeric: bool = False

    def bounds(self, i):
        return self.base + i * self.width, self.base + (i + 1) * self.width


def table_stats(runner, plan):
    """(mysql (rows, min, max), pg (rows, min, max)) in one query per side."""
    def stats(side):
        if plan.strategy == "range":
            k = plan.x(side, "key_col")
            sql = "SELECT COUNT(*), MIN(%s), MAX(%s) FROM %s" % (k, k, plan.source(side))
        else:
            sql = "SELECT COUNT(*), NULL, NULL FROM %s" % plan.source(side)
        count, lo, hi = side.query(sql)[0]
        return int(count), None if lo is None else int(lo), None if hi is None else int(hi)
    return runner.both(stats)


def make_layout(plan, my_stats, pg_stats, chunk_rows):
    rows = max(my_stats[0], pg_stats[0], 1)
    if plan.strategy != "range":
        return Layout(plan.strategy, chunks=max(1, math.ceil(rows / chunk_rows)))
    lows = [s[1] for s in (my_stats, pg_stats) if s[1] is not None]
    highs = [s[2] for s in (my_stats, pg_stats) if s[2] is not None]
    if not lows:
        return Layout("range", base=0, width=1, chunks=1)
    base, top = min(lows), max(highs)
    span = top - base + 1
    width = max(1, math.ceil(span * chunk_rows / rows))
    return Layout("range", base=base, width=width, chunks=(span + width - 1) // width,
                  numeric=plan.pk[0].pg_type.startswith("numeric"))


# ---------------------------------------------------------------------------------------------
# chunk aggregates

def _agg(plan, side):
    h = plan.x(side, "h")
    return ("%s(%s)" % (side.xor, h)) if plan.pk else "SUM(%s)" % h


def _normalize_agg(plan, value):
    if value is None:
        return 0
    return int(value) & MASK64 if plan.pk else int(value)


def _bucket_expr(plan, side, layout):
    if layout.strategy == "range":
        return side.range_bucket(plan.x(side, "key_col"), layout.base, layout.width, layout.numeric)
    if layout.strategy == "hash":
        return side.bucket_of(plan.x(side, "key_text"), layout.chunks)
    h = plan.x(side, "h")
    return "MOD(%s, %d)" % (h, layout.chunks) if side.dialect is MY else "(%s %% %d)" % (h, layout.chunks)


def _range_where(plan, side, lo, hi):
    k = plan.x(side, "key_col")
    return "%s >= %d AND %s < %d" % (k, lo, k, hi)


def sql_aggregates(plan, side, layout, where):
    """{chunk: (rows, aggregate)} from one GROUP BY query on one side."""
    b = _bucket_expr(plan, side, layout)
    sql = "SELECT %s AS b, COUNT(*), %s FROM %s%s GROUP BY 1" % (
        b, _agg(plan, side), plan.source(side), " WHERE " + where if where else "")
    return {int(r[0]): (int(r[1]), _normalize_agg(plan, r[2])) for r in side.query(sql)}


def python_aggregates(plan, side, layout, where):
    """The same aggregates, hashing rows in Python (tables with JSON/embedding columns)."""
    result = {}
    if layout.strategy == "hash":
        cols = [_bucket_expr(plan, side, layout)]
    elif layout.strategy == "range":
        cols = [plan.x(side, "key_col")]
    else:
        cols = ["0"]
    cols += [plan.x(side, "md5")] + plan.x(side, "py_raw")
    sql = "SELECT %s FROM %s%s" % (", ".join(cols), plan.source(side), " WHERE " + where if where else "")
    keyed = bool(plan.pk)

    def consume(row):
        h = python_row_hash(plan, _as_text(row[1]), row[2:], side)
        if layout.strategy == "range":
            b = (int(row[0]) - layout.base) // layout.width
        elif layout.strategy == "hash":
            b = int(row[0])
        else:
            b = h % layout.chunks
        count, agg = result.get(b, (0, 0))
        result[b] = (count + 1, agg ^ h if keyed else agg + h)
    side.stream(sql, consume)
    return result


def aggregates(plan, side, layout, where):
    fn = python_aggregates if plan.py_cols else sql_aggregates
    return fn(plan, side, layout, where)


# ---------------------------------------------------------------------------------------------
# chunk digests: MD5 of a whole chunk's row texts in key order (one MD5 per chunk, not per row)

ER_CUT_GROUP_CONCAT = 1260        # "Row %u was cut by GROUP_CONCAT()"
ROW_SEPARATOR = "\n"


def _digest_select(plan, side, layout, chunk):
    row, where = plan.x(side, "row"), _range_where(plan, side, *layout.bounds(chunk))
    order = key_order(plan)
    if side.dialect is MY:
        if order == "sorted":
            sort, index = " ORDER BY %s" % ", ".join(plan.x(side, "order")), ""
        else:
            sort, index = "", " FORCE INDEX (PRIMARY)"
        return "SELECT %d, COUNT(*), MD5(GROUP_CONCAT(%s%s SEPARATOR '%s')) FROM %s%s WHERE %s" % (
            chunk, row, sort, ROW_SEPARATOR, plan.source(side), index, where)
    # the aggregate reads the ordered subquery in order (the index scan's order: no sort if natural)
    return ("SELECT %d, count(*), md5(string_agg(r, '%s')) FROM (SELECT %s AS r FROM %s WHERE %s "
            "ORDER BY %s) s" % (chunk, ROW_SEPARATOR, row, plan.source(side), where,
                                ", ".join(plan.x(side, "scan_order" if order == "scan" else "order"))))


# PostgreSQL's answer to a string_agg beyond 1 GB (a key range far wider than the average row says)
PG_TEXT_TOO_BIG = ("Cannot enlarge string buffer", "invalid memory alloc request size", "out of memory")


def chunk_digests(plan, side, layout, chunk_ids):
    """{chunk: (rows, md5 of the chunk's text)} in one query; None when a chunk's text was too long
    (MySQL cut its GROUP_CONCAT at group_concat_max_len, PostgreSQL refused a string_agg over 1 GB):
    the caller checks those chunks row by row."""
    warnings = []
    sql = " UNION ALL ".join(_digest_select(plan, side, layout, i) for i in chunk_ids)
    try:
        rows = side.query(sql, warnings)
    except VerifyError as err:
        if side.dialect is PG and any(text in str(err) for text in PG_TEXT_TOO_BIG):
            return None
        raise
    if any(code == ER_CUT_GROUP_CONCAT for code, _message in warnings):
        return None
    return {int(r[0]): (int(r[1]), _as_text(r[2]) or "") for r in rows}


# ---------------------------------------------------------------------------------------------
# finding the differing rows

def row_hashes(plan, side, where):
    """{key: (hash, raw key values)} (keyless: {hash: [count, sample raw row]}) for rows in where."""
    result = {}
    if plan.pk:
        single = plan.strategy == "range" and len(plan.pk) == 1
        key = plan.x(side, "key_col") if single else plan.x(side, "key_text")
        cols = [key] + plan.x(side, "key_raw") + [plan.x(side, "md5")] + plan.x(side, "py_raw")
        nkey = len(plan.pk)

        def consume(row):
            k = row[0] if single else _as_text(row[0])
            rest = row[1 + nkey:]
            result[k] = (python_row_hash(plan, _as_text(rest[0]), rest[1:], side), tuple(row[1:1 + nkey]))
    else:
        cols = [plan.x(side, "md5")] + plan.x(side, "py_raw") + plan.x(side, "all_raw")
        npy = len(plan.py_cols)

        def consume(row):
            h = python_row_hash(plan, _as_text(row[0]), row[1:1 + npy], side)
            entry = result.setdefault(h, [0, row[1 + npy:]])
            entry[0] += 1
    side.stream("SELECT %s FROM %s WHERE %s" % (", ".join(cols), plan.source(side), where), consume)
    return result


def diff_rows(runner, plan, where, limit):
    """Differences among the rows matching where (both sides' where texts), at most limit."""
    my_rows, pg_rows = runner.many(lambda side, _i: row_hashes(plan, side, where[side.name]), [0])[0]
    out = []
    if plan.pk:
        for k in sorted(set(my_rows) | set(pg_rows), key=lambda v: (str(type(v)), v)):
            a, b = my_rows.get(k), pg_rows.get(k)
            if a is not None and b is not None and a[0] == b[0]:
                continue
            out.append({"key_canonical": k, "mysql_key": a and a[1], "pg_key": b and b[1],
                        "kind": "missing_in_postgresql" if b is None else "extra_in_postgresql"
                        if a is None else "values_differ"})
            if len(out) >= limit:
                break
        return out
    for h in sorted(set(my_rows) | set(pg_rows)):
        a, b = my_rows.get(h, [0, None]), pg_rows.get(h, [0, None])
        if a[0] != b[0]:
            out.append({"kind": "missing_in_postgresql" if a[0] > b[0] else "extra_in_postgresql",
                        "copies": abs(a[0] - b[0]), "mysql_copies": a[0], "postgresql_copies": b[0],
                        "row": _display_row(plan, a[1] if a[0] > b[0] else b[1])})
            if len(out) >= limit:
                break
    return out


def bisect_range(runner, plan, bounds, limit, found):
    """Split [lo, hi) while both sides disagree, then compare row hashes in the small ranges."""
    lo, hi = bounds
    if len(found) >= limit:
        return

    def summary(side, _i):
        got = aggregates(plan, side, Layout("range", base=lo, width=hi - lo, chunks=1),
                         _range_where(plan, side, lo, hi))
        return got.get(0, (0, 0))
    my_sum, pg_sum = runner.many(summary, [0])[0]
    if my_sum == pg_sum:
        return
    if max(my_sum[0], pg_sum[0]) <= LEAF_ROWS or hi - lo <= 1 or plan.py_cols:
        where = {s.name: _range_where(plan, s, lo, hi) for s in (MY, PG)}
        found.extend(diff_rows(runner, plan, where, limit - len(found)))
        return
    mid = lo + (hi - lo) // 2
    bisect_range(runner, plan, (lo, mid), limit, found)
    bisect_range(runner, plan, (mid, hi), limit, found)


def _display(value):
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).hex()
    text = str(value) if not isinstance(value, (int, float, str)) else value
    if isinstance(text, str) and len(text) > DISPLAY_LIMIT:
        return text[:DISPLAY_LIMIT] + "... (%d chars)" % len(text)
    return text


def _display_row(plan, raw):
    if raw is None:
        return None
    return {c.name: _display(v) for c, v in zip(plan.columns, raw)}


def _key_where(plan, side, raw_key):
    names = plan.x(side, "key_raw")
    return " AND ".join("%s = %s" % (n, side.literal(v)) for n, v in zip(names, raw_key))


def fetch_row(plan, side, raw_key):
    """Raw values and per-column canonical text of one row (for the report)."""
    canon = plan.x(side, "canon")
    cols = plan.x(side, "all_raw") + ["%s, %s" % canon[c.name] for c in plan.sql_cols]
    rows = side.query("SELECT %s FROM %s WHERE %s" % (", ".join(cols), plan.source(side),
                                                    _key_where(plan, side, raw_key)))
    if not rows:
        return None
    row = rows[0]
    n = len(plan.columns)
    raw = row[:n]
    canonical = {}
    for i, c in enumerate(plan.sql_cols):
        value, is_null = row[n + 2 * i], row[n + 2 * i + 1]
        canonical[c.name] = None if int(is_null) else str(_as_text(value))
    index = 0 if side.dialect is MY else 1
    for c, fns in zip(plan.py_cols, plan.py_canon):
        canonical[c.name] = fns[index](raw[plan.columns.index(c)])
    return raw, canonical


def describe_difference(plan, my, pg, diff):
    """Turn a keyed difference into the report entry: the key and both sides' differing values."""
    if not plan.pk:
        return diff
    raw_key = diff["mysql_key"] or diff["pg_key"]
    key = {c.name: _display(v) for c, v in zip(plan.pk, raw_key)}
    entry = {"kind": diff["kind"], "key": key}
    my_row = fetch_row(plan, my, diff["mysql_key"]) if diff["mysql_key"] else None
    pg_row = fetch_row(plan, pg, diff["pg_key"]) if diff["pg_key"] else None
    if my_row and pg_row:
        cols = {}
        for i, c in enumerate(plan.columns):
            if my_row[1][c.name] != pg_row[1][c.name]:
                cols[c.name] = {"mysql": _display(my_row[0][i]), "postgresql": _display(pg_row[0][i])}
        entry["columns"] = cols
    elif my_row or pg_row:
        entry["row"] = _display_row(plan, (my_row or pg_row)[0])
    return entry


# ---------------------------------------------------------------------------------------------
# one table

def _chunk_where(plan, side, layout, chunk_ids):
    if layout.strategy == "range":
        return " OR ".join("(%s)" % _range_where(plan, side, *layout.bounds(i)) for i in chunk_ids)
    return "%s IN (%s)" % (_bucket_expr(plan, side, layout), ", ".join(str(i) for i in chunk_ids))


def _segments(plan, layout, chunk_ids):
    """Groups of chunks queried together: contiguous key ranges, or all buckets in one scan."""
    if layout.strategy != "range":
        return [chunk_ids]
    size = DIGEST_SEGMENT_CHUNKS if digestible(plan) else SEGMENT_CHUNKS
    return [chunk_ids[i:i + size] for i in range(0, len(chunk_ids), size)]


def _segment_where(plan, side, layout, segment, sampled):
    if layout.strategy == "range":
        if not sampled:
            return _range_where(plan, side, layout.bounds(segment[0])[0], layout.bounds(segment[-1])[1])
        return _chunk_where(plan, side, layout, segment)
    return _chunk_where(plan, side, layout, segment) if sampled else None


@dataclass
class Settings:
    mode: str
    chunk_rows: int
    sample_percent: float
    max_diffs: int
    rng: random.Random
    progress: object


# MySQL character sets whose every stored byte string reads back as utf8mb4 unchanged (latin1 maps
# all 256 bytes). Any other set (ascii, sjis, gbk, ...) may hold bytes without a Unicode form (an
# ALTER from VARBINARY, a non-strict insert): the server sends '?' for them to every utf8mb4 reader,
# so the dump, the live copy and the checksums would all carry the same '?'. Looked for apart.
LOSSLESS_CHARSETS = (None, "utf8mb4", "utf8mb3", "utf8", "binary", "latin1")
TEXT_KINDS = ("text", "set")


def unrepresentable_text(my, plan, limit):
    """Rows of text columns in another character set whose reading as utf8mb4 adds '?' characters
    (bytes with no Unicode form): one difference each, with its key, column and both byte forms."""
    found = []
    for col in plan.columns:
        if col.my_charset in LOSSLESS_CHARSETS or col.kind not in TEXT_KINDS or len(found) >= limit:
            continue
        name = mysql_ident(col.source_name)
        read = "CONVERT(%s USING utf8mb4)" % name
        marks = "CHAR_LENGTH(%s) - CHAR_LENGTH(REPLACE(%s, '?', ''))"
        keys = [mysql_ident(c.source_name) for c in plan.pk]
        sql = "SELECT %s FROM %s WHERE %s > %s LIMIT %d" % (
            ", ".join(keys + ["HEX(%s)" % name, read]), plan.source(my), marks % (read, read),
            marks % (name, name), limit - len(found))
        for row in my.query(sql):
            entry = {"kind": "unrepresentable_text", "column": col.name, "charset": col.my_charset,
                     "mysql_hex": _as_text(row[len(keys)]), "read_as": _display(row[len(keys) + 1]),
                     "reason": "bytes with no Unicode form in MySQL's %s: every utf8mb4 reader (dump,"
                               " live copy) gets '?' for them; fix the source value or its character"
                               " set" % col.my_charset}
            if keys:
                entry["key"] = {c.name: _display(v) for c, v in zip(plan.pk, row, strict=False)}
            found.append(entry)
    return found


def verify_table(runner, plan, settings):
    started = time.monotonic()
    (my_stats, pg_stats) = table_stats(runner, plan)
    result = {"mysql": "%s.%s" % plan.my_name, "postgresql": "%s.%s" % plan.pg_name,
              "strategy": plan.strategy, "mysql_rows": my_stats[0], "postgresql_rows": pg_stats[0],
              "python_columns": [c.name for c in plan.py_cols], "differences": []}
    _float_warning(plan, result)
    if my_stats[0] != pg_stats[0]:
        result["differences"].append({"kind": "row_count", "mysql": my_stats[0], "postgresql": pg_stats[0]})
    result["differences"].extend(unrepresentable_text(runner.my, plan, settings.max_diffs))
    if settings.mode != "counts":
        _checksum_table(runner, plan, settings, (my_stats, pg_stats), result)
    result["seconds"] = round(time.monotonic() - started, 3)
    result["status"] = "differs" if result["differences"] else "ok"
    return result


def source_float_policy(manifest, my):
    """How FLOAT columns can be compared, from the manifest's source: {"digits": 6 or None, "flavor",
    "server_version", "version_from"}. A dump manifest without server_version is judged by the
    server verify connects to (normally the one that was dumped); the report says so."""
    source = manifest.get("source") or {}
    version, version_from = source.get("server_version"), "manifest"
    if source.get("kind") == "dump" and not version:
        version, version_from = my.query("SELECT VERSION()")[0][0], "connected server"
    flavor = cn.server_flavor(version)[0]
    return {"digits": cn.dump_float_digits(source.get("kind"), version), "flavor": flavor,
            "server_version": version, "version_from": version_from, "source_kind": source.get("kind")}


def _float_warning(plan, result):
    names = plan.reduced_float_columns
    if not names:
        return
    result["reduced_precision_columns"] = names
    result["warnings"] = ["FLOAT column(s) %s compared at %d significant digits: the source is a dump, "
                          "and MariaDB / MySQL < 8 dump FLOAT with %d significant digits (%%g), so the "
                          "migrated values can hold no more; use live_copy to carry and verify the exact "
                          "float32 values" % (", ".join(names), cn.DUMP_FLOAT_DIGITS, cn.DUMP_FLOAT_DIGITS)]


def _differing_chunks(segment, mine, theirs):
    differing = [i for i in segment if mine.get(i, (0, 0)) != theirs.get(i, (0, 0))]
    extra = (set(mine) | set(theirs)) - set(segment)
    return differing + sorted(i for i in extra if mine.get(i) != theirs.get(i))


def _chunk_rows(runner, plan, chunk_rows):
    """Rows per chunk for chunk digests: at most chunk_rows, and about CHUNK_TEXT_BYTES of row text
    (MySQL's average row length) so that one chunk's text fits in memory on both servers."""
    rows = runner.my.query(
        "SELECT AVG_ROW_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
        % (runner.my.literal(plan.my_name[0]), runner.my.literal(plan.my_name[1])))
    avg = int(rows[0][0] or 0) if rows else 0
    if avg <= 0:
        return chunk_rows
    return max(1, min(chunk_rows, CHUNK_TEXT_BYTES // (2 * avg)))   # x2: bytes are compared as hex


def _checksum_table(runner, plan, settings, stats, result):
    digests = digestible(plan)
    chunk_rows = _chunk_rows(runner, plan, settings.chunk_rows) if digests else settings.chunk_rows
    layout = make_layout(plan, stats[0], stats[1], chunk_rows)
    chunk_ids = list(range(layout.chunks))
    sampled = settings.mode == "sample"
    if sampled:
        want = max(1, math.ceil(layout.chunks * settings.sample_percent / 100.0))
        chunk_ids = sorted(settings.rng.sample(chunk_ids, min(want, layout.chunks)))
    result.update(chunks=layout.chunks, chunks_checked=len(chunk_ids),
                  chunk_checksum="md5_of_chunk" if digests else "xor_of_row_md5")
    segments = _segments(plan, layout, chunk_ids)
    differing, suspects = [], []
    done = 0

    def run(side, segment):
        if digests:
            return chunk_digests(plan, side, layout, segment)
        return aggregates(plan, side, layout, _segment_where(plan, side, layout, segment, sampled))

    def check(batch):
        nonlocal done
        for segment, (mine, theirs) in zip(batch, runner.many(run, batch)):
            if mine is None or theirs is None:
                suspects.extend(segment)          # a chunk's text was cut: check the segment row by row
            else:
                (suspects if digests else differing).extend(_differing_chunks(segment, mine, theirs))
            done += len(segment)
            settings.progress({"table": plan.key, "chunks_done": done, "chunks": len(chunk_ids)})
    if digests and key_order(plan) == "scan":
        # a first wave proves PostgreSQL orders the text key as MySQL does; else both sides sort
        probe, segments = segments[:runner.jobs], segments[runner.jobs:]
        check(probe)
        confirmed = _recheck(runner, plan, layout, sorted(set(suspects)))
        if len(confirmed) < len(set(suspects)):
            plan.sorted_keys = True
        differing.extend(confirmed)
        result["chunks_rechecked"] = len(set(suspects))
        suspects = []
    check(segments)
    if digests:
        result["chunks_rechecked"] = result.get("chunks_rechecked", 0) + len(set(suspects))
        differing.extend(_recheck(runner, plan, layout, sorted(set(suspects))))
        result["key_order"] = key_order(plan)
    result["chunks_differing"] = len(set(differing))
    result["differences"].extend(_locate(runner, plan, layout, sorted(set(differing)), settings.max_diffs))


def _recheck(runner, plan, layout, chunk_ids):
    """The chunks whose row hashes (XOR of per-row MD5s, independent of row order) differ: a differing
    chunk digest is confirmed this way before bisecting, so an order the two engines did not agree on
    (or a cut GROUP_CONCAT) costs time, never a false report."""
    groups = [chunk_ids[i:i + SEGMENT_CHUNKS] for i in range(0, len(chunk_ids), SEGMENT_CHUNKS)]

    def run(side, group):
        return aggregates(plan, side, layout, _chunk_where(plan, side, layout, group))
    return [i for group, (mine, theirs) in zip(groups, runner.many(run, groups))
            for i in _differing_chunks(group, mine, theirs)]


def _locate(runner, plan, layout, differing, max_diffs):
    found = []
    for i in differing:
        if len(found) >= max_diffs:
            break
        if layout.strategy == "range":
            bisect_range(runner, plan, layout.bounds(i), max_diffs, found)
        else:
            where = {s.name: _chunk_where(plan, s, layout, [i]) for s in (MY, PG)}
            found.extend(diff_rows(runner, plan, where, max_diffs - len(found)))
    entries = [describe_difference(plan, runner.my, runner.pg, d) for d in found[:max_diffs]]
    if differing and not entries:
        entries.append({"kind": "chunk_checksum", "chunks": differing[:20]})
    return entries


# ---------------------------------------------------------------------------------------------
# the whole run

def select_tables(manifest, names):
    tables = manifest.get("tables") or []
    if not names:
        return tables
    wanted = set(names)
    chosen = [t for t in tables if "%s.%s" % (t["schema"], t["name"]) in wanted or t["name"] in wanted]
    known = {"%s.%s" % (t["schema"], t["name"]) for t in chosen} | {t["name"] for t in chosen}
    unknown = sorted(n for n in wanted if n not in known)
    if unknown:
        raise VerifyError("tables not in the manifest: %s" % ", ".join(unknown))
    return chosen


def manifest_problem(manifest):
    """Why this manifest cannot stand for the source, or None: verify compares the source with the
    manifest, so an unfinished one, or one without tables, would pass while data is missing."""
    where = "manifest of %s" % ((manifest.get("source") or {}).get("path") or "the migration dir")
    if not manifest.get("complete"):
        return ("%s is not marked complete (the transform or copy did not finish, or failed): "
                "finish it before verifying" % where)
    if not manifest.get("tables"):
        return ("%s holds no table (a dump cut short, or include/exclude options that match nothing): "
                "nothing was migrated" % where)
    return None


def source_tables_missing(my, manifest):
    """The source's base tables, in the manifest's databases, that the manifest lacks and that its
    include/exclude options did not leave out on purpose: a dump cut between two tables, or a
    table created after the dump, is named instead of passing unseen."""
    options = manifest.get("options") or {}
    have = {(t.get("source_schema") or t["schema"], t.get("source_name") or t["name"])
            for t in manifest["tables"]}
    dbs = sorted({db for db, _name in have} | set((manifest.get("source") or {}).get("databases") or []))
    rows = my.query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA IN (%s) AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')"
                    % ", ".join(my.literal(db) for db in dbs))
    return sorted("%s.%s" % (db, name) for db, name in rows if (db, name) not in have
                  and mf.table_wanted(db, name, options.get("include_tables"), options.get("exclude_tables")))


def _missing_entry(key):
    return {"status": "differs", "differences": [{
        "kind": "missing_from_manifest",
        "reason": "source table %s is not in the manifest (left out of the dump or copy: a dump cut short, "
                  "or a table created since); migrate it, or name the tables to verify with `tables` if "
                  "it was left out on purpose" % key}]}


def verify(mysql_params, pg_params, manifest, *, mode="checksums", chunk_rows=10000, sample_percent=10.0,
           tables=None, max_diffs=10, jobs=1, seed=None, progress=None):
    """Compare every manifest table; returns the report (report['ok'] is the verdict)."""
    if mode not in ("counts", "checksums", "sample"):
        raise VerifyError("mode must be counts, checksums or sample, not %r" % mode)
    if not 0 < sample_percent <= 100:
        raise VerifyError("sample_percent must be in (0, 100], not %r" % sample_percent)
    if chunk_rows < 1:
        raise VerifyError("chunk_rows must be positive, not %r" % chunk_rows)
    progress = progress or (lambda _event: None)
    problem = manifest_problem(manifest)
    if problem:
        raise VerifyError(problem)
    options = dict(manifest.get("options") or {})
    chosen = select_tables(manifest, tables)
    settings = Settings(mode, chunk_rows, sample_percent, max_diffs, random.Random(seed), progress)
    started = time.monotonic()
    my, pg = open_sides(mysql_params, pg_params, jobs)
    runner = Runner(my, pg, jobs)
    report = {"mode": mode, "chunk_rows": chunk_rows, "tables": {}, "warnings": []}
    if mode == "sample":
        report["sample_percent"] = sample_percent
    try:
        floats = source_float_policy(manifest, my)
        report["float_precision"] = floats
        if not tables:
            for key in source_tables_missing(my, manifest):
                report["tables"][key] = _missing_entry(key)
        for table in chosen:
            key = "%s.%s" % (table["schema"], table["name"])
            try:
                plan = build_plan(my, pg, table, options, floats)
            except VerifyError as err:
                report["tables"][key] = {"status": "differs", "differences": [
                    {"kind": "missing", "reason": str(err)}]}
                continue
            report["tables"][key] = verify_table(runner, plan, settings)
            report["warnings"].extend("%s: %s" % (key, w) for w in report["tables"][key].get("warnings", []))
            progress({"table": key, "done": True, "status": report["tables"][key]["status"]})
    finally:
        runner.close()
        my.close()
        pg.close()
    _totals(report, started)
    return report


def _totals(report, started):
    seconds = time.monotonic() - started
    rows = sum(t.get("mysql_rows", 0) for t in report["tables"].values())
    failed = sorted(k for k, t in report["tables"].items() if t["status"] != "ok")
    report.update(ok=not failed, failed_tables=failed, rows=rows, seconds=round(seconds, 3),
                  rows_per_second=int(rows / seconds) if seconds > 0 else None,
                  differences=sum(len(report["tables"][k]["differences"]) for k in failed))


def failure_message(report, limit=5):
    """One line naming the differing tables and their first keys and columns."""
    parts = []
    for key in report["failed_tables"]:
        diffs = report["tables"][key]["differences"]
        shown = []
        for d in diffs[:limit]:
            if "key" in d:
                cols = ", ".join("%s: mysql %r, postgresql %r" % (c, v["mysql"], v["postgresql"])
                                 for c, v in d.get("columns", {}).items())
                shown.append("%s %s%s" % (d["kind"], d["key"], " (%s)" % cols if cols else ""))
            elif d["kind"] == "row_count":
                shown.append("row count mysql %s, postgresql %s" % (d["mysql"], d["postgresql"]))
            elif "row" in d:
                shown.append("%s row %s" % (d["kind"], d["row"]))
            else:
                shown.append(d.get("reason") or d["kind"])
        parts.append("%s: %s" % (key, "; ".join(shown)))
    return "migration_verify: %d table(s) differ: %s" % (len(report["failed_tables"]), " | ".join(parts))


def write_report(report, path):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    mf.write_text(tmp, json.dumps(report, indent=1, default=str, ensure_ascii=False) + "\n")   # 0600
    os.replace(tmp, path)
    return path
