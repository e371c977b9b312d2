"""Streaming mysqldump reader: plain, .gz, .zst, a pipe or stdin; memory bounded by the longest row.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.reader import DumpReader, open_dump

    with open_dump("/dumps/prod.sql.zst") as stream:       # "-" is stdin; format sniffed from bytes
        reader = DumpReader(stream)
        while (event := reader.next_event()) is not None:
            kind, payload, offset = event
            # kind "statement": payload is the statement text (comments and /*!NNNNN */ markers removed)
            # kind "routine":   payload is a statement read inside a DELIMITER block
            # kind "insert":    payload is the INSERT header match; the caller now consumes the
            #                   VALUES tuples from reader.buf at reader.pos (reader.fill() for more),
            #                   then resumes next_event() after the terminating delimiter.
        reader.completed   # at the end: True when mysqldump's "-- Dump completed" line ended the dump

The buffer holds the unconsumed tail plus one read chunk; a value longer than the buffer grows it
geometrically (so a 1 GB line costs O(n), not O(n^2)).
"""
import io
import os
import re
import sys
import zlib

from ..errors import DumpReadError, DumpSyntaxError, MigrationError
from ..model.mysqllexer import DQSTRING, IDENT, STRING
from ..regex import compile_possessive

CHUNK = 4 << 20
MAX_STATEMENT = 1 << 30    # max_allowed_packet's ceiling: a longer DDL statement is not a dump
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_LEAD_RE = re.compile(rb"(?:\s+|/\*M?!\d*\\-.*?\*/|/\*(?!M?!).*?\*/|(?:--(?=[ \t\r\n])|#)[^\n]*\n)+", re.S)
_DELIMITER_RE = re.compile(rb"DELIMITER[ \t]+(\S+)[^\n]*(?:\n|\Z)", re.I)
# mysqldump's and mariadb-dump's last line: without it after the last statement, the dump was cut
# (a failed or killed mysqldump, a partial copy), even when the cut fell between two statements.
_COMPLETED_RE = re.compile(rb"^-- Dump completed", re.M)
_NAME = rb"(?:" + IDENT + rb"|[\w$]+)"
INSERT_HEAD_RE = compile_possessive(
    rb"(?i:(?P<verb>INSERT|REPLACE)(?:\s+(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY))?(?P<ignore>\s+IGNORE)?"
    rb"\s+(?:INTO\s+)?)(?:(?P<db>" + _NAME + rb")\s*\.\s*)?(?P<table>" + _NAME + rb")\s*"
    rb"(?:\((?P<cols>\s*" + _NAME + rb"(?:\s*,\s*" + _NAME + rb")*\s*)\)\s*)?(?i:VALUES|VALUE)\s*")


def _splitter(delimiter):
    """Regex for one statement's pieces under the current delimiter."""
    first = re.escape(delimiter[:1])
    return compile_possessive(
        rb"(?P<s>" + STRING + rb"|" + DQSTRING + rb"|" + IDENT + rb")"
        rb"|(?P<c>/\*M?!\d*\\-.*?\*/|/\*(?!M?!).*?\*/|(?:--(?=[ \t\r\n])|#)[^\n]*\n)"
        rb"|(?P<m>/\*M?!\d*|\*/)"
        rb"|(?P<d>" + re.escape(delimiter) + rb")"
        rb"|(?P<i>['\"`]|/\*|(?:--[ \t\r]|#)[^\n]*\Z)"
        rb"|[^'\"`/#*" + first + rb"-]+|.", re.S)


def open_dump(path):
    """Open a dump for reading bytes: '-' is stdin; gzip and zstd recognised by their magic bytes
    (so a FIFO or a misnamed file works too)."""
    try:
        raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as err:
        raise MigrationError("open dump %r: %s" % (path, err.strerror or err)) from None
    stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    head = stream.peek(4)[:4]
    if head.startswith(_GZIP_MAGIC):
        import gzip
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if head.startswith(_ZSTD_MAGIC):
        try:
            import zstandard
        except ImportError:
            raise MigrationError("open dump %r: zstd file but the 'zstandard' package is missing"
                                 % path) from None
        return ZstdStream(stream, zstandard)
    return stream


