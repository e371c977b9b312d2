"""Marker lines in live_copy's stream: rows of big values fetched raw, failed expressions refused.

    big = large_columns(task_columns)                       # TEXT/BLOB/JSON/long VARCHAR columns
    limit = effective_threshold(large_value_bytes, max_allowed_packet)
    plan = RawPlan("db", "t", columns, big, policies=policies, key_columns=key_columns)
    stream = MarkedRows(reader.stream(select), label="db.t", key_names=["id"], raw=reader.raw,
                        raw_sql=plan.select(where, limit), plan=plan)
    cursor.copy_expert(copy_sql, stream)

Why: MySQL escapes text for COPY with nested REPLACE, which is quadratic (each replacement moves the
rest of the string: about 4 s for 1 MB of text with 12k newlines), and a string function whose result
would pass max_allowed_packet returns NULL with a mere warning. So the SELECT (live.select) writes,
instead of such a row, a marker line that no data line can be (COPY text never has a backslash before
L or E):
  `\\L<TAB>key`  the row's big columns hold more than the threshold: not evaluated by MySQL; this
                 filter puts in its place the row read through a second session of the SAME snapshot
                 (PyMySQL, the text protocol with no conversion: the raw bytes, no function over them),
                 COPY-escaped (or hex-encoded for bytea) in 1 MB slices, so memory is one value.
  `\\E<TAB>key`  an expression over a non-NULL value gave NULL (max_allowed_packet): an error naming
                 the row, never a NULL written for a value that exists.

The raw pass is one query per table part, `SELECT <fields> FROM t WHERE <part> AND <big condition>`,
read row by row as the markers come (unbuffered), so the rows of the two queries pair in order: both
scan the clustered index (a big column cannot be covered by a secondary index), in one snapshot. Each
raw row's key is checked against its marker's, and the counts at the end: a mismatch is an error.
Other columns of a raw row are still the SELECT's own COPY-text expressions, fetched one by one.
"""
import collections
import contextlib

from ..copytext import NULL, copy_escape_bytes, parse_row
from ..errors import LargeValueError
from ..quoting import mysql_ident
from .select import field_expression, needs_python

DEFAULT_LARGE_VALUE_BYTES = 16 << 10   # nested REPLACE costs ~0.6 ms at 16 KB, ~14 ms at 64 KB
SLICE = 1 << 20
LARGE_MARK = b"\\L"
OVERFLOW_MARK = b"\\E"
_BIG_TYPES = ("text", "mediumtext", "longtext", "blob", "mediumblob", "longblob", "json", "long",
              "long varchar", "long varbinary")
_SIZED_TYPES = ("varchar", "varbinary")
_SIZED_LIMIT = 1024          # characters: varchar(1025) and up may hold more than 4 KB


def is_large(col):
    """A column whose values may be big and whose expression is escaping or hex (live.select)."""
    if needs_python(col) or col.converter not in ("text", "json", "bytea"):
        return False
    if col.base_type in _BIG_TYPES:
        return True
    return col.base_type in _SIZED_TYPES and (col.length or 0) > _SIZED_LIMIT


def large_columns(columns):
    return [c for c in columns if is_large(c)]


