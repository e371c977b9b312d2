"""PostgreSQL COPY text format: escaping values into it, and decoding them back.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.copytext import (
        NULL, copy_escape, copy_escape_bytes, bytea_field, format_row, parse_row)

    copy_escape("a\\tb")         -> "a\\\\tb" style text (str in, str out)
    copy_escape_bytes(b"a\\tb")  -> bytes in, bytes out (UTF-8 text already)
    bytea_field(b"\\x00\\xff")    -> b"\\\\x00ff"   (bytea hex input, backslash doubled for COPY)
    format_row([b"1", NULL, copy_escape_bytes(b"x")]) -> b"1\\t\\\\N\\tx\\n"
    parse_row(b"1\\t\\\\N\\tx\\n") -> ["1", None, "x"]   (for tests and checks)

COPY text: fields separated by tab, rows by newline, NULL is \\N, and backslash, tab, newline and
carriage return inside a value are written \\\\, \\t, \\n, \\r.
"""
import re

NULL = b"\\N"
NULL_STR = "\\N"

_NEEDS_ESCAPE_B = re.compile(rb"[\\\t\n\r]")
_NEEDS_ESCAPE_S = re.compile(r"[\\\t\n\r]")
_UNESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.S)
_UNESCAPE_MAP = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_escape_bytes(value):
    """bytes (UTF-8 text) -> bytes escaped for a COPY text field. Fast when nothing needs escaping."""
    if _NEEDS_ESCAPE_B.search(value) is None:
        return value
    return (value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t")
            .replace(b"\n", b"\\n").replace(b"\r", b"\\r"))


def copy_escape(value):
    """str -> str escaped for a COPY text field; bytes are treated as UTF-8 text (bytes out)."""
    if isinstance(value, (bytes, bytearray)):
        return copy_escape_bytes(bytes(value))
    if _NEEDS_ESCAPE_S.search(value) is None:
        return value
    return (value.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def bytea_field(data):
    """Raw bytes -> a bytea COPY field in hex format (\\\\x.., the backslash escaped for COPY)."""
    return b"\\\\x" + bytes(data).hex().encode("ascii")


def format_row(fields):
    """Already-escaped bytes fields (or NULL) -> one COPY line."""
    return b"\t".join(fields) + b"\n"


def _unescape_field(text):
    def repl(m):
        s = m.group(1)
        if s[0] == "x" and len(s) > 1:
            return chr(int(s[1:], 16))
        if s[0] in "01234567":
            return chr(int(s, 8))
        return _UNESCAPE_MAP.get(s, s)
    return _UNESCAPE_RE.sub(repl, text)


def parse_row(line):
    """One COPY line (bytes or str) -> list of str|None. For tests, checks and small readers."""
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("utf-8")
    line = line[:-1] if line.endswith("\n") else line
    return [None if f == NULL_STR else _unescape_field(f) for f in line.split("\t")]
