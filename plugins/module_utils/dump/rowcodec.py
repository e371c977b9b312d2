"""The hot path: VALUES tuples in the reader's buffer -> COPY lines, one compiled loop per table.

Usage (from transform.Transformer.on_insert):
    codec = RowCodec(table_state, ncols, positions, check_mode)   # positions[i]: COPY index of value i
    codec.consume(transformer, table_state, insert_offset)          # until the INSERT's ';'

Speed comes from (1) one regex match per row that splits all its values at C speed, (2) a loop
generated per table whose per-value work is inlined (no Python call for plain ints, strings
without escapes, ordinary dates), and (3) one UTF-8 validation per batch. Anything unusual (escapes,
NULL in a date, policies, a value the row regex does not take) goes through the general converters,
row by row, with table, row number, key and byte offset in every error.
"""
import re

from ..copytext import NULL, copy_escape_bytes
from ..errors import (
    DumpDataError,
    DumpSyntaxError,
    ValueConversionError,
)
from ..model import mysqllexer as lx
from ..model.values import (
    make_converter,
    make_embedding_converter,
)
from ..regex import POSSESSIVE, compile_possessive
from .reader import MAX_STATEMENT

_V = b"(" + lx.VALUE + b")"
_SEP = rb"\s*\)\s*(;|,\s*)"
# possessive (*+ ++): a tuple the buffer cuts short fails at once instead of backtracking over its
# bytes; runs of plain bytes go by in one C loop (one alternation per byte: 250 ns/byte on hex).
# Pythons before 3.11 have no possessive quantifiers: there plain bytes go one by one, as they did
# before (a greedy run inside the repeated group would backtrack exponentially on a cut tuple).


def generic_tuple_pattern(possessive=POSSESSIVE):
    run = b"++" if possessive else b""
    return (rb"\(((?:" + lx.STRING + rb"|" + lx.DQSTRING + rb"|[^'\"()]" + run + rb"|\((?:" + lx.STRING
            + rb"|[^'()]" + run + rb")*+\))*+)\)\s*(;|,\s*)")


_GENERIC_TUPLE = compile_possessive(generic_tuple_pattern(), re.S)
SPECIAL = re.compile(rb"[\\\t\n\r\x00]|''").search
B01 = {b"0": b"f", b"1": b"t", b"NULL": NULL}
_PASS_NUMERIC = ("integer", "numeric", "float", "year")
_PASS_TEXT = ("text", "enum", "json", "uuid", "inet")


_BULK_OK = ("integer", "numeric", "float", "year", "text", "enum", "json", "date", "datetime", "uuid", "inet")
_BULK_BAD_BYTES = (b"\x00", b"\x01", b"\x02", b"\x03", b"\r")   # one memchr each: no copy
_BULK_BAD_ESCAPES = (b"\\0", b"\\Z", b"\\%", b"\\_")   # looked for once \\\\ \\' \\" are set aside
_OUTSIDE_CHARS = b"0123456789.eE+-\t\n\x01"


def _bulk_bad(region, bad_text):
    """True when the row loop must do this statement: control bytes, or text that looks like a zero
    date or JSON's \\u0000 where the table has such columns (bad_text). Separate C-level scans: one
    regex alternation over the same bytes costs several times more."""
    return any(b in region for b in _BULK_BAD_BYTES) or any(t in region for t in bad_text)


def bulk_bad_text(converters):
    """The texts that send a statement to the row loop, for a table with these converters."""
    return ((b"-00", b"'0000") if {"date", "datetime"} & set(converters) else ()) + \
        ((b"u0000",) if "json" in converters else ())


