"""WordPress's `datetime NOT NULL DEFAULT '0000-00-00 00:00:00'` through both readers: zero_date null
drops NOT NULL and the zero default there (as pgloader does, said in a warning) instead of failing with
a not-null violation; zero_date -infinity keeps NOT NULL. verify --mode checksums agrees afterwards."""
import json

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import verify
from both_readers import READERS, migrate, run_statements
from test_live_copy import params_for

pytestmark = pytest.mark.integration

SOURCE = [
    "SET SESSION sql_mode = ''",   # as WordPress's installs: zero dates allowed
    "CREATE TABLE wp_posts (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',"
    " post_modified datetime(3) NOT NULL DEFAULT '0000-00-00 00:00:00.000', shown date NULL)",
    "INSERT INTO wp_posts (ID, post_date, post_modified, shown) VALUES"
    " (1, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00'),"
    " (2, '2020-01-02 03:04:05', '2020-01-02 03:04:05.250', '2020-01-02'), (3, '2021-05-06 07:08:09', "
    " '0000-00-00 00:00:00', NULL)",
]


def _source(mysql_connect, db):
    run_statements(mysql_connect, db, SOURCE)


def _target(pg_connect, pg_db, schema):
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute("SELECT column_name, is_nullable, column_default FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = 'wp_posts' ORDER BY ordinal_position",
                    (schema,))
        columns = {name: (nullable, default) for name, nullable, default in cur.fetchall()}
        cur.execute('SELECT "ID", post_date::text, post_modified::text, shown::text FROM "%s".wp_posts'
                    ' ORDER BY 1' % schema)
        rows = cur.fetchall()
    conn.close()
    return columns, rows


@pytest.mark.parametrize("reader", READERS)
def test_null_drops_not_null_where_the_default_is_a_zero_date(reader, lab, mysql_db, mysql_connect,  # noqa: PLR0917
                                                               pg_db, pg_connect, tmp_path):
    _source(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    migrate(reader, lab, mysql_db, pg_db, dest, zero_date="null")
    columns, rows = _target(pg_connect, pg_db, mysql_db)
    assert columns["post_date"] == ("YES", None) and columns["post_modified"] == ("YES", None)
    assert rows == [(1, None, None, None), (2, "2020-01-02 03:04:05", "2020-01-02 03:04:05.25", "2020-01-02"),
                    (3, "2021-05-06 07:08:09", None, None)]
    manifest = json.loads((dest / "manifest.json").read_text())
    warnings = " ".join(w for t in manifest["tables"] for w in t["warnings"])
    assert "column 'post_date': zero-date default '0000-00-00 00:00:00' and NOT NULL dropped" in warnings
    _verified(lab, pg_db, dest)


@pytest.mark.parametrize("reader", READERS)
def test_minus_infinity_keeps_not_null(reader, lab, mysql_db, mysql_connect, pg_db, pg_connect, tmp_path):  # noqa: PLR0917
    _source(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    migrate(reader, lab, mysql_db, pg_db, dest, zero_date="-infinity")
    columns, rows = _target(pg_connect, pg_db, mysql_db)
    assert columns["post_date"] == ("NO", "'-infinity'::timestamp without time zone")
    assert rows == [(1, "-infinity", "-infinity", "-infinity"),
                    (2, "2020-01-02 03:04:05", "2020-01-02 03:04:05.25", "2020-01-02"),
                    (3, "2021-05-06 07:08:09", "-infinity", None)]
    _verified(lab, pg_db, dest)


def _verified(lab, pg_db, dest):
    params = params_for(lab, pg_db)
    report = verify({"mysql_defaults_file": params["mysql_defaults_file"]},
                    {k: v for k, v in params.items() if k.startswith("pg_")},
                    json.loads((dest / "manifest.json").read_text()), mode="checksums")
    assert report["ok"], report
