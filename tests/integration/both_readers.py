"""One MariaDB database into PostgreSQL by either reader, for tests that hold both to the same result."""
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load
from test_live_copy import params_for, run_live_copy
from test_pg_load_e2e import _dump

READERS = ["dump", "live"]


def migrate(reader, lab, mysql_db, pg_db, dest, load_options=None, **options):  # noqa: PLR0917
    """mariadb-dump + transform + load (reader 'dump') or live_copy ('live') of mysql_db into pg_db;
    options are the engines' shared options (embeddings, identifier_case, ...), load_options the
    load's (views_on_error, ...). Returns the load's result."""
    if reader == "dump":
        dump = str(dest) + ".sql"
        _dump(mysql_db, dump)
        run_transform(TransformOptions(src=dump, dest=str(dest), default_schema=mysql_db, **options))
        return load(params_for(lab, pg_db), str(dest), jobs=2, **(load_options or {}))
    return run_live_copy(params_for(lab, pg_db), [mysql_db], dest, **options, **(load_options or {}))


def run_statements(mysql_connect, db, statements):
    """Build a test's source database: each statement in order, then commit."""
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
    conn.commit()
    conn.close()