def bulk_statement(buf, pos, ncols, *, strings=None, bad_text=(b"-00", b"'0000", b"u0000"), end=None):
    """A whole INSERT's tuples as COPY text with a few C-level passes, or None when the statement is
    not plain enough (\\0 \\Z \\% \\_ escapes, '' doubling, zero-date-like text, anything but numbers
    and NULL outside strings): then the row loop does it. Once \\\\ and \\' are set aside, every quote
    opens or closes a string, so splitting on quotes separates string contents (odd parts) from
    structure (even parts); MySQL's \\n \\r \\t \\b escapes are already COPY's.
    strings(parts, outside): converts the string contents in place, escapes included (see
    RowCodec._convert_bulk_strings); False refuses. Without it the escapes are done region-wide.
    end: where the statement's ');' is, when the caller knows (a worker's statement)."""
    if buf[pos:pos + 1] != b"(":
        return None
    if end is None:
        after, _more = lx.statement_end(buf, pos)
        if after is None:
            return None
        end = after - 2
    region = buf[pos + 1:end]
    if _bulk_bad(region, bad_text):
        return None
    if strings is not None:
        parts = lx.split_on_string_quotes(region)
        escaped = False
    else:
        region, escaped = _undo_escapes(region.replace(b"),\n(", b"),("))
        if region is None:
            return None
        parts = region.split(b"'")
    if parts is None or len(parts) % 2 == 0 or b"" in parts[2:-1:2]:
        return None                        # odd quote count: this ');' is inside a string
    outside = b"\x01".join(parts[0::2]).replace(b"),\n(", b"),(")
    if b"\n" in outside or b"\t" in outside:      # raw, between values: would pass for separators
        return None
    outside = outside.replace(b"),(", b"\n").replace(b",", b"\t").replace(b"NULL", b"\\N")
    if outside.translate(None, _OUTSIDE_CHARS).replace(b"\\N", b""):
        return None
    rows = outside.count(b"\n") + 1
    if outside.count(b"\t") != rows * (ncols - 1):
        return None
    if strings is not None and not strings(parts, outside):
        return None
    parts[0::2] = outside.split(b"\x01")
    data = b"".join(parts)
    if escaped:
        data = data.replace(b"\x02", b"\\\\").replace(b"\x03", b"'")
    return data + b"\n", rows, end + 2


def _undo_escapes(text):
    """(text with MySQL's escapes made COPY's, parked: bool), or (None, False) for escapes COPY text
    cannot take as they are. \\\\ and \\' are parked as \\x02 and \\x03 (restored by the caller),
    \\" becomes "; raw tabs and newlines become \\t and \\n."""
    parked = b"\\" in text
    if parked:
        text = text.replace(b"\\\\", b"\x02").replace(b"\\'", b"\x03").replace(b'\\"', b'"')
        if b"\\" in text and any(e in text for e in _BULK_BAD_ESCAPES):
            return None, False
    if b"\t" in text or b"\n" in text:
        text = text.replace(b"\t", b"\\t").replace(b"\n", b"\\n")
    return text, parked


def fill_statement(reader):
    """The buffer ends inside a tuple: read on until the row regexes can take it. They run at
    15-250 ns/byte, so a 100 MB value re-matched after every read cost 17 s; the end is looked for
    with C-level searches instead: the INSERT's ');' (lx.statement_end), or, where ';' inside the
    text hides it, a buffer that no longer ends inside a string (even quote count). mysqldump starts
    a new INSERT past net_buffer_length, so the buffer holds one row plus at most that much."""
    while True:
        end, more = lx.statement_end(reader.buf, reader.pos)
        if end is not None:
            return
        ahead = len(reader.buf) - reader.pos
        if not more and lx.string_quotes(reader.buf, reader.pos, len(reader.buf)) % 2 == 0:
            return                      # outside any string: the regexes may find the tuple whole
        if ahead > MAX_STATEMENT or not reader.fill(2 * ahead + reader.chunk):
            return                      # (past max_allowed_packet's ceiling the row loop reports it)


def row_regex(ncols):
    return compile_possessive(rb"\(\s*" + rb"\s*,\s*".join([_V] * ncols) + _SEP, re.S)


