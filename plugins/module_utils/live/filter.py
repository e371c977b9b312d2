"""The bounded-memory Python filter for the few columns that need Python (embeddings, geometry).

    f = ColumnFilter(stream, converters=[conv_geom, conv_emb], key_positions=[0], label="db.t")
    cursor.copy_expert(copy_sql, f)

The SELECT puts those columns last, so each line is split once from the right (rsplit on tab, K
times) and only the last K fields are rewritten; the rest of the line is passed through untouched.
Memory: one read chunk plus one partial line.

A converter is callable(raw bytes) -> COPY field bytes; it raises ValueConversionError for a value
it refuses. Per column policy (embeddings' `invalid`): error (raise, naming the row key), null (\\N,
counted), reject (the line goes to the reject writer, counted).
"""
from ..copytext import NULL, copy_escape_bytes, parse_row
from ..errors import RowRefused, ValueConversionError


class PythonColumn:
    def __init__(self, name, convert, invalid="error"):
        self.name, self.convert, self.invalid = name, convert, invalid
        self.nulled = self.rejected = self.converted = 0


def geometry_converter(geometry_to_wkt):
    """HEX of MySQL's internal geometry -> the dump path's (E)WKT text."""
    def convert(raw):
        return copy_escape_bytes(geometry_to_wkt(bytes.fromhex(raw.decode("ascii"))).encode("utf-8"))
    return convert


def embedding_converter(make_converter, spec):
    """An embedding column's raw value (COPY-escaped text, or hex for binary formats) -> pgvector text."""
    inner = make_converter(spec)
    binary = spec.get("format") in ("float32_blob", "mysql_vector")

    def convert(raw):
        if binary:
            raw = bytes.fromhex(raw.decode("ascii"))
        elif b"\\" in raw:
            raw = parse_row(raw)[0].encode("utf-8")
        out = inner(raw)
        return out if isinstance(out, bytes) else out.encode("utf-8")
    return convert


class ColumnFilter:
    """File-like: reads COPY text from `source`, rewrites the last len(columns) fields of each line."""

    def __init__(self, source, columns, *, key_positions, key_names, label, rejects=None):
        self.source, self.columns = source, columns
        self.key_positions, self.key_names, self.label = key_positions, key_names, label
        self.rejects = rejects
        self.k = len(columns)
        self.partial = b""
        self.line_no = 0
        self.nbytes = 0

    def read(self, size=-1):
        while True:
            chunk = self.source.read(size)
            if not chunk:
                if self.partial:
                    raise ValueConversionError("%s: the result ended inside a row" % self.label)
                return b""
            data = self.partial + chunk
            end = data.rfind(b"\n") + 1
            self.partial = data[end:]
            if end:
                out = b"".join(self._line(line) for line in data[:end].splitlines(keepends=True))
                self.nbytes += len(out)
                if out:
                    return out

    def readline(self, size=-1):
        return self.read(size)

    def _key(self, line):
        fields = line.rstrip(b"\n").split(b"\t")
        parts = []
        for name, pos in zip(self.key_names, self.key_positions):
            value = parse_row(fields[pos])[0] if pos < len(fields) else "?"
            parts.append("%s=%s" % (name, value))
        return ", ".join(parts) or "line %d (no primary key)" % self.line_no

    def _line(self, line):
        self.line_no += 1
        parts = line[:-1].rsplit(b"\t", self.k)
        # a table made only of such columns has no untouched head
        head, tails = (None, parts) if len(parts) == self.k else (parts[0], parts[1:])
        out = []
        for col, raw in zip(self.columns, tails):
            if raw == NULL:
                out.append(NULL)
                continue
            try:
                out.append(col.convert(raw))
                col.converted += 1
            except (ValueConversionError, ValueError) as err:
                field = self._refused(col, line, err)
                if field is None:
                    return b""
                out.append(field)
        body = b"\t".join(out)
        return (body if head is None else head + b"\t" + body) + b"\n"

    def _refused(self, col, line, err):
        if col.invalid == "null":
            col.nulled += 1
            return NULL
        if col.invalid == "reject" and self.rejects is not None:
            col.rejected += 1
            self.rejects.add(self.line_no, line, "column %s (%s): %s" % (col.name, self._key(line), err))
            return None
        raise RowRefused("%s: row %s, column %r: %s (policy error; set invalid: null or reject to go on)"
                         % (self.label, self._key(line), col.name, err))
