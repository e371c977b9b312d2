"""pre-data.sql / post-data.sql are written once for every reader: the dump path and the live path
give the same files for the same database, and psql replays them into an empty database
(ON_ERROR_STOP=1). The live path used to create a foreign key before the key it references and to
leave out CREATE EXTENSION vector."""
import os
import subprocess

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from test_live_copy import params_for, run_live_copy
from test_pg_load_e2e import _dump

pytestmark = pytest.mark.integration

EMBEDDINGS = [{"table": "b_doc", "column": "embedding", "dimensions": 3}]


def _two_tables(mysql_connect, db):
    """The referencing table sorts first, so a per-table writer puts its FK before the referenced key."""
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE b_doc (id int PRIMARY KEY, embedding longtext)")
        cur.execute("CREATE TABLE a_chunk (id int PRIMARY KEY, doc_id int NOT NULL, body text, "
                    "KEY (doc_id), CONSTRAINT a_chunk_doc FOREIGN KEY (doc_id) REFERENCES b_doc (id))")
        cur.execute("""INSERT INTO b_doc VALUES (1, '{"0":0.5,"1":-0.25,"2":1}')""")
        cur.execute("INSERT INTO a_chunk VALUES (1, 1, 'x')")
    conn.close()


def _psql(lab, database, path):
    p = lab["postgresql"]
    env = dict(os.environ, PGPASSFILE=p["passfile"])
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", p["host"], "-p", str(p["port"]),
                           "-U", p["user"], "-d", database, "-f", str(path)],
                          env=env, capture_output=True, text=True, check=False)


def test_both_paths_write_the_same_files_and_psql_replays_them(lab, mysql_db, mysql_connect, pg_db,  # noqa: PLR0917
                                                                new_pg_database, tmp_path):
    _two_tables(mysql_connect, mysql_db)
    _dump(mysql_db, str(tmp_path / "d.sql"))
    run_transform(TransformOptions(src=str(tmp_path / "d.sql"), dest=str(tmp_path / "dump"),
                                   default_schema=mysql_db, embeddings=EMBEDDINGS))
    run_live_copy(params_for(lab, pg_db), [mysql_db], tmp_path / "live", embeddings=EMBEDDINGS)
    for name in ("pre-data.sql", "post-data.sql"):
        assert (tmp_path / "live" / name).read_text() == (tmp_path / "dump" / name).read_text(), name
    post = (tmp_path / "live" / "post-data.sql").read_text()
    assert post.index("b_doc_pkey") < post.index("a_chunk_doc")
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in (tmp_path / "live" / "pre-data.sql").read_text()
    for reader in ("dump", "live"):
        target = new_pg_database()
        for name in ("pre-data.sql", "post-data.sql"):
            run = _psql(lab, target, tmp_path / reader / name)
            assert run.returncode == 0, (reader, name, run.stderr)
