"""COPY one data file into one table, and isolate the rows PostgreSQL refuses.

    copy_file(cur, copy_sql, path, on_bytes=None) -> rows          (the fast path: one COPY)
    isolator = RejectIsolator(cur, copy_sql, path, rejects, max_rejects, label)
    isolator.run() -> (rows_loaded, rows_rejected)                  (the slow path, after a failure)

The slow path streams the file in batches; each batch is COPYed inside a SAVEPOINT, and a batch that
fails is split in halves, recursively, until the refused rows stand alone. Each refused row goes to
the reject file with its line number in the data file and PostgreSQL's error in the .log.
"""
import io
import os
import re
import sys
import threading

from .. import manifest as mf
from ..errors import ConnectionLost, RowsRejected

READ_SIZE = 1 << 18        # bytes handed to libpq per read: large enough to keep COPY busy
BATCH_ROWS = 10000         # rows per SAVEPOINT in the slow path
BATCH_BYTES = 8 << 20      # ... or bytes, whichever comes first (bounded memory)
ROW_ERROR_CLASSES = ("22", "23")  # data exceptions and integrity violations: the row's fault


def is_row_error(err):
    """A COPY failure caused by the data (as opposed to the server, the connection, a lock)."""
    code = getattr(err, "pgcode", None) or ""
    return code[:2] in ROW_ERROR_CLASSES


def describe_pg_error(err, line_no=None):
    """PostgreSQL's primary message plus its COPY context ('COPY t, line 3, column c: ...'); with
    line_no, the context's batch-relative line number is replaced by the data file's."""
    diag = getattr(err, "diag", None)
    primary = (diag.message_primary if diag is not None and diag.message_primary else str(err)).strip()
    context = (diag.context or "").strip() if diag is not None else ""
    first_context = context.splitlines()[0] if context else ""
    if line_no is not None:
        first_context = re.sub(r", line \d+", ", line %d" % line_no, first_context, count=1)
    return primary + (" (%s)" % first_context if first_context else "")


def lost_connection(err, conn, what):
    """ConnectionLost naming `what` (the table and its file) when err came from the server ending
    the connection (pg_ctl stop -m fast, a restart, the network), else None. psycopg2 raises such a
    loss in the middle of COPY FROM STDIN as a SystemError whose cause is the server's error."""
    cause = err.__cause__ if isinstance(err, SystemError) and err.__cause__ is not None else err
    if not getattr(conn, "closed", 0):
        return None
    reason = getattr(_SERVER_GONE, "reason", None) or (
        describe_pg_error(cause) if hasattr(cause, "diag") else str(cause).strip())
    return ConnectionLost("%s: the server closed the connection (%s): PostgreSQL was stopped or restarted,"
                          " or the network failed; the table's transaction rolled back; rerun when the"
                          " server is back (tables already committed are skipped)"
                          % (what, reason.splitlines()[0] if reason else "no reason given"))


def error_line(err):
    """The line number PostgreSQL names in a COPY error's context, or None."""
    diag = getattr(err, "diag", None)
    context = (diag.context or "") if diag is not None else ""
    marker = ", line "
    at = context.find(marker)
    if at < 0:
        return None
    digits = ""
    for ch in context[at + len(marker):]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


class _CountingReader:
    """A file wrapper that reports bytes read (progress) without touching the data."""

    def __init__(self, f, on_bytes):
        self._f, self._on_bytes = f, on_bytes

    def read(self, size=-1):
        data = self._f.read(size)
        self._on_bytes(len(data))
        return data

    def readline(self, size=-1):
        data = self._f.readline(size)
        self._on_bytes(len(data))
        return data


_SERVER_GONE = threading.local()        # .reason: the server's last word, printed away by psycopg2


def _quiet_copy_errors():
    """psycopg2 2.9 hands the server's error during COPY FROM STDIN (AdminShutdown on pg_ctl -m fast)
    to PyErr_Print, i.e. to sys.excepthook, which prints a traceback on stderr, then raises a vaguer
    error ("invalid socket"). Installed once: that one case is kept (lost_connection names it) and
    not printed; every other exception goes to the hook that was there."""
    previous = sys.excepthook
    if getattr(previous, "pgshift_copy_filter", False):
        return

    def hook(kind, value, tb):
        cause = value.__cause__ if isinstance(value, SystemError) else None
        if cause is not None and type(cause).__module__.startswith("psycopg2"):
            _SERVER_GONE.reason = describe_pg_error(cause)
            return
        previous(kind, value, tb)
    hook.pgshift_copy_filter = True
    sys.excepthook = hook


