"""End to end: sakila and world into MariaDB, mariadb-dump, transform, pg_load; then migration_verify
passes on every table and sequence_reset puts every identity at MariaDB's AUTO_INCREMENT."""

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.finish.sequences import reset_sequences
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_manifest
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import failure_message, verify
from test_pg_load_e2e import MY_CNF, migrated  # noqa: F401  (migrated: the shared module fixture)


@pytest.fixture(scope="module")
def sources(request):
    """world and sakila in MariaDB, dumped, transformed and loaded (test_pg_load_e2e's fixture)."""
    loaded = request.getfixturevalue("migrated")
    return {name: {"my_db": my_db, "pg_db": pg_db, "dest": dest, "pg": params,
                   "mysql": {"mysql_defaults_file": MY_CNF}}
            for name, (my_db, pg_db, dest, params, _result) in loaded.items()}


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_verify_passes_after_transform_and_load(sources, name):
    m = sources[name]
    manifest = read_manifest(m["dest"])
    report = verify(m["mysql"], m["pg"], manifest, chunk_rows=1000)
    assert report["ok"], failure_message(report)
    assert set(report["tables"]) == {"%s.%s" % (t["schema"], t["name"]) for t in manifest["tables"]}
    assert report["rows"] == {"world": 5302, "sakila": 47273}[name]
    assert all(t["chunks_checked"] == t["chunks"] for t in report["tables"].values())


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_verify_catches_a_change_after_load(sources, pg_connect, name):
    m = sources[name]
    table, key, column = {"world": ("city", "ID", "Population"),
                          "sakila": ("payment", "payment_id", "amount")}[name]
    pg = pg_connect(m["pg_db"])
    with pg, pg.cursor() as cur:
        cur.execute('UPDATE %s.%s SET "%s" = "%s" + 1 WHERE "%s" = 1234' % (name, table, column, column, key))
    try:
        report = verify(m["mysql"], m["pg"], read_manifest(m["dest"]), tables=[table], chunk_rows=1000)
        diffs = report["tables"]["%s.%s" % (name, table)]["differences"]
        assert [d["key"] for d in diffs] == [{key: 1234}] and column in diffs[0]["columns"]
    finally:
        with pg, pg.cursor() as cur:
            cur.execute('UPDATE %s.%s SET "%s" = "%s" - 1 WHERE "%s" = 1234'
                        % (name, table, column, column, key))
        pg.close()


@pytest.mark.parametrize("name", ["world", "sakila"])
def test_sequence_reset_matches_mariadb_auto_increment(sources, mysql_connect, pg_connect, name):
    m = sources[name]
    manifest = read_manifest(m["dest"])
    my = mysql_connect(m["my_db"])
    with my.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s "
                    "AND AUTO_INCREMENT IS NOT NULL", (m["my_db"],))
        expected = {"%s.%s" % (name, t): v for t, v in cur.fetchall()}
    my.close()
    pg = pg_connect(m["pg_db"])
    result = reset_sequences(pg, [name], manifest)
    got = {t: next(iter(v["columns"].values()))["after"] for t, v in result["tables"].items()}
    assert got == expected
    assert reset_sequences(pg, [name], manifest)["changed"] is False
    insert, table = {
        "world": ("INSERT INTO world.city (\"Name\", \"CountryCode\", \"District\", \"Population\") "
                  "VALUES ('x', 'NLD', 'd', 1) RETURNING \"ID\"", "world.city"),
        "sakila": ("INSERT INTO sakila.actor (first_name, last_name) VALUES ('A', 'B') RETURNING actor_id",
                   "sakila.actor")}[name]
    with pg.cursor() as cur:
        cur.execute(insert)
        assert cur.fetchone()[0] == expected[table]
    pg.rollback()
    pg.close()
