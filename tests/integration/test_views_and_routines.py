"""Views and routines through both readers: every view tried on its own (one PostgreSQL refuses
does not take the others with it, one that reads a view listed after it is retried), views_on_error
fail|warn, and the live path reading views, triggers and routines as the dump path does (it used to
create none and report `views: []`, `routines: []`)."""
import json

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from both_readers import READERS, migrate, run_statements

pytestmark = pytest.mark.integration

SOURCE = [
    "CREATE TABLE a (id int PRIMARY KEY, n int)",
    "INSERT INTO a VALUES (1, 0), (2, 5)",
    "CREATE VIEW v_good AS SELECT id FROM a WHERE n <> 0",
    # MySQL unions an int and a string; PostgreSQL refuses ("invalid input syntax for type integer")
    "CREATE VIEW v_bad AS SELECT id, 'a' AS kind FROM a UNION ALL SELECT 'b', 2",
    "CREATE VIEW z_base AS SELECT id, n FROM a",
    # listed (and, by the live path, created) before the view it reads
    "CREATE VIEW a_top AS SELECT id FROM z_base WHERE n > 1",
    "CREATE TRIGGER a_bi BEFORE INSERT ON a FOR EACH ROW SET NEW.n = NEW.n + 1",
    "CREATE PROCEDURE p_one() SELECT 1",
]


def _source(mysql_connect, db):
    run_statements(mysql_connect, db, SOURCE)


def _views(pg_connect, pg_db, schema):
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.views WHERE table_schema = %s ORDER BY 1",
                    (schema,))
        names = [r[0] for r in cur.fetchall()]
        cur.execute('SELECT id FROM "%s".a_top' % schema)
        top = cur.fetchall()
    conn.close()
    return names, top


@pytest.mark.parametrize("reader", READERS)
def test_each_view_on_its_own_with_warn(reader, lab, mysql_db, mysql_connect, pg_db, pg_connect, tmp_path):  # noqa: PLR0917
    _source(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    result = migrate(reader, lab, mysql_db, pg_db, dest, load_options={"views_on_error": "warn"})
    assert _views(pg_connect, pg_db, mysql_db) == (["a_top", "v_good", "z_base"], [(2,)])
    refused = [w for w in result["warnings"] if w.startswith("view %s.v_bad not created" % mysql_db)]
    assert len(refused) == 1 and "invalid input syntax for type integer" in refused[0], result["warnings"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert sorted(v["name"] for v in manifest["views"]) == ["a_top", "v_bad", "v_good", "z_base"]
    assert sorted((r["kind"], r["name"]) for r in manifest["routines"]) == [("procedure", "p_one"),
                                                                              ("trigger", "a_bi")]
    assert any("routine(s)/trigger(s) not translated" in w and "trigger a_bi" in w
               for w in manifest["warnings"])


@pytest.mark.parametrize("reader", READERS)
def test_a_refused_view_fails_the_run_after_the_others(reader, lab, mysql_db, mysql_connect, pg_db,  # noqa: PLR0917
                                                       pg_connect, tmp_path):
    _source(mysql_connect, mysql_db)
    with pytest.raises(MigrationError) as failed:
        migrate(reader, lab, mysql_db, pg_db, tmp_path / "m")
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("1 view(s) not created (views_on_error=fail")
    assert ".v_bad not created" in message
    assert _views(pg_connect, pg_db, mysql_db) == (["a_top", "v_good", "z_base"], [(2,)])
