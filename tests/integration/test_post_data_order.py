"""Post-data order: the biggest tables' index builds and FK validations start first."""
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import Step, largest_tables_first


def _step(table, name):
    return Step("post", "index", schema="s", table=table, name=name, sql="CREATE INDEX %s ON s.%s (a)"
                % (name, table))


def test_largest_tables_first_keeps_each_tables_own_order(pg_db, pg_connect):
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute("CREATE SCHEMA s; CREATE TABLE s.small (a int); CREATE TABLE s.big (a int);"
                    " CREATE TABLE s.mid (a int); INSERT INTO s.small SELECT 1;"
                    " INSERT INTO s.big SELECT generate_series(1, 50000);"
                    " INSERT INTO s.mid SELECT generate_series(1, 5000)")
        todo = [(_step(t, n), "create") for t, n in [("small", "small_pkey"), ("mid", "mid_pkey"),
                                                     ("big", "big_pkey"), ("gone", "gone_idx"),
                                                     ("big", "big_a"), ("small", "small_a")]]
        ordered = [s.name for s, _need in largest_tables_first(cur, todo)]
    pg.close()
    assert ordered == ["big_pkey", "big_a", "mid_pkey", "small_pkey", "small_a", "gone_idx"]
