"""model.sql_translate: sqlglot's MySQL -> PostgreSQL translation, kept to what it carries faithfully."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.model import mysqllexer as lx
from ansible_collections.pgshift.mysql.plugins.module_utils.model.mysql_ddl import join_tokens
from ansible_collections.pgshift.mysql.plugins.module_utils.model.sql_translate import translate


@pytest.mark.parametrize("mysql, pg", [
    ("`n` >= 0", '"n" >= 0'),
    ("`n` <> 0 AND `m` <= 3", '"n" <> 0 AND "m" <= 3'),
    ("length(`a`) < 10", 'OCTET_LENGTH("a") < 10'),            # MySQL LENGTH counts bytes
    ("char_length(`a`) < 10", 'LENGTH("a") < 10'),
    ("concat(`a`, '#', `id`)", 'CAST("a" AS TEXT) || \'#\' || CAST("id" AS TEXT)'),
    ("cast(`a` as char)", 'CAST("a" AS TEXT)'),
    ("cast(`a` as char(3))", 'CAST("a" AS VARCHAR(3))'),
    ("`x` collate utf8mb4_bin = _utf8mb4'a'", '"x" = \'a\''),
    ("if(`x` > 1, 'a', 'b')", 'CASE WHEN "x" > 1 THEN \'a\' ELSE \'b\' END'),
    ("`t`.`n` > 0", '"n" > 0'),
])
def test_translated(mysql, pg):
    assert translate(mysql) == (pg, None)


@pytest.mark.parametrize("mysql, context, pg", [
    ("uuid()", "default", "GEN_RANDOM_UUID()"),
    ("now()", "default", "CURRENT_TIMESTAMP"),
    ("_utf8mb3''", "default", "''"),
])
def test_defaults_may_be_volatile(mysql, context, pg):
    assert translate(mysql, context=context) == (pg, None)


@pytest.mark.parametrize("mysql, context, reason", [
    ("json_valid(`doc`)", "check", "uses JSON_VALID()"),
    ("json_unquote(json_extract(`doc`, '$.k'))", "generated", "uses JSON_UNQUOTE()"),
    ("now()", "generated", "uses NOW()"),
    ("uuid()", "check", "not allowed in a check"),
    ("`a` + 1", "default", "refers to column a"),
    ("`a` >", "check", "not parsed"),
])
def test_refused_with_the_reason(mysql, context, reason):
    sql, why = translate(mysql, context=context)
    assert sql is None and reason in why


def test_columns_are_renamed_as_the_table_is():
    assert translate("`Qty` > 0", rename=str.lower).sql == '"qty" > 0'


@pytest.mark.parametrize("text, joined", [
    (b"`n` >= 0", "`n` >= 0"), (b"a<>b", "a <> b"), (b"a != b", "a != b"), (b"a <=> b", "a <=> b"),
    (b"a - -1", "a - - 1"),    # never joined into a comment
])
def test_dump_expressions_keep_two_character_operators(text, joined):
    assert join_tokens(list(lx.tokenize(text))) == joined