def _expr(i, converter, utf8):
    g = "g%d" % i
    if converter in _PASS_NUMERIC:
        return ("(%s if 47 < %s[0] < 58 or %s[0] == 45 else NUL if %s == b'NULL' else C%d(%s))"
                % (g, g, g, g, i, g))
    if converter in ("boolean", "bit_boolean"):
        return "(B01.get(%s) or C%d(%s))" % (g, i, g)
    if converter in _PASS_TEXT and utf8:
        return ("(%s[1:-1] if %s[0] == 39 and SPECIAL(%s, 1) is None else NUL if %s == b'NULL' else C%d(%s))"
                % (g, g, g, g, i, g))
    if converter in ("date", "datetime"):
        return ("(%s[1:-1] if %s[0] == 39 and %s[1] != 48 and b'-00' not in %s else NUL if %s == b'NULL' "
                "else C%d(%s))" % (g, g, g, g, g, i, g))
    if converter == "timestamptz":
        return ("(%s[1:-1] + TZ if %s[0] == 39 and %s[1] != 48 and b'-00' not in %s "
                "else NUL if %s == b'NULL' else C%d(%s))" % (g, g, g, g, g, i, g))
    return "C%d(%s)" % (i, g)


def build_fast(ncols, out_order, converters, utf8, tz):
    """Generate the per-table loop. out_order: source value index for each COPY field (None: NULL,
    a column the dump leaves out)."""
    names = ", ".join("g%d" % i for i in range(ncols))
    fields = ", ".join("NUL" if i is None else _expr(i, converters[i][0], utf8) for i in out_order)
    conv_names = ", ".join("C%d" % i for i in range(ncols))
    src = "\n".join([
        "def run(buf, pos, CONV, out):",
        "    %s, = CONV" % conv_names,
        "    match = ROW.match",
        "    append = out.append",
        "    n = 0",
        "    while True:",
        "        m = match(buf, pos)",
        "        if m is None:",
        "            return pos, n, False",
        "        %s, sep = m.groups()" % names,
        "        append(b'\\t'.join((%s,)))" % fields,
        "        n += 1",
        "        pos = m.end()",
        "        if sep == b';':",
        "            return pos, n, True",
    ])
    env = {"ROW": row_regex(ncols), "SPECIAL": SPECIAL, "B01": B01, "TZ": tz, "NUL": NULL}
    exec(compile(src, "<rowcodec %d cols>" % ncols, "exec"), env)  # noqa: S102 (generated from our own templates)
    return env["run"], env["ROW"]


