"""live_copy of the Q&A application's content_embedding table (bench/datasets/qa.py's load_mariadb) with
embeddings: [{table, column, dimensions, type: vector}], on the lab: vector(N) values equal the source's
JSON embeddings as float32; invalid embeddings handled per policy, the row key named."""
import json
import os
import sys
import uuid
from array import array

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.datasets import qa  # noqa: E402

ROWS, DIMS = 240, 48
BAD = {5: "nan", 7: "short", 11: "not_json"}


@pytest.fixture(scope="module")
def qa_source(mysql_connect):
    db = "lc_qa_%s" % uuid.uuid4().hex[:8]
    admin = mysql_connect()
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % db)
    conn = mysql_connect(db)
    qa.load_mariadb(conn, ROWS, dimensions=DIMS, bad=BAD)
    with conn.cursor() as cur:
        cur.execute("SELECT id, embedding FROM content_embedding ORDER BY id")
        source = dict(cur.fetchall())
    conn.close()
    yield db, source
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    admin.close()


def _copy(lab, pg_db, db, dest, invalid):
    from ansible_collections.pgshift.mysql.plugins.module_utils.live.copy import live_copy

    params = {"mysql_defaults_file": lab["mysql"]["defaults_file"], "pg_host": lab["postgresql"]["host"],
              "pg_port": lab["postgresql"]["port"], "pg_user": lab["postgresql"]["user"],
              "pg_passfile": lab["postgresql"]["passfile"], "pg_database": pg_db}
    spec = {"table": "content_embedding", "column": "embedding", "dimensions": DIMS, "type": "vector",
            "invalid": invalid}
    return live_copy(params, databases=[db], dest=str(dest), jobs=2, embeddings=[spec])


def _pg_vectors(pg, db):
    with pg.cursor() as cur:
        cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'embedding'"
                    " AND attrelid = %s::regclass", ('"%s".content_embedding' % db,))
        assert cur.fetchone()[0] == "vector(%d)" % DIMS
        cur.execute('SELECT id, embedding::text FROM "%s".content_embedding ORDER BY id' % db)
        return {i: None if v is None else list(array("f", json.loads(v))) for i, v in cur.fetchall()}


def test_vectors_equal_source_as_float32_bad_ones_nulled(lab, qa_source, pg_db, pg_connect, tmp_path):
    db, source = qa_source
    result = _copy(lab, pg_db, db, tmp_path / "d", "null")
    key = "%s.content_embedding" % db
    assert result["tables"][key]["rows"] == ROWS
    assert any("%d invalid value(s) of column 'embedding' set to NULL" % len(BAD) in w
               for w in result["warnings"]), result["warnings"]
    pg = pg_connect(pg_db)
    got = _pg_vectors(pg, db)
    pg.close()
    assert set(got) == set(source)
    for rid, text in source.items():
        if rid in BAD or text is None:
            assert got[rid] is None, rid
        else:
            assert got[rid] == qa.expected_vector(text), rid
    assert sum(v is not None for v in got.values()) > ROWS * 0.9


def test_invalid_error_names_the_key(lab, qa_source, pg_db, tmp_path):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    db, _ = qa_source
    with pytest.raises(MigrationError) as err:
        _copy(lab, pg_db, db, tmp_path / "d", "error")
    msg = str(err.value)
    assert "content_embedding" in msg and "id=5" in msg, msg


def test_invalid_reject_diverts_rows(lab, qa_source, pg_db, pg_connect, tmp_path):
    db, _ = qa_source
    result = _copy(lab, pg_db, db, tmp_path / "d", "reject")
    rejects = (tmp_path / "d" / "rejects" / ("%s.content_embedding.copy" % db)).read_bytes()
    assert sorted(int(line.split(b"\t")[0]) for line in rejects.splitlines()) == sorted(BAD)
    assert result["tables"]["%s.content_embedding" % db]["rows"] == ROWS - len(BAD)