class ZstdStream:
    """Frames of a .zst file, decompressed as read. zstandard's stream_reader ends silently on a
    truncated frame; here a stream that ends inside a frame raises EOFError, as gzip does."""

    def __init__(self, raw, zstandard):
        self._raw, self._dctx, self._frame = raw, zstandard.ZstdDecompressor(), None
        self.error_types = (zstandard.ZstdError,)

    def read(self, size=-1):
        out, have = [], 0
        while size < 0 or have < size:
            data = self._raw.read(max(size - have, 1 << 20) if size >= 0 else 1 << 20)
            if not data:
                if self._frame is not None:
                    raise EOFError("the stream ends inside a zstd frame")
                break
            while data:
                if self._frame is None:
                    self._frame = self._dctx.decompressobj()
                block = self._frame.decompress(data)
                out.append(block)
                have += len(block)
                data = b""
                if self._frame.eof:             # next frame (concatenated .zst files) or the end
                    data, self._frame = self._frame.unused_data, None
        return b"".join(out)

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_error_types(stream):
    """(kind of compression or None, exceptions its reads raise on corrupt data)."""
    import gzip
    if isinstance(stream, gzip.GzipFile):
        return "gzip", (EOFError, gzip.BadGzipFile, zlib.error)
    if isinstance(stream, ZstdStream):
        return "zstd", (EOFError, *stream.error_types)
    return None, ()