class RowCodec:
    def __init__(self, ts, ncols, positions, check_mode=False):
        self.ncols = ncols
        self.positions = positions            # per source value: index in ts.plans or None (dropped)
        self.check_mode = check_mode
        self.convs = []
        for pos in positions:
            plan = ts.plans[pos] if pos is not None else None
            self.convs.append(self._converter(ts, plan))
        # COPY fields the INSERT has no value for (generated columns MySQL leaves out) are NULL
        self.out_order = [positions.index(k) if k in positions else None for k in range(len(ts.plans))]
        self.embeddings = [p.embedding for p in ts.plans if p.embedding]
        utf8 = ts.policies.charset == "utf-8"
        self.fast, self.row_re = build_fast(ncols, self.out_order, [(c[0],) for c in self.convs], utf8,
                                            ts.policies.tz_suffix)
        self.fns = [c[1] for c in self.convs]
        # Embedding columns whose text the statement-at-once path can convert: {value index: (fn, spec)}.
        self.bulk_embeddings = {i: (c[1].bulk, ts.plans[positions[i]].embedding)
                                for i, c in enumerate(self.convs)
                                if c[0] == "embedding" and c[1].bulk is not None}
        self.bulk = (utf8 and all(c[0] in _BULK_OK or i in self.bulk_embeddings
                                  for i, c in enumerate(self.convs))
                     and self.out_order == list(range(ncols)))
        self.bulk_strings = self._convert_bulk_strings if self.bulk_embeddings else None
        self.bulk_bad_text = bulk_bad_text([c[0] for c in self.convs])
        key = ts.table.primary_key
        names = [ts.plans[p].source_name if p is not None else None for p in positions]
        self.key_idx = [names.index(k) for k in key if k in names]

    @staticmethod
    def _converter(ts, plan):
        if plan is None:
            return ("drop", lambda tok: b"")
        if plan.embedding:
            inner = make_embedding_converter(plan.embedding, ts.policies)
            emb = plan.embedding

            def counted(tok):
                out = inner(tok)
                if out is not NULL:
                    emb["converted"] += 1
                return out
            counted.bulk = inner.bulk
            return ("embedding", counted)
        col = ts.table.column(plan.source_name)
        return (plan.converter, make_converter(plan.converter, col, ts.policies))

    # -- main loop ------------------------------------------------------------------------------
    def consume(self, tr, ts, offset):
        reader = tr.reader
        write = ts.out.write if ts.out is not None else None
        while True:
            buf, start = reader.buf, reader.pos
            if self.bulk:
                got = bulk_statement(buf, start, self.ncols, strings=self.bulk_strings,
                                     bad_text=self.bulk_bad_text,
                                     end=reader.statement_end if start == 0 else None)
                if got is not None and self._bulk_write(ts, write, got, reader):
                    return
            out = []
            counts = [e["converted"] for e in self.embeddings]
            try:
                pos, n, done = self.fast(buf, start, self.fns, out)
                data = b"\n".join(out) + b"\n" if out else b""
                if data:
                    data.decode("utf-8")
            except (ValueConversionError, UnicodeDecodeError, IndexError):
                for emb, count in zip(self.embeddings, counts):
                    emb["converted"] = count          # the batch is redone row by row: count once
                pos, n, done, data = self._slow_batch(tr, ts, buf, start, self._fast_end(buf, start))
            if data and write:
                write(data)
                ts.bytes += len(data)
            ts.rows += n
            reader.pos = pos
            if done:
                return
            status = self._slow_row(tr, ts, reader)
            if status == "done":
                return
            if status == "more":
                if reader.eof:
                    raise DumpSyntaxError("dump truncated in INSERT for table %s at byte offset %d (row %d): "
                                          "the tuple never ends"
                                          % (ts.table.name, reader.offset(), ts.rows + 1))
                fill_statement(reader)
            tr.report_progress(ts.table.name)

    def _convert_bulk_strings(self, parts, outside):
        """A statement's string contents (odd parts, still escaped as in the dump; the n-th is the
        n-th \\x01 field of `outside`) -> COPY text in place: embedding columns converted straight
        from their escaped text, the others unescaped together and checked as UTF-8. False, with
        `parts` untouched, when anything needs the row loop (its policies and precise errors)."""
        ncols = self.ncols
        fields = outside.replace(b"\n", b"\t").split(b"\t")
        string_columns = [i % ncols for i, field in enumerate(fields) if field == b"\x01"]
        vectors, others, counts = [], [], dict.fromkeys(self.bulk_embeddings, 0)
        for n, column in enumerate(string_columns):
            target = self.bulk_embeddings.get(column)
            if target is None:
                others.append(2 * n + 1)
                continue
            text = target[0](parts[2 * n + 1]) if b"\x03" not in parts[2 * n + 1] else None
            if text is None:
                return False
            vectors.append((2 * n + 1, text))
            counts[column] += 1
        texts = self._copy_texts([parts[i] for i in others])
        if texts is None:
            return False
        for index, text in zip(others, texts):
            parts[index] = text
        for index, text in vectors:
            parts[index] = text
        for column, count in counts.items():
            self.bulk_embeddings[column][1]["converted"] += count
        return True

    @staticmethod
    def _copy_texts(contents):
        """Escaped string contents -> COPY text, all at once; None if unfit or not UTF-8."""
        if not contents:
            return []
        joined, parked = _undo_escapes(b"\x01".join(contents))   # \x01 cannot occur in them
        if joined is None:
            return None
        if parked:
            joined = joined.replace(b"\x02", b"\\\\").replace(b"\x03", b"'")
        try:
            joined.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return joined.split(b"\x01")

    def _bulk_write(self, ts, write, got, reader):
        data, rows, end = got
        if self.bulk_strings is None:          # (with it, the strings were checked one by one)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return False
        if write:
            write(data)
            ts.bytes += len(data)
        ts.rows += rows
        reader.pos = end
        return True

    def _fast_end(self, buf, start):
        """Where the fast loop would stop (row regex only, no conversion)."""
        pos, match = start, self.row_re.match
        while True:
            m = match(buf, pos)
            if m is None:
                return pos
            pos = m.end()
            if m.group(self.ncols + 1) == b";":
                return pos

    def _slow_batch(self, tr, ts, buf, start, end):
        """Redo [start, end) row by row with the general converters (policies, precise errors)."""
        pos, n, lines, done = start, 0, [], False
        while pos < end:
            m = self.row_re.match(buf, pos)
            values, sep = m.groups()[:-1], m.group(self.ncols + 1)
            line = self._convert_row(tr, ts, values, ts.rows + n + 1, tr.reader.offset(pos))
            if line is not None:
                lines.append(line)
            n += 1
            pos = m.end()
            if sep == b";":
                done = True
                break
        data = b"\n".join(lines) + b"\n" if lines else b""
        return pos, n, done, data

    def _slow_row(self, tr, ts, reader):
        """One tuple the row regex did not take: 'row' (converted), 'done' (it ended the INSERT)
        or 'more' (the buffer ends inside it)."""
        buf, pos = reader.buf, reader.pos
        m = _GENERIC_TUPLE.match(buf, pos)
        if m is None:
            rest = buf[pos:pos + 200]
            if reader.eof or (len(buf) - pos > (1 << 20) and not rest.lstrip().startswith(b"(")):
                if reader.eof and not rest.strip():
                    raise DumpSyntaxError("dump truncated in INSERT for table %s at byte offset %d "
                                          "(after row %d)" % (ts.table.name, reader.offset(pos), ts.rows))
                if reader.eof:
                    raise DumpSyntaxError("dump truncated or malformed in INSERT for table %s "
                                          "at byte offset %d (row %d): %r"
                                          % (ts.table.name, reader.offset(pos), ts.rows + 1, rest[:80]))
                raise DumpSyntaxError("cannot read row %d of table %s at byte offset %d: %r"
                                      % (ts.rows + 1, ts.table.name, reader.offset(pos), rest[:80]))
            return "more"
        values = lx.split_values(m.group(1))
        row_no = ts.rows + 1
        if len(values) != self.ncols:
            hint = (" (data-only INSERT without a column list: dump again with --complete-insert so that "
                    "columns are matched by name)" if getattr(ts, "from_target", False) else "")
            raise DumpSyntaxError("table %s row %d at byte offset %d: %d values for %d columns%s"
                                  % (ts.table.name, row_no, reader.offset(pos), len(values), self.ncols,
                                     hint))
        line = self._convert_row(tr, ts, values, row_no, reader.offset(pos))
        if line is not None and ts.out is not None:
            data = line + b"\n"
            ts.out.write(data)
            ts.bytes += len(data)
        ts.rows += 1
        reader.pos = m.end()
        return "done" if m.group(2) == b";" else "row"

    def _convert_row(self, tr, ts, values, row_no, offset):
        fields = [NULL] * len(self.out_order)
        for i, tok in enumerate(values):
            k = self.positions[i]
            if k is None:
                continue
            try:
                field = self.fns[i](tok)
                if self.convs[i][0] in ("text", "enum", "json", "uuid", "inet"):
                    field.decode("utf-8")
            except (ValueConversionError, UnicodeDecodeError, ValueError) as err:
                field = self._on_bad_value(tr, ts, values, i, row_no, offset, err)
                if field is None:
                    return None
            fields[k] = field
        return b"\t".join(fields)

    def _on_bad_value(self, tr, ts, values, i, row_no, offset, err):  # noqa: PLR0917
        plan = ts.plans[self.positions[i]]
        where = "table %s row %d%s at byte offset %d, column %s" % (
            ts.table.name, row_no, self._key_text(values), offset, plan.source_name)
        emb = plan.embedding
        if emb and emb["invalid"] == "null":
            emb["nulled"] += 1
            return NULL
        if emb and emb["invalid"] == "reject":
            emb["rejected"] += 1
            raw = b"\t".join(copy_escape_bytes(v) for v in values) + b"\n"
            tr.reject(ts, row_no, offset, raw, "column %s: %s" % (plan.source_name, err),
                      key=self._key_text(values))
            return None
        raise DumpDataError("%s: %s" % (where, err)) from None

    def _key_text(self, values):
        if not self.key_idx:
            return ""
        parts = []
        for i in self.key_idx:
            raw = lx.literal_bytes(values[i])
            parts.append("%s" % (raw.decode("utf-8", "replace") if raw is not None else "NULL"))
        return " (key %s)" % ", ".join(parts)