def effective_threshold(large_value_bytes, max_allowed_packet):
    """The byte count above which a row takes the raw route. Escaping at most doubles a value, so
    a quarter of max_allowed_packet keeps every line MySQL builds under the packet."""
    limit = int(large_value_bytes if large_value_bytes is not None else DEFAULT_LARGE_VALUE_BYTES)
    if max_allowed_packet:
        limit = min(limit, int(max_allowed_packet) // 4)
    return max(1, limit)


class RawPlan:
    """The raw pass of one table: which fields are fetched raw, and how each becomes COPY text."""

    def __init__(self, schema, table, columns, large, *, policies, key_columns):
        self.schema, self.table = schema, table
        big = {c.source_name for c in large}
        self.kinds, self.exprs = [], []
        for c in columns:                       # COPY order (live.select.ordered_columns)
            if c.source_name in big:
                self.kinds.append("bytes" if c.converter == "bytea" else "text")
                self.exprs.append(mysql_ident(c.source_name))
            else:
                self.kinds.append("sql")        # the data line's own expression: already COPY text
                self.exprs.append(field_expression(c, policies))
        self.names = [c.source_name for c in columns]
        self.nullable = [c.nullable for c in columns]
        self.key_positions = [self.names.index(k.source_name) for k in key_columns]
        self.strip_nul = policies is not None and policies.nul_bytes == "strip"

    def select(self, where, big_condition):
        sql = "SELECT %s FROM %s.%s WHERE " % (", ".join(self.exprs), mysql_ident(self.schema),
                                               mysql_ident(self.table))
        return sql + ("(%s) AND %s" % (where, big_condition) if where else big_condition)

    def key_text(self, row):
        return [row[i] if row[i] is not None else NULL for i in self.key_positions]

    def pieces(self, row, label, key):
        """COPY text of one raw row, as slices (a 50 MB blob is never copied whole)."""
        for i, (kind, value) in enumerate(zip(self.kinds, row, strict=True)):
            if i:
                yield b"\t"
            if value is None:
                if kind == "sql" or not self.nullable[i]:
                    raise LargeValueError("live copy %s: row %s, column %r: MySQL gave NULL for a value"
                                          " (over max_allowed_packet?)" % (label, key, self.names[i]))
                yield NULL
            elif kind == "sql":
                yield value
            elif kind == "bytes":
                yield b"\\\\x"
                for j in range(0, len(value), SLICE):
                    yield value[j:j + SLICE].hex().encode("ascii")
            else:
                text = value.replace(b"\0", b"") if self.strip_nul else value
                for j in range(0, len(text), SLICE):
                    yield copy_escape_bytes(text[j:j + SLICE])
        yield b"\n"


class RawReader:
    """A PyMySQL session inside the readers' snapshot (opened by live.snapshot), one query at a time."""

    def __init__(self, conn, name):
        self.conn, self.name = conn, name
        self.cursor = None

    @property
    def connection_id(self):
        return self.conn.thread_id()

    def start(self, sql):
        import pymysql

        self.cursor = self.conn.cursor(pymysql.cursors.SSCursor)
        self._call(self.cursor.execute, sql)

    def fetch(self):
        return self._call(self.cursor.fetchone)

    def finish(self):
        """End the query; True when it had no row left over."""
        extra = self.fetch()
        self.drain()
        return extra is None

    def drain(self):
        """Read away what is left of the current query (a failed part), keeping the session; a
        session that cannot is closed (the part's error is the one to report)."""
        if self.cursor is not None:
            cursor, self.cursor = self.cursor, None
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - see the docstring
                _forget_result(cursor)
                self.close()

    def warnings(self):
        with self.conn.cursor() as cur:
            self._call(cur.execute, "SHOW WARNINGS")
            return [tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in r)
                    for r in cur.fetchall()]

    def close(self):
        if self.cursor is not None:       # unread rows: let the socket go without reading them
            _forget_result(self.cursor)
            self.cursor = None
        with contextlib.suppress(Exception):  # a dead session is closed already
            self.conn.close()

    def _call(self, fn, *args):
        import pymysql

        try:
            return fn(*args)
        except pymysql.err.MySQLError as err:
            raise LargeValueError("%s (raw reads) failed: %s" % (self.name, err.args[-1])) from None


def _forget_result(cursor):
    """An unbuffered result left unread: PyMySQL would read it on garbage collection (from a socket
    closed by then)."""
    result = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    cursor._result = None


