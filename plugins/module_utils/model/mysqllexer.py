"""The mysqldump dialect as data: token rules (name, regex, why) compiled into bytes regexes.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils import mysqllexer as lx

    for kind, text in lx.tokenize(b"INSERT INTO `t` VALUES (1,'a\\\\'b')"):   # whole statement text
        ...
    lx.unescape_string(b"'it\\\\'s'")  -> b"it's"          (MySQL string literal -> raw bytes)
    lx.literal_bytes(b"_binary 0x00ff") -> b"\\x00\\xff"  (any value literal -> raw bytes, or None for NULL)
    lx.split_values(b"1,'a,b',NULL") -> [b"1", b"'a,b'", b"NULL"]   (one tuple's inside, top level commas)

The statement splitter (dumpreader) and the row parser (transform) build their regexes from the same
pieces (STRING, IDENT, VALUE), so a rule is written once.
"""
import re

from ..errors import DumpSyntaxError
from ..regex import compile_possessive

# '...' with backslash escapes and '' doubling; unrolled loop, possessive (*+): a string cut short by
# the buffer's end fails at once instead of backtracking byte by byte (1.5 s per failed try on a
# 30 MB value); the classes are disjoint, so giving bytes back could never have matched.
STRING = rb"'[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'"
DQSTRING = rb'"[^"\\]*+(?:(?:\\.|"")[^"\\]*+)*+"'
IDENT = rb"`[^`]*+(?:``[^`]*+)*+`"
INTRODUCER = rb"_[A-Za-z0-9]+"
# One value as mysqldump writes it: string (maybe with introducer), hex/bit literal, bare token.
VALUE = (STRING + rb"|[-+]?[0-9][0-9.eE+-]*|NULL|(?:" + INTRODUCER + rb"[ \t]*)?(?:" + STRING
         + rb"|0x[0-9A-Fa-f]*|[xX]'[0-9A-Fa-f]*')|0x[0-9A-Fa-f]*|[xX]'[0-9A-Fa-f]*'|[bB]'[01]*'"
         rb"|[-+]?\.[0-9][0-9eE+-]*|null|TRUE|FALSE|true|false")

# name, pattern, why. Order matters: the first rule that matches at a position wins.
RULES = [
    ("ws", rb"\s+", "spaces, tabs, CR and LF (CRLF dumps)"),
    ("client_comment", rb"/\*M?!\d*\\-.*?\*/",
     "MariaDB's sandbox line /*M!999999\\- enable the sandbox mode */: a client command, not SQL"),
    ("cond_open", rb"/\*M?!\d*",
     "/*!40101 ... */ and /*M!100100 ... */: versioned code the server runs, so its text is kept"),
    ("block_comment", rb"/\*.*?\*/", "plain /* ... */ comments"),
    ("cond_close", rb"\*/", "end of a conditional comment"),
    ("line_comment", rb"(?:--(?=[ \t\r\n])|#)[^\n]*", "-- and # comments up to end of line"),
    ("line_comment_eof", rb"--\Z", "a bare -- at the very end"),
    ("string", (rb"(?:" + INTRODUCER + rb"[ \t]*)?" + STRING), "'...' strings, _binary/_utf8mb4 introducers"),
    ("dqstring", DQSTRING, "\"...\" strings (ANSI_QUOTES off)"),
    ("ident", IDENT, "backtick identifiers, `` doubling"),
    ("hex", rb"0x[0-9A-Fa-f]+|[xX]'[0-9A-Fa-f]*'", "0x.. and X'..' hex literals (--hex-blob)"),
    ("bits", rb"[bB]'[01]*'|0b[01]+", "b'..' bit literals"),
    ("number", rb"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_])", "integers, decimals, floats"),
    ("word", rb"[A-Za-z_$\x80-\xff][\w$\x80-\xff]*", "keywords and bare identifiers"),
    ("user_var", rb"@@?[\w.$]+|@`[^`]*`|@'[^']*'", "@var and @@system variables"),
    ("incomplete", rb"['\"`]|/\*", "an opening quote or comment without its end: truncated"),
    ("punct", rb"[^\s]", "any other single character"),
]

TOKEN_RE = compile_possessive(b"|".join(b"(?P<%s>%s)" % (name.encode(), pat) for name, pat, _ in RULES), re.S)
SKIP = frozenset(("ws", "client_comment", "block_comment", "line_comment", "line_comment_eof",
                  "cond_open", "cond_close"))

_ESCAPES = {b"0": b"\x00", b"'": b"'", b'"': b'"', b"b": b"\b", b"n": b"\n", b"r": b"\r",
            b"t": b"\t", b"Z": b"\x1a", b"\\": b"\\", b"%": b"\\%", b"_": b"\\_"}
_ESCAPE_RE = re.compile(rb"\\(.)|''", re.S)
_INTRO_RE = re.compile(rb"^_([A-Za-z0-9]+)[ \t]*")