def copy_file(cur, copy_sql, path, on_bytes=None, opener=None):
    """Stream a whole data file through COPY FROM STDIN; returns the number of rows copied.
    opener: callable returning the file object to read instead of open(path) (a growing file)."""
    _quiet_copy_errors()
    _SERVER_GONE.reason = None
    with (opener() if opener is not None else open(path, "rb")) as f:
        source = _CountingReader(f, on_bytes) if on_bytes else f
        cur.copy_expert(copy_sql, source, size=READ_SIZE)
    return cur.rowcount


class RejectWriter:
    """rejects/<table>.copy (the refused lines, verbatim) and .log (line number: error)."""

    def __init__(self, copy_path, log_path, data_label):
        self.copy_path, self.log_path, self.data_label = copy_path, log_path, data_label
        self.count = 0
        self.first = None
        self._copy = self._log = None

    def clear(self):
        """Remove the files of an earlier attempt: a reload starts from scratch."""
        for path in (self.copy_path, self.log_path):
            if os.path.exists(path):
                os.unlink(path)

    def add(self, line_no, line, message):
        if self._copy is None:
            mf.make_private_dirs(os.path.dirname(self.copy_path))
            self._copy = mf.open_private(self.copy_path, "wb")  # noqa: SIM115 - kept open across rows
            self._log = mf.open_private(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        self._copy.write(line if line.endswith(b"\n") else line + b"\n")
        self._log.write("%s line %d: %s\n" % (self.data_label, line_no, message))
        self.count += 1
        if self.first is None:
            self.first = (line_no, message)

    def close(self):
        for f in (self._copy, self._log):
            if f is not None:
                f.close()
        self._copy = self._log = None


class RejectIsolator:
    """The slow path: batches in SAVEPOINTs, failed batches bisected down to the refused rows."""

    def __init__(self, cur, copy_sql, path, *, rejects, max_rejects, label, on_bytes=None):
        self.cur, self.copy_sql, self.path = cur, copy_sql, path
        self.rejects, self.max_rejects, self.label = rejects, max_rejects, label
        self.on_bytes = on_bytes
        self.loaded = 0

    def run(self):
        for first_line, lines in self._batches():
            self._copy_or_split(first_line, lines)
        return self.loaded, self.rejects.count

    def _batches(self):
        batch, size, first_line, line_no = [], 0, 1, 0
        with open(self.path, "rb") as f:
            for line in f:
                line_no += 1
                batch.append(line)
                size += len(line)
                if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
                    yield first_line, batch
                    if self.on_bytes:
                        self.on_bytes(size)
                    batch, size, first_line = [], 0, line_no + 1
        if batch:
            yield first_line, batch
            if self.on_bytes:
                self.on_bytes(size)

    def _copy_or_split(self, first_line, lines):
        err = self._try_copy(lines)
        if err is None:
            self.loaded += len(lines)
            return
        if len(lines) == 1:
            self._reject(first_line, lines[0], err)
            return
        half = len(lines) // 2
        self._copy_or_split(first_line, lines[:half])
        self._copy_or_split(first_line + half, lines[half:])

    def _try_copy(self, lines):
        """COPY the lines in a SAVEPOINT; a row error rolls back to it and is returned."""
        import psycopg2

        self.cur.execute("SAVEPOINT pgshift_batch")
        try:
            self.cur.copy_expert(self.copy_sql, io.BytesIO(b"".join(lines)), size=READ_SIZE)
        except psycopg2.Error as err:
            if not is_row_error(err):
                raise
            self.cur.execute("ROLLBACK TO SAVEPOINT pgshift_batch")
            return err
        self.cur.execute("RELEASE SAVEPOINT pgshift_batch")
        return None

    def _reject(self, line_no, line, err):
        message = "%s: %s" % (err.pgcode, describe_pg_error(err, line_no))
        self.rejects.add(line_no, line, message)
        if self.rejects.count > self.max_rejects:
            first_line, first_message = self.rejects.first
            raise RowsRejected(
                "load %s: more than max_rejects=%d rows refused by PostgreSQL; first at %s line %d: %s"
                " (refused rows so far in %s)"
                % (self.label, self.max_rejects, self.rejects.data_label, first_line, first_message,
                   self.rejects.copy_path))
