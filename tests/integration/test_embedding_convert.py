"""Generator -> MariaDB -> text in PostgreSQL (COPY) -> embedding_convert -> vector(N) + HNSW, checked."""
import json
import os
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:  # bench.datasets: the generator
    sys.path.insert(0, ROOT)
ROWS, DIMS = 400, 32
BAD = {5: "nan", 9: "short", 13: "string_order", 17: "missing", 21: "string", 25: "infinity", 29: "empty"}
INVALID = {5: 'value at "3" is NaN', 9: "31 dimensions, expected 32", 17: 'missing key "17"',
           21: 'value at "5" is not a number', 25: 'value at "2" is Infinity', 29: "empty JSON object"}


@pytest.fixture(scope="module")
def source(mysql_connect):
    """A MariaDB database with the guide's tables, generated once for the module."""
    from bench.datasets import qa

    name = "t_emb_%s" % uuid.uuid4().hex[:8]
    conn = mysql_connect()
    conn.cursor().execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
    conn.select_db(name)
    counts = qa.load_mariadb(conn, ROWS, DIMS, seed=11, bad=BAD)
    yield conn, counts
    conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)
    conn.close()


@pytest.fixture
def loaded(source, pg_db, pg_connect):
    """The MariaDB text copied as-is into a fresh PostgreSQL database (pgvector created)."""
    from bench.datasets import qa

    conn = pg_connect(pg_db)
    conn.cursor().execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.commit()
    qa.copy_mariadb_to_pg(source[0], conn)
    yield conn, pg_db, source[1]
    conn.close()


def job(conn, **kw):
    from ansible_collections.pgshift.mysql.plugins.module_utils.embeddings.column_job import EmbeddingJob

    options = {"index": {"method": "hnsw", "opclass": "cosine", "m": 8, "ef_construction": 32},
               "check": True, "local_host": True, "batch_rows": 64}
    options.update(kw)
    return EmbeddingJob(conn, "public.content_embedding", "embedding", **options)


def column_type(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                    "'content_embedding'::regclass AND attname = 'embedding'")
        return cur.fetchone()[0]


@pytest.mark.parametrize("engine", ["copy", "sql"])
def test_null_policy_converts_indexes_checks_and_is_idempotent(loaded, engine):
    conn, _, counts = loaded
    nulls = counts["null_embeddings"] + len(INVALID)
    result = job(conn, invalid="null", expected_nulls=nulls, engine=engine).run()
    assert result["changed"] and result["converted"] == ROWS - nulls
    assert {r["key"]: r["reason"] for r in result["invalid_rows"]}.keys() == INVALID.keys()
    for row in result["invalid_rows"]:
        assert INVALID[row["key"]] in row["reason"]
    assert column_type(conn) == "vector(32)"
    assert result["checks"]["explain_uses_index"] == "content_embedding_embedding_hnsw_idx"
    assert result["checks"]["sample_compared"] == 200 and result["checks"]["nulls"] == nulls
    assert int(result["index"]["settings"]["maintenance_work_mem"].rstrip("kB")) >= 65536
    again = job(conn, invalid="null").run()
    assert again["changed"] is False and again["plan"]["steps"] == []


def test_reject_policy_copies_rows_with_reasons(loaded):
    conn, _, _ = loaded
    result = job(conn, invalid="reject", index=None).run()
    assert result["rejected"] == len(INVALID)
    with conn.cursor() as cur:
        cur.execute("SELECT id, pgshift_reason, embedding IS NOT NULL FROM "
                    "pgshift_rejects.content_embedding_embedding ORDER BY id")
        rows = cur.fetchall()
    assert [r[0] for r in rows] == sorted(INVALID)
    assert all(INVALID[k] in reason and kept for k, reason, kept in rows)


@pytest.mark.parametrize("engine", ["copy", "sql"])
def test_error_policy_names_the_first_bad_key(loaded, engine):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import ValueConversionError

    conn, _, _ = loaded
    with pytest.raises(ValueConversionError, match=r'first id = 5: value at "3" is NaN'):
        job(conn, invalid="error", engine=engine).run()
    assert column_type(conn) == "text"  # not swapped; a rerun resumes


def test_check_mode_plans_and_changes_nothing(loaded):
    conn, _, _ = loaded
    result = job(conn, invalid="null").run(check_mode=True)
    assert result["changed"] and result["plan"]["steps"] == ["convert", "index"]
    assert result["plan"]["batches"] == 7 and column_type(conn) == "text"


def test_module_through_ansible_playbook(loaded, lab, tmp_path):
    conn, db, _ = loaded
    pg = lab["postgresql"]
    playbook = tmp_path / "emb.yml"
    playbook.write_text("""- name: Convert embeddings
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Convert
      pgshift.mysql.embedding_convert:
        pg_host: "%s"
        pg_port: %d
        pg_user: "%s"
        pg_passfile: "%s"
        pg_database: "%s"
        table: public.content_embedding
        column: embedding
        invalid: "null"
        index: {method: hnsw, opclass: l2}
        check: true
      register: out
    - name: Show
      ansible.builtin.debug:
        var: out
""" % (pg["host"], pg["port"], pg["user"], pg["passfile"], db))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run([os.path.join(ROOT, ".venv/bin/ansible-playbook"), str(playbook)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    res = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert res["changed"] and res["checks"]["explain_uses_index"]
    assert sorted(r["key"] for r in res["invalid_rows"]) == sorted(INVALID)
    assert column_type(conn) == "vector(32)"