class DumpReader:
    """Statement-level reader over a byte stream with a sliding buffer."""

    statement_end = None       # where the current INSERT ends is not known here (RowCodec finds it)

    def __init__(self, stream, chunk=CHUNK, name=None):
        self.stream = stream
        self.name = name                # the dump's path, for errors
        self.compressed, self._corrupt = _read_error_types(stream)
        self.chunk = chunk
        self.buf = b""
        self.pos = 0
        self.base = 0          # absolute offset of buf[0] in the uncompressed dump
        self.eof = False
        self.delimiter = b";"
        self._split = _splitter(b";")
        self.peak_buffer = 0
        self.completed = False     # the "-- Dump completed" line came after the last statement

    # -- buffer -------------------------------------------------------------------------------
    def offset(self, pos=None):
        return self.base + (self.pos if pos is None else pos)

    def fill(self, min_ahead=None):
        """Read more so that at least min_ahead bytes (default: one chunk) follow self.pos.
        Returns False when nothing more could be read (EOF)."""
        want = max(min_ahead or 0, self.chunk)
        if self.pos:
            self.base += self.pos
            self.buf = self.buf[self.pos:]
            self.pos = 0
        parts, have = [self.buf], len(self.buf)
        got_any = False
        while have < want and not self.eof:
            data = self._read(max(want - have, self.chunk), have)
            if not data:
                self.eof = True
                break
            parts.append(data)
            have += len(data)
            got_any = True
        if got_any:
            self.buf = b"".join(parts)
            self.peak_buffer = max(self.peak_buffer, len(self.buf))
        return got_any

    def _read(self, size, have):
        """One read of the stream; a corrupt or truncated file, or an I/O error, as one DumpReadError
        naming the file and how far its SQL could be read."""
        try:
            return self.stream.read(size)
        except self._corrupt + (OSError,) as err:
            raise DumpReadError(self._read_failure(err, self.base + have)) from None

    def _read_failure(self, err, offset):
        where = "dump %r" % self.name if self.name else "dump"
        if isinstance(err, EOFError):
            reason = "truncated .%s file (%s)" % ("gz" if self.compressed == "gzip" else "zst", err)
        elif isinstance(err, self._corrupt):         # (gzip.BadGzipFile is an OSError too)
            reason = "the %s data is corrupt (%s)" % (self.compressed, err)
        else:
            reason = "read failed (%s)" % (err.strerror or err)
        return "%s: %s, after %d bytes of SQL" % (where, reason, offset)

    def blame_corruption(self, err):
        """A parse or value error in a compressed dump may come from corrupt bytes that the format's
        check (gzip's CRC at the member's end, zstd's checksums) has not reached yet: read on to the
        end, and if the stream is corrupt, raise that instead of, say, a NUL byte in row 146."""
        if not self.compressed or self.eof:
            return
        try:
            while self.stream.read(self.chunk):
                pass
        except self._corrupt + (OSError,) as corrupt:
            raise DumpReadError("%s; the corrupt bytes are the likely cause of the error seen first, near"
                                " byte offset %d: %s" % (self._read_failure(corrupt, self.offset()),
                                                         self.offset(), err)) from None

    def _ensure(self, n):
        if len(self.buf) - self.pos < n and not self.eof:
            self.fill(n)

    # -- statements ---------------------------------------------------------------------------
    def _skip_lead(self):
        while True:
            self._ensure(1 << 20)
            m = _LEAD_RE.match(self.buf, self.pos)
            if m is None:
                return
            end = m.end()
            if _COMPLETED_RE.search(self.buf, m.start(), end):
                self.completed = True
            if end == len(self.buf) and not self.eof:
                self.pos = end
                continue
            self.pos = end

    def next_event(self):
        """The next (kind, payload, offset) or None at the end of the dump."""
        while True:
            self._skip_lead()
            if self.pos >= len(self.buf) and self.eof:
                return None
            start = self.pos
            if self.buf.startswith((b"D", b"d"), start):
                m = _DELIMITER_RE.match(self.buf, start)
                if m:
                    self.delimiter = m.group(1)
                    self._split = _splitter(self.delimiter)
                    self.pos = m.end()
                    continue
            if self.delimiter == b";" and self.buf[start:start + 1] in (b"I", b"i", b"R", b"r"):
                m = INSERT_HEAD_RE.match(self.buf, start)
                if m:
                    self.pos = m.end()
                    self.completed = False
                    return "insert", m, self.offset(start)
            self.completed = False
            text = self._read_statement()
            kind = "statement" if self.delimiter == b";" else "routine"
            return kind, text, self.offset(start)

    def _read_statement(self):
        """Collect one statement up to the delimiter; comments and /*!NNNNN markers removed."""
        start_abs = self.offset()
        while True:
            text, end = self._scan_from(self.pos, start_abs)
            if end is not None:
                self.pos = end
                return text
            if self.eof:
                break
            ahead = len(self.buf) - self.pos
            if ahead > MAX_STATEMENT:
                raise DumpSyntaxError("statement at byte offset %d is longer than %d bytes without a "
                                      "delimiter: not a mysqldump file?" % (start_abs, MAX_STATEMENT))
            self.fill(2 * ahead + self.chunk)
        rest = self.buf[self.pos:].strip()
        if rest:
            raise DumpSyntaxError("dump truncated: statement at byte offset %d has no terminating %r "
                                  "(starts %r)" % (start_abs, self.delimiter.decode(), rest[:60]))
        self.pos = len(self.buf)
        return b""

    def _scan_from(self, pos, start_abs):
        """_scan, its errors naming where the statement starts: a quote in garbage between two
        statements makes the rest of the dump one string, so the error shows up near the end."""
        try:
            return self._scan(pos)
        except DumpSyntaxError as err:
            raise DumpSyntaxError("statement at byte offset %d (starts %r): %s"
                                  % (start_abs, bytes(self.buf[pos:pos + 60]), err)) from None

    def _scan(self, pos):
        """(text, end) when the delimiter is found in the buffer, else (None, None)."""
        buf, pieces, match = self.buf, [], self._split.match
        n = len(buf)
        while pos < n:
            m = match(buf, pos)
            group = m.lastgroup
            if group == "d":
                return b"".join(pieces), m.end()
            if group == "i":
                if not self.eof:
                    return None, None
                raise DumpSyntaxError("dump truncated: unterminated quote or comment at byte offset %d"
                                      % self.offset(pos))
            if group in ("c", "m"):  # comments, /*!NNNNN markers: a space keeps tokens apart
                pieces.append(b" ")
            else:
                pieces.append(m.group())
            pos = m.end()
        if self.eof:
            text = b"".join(pieces)
            if text.strip():
                return None, None
            return b"", n
        return None, None


def source_facts(path):
    """size and mtime of a dump file (None for stdin/pipes), for the manifest and idempotence."""
    if path == "-":
        return {"size": None, "mtime": None}
    st = os.stat(path)
    return {"size": st.st_size, "mtime": int(st.st_mtime)}
