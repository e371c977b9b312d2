"""Laravel's default schema: `bigint unsigned` ids (identity `bigint`) referenced by plain `bigint
unsigned` columns (`numeric(20)` by the type rules). The foreign keys used to fail ("cannot be
implemented ... numeric and bigint") and the post-data after them was skipped. Through both
readers, and through migrate-dump's pipeline (which creates `posts` before it has read `users`)."""
import json

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.pipeline import migrate_dump
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import TransformOptions
from both_readers import READERS, migrate, run_statements
from test_live_copy import params_for
from test_pg_load_e2e import _dump

pytestmark = pytest.mark.integration

SCHEMA = [
    "CREATE TABLE users (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(20))",
    # named `a_posts` so that a dump lists it before the table it references
    "CREATE TABLE a_posts (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " user_id bigint unsigned NOT NULL, editor_id bigint unsigned NULL, KEY (user_id),"
    " CONSTRAINT a_posts_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id),"
    " CONSTRAINT a_posts_editor_id_foreign FOREIGN KEY (editor_id) REFERENCES users (id))",
    "INSERT INTO users (name) VALUES ('a'), ('b')",
    "INSERT INTO a_posts (user_id, editor_id) VALUES (1, NULL), (2, 1), (2, 2)",
]


def _source(mysql_connect, db):
    run_statements(mysql_connect, db, SCHEMA)


def _target(pg_connect, pg_db, schema):
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = %s::regclass AND a.attnum > 0 ORDER BY a.attnum",
                    ('"%s".a_posts' % schema,))
        types = dict(cur.fetchall())
        cur.execute("SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' "
                    "AND conrelid = %s::regclass ORDER BY 1", ('"%s".a_posts' % schema,))
        fks = cur.fetchall()
        cur.execute(f'SELECT count(*) FROM "{schema}".a_posts JOIN "{schema}".users u ON u.id = user_id')
        joined = cur.fetchone()[0]
    conn.close()
    return types, fks, joined


def _check(pg_connect, pg_db, schema, manifest):
    types, fks, joined = _target(pg_connect, pg_db, schema)
    assert types == {"id": "bigint", "user_id": "bigint", "editor_id": "bigint"}
    assert fks == [("a_posts_editor_id_foreign", True), ("a_posts_user_id_foreign", True)]
    assert joined == 3
    warnings = " ".join(manifest["warnings"])
    assert "a_posts.user_id: numeric(20) -> bigint, the type of the column it references" in warnings
    posts = next(t for t in manifest["tables"] if t["name"] == "a_posts")
    assert {c["name"]: c["pg_type"] for c in posts["columns"]}["user_id"] == "bigint"


@pytest.mark.parametrize("reader", READERS)
def test_referencing_columns_take_the_referenced_type(reader, lab, mysql_db, mysql_connect, pg_db, pg_connect,  # noqa: PLR0917
                                                      tmp_path):
    _source(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    migrate(reader, lab, mysql_db, pg_db, dest)
    _check(pg_connect, pg_db, mysql_db, json.loads((dest / "manifest.json").read_text()))


def test_the_pipeline_aligns_a_table_it_created_before_its_parent(lab, mysql_db, mysql_connect, pg_db,  # noqa: PLR0917
                                                                  pg_connect, tmp_path):
    _source(mysql_connect, mysql_db)
    dump = str(tmp_path / "d.sql")
    _dump(mysql_db, dump)
    dest = tmp_path / "m"
    migrate_dump(params_for(lab, pg_db), TransformOptions(src=dump, dest=str(dest), default_schema=mysql_db))
    _check(pg_connect, pg_db, mysql_db, json.loads((dest / "manifest.json").read_text()))