# Escapes bytes.replace can undo one after another, most frequent first (JSON text holds thousands
# of \\"): none of them produces a backslash, so no replacement creates a new escape. \\% and \\_
# stay as they are (raw None); \\\\ is held aside before the others.
_ESCAPE_ORDER = (b'"', b"'", b"n", b"r", b"t", b"0", b"Z", b"b", b"%", b"_")
_REPLACEABLE = tuple((b"\\" + k, None if k in (b"%", b"_") else _ESCAPES[k]) for k in _ESCAPE_ORDER)
# Stand-ins for an escaped backslash while the others are undone: bytes no escape produces.
_HOLDERS = (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x07")


def _unescape_one(m):
    ch = m.group(1)
    if ch is None:
        return b"'"
    return _ESCAPES.get(ch, ch)


def _unescape_by_replace(body):
    """Undo the escapes with one C-level count and replace per kind present, stopping once every
    backslash is accounted for (a regex callback per escape costs ~0.5 µs, thousands per JSON value).
    Returns None for what it does not handle (unknown escapes, '' doubling, no free holder byte)."""
    if b"''" in body:
        return None
    left = body.count(b"\\")
    holder = None
    pairs = body.count(b"\\\\")
    if pairs:
        holder = next((h for h in _HOLDERS if h not in body), None)
        if holder is None:
            return None
        body = body.replace(b"\\\\", holder)
        left -= 2 * pairs
    for escape, raw in _REPLACEABLE:
        if not left:
            break
        found = body.count(escape)
        if found:
            left -= found
            if raw is not None:
                body = body.replace(escape, raw)
    if left:
        return None
    return body if holder is None else body.replace(holder, b"\\")


def unescape_string(token):
    """A quoted MySQL string literal (with its quotes) -> raw bytes; \\% and \\_ keep the backslash
    as MySQL does."""
    body = token[1:-1]
    if b"\\" not in body and b"''" not in body:
        return body
    if token[:1] == b'"':
        body = body.replace(b'""', b'"')
    return unescape_body(body)


def unescape_body(body):
    """The inside of a '...' literal (escapes and '' doubling as written) -> raw bytes."""
    fast = _unescape_by_replace(body)
    return fast if fast is not None else _ESCAPE_RE.sub(_unescape_one, body)


# At most one quote per this many bytes (long JSON values): quotes are looked at one by one, which
# costs less than counting two-byte sequences over all the bytes.
SPARSE_QUOTE_BYTES = 4096


def _quote_positions(buf, start, end):
    i = buf.find(b"'", start, end)
    while i >= 0:
        yield i
        i = buf.find(b"'", i + 1, end)


def _delimits(buf, i, start):
    """The quote at i is a string delimiter: an even run of backslashes (escaped backslashes) before it."""
    j = i
    while j > start and buf[j - 1] == 92:
        j -= 1
    return (i - j) % 2 == 0


def _delimiter_quotes(buf, start, end):
    """Positions of the string-delimiting quotes in buf[start:end], looked at one by one."""
    return [i for i in _quote_positions(buf, start, end) if _delimits(buf, i, start)]


def string_quotes(buf, start, end):
    """Number of string-delimiting quotes in buf[start:end] (not \\' escapes), assuming the stretch
    starts outside a backslash run. Counts without copying unless a quote follows an escaped
    backslash (\\\\')."""
    quotes = buf.count(b"'", start, end)
    if not quotes or buf.find(b"\\", start, end) < 0:
        return quotes
    if quotes * SPARSE_QUOTE_BYTES < end - start:
        return len(_delimiter_quotes(buf, start, end))
    if buf.find(b"\\\\'", start, end) < 0:     # every \\' has one backslash: an escaped quote
        return quotes - buf.count(b"\\'", start, end)
    region = buf[start:end].replace(b"\\\\", b"")
    return region.count(b"'") - region.count(b"\\'")


def outside_strings(buf, start, end):
    """[(from, to), ...]: the stretches of buf[start:end] outside '...' strings (start outside any),
    or None when quotes are too many to look at one by one."""
    if buf.count(b"'", start, end) * SPARSE_QUOTE_BYTES >= end - start:
        return None
    cuts = _delimiter_quotes(buf, start, end)
    return list(zip([start] + [c + 1 for c in cuts[1::2]], cuts[0::2] + [end], strict=False))


MAX_CANDIDATES = 64            # ';' inside strings: after this many, give up finding the end here
# Outside strings, these could hide quotes or a ';' (single bytes: memchr-fast). A ';' itself needs
# no look: statement_end stops at the first one with paired quotes before it.
_AMBIGUOUS = (b'"', b"`", b"#")


def statement_end(buf, pos):
    """(end, more): end is the index just after the ';' of the INSERT whose tuples start at
    buf[pos] ('('), or None; then more tells whether reading more of the dump could find it (else
    the statement cannot be told apart cheaply and the caller converts it in process).

    mysqldump ends every INSERT with ');'. Candidates are the ';' (rare in data, so memchr finds
    them fast); the first one with paired quotes before it (escaped backslashes and quotes set
    aside) is outside the strings, so it ends the statement: the end when a ')' precedes it and
    nothing outside the strings could hide a quote or a ';' (double quotes, backticks, #)."""
    if buf[pos:pos + 1] != b"(":
        return None, False
    quotes, seg, search = 0, pos, pos
    for _ in range(MAX_CANDIDATES):
        end = buf.find(b";", search)
        if end < 0:
            return None, True
        quotes += string_quotes(buf, seg, end)   # a ";" never belongs to an escape that hides a quote
        seg = search = end + 1
        if quotes % 2:
            continue                          # this ';' is inside a string
        if buf[end - 1:end] != b")" or not _plain_outside(buf, pos, end - 1):
            return None, False
        return end + 1, False
    return None, False


def _plain_outside(buf, start, end):
    present = [a for a in _AMBIGUOUS if buf.find(a, start, end) >= 0]
    if not present:
        return True
    stretches = outside_strings(buf, start, end)      # few long strings (JSON): cheap
    if stretches is not None:
        return not any(buf.find(a, lo, hi) >= 0 for lo, hi in stretches for a in present)
    region = buf[start:end]
    if b"\\" in region:
        region = region.replace(b"\\\\", b"").replace(b"\\'", b"")
    outside = b"".join(region.split(b"'")[0::2])
    return not any(a in outside for a in _AMBIGUOUS)


def split_on_string_quotes(text):
    """text (tuples, starting outside any string) split at its string-delimiting quotes, the string
    contents still escaped (an escaped quote kept as \\' or parked as \\x03), or None when that
    would cost a copy of the whole text (many quotes, some after an escaped backslash)."""
    if b"\\" not in text:
        return text.split(b"'")
    if text.count(b"'") * SPARSE_QUOTE_BYTES < len(text):
        cuts = _delimiter_quotes(text, 0, len(text))
        return [text[a + 1:b] for a, b in zip([-1, *cuts], [*cuts, len(text)])]
    if text.find(b"\\\\'") >= 0:
        return None
    return text.replace(b"\\'", b"\x03").split(b"'")


def split_introducer(token):
    """b"_binary 'x'" -> (b"binary", b"'x'"); no introducer -> (None, token)."""
    m = _INTRO_RE.match(token)
    if m is None:
        return None, token
    return m.group(1).lower(), token[m.end():]


def literal_bytes(token):
    """Any value literal -> raw bytes (strings unescaped, hex/bit decoded); NULL -> None.
    Bare numbers and words come back unchanged."""
    token = token.strip()
    _intro, body = split_introducer(token)
    first = body[:1]
    if first in (b"'", b'"'):
        return unescape_string(body)
    if body[:2] in (b"0x", b"0X"):
        return bytes.fromhex(body[2:].decode("ascii")) if len(body) % 2 == 0 else \
            bytes.fromhex("0" + body[2:].decode("ascii"))
    if first in (b"x", b"X") and body[1:2] == b"'":
        return bytes.fromhex(body[2:-1].decode("ascii"))
    if first in (b"b", b"B") and body[1:2] == b"'":
        digits = body[2:-1] or b"0"
        value = int(digits, 2)
        return value.to_bytes(max(1, (len(digits) + 7) // 8), "big")
    if body.upper() == b"NULL":
        return None
    return body


def tokenize(text, offset=0):
    """Yield (kind, bytes) for every significant token of a whole statement (comments dropped,
    conditional comment markers dropped so their content is read as code)."""
    pos, n = 0, len(text)
    while pos < n:
        m = TOKEN_RE.match(text, pos)
        kind = m.lastgroup
        if kind == "incomplete":
            raise DumpSyntaxError("unterminated quote or comment at byte offset %d" % (offset + pos))
        if kind not in SKIP:
            yield kind, m.group()
        pos = m.end()


_SPLIT_RE = compile_possessive(rb"\s*(" + VALUE + rb"|[^,'\"]+?)\s*(?:,|\Z)", re.S)


def split_values(inside):
    """The text inside one VALUES tuple -> list of value literals, split on top-level commas.
    The slow, general path: expressions (e.g. -1 * 2) are kept whole as tokens."""
    values, current, depth = [], [], 0
    for kind, tok in tokenize(inside):
        if kind == "punct" and tok == b"," and depth == 0:
            values.append(b"".join(current))
            current = []
            continue
        if kind == "punct" and tok == b"(":
            depth += 1
        elif kind == "punct" and tok == b")":
            depth -= 1
        if current and kind in ("word", "number") and current[-1][-1:].isalnum():
            current.append(b" ")
        current.append(tok)
    values.append(b"".join(current))
    return values


def ident_name(token):
    """`a``b` -> 'a`b'; bare word -> itself; decoded as UTF-8."""
    if token[:1] == b"`":
        token = token[1:-1].replace(b"``", b"`")
    elif token[:1] in (b"'", b'"'):
        token = unescape_string(token)
    return token.decode("utf-8", "replace")