class MarkedRows:
    """File-like: the reader's COPY text with every marker line replaced by its raw row, or refused.

    Lines are kept whole (a partial line waits for the next read); a block without markers is passed
    through as it came: two C-speed searches per block, no per-row Python."""

    def __init__(self, source, *, label, key_names, raw=None, raw_sql=None, plan=None):
        self.source, self.label, self.key_names = source, label, key_names
        self.raw, self.raw_sql, self.plan = raw, raw_sql, plan
        self.partial = b""
        self.pending = collections.deque()
        self.nbytes = 0
        self.large_rows = 0
        self.failure = None   # the error raised in read(): psycopg2 reports it only as text
        self._started = False

    def read(self, size=-1):
        try:
            return self._read(size)
        except LargeValueError as err:
            self.failure = err
            raise

    def _read(self, size):
        while True:
            piece = self._next_pending()
            if piece is not None:
                self.nbytes += len(piece)
                return piece
            chunk = self.source.read(size)
            if not chunk:
                if self.partial:
                    raise LargeValueError("live copy %s: the result ended inside a row" % self.label)
                self._finish_raw()
                return b""
            data = self.partial + chunk
            end = data.rfind(b"\n") + 1
            self.partial = data[end:]
            if end:
                self._scan(data[:end] if end < len(data) else data)

    def readline(self, size=-1):
        return self.read(size)

    def _next_pending(self):
        while self.pending:
            item = self.pending[0]
            if isinstance(item, bytes):
                self.pending.popleft()
                if item:
                    return item
                continue
            piece = next(item, None)
            if piece is None:
                self.pending.popleft()
                continue
            return piece
        return None

    def _scan(self, block):
        """Queue block with its marker lines (each at a line start) replaced."""
        pos = 0
        while True:
            start = _marker_at(block, pos)
            if start < 0:
                self.pending.append(block[pos:] if pos else block)
                return
            self.pending.append(block[pos:start])
            end = block.index(b"\n", start)
            self.pending.append(self._replace(block[start:end]))
            pos = end + 1

    def _key(self, fields):
        parts = ["%s=%s" % (n, parse_row(v)[0]) for n, v in zip(self.key_names, fields, strict=False)]
        return ", ".join(parts) or "(no primary key)"

    def _replace(self, line):
        fields = line.split(b"\t")
        key = self._key(fields[1:])
        if fields[0] == OVERFLOW_MARK:
            raise LargeValueError(
                "live copy %s: row %s: MySQL gave NULL for a non-NULL value (the value or its COPY text is"
                " over max_allowed_packet); raise max_allowed_packet on the server, or lower"
                " large_value_bytes so that the row is read raw" % (self.label, key))
        if self.raw is None:
            raise LargeValueError("live copy %s: row %s: a large-value marker without a raw session"
                                  % (self.label, key))
        if not self._started:
            self.raw.start(self.raw_sql)
            self._started = True
        row = self.raw.fetch()
        if row is None:
            raise LargeValueError("live copy %s: row %s: the raw read of large values ended early (the"
                                  " two reads of the snapshot disagree)" % (self.label, key))
        if self.key_names and self.plan.key_text(row) != fields[1:]:
            raise LargeValueError("live copy %s: row %s: the raw read gave row %s instead (the two reads"
                                  " of the snapshot disagree)"
                                  % (self.label, key, self._key(self.plan.key_text(row))))
        self.large_rows += 1
        return self.plan.pieces(row, self.label, key)

    def _finish_raw(self):
        if self._started:
            self._started = False
            if not self.raw.finish():
                raise LargeValueError("live copy %s: the raw read of large values has more rows than the"
                                      " data read marked (the two reads of the snapshot disagree)"
                                      % self.label)

    def drain(self):
        """After a failed COPY: finish the raw query so that the session can serve the next part."""
        if self._started and self.raw is not None:
            self._started = False
            self.raw.drain()


def _marker_at(block, pos):
    """Index of the first marker line starting at or after pos (block starts at a line start), or -1."""
    if block.startswith(LARGE_MARK, pos) or block.startswith(OVERFLOW_MARK, pos):
        return pos
    hits = [i for i in (block.find(b"\n" + LARGE_MARK, pos), block.find(b"\n" + OVERFLOW_MARK, pos))
            if i >= 0]
    return min(hits) + 1 if hits else -1
