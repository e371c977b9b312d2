"""Reader sessions: the mysql/mariadb client binary, kept open, fed SQL on stdin, read on stdout.

    with mysql_option_file(params) as cnf:
        s = ReaderSession(cnf, name="reader-1")
        s.query_rows("START TRANSACTION WITH CONSISTENT SNAPSHOT")   # -> [] (rows as lists of str)
        stream = s.stream("SELECT CONCAT_WS(...) FROM ...")            # file-like, COPY text
        cursor.copy_expert("COPY t FROM STDIN", stream, size=stream.CHUNK)
        s.close()

Why a long-lived client process per reader: every reader must read inside ONE snapshot (START
TRANSACTION WITH CONSISTENT SNAPSHOT taken while FLUSH TABLES WITH READ LOCK is held), and a
snapshot belongs to a session. A client started per table (`mariadb -e "SELECT ..."`) would be a new
session outside the snapshot. So each reader is one client process in batch mode reading SQL from a
pipe; it executes statements as they arrive and prints rows with C-speed formatting.

Result sets are framed with a sentinel row: after each statement we send SELECT '\\.pgshift-<token>'.
The sentinel line cannot be confused with data: data lines are COPY text, where a backslash is always
followed by \\, N, t, n, r (or is the doubled one in \\\\x), never by '.', and the token is random.
The stream returns bytes up to the sentinel, so copy_expert sees exactly one result set. Python only
moves ~256 KB buffers (os.read + a find); it never looks at rows.

If the client fails (SQL error, lost connection), it prints the error on stderr and exits: the
stream sees EOF without the sentinel and raises ReaderFailed with the client's message.
"""
import contextlib
import os
import shutil
import subprocess
import uuid

from ..errors import MigrationError, ReaderFailed

CLIENT_OPTIONS = ("--batch", "--raw", "--skip-column-names", "--quick", "--unbuffered",
                  "--default-character-set=utf8mb4", "--max-allowed-packet=1073741824",
                  "--connect-timeout=10")


def find_client(preferred=None):
    """Path of the mariadb (or mysql) client binary."""
    for name in [preferred] if preferred else ["mariadb", "mysql"]:
        path = shutil.which(name) if name and os.sep not in name else name
        if path and os.access(path, os.X_OK):
            return path
    raise MigrationError("live_copy: no MySQL client binary found (install mariadb-client or "
                         "mysql-client, or set mysql_client to its path)")


def client_argv(option_file, client=None):
    """The client command line: credentials only through the 0600 option file (first argument)."""
    return [find_client(client), "--defaults-extra-file=" + option_file, *CLIENT_OPTIONS]


def _clean_client_error(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("-----")]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors[-1] if errors else (lines[-1] if lines else "client exited")).strip()


class ReaderSession:
    """One mysql client process = one MySQL session, driven statement by statement."""

    CHUNK = 1 << 18

    def __init__(self, option_file, name="reader", client=None):
        self.name = name
        self.token = b"\\.pgshift-" + uuid.uuid4().hex.encode()
        self.marker = self.token + b"\n"
        self.proc = subprocess.Popen(client_argv(option_file, client), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self.fd = self.proc.stdout.fileno()
        self.pending = b""          # bytes read past the previous sentinel
        self.busy = False
        self.connection_id = None   # MySQL's CONNECTION_ID(), set by live.snapshot
        self.raw = None             # live.large.RawReader in the same snapshot, when asked for

    @property
    def pid(self):
        return self.proc.pid

    def send(self, sql):
        """Send one statement followed by the sentinel SELECT."""
        if self.busy:
            raise ReaderFailed("%s: a result is still being read" % self.name)
        text = sql.strip().rstrip(";") + ";\nSELECT '%s';\n" % self.token.decode().replace("\\", "\\\\")
        try:
            self.proc.stdin.write(text.encode("utf-8"))
        except (BrokenPipeError, OSError):
            self._raise_failure("sending SQL")
        self.busy = True

    def stream(self, sql):
        """Send a SELECT; returns a file-like object giving its output up to the sentinel."""
        self.send(sql)
        return ResultStream(self)

    def query_rows(self, sql):
        """Run a statement and return its (small) result as rows of str fields."""
        data = self.stream(sql).read_all()
        return [line.split("\t") for line in data.decode("utf-8").splitlines()]

    def query_value(self, sql):
        rows = self.query_rows(sql)
        return rows[0][0] if rows and rows[0] else None

    def _read_chunk(self):
        try:
            return os.read(self.fd, self.CHUNK)
        except OSError:
            return b""

    def _raise_failure(self, doing):
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            err = self.proc.stderr.read().decode("utf-8", "replace")
        except OSError:
            err = ""
        code = self.proc.wait()
        raise ReaderFailed("%s (pid %d) failed while %s: %s (exit %s)"
                           % (self.name, self.proc.pid, doing, _clean_client_error(err), code))

    def drain(self):
        """Discard the rest of the current result (after a failed COPY), keeping the session."""
        if self.busy:
            ResultStream(self).read_all(discard=True)

    def close(self, commit=True):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"COMMIT;\n" if commit else b"ROLLBACK;\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        if self.raw is not None:
            self.raw.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.raw is not None:
            self.raw.close()


class ResultStream:
    """File-like view of one framed result: read(n) returns data bytes until the sentinel."""

    CHUNK = ReaderSession.CHUNK

    def __init__(self, session):
        self.s = session
        self.buf = session.pending
        session.pending = b""
        self.done = False
        self.at_line_start = True   # the sentinel may be the very first line of an empty result
        self.nbytes = 0

    def _find_marker(self):
        """Index of the sentinel line in buf, or -1."""
        if self.at_line_start and self.buf.startswith(self.s.marker):
            return 0
        i = self.buf.find(b"\n" + self.s.marker)
        return i + 1 if i >= 0 else -1

    def _finish(self, end):
        data, rest = self.buf[:end], self.buf[end + len(self.s.marker):]
        self.s.pending, self.buf = rest, b""
        self.s.busy = False
        self.done = True
        return data

    def read(self, size=-1):
        while not self.done:
            end = self._find_marker()
            if end >= 0:
                data = self._finish(end)
                self.nbytes += len(data)
                return data
            # Keep enough tail to recognise a marker split across reads.
            keep = len(self.s.marker)
            if len(self.buf) > keep:
                cut = len(self.buf) - keep
                if size is not None and 0 < size < cut:
                    cut = size
                data, self.buf = self.buf[:cut], self.buf[cut:]
                self.at_line_start = data.endswith(b"\n")
                self.nbytes += len(data)
                return data
            chunk = self.s._read_chunk()
            if not chunk:
                self.s.busy = False
                self.s._raise_failure("reading a result")
            self.buf += chunk
        return b""

    def readline(self, size=-1):   # copy_expert only needs read(); kept for file-like callers
        return self.read(size)

    def read_all(self, discard=False):
        out = []
        while True:
            data = self.read(self.CHUNK)
            if not data:
                break
            if not discard:
                out.append(data)
        return b"".join(out)
