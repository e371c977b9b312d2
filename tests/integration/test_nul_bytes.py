"""NUL bytes in text (PHP-serialized objects: `s:4:"\\0*\\0p"`): the default stops naming table, key and
column and the two choices (strip loses the bytes and breaks the serialized length; a type rule making
the column bytea keeps every byte); with that type rule both readers carry the value byte for byte."""
import json

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import verify
from both_readers import READERS, migrate
from test_live_copy import params_for

pytestmark = pytest.mark.integration

VALUE = b'O:1:"A":1:{s:4:"\x00*\x00p";i:1;}'
BYTEA_RULE = [{"match": {"table": "wp_options", "column": "option_value"}, "pg_type": "bytea"},
              {"match": {"table": "wp_options", "column": "legacy"}, "pg_type": "bytea"}]


def _source(mysql_connect, db):
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE wp_options (option_id int PRIMARY KEY, option_name varchar(20),"
                    " option_value longtext NOT NULL, legacy varchar(10) CHARACTER SET latin1)"
                    " DEFAULT CHARSET=utf8mb4")
        cur.execute("INSERT INTO wp_options VALUES (1, 'plain', 'caf\u00e9', 'n\u00e9\u0000e'),"
                    " (7, 'object', %s, NULL)", (VALUE,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("reader", READERS)
def test_the_error_names_the_row_and_the_lossless_choice(reader, lab, mysql_db, mysql_connect, pg_db,  # noqa: PLR0917
                                                         tmp_path):
    _source(mysql_connect, mysql_db)
    with pytest.raises(MigrationError) as failed:
        migrate(reader, lab, mysql_db, pg_db, tmp_path / "m")
    message = str(failed.value)
    # the first row holding one: key 1, its latin1 column
    assert "wp_options" in message and "1" in message and "legacy" in message, message
    assert "bytea" in message and "strip" in message, message


@pytest.mark.parametrize("reader", READERS)
def test_a_bytea_type_rule_keeps_every_byte(reader, lab, mysql_db, mysql_connect, pg_db, pg_connect,  # noqa: PLR0917
                                            tmp_path):
    _source(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    migrate(reader, lab, mysql_db, pg_db, dest, type_rules=BYTEA_RULE)
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute('SELECT option_id, option_value, legacy FROM "%s".wp_options ORDER BY 1' % mysql_db)
        rows = [(k, bytes(v), w and bytes(w)) for k, v, w in cur.fetchall()]
    conn.close()
    # a latin1 column carries its UTF-8 bytes, as mysqldump (utf8mb4 connection) writes them
    assert rows == [(1, "caf\u00e9".encode(), "n\u00e9\x00e".encode()), (7, VALUE, None)]
    params = params_for(lab, pg_db)
    report = verify({"mysql_defaults_file": params["mysql_defaults_file"]},
                    {k: v for k, v in params.items() if k.startswith("pg_")},
                    json.loads((dest / "manifest.json").read_text()), mode="checksums")
    assert report["ok"], report
