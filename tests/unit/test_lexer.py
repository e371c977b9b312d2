"""Lexer rules, one case per rule, plus value splitting and unescaping."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import DumpSyntaxError
from ansible_collections.pgshift.mysql.plugins.module_utils.model import mysqllexer as lx
from hypothesis import example, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("text,kind,token", [
    (b"'it\\'s'", "string", b"'it\\'s'"),
    (b"'it''s'", "string", b"'it''s'"),
    (b"_binary 'ab'", "string", b"_binary 'ab'"),
    (b"_utf8mb4'x'", "string", b"_utf8mb4'x'"),
    (b'"dq"', "dqstring", b'"dq"'),
    (b"`a``b`", "ident", b"`a``b`"),
    (b"0x00FF", "hex", b"0x00FF"),
    (b"X'0a'", "hex", b"X'0a'"),
    (b"b'101'", "bits", b"b'101'"),
    (b"1.5e-3", "number", b"1.5e-3"),
    (b"NULL", "word", b"NULL"),
    (b"@@character_set_client", "user_var", b"@@character_set_client"),
    (b";", "punct", b";"),
])
def test_token_rule(text, kind, token):
    assert list(lx.tokenize(text)) == [(kind, token)]


@pytest.mark.parametrize("text", [
    b"/*M!999999\\- enable the sandbox mode */",
    b"-- comment\n",
    b"# comment\n",
    b"/* plain */",
    b"  \r\n\t",
])
def test_skipped(text):
    assert list(lx.tokenize(text)) == []


def test_conditional_comment_content_is_code():
    assert [t for _k, t in lx.tokenize(b"/*!40101 SET NAMES utf8mb4 */")] == [b"SET", b"NAMES", b"utf8mb4"]


@pytest.mark.parametrize("text", [b"'abc", b"`abc", b"/* abc"])
def test_unterminated_is_an_error(text):
    with pytest.raises(DumpSyntaxError):
        list(lx.tokenize(text))


@pytest.mark.parametrize("token,raw", [
    (b"'a\\'b'", b"a'b"), (b"'a''b'", b"a'b"), (b"'\\\\'", b"\\"), (b"'\\0'", b"\x00"),
    (b"'\\n\\r\\t\\Z\\b'", b"\n\r\t\x1a\b"), (b"'\\%\\_'", b"\\%\\_"), (b"'\\\"'", b'"'),
    (b"0x00ff", b"\x00\xff"), (b"X'41'", b"A"), (b"b'1'", b"\x01"), (b"b'100000001'", b"\x01\x01"),
    (b"_binary 'x\\0'", b"x\x00"), (b"NULL", None), (b"42", b"42"),
])
def test_literal_bytes(token, raw):
    assert lx.literal_bytes(token) == raw


# Pieces of a string body as mysqldump (or a hand-written dump) may hold: plain bytes, every known
# escape, unknown ones (\q -> q), backslash runs, the holder bytes the fast path borrows, '' doubling.
_BODY_PIECES = st.sampled_from([
    b"a", b"\x01", b"\x02", b"\x07", b"\xc3\xa9", b'"', b"{", b":", b"0.5",
    b"\\0", b"\\'", b'\\"', b"\\b", b"\\n", b"\\r", b"\\t", b"\\Z", b"\\\\", b"\\%", b"\\_",
    b"\\q", b"\\x", b"''",
])


@given(st.lists(_BODY_PIECES, max_size=40))
@example([b"\\\\", b"\\n"])
@example([b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x07", b"\\\\", b"\\'"])
def test_unescape_by_replace_agrees_with_the_escape_by_escape_reading(pieces):
    body = b"".join(pieces)
    slow = lx._ESCAPE_RE.sub(lx._unescape_one, body)
    fast = lx._unescape_by_replace(body)
    assert fast is None or fast == slow
    assert lx.unescape_string(b"'" + body + b"'") == slow


def test_unescape_by_replace_handles_what_mysqldump_writes():
    body = b'{\\"0\\":0.5,\\"1\\":-1}\\n\\\\n\\0\\%'
    assert lx._unescape_by_replace(body) == b'{"0":0.5,"1":-1}\n\\n\x00\\%'


@pytest.mark.parametrize("inside,values", [
    (b"1,'a,b',NULL", [b"1", b"'a,b'", b"NULL"]),
    (b"'(x)',')',2", [b"'(x)'", b"')'", b"2"]),
    (b"-1 , 'q\\',r'", [b"-1", b"'q\\',r'"]),
])
def test_split_values(inside, values):
    assert lx.split_values(inside) == values


_STRING_PIECES = st.sampled_from([b"a", b",", b"\\\\", b"\\'", b'\\"', b"\\n", b";", b")", b"(", b"\xc3\xa9",
                                  b"{"])
_OUTSIDE = st.sampled_from([b"(1,", b"),(", b",NULL,", b"2.5,", b","])


@given(st.lists(st.tuples(_OUTSIDE, st.lists(_STRING_PIECES, max_size=6)), min_size=1, max_size=8),
       st.sampled_from([0, 1 << 40]))
def test_string_quotes_and_split_sparse_or_dense(items, sparse_bytes):
    """Quotes looked at one by one (sparse) or counted (dense): the same delimiters either way."""
    outside = [o for o, _s in items]
    bodies = [b"".join(s) for _o, s in items]
    text = b"".join(o + b"'" + b + b"'" for o, b in zip(outside, bodies, strict=True)) + b")"
    old = lx.SPARSE_QUOTE_BYTES
    lx.SPARSE_QUOTE_BYTES = sparse_bytes
    try:
        assert lx.string_quotes(text, 0, len(text)) == 2 * len(bodies)
        parts = lx.split_on_string_quotes(text)
        stretches = lx.outside_strings(text, 0, len(text))
    finally:
        lx.SPARSE_QUOTE_BYTES = old
    if stretches is not None:
        assert [text[lo:hi] for lo, hi in stretches] == [*outside, b")"]
    if parts is not None:
        expected = [p for o, b in zip(outside, bodies, strict=True) for p in (o, b)] + [b")"]
        assert [p.replace(b"\x03", b"\\'") for p in parts] == expected


_BODY = st.text(alphabet="ab'\\,;() \n`\"", max_size=8)
_WELL_FORMED = st.one_of(
    _BODY.map(lambda t: "'%s'" % t.replace("\\", "\\\\").replace("'", "''")),
    _BODY.map(lambda t: '"%s"' % t.replace("\\", "\\\\").replace('"', '""')),
    _BODY.map(lambda t: "`%s`" % t.replace("`", "``")),
    st.sampled_from(["NULL", "12", "-0.5", "1e3", "_binary 'x'", "0x41"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_WELL_FORMED, min_size=1, max_size=4), st.integers(0, 30))
def test_possessive_patterns_compiled_greedy_find_the_same(values, cut):
    """Managed hosts' Pythons (< 3.11) compile the lexer's and row codec's patterns greedy: on a
    dump's well-formed values, whole or cut short by the read buffer, the same tokens and tuples."""
    import re

    from ansible_collections.pgshift.mysql.plugins.module_utils.dump import rowcodec
    from ansible_collections.pgshift.mysql.plugins.module_utils.model import mysqllexer
    from ansible_collections.pgshift.mysql.plugins.module_utils.regex import _POSSESSIVE_MARK

    whole = ("(" + ",".join(values) + "),(" + ",".join(values) + ");").encode()
    older = re.compile(_POSSESSIVE_MARK.sub(b"", rowcodec.generic_tuple_pattern(possessive=False)), re.S)
    rows = ((rowcodec._GENERIC_TUPLE, older), (rowcodec.row_regex(len(values)), None))
    # tokenize() sees whole statements only; the row regexes also see a buffer that cuts a row short
    for data, patterns in ((whole, ((mysqllexer.TOKEN_RE, None), *rows)), (whole[:len(whole) - cut], rows)):
        for pattern, older_form in patterns:
            greedy = older_form or re.compile(_POSSESSIVE_MARK.sub(b"", pattern.pattern), pattern.flags)
            found = [m.group(0) for m in pattern.finditer(data)]
            assert found == [m.group(0) for m in greedy.finditer(data)], (pattern.pattern, data)
