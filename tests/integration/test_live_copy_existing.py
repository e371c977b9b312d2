"""live_copy with schema_mode existing into an ORM-made PostgreSQL schema (camelCase quoted columns,
boolean, jsonb, timestamptz), on the lab: names mapped exactly then case-insensitively, values coerced to
the target types, an unmapped column fails by name unless ignore_columns."""
import datetime
import uuid

import pytest
from test_live_copy import params_for, run_live_copy

pytestmark = pytest.mark.integration

ORM_DDL = """
CREATE TABLE public."Users" (
  "id" serial PRIMARY KEY, "firstName" varchar(40) NOT NULL, "isActive" boolean,
  "profile" jsonb, "createdAt" timestamptz, "score" numeric(10,2))"""

ROWS = [
    (1, "Ann\ttab", 1, '{"lang": "fr", "tags": [1, 2]}', "2024-03-01 10:00:00", 12),
    (2, "Bob", 0, "[]", "1999-12-31 23:59:59", None),
    (3, "Cé\\lia", None, None, None, -5),
]


@pytest.fixture
def orm_source(mysql_connect):
    db = "lc_orm_%s" % uuid.uuid4().hex[:8]
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        cur.execute("CREATE TABLE `%s`.users (id int PRIMARY KEY, `firstName` varchar(40) NOT NULL,"
                    " `IsActive` tinyint(1), profile text, `createdAt` datetime, score int,"
                    " legacy varchar(9))" % db)
        cur.executemany("INSERT INTO `%s`.users VALUES (%%s, %%s, %%s, %%s, %%s, %%s, 'old')" % db, ROWS)
    conn.commit()
    yield db
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


def _copy(lab, pg_db, db, dest, **kw):
    return run_live_copy(params_for(lab, pg_db), [db], dest, schema_mode="existing", if_exists="truncate",
                         **kw)


@pytest.fixture
def orm_target(pg_db, pg_connect):
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute(ORM_DDL)
        cur.execute("""INSERT INTO public."Users" ("firstName") VALUES ('stale row')""")
    pg.commit()
    yield pg
    pg.close()


def test_unmapped_column_fails_naming_it(lab, orm_source, pg_db, orm_target, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    with pytest.raises(MigrationError, match=r"users\.legacy .*ignore_columns"):
        _copy(lab, pg_db, orm_source, tmp_path / "d")


def test_orm_schema_filled_with_coerced_values(lab, orm_source, pg_db, orm_target, tmp_path):
    result = _copy(lab, pg_db, orm_source, tmp_path / "d", ignore_columns=["legacy"])
    assert result["tables"]["public.Users"]["rows"] == 3, result
    with orm_target.cursor() as cur:
        cur.execute('SELECT "id", "firstName", "isActive", "profile", "createdAt", "score"'
                    ' FROM public."Users" ORDER BY "id"')
        rows = cur.fetchall()
    utc = datetime.UTC
    assert rows == [
        (1, "Ann\ttab", True, {"lang": "fr", "tags": [1, 2]}, datetime.datetime(2024, 3, 1, 10, tzinfo=utc),
         12),
        (2, "Bob", False, [], datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=utc), None),
        (3, "Cé\\lia", None, None, None, -5),
    ]
    import json

    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    entry = manifest["tables"][0]
    assert (entry["schema"], entry["name"], entry["create_sql"], entry["post_data"]) == (
        "public", "Users", "", [])
    assert [c["name"] for c in entry["columns"]] == ["id", "firstName", "isActive", "profile", "createdAt",
                                                      "score"]
    assert any("legacy" in w for w in entry["warnings"])
    again = _copy(lab, pg_db, orm_source, tmp_path / "d", ignore_columns=["legacy"])
    assert not again["changed"]
