#!/usr/bin/python
"""Ansible module: embeddings already in PostgreSQL as text/json/jsonb -> vector(N) + HNSW index."""

DOCUMENTATION = r"""
module: embedding_convert
short_description: Convert JSON embeddings stored in PostgreSQL to pgvector, index and check them
description:
  - For embeddings loaded into PostgreSQL as text, json or jsonb (a JSON object keyed C("0").."N-1"
    as the guide's MySQL application stored them, or a JSON array of numbers), converts the column
    to C(vector(N)) or C(halfvec(N)), builds an HNSW or IVFFlat index and verifies the result.
  - Conversion runs in key-range batches (O(batch_rows)), each its own transaction, into a new
    column; each batch is one COPY out, a conversion by the dump stream's validator, one COPY into a
    temporary table and one UPDATE joining it in (O(engine=sql) converts with json_each inside
    PostgreSQL instead). The key set (exactly 0..N-1) and the value types are validated. A rerun
    resumes where a failed run stopped.
  - The column swap is one short transaction of C(ALTER TABLE ... RENAME COLUMN) twice and
    C(DROP COLUMN), catalogue-only changes, so the ACCESS EXCLUSIVE lock is held only for the
    renames (with O(lock_timeout)), never during the conversion, which only takes ROW EXCLUSIVE.
    Stop the application's writers first (rows written during the run would not be converted).
  - The index build sets C(maintenance_work_mem) for its session so the whole graph fits (estimated
    from rows, dimensions and m), capped by O(memory_share) of the server's RAM (read from
    /proc/meminfo through the server when permitted, else O(memory_mb)), and sets
    C(max_parallel_maintenance_workers). The build time is returned.
  - Idempotent; check mode reports the plan (steps, rows, dimensions, batches) and changes nothing.
version_added: "1.0.0"
author: pgshift.mysql contributors
extends_documentation_fragment:
  - pgshift.mysql.postgresql
options:
  table:
    description: The table, as C(schema.table) (C(public) when no schema is given).
    type: str
    required: true
  column:
    description: The column holding the embeddings.
    type: str
    required: true
  key:
    description: An integer key column for the batches. Default the single-column primary key.
    type: str
  dimensions:
    description: N. Default taken from the first non-NULL row, then enforced on every row.
    type: int
  type:
    description: C(vector) (HNSW/IVFFlat up to 2,000 dimensions) or C(halfvec) (up to 4,000).
    type: str
    choices: [vector, halfvec]
    default: vector
  format:
    description: How the values are stored.
    type: str
    choices: [json_object, json_array]
    default: json_object
  invalid:
    description:
      - What to do with a row that is not a valid embedding (missing/extra keys, non-numbers, NaN,
        Infinity, wrong dimension count).
      - C(error) stops naming the key and the reason; C(null) leaves it NULL; C(reject) copies the
        row with its reason to C(pgshift_rejects.<table>_<column>) and leaves it NULL. Invalid rows
        are always listed in RV(invalid_rows).
    type: str
    choices: [error, "null", reject]
    default: error
  batch_rows:
    description: Key range per batch (and transaction).
    type: int
    default: 2000
  engine:
    description:
      - How each batch is converted; both validate the same way and apply the same O(invalid) policy.
      - C(copy) streams the batch out with COPY, converts it with the dump stream's converter (a
        regex-checked fast path keeps canonical JSON's number text), COPYs the vectors into a
        temporary table and joins them in with one UPDATE. About twice as fast as C(sql).
      - C(sql) converts inside PostgreSQL with one set-based UPDATE per batch (json_each).
    type: str
    choices: [copy, sql]
    default: copy
  index:
    description: The index to build; omit for none.
    type: dict
    suboptions:
      method:
        description: Access method.
        type: str
        choices: [hnsw, ivfflat]
        default: hnsw
      opclass:
        description: Distance the application queries with.
        type: str
        choices: [cosine, l2, ip]
        default: cosine
      m:
        description: HNSW max connections per layer.
        type: int
        default: 16
      ef_construction:
        description: HNSW candidate list size while building.
        type: int
        default: 64
      lists:
        description: IVFFlat lists. Default rows / 1000.
        type: int
      name:
        description: Index name. Default C(<table>_<column>_<method>_idx).
        type: str
  memory_share:
    description: Largest share of the database host's RAM the index build may use.
    type: float
    default: 0.25
  memory_mb:
    description: RAM of the database host in MB, when the server cannot report it (remote, no privilege).
    type: int
  parallel_workers:
    description: max_parallel_maintenance_workers for the build. Default min(max_parallel_workers, 4).
    type: int
  lock_timeout:
    description: lock_timeout for the catalogue changes (add column, swap).
    type: str
    default: 5s
  check:
    description: Verify after the load (vector_dims of every row, NULL count, a sample compared
      element by element with its source JSON, EXPLAIN of a nearest-neighbour query using the index).
    type: bool
    default: false
  expected_nulls:
    description: The source's count of NULL embeddings, compared when O(check=true).
    type: int
  sample_rows:
    description: Rows compared with their source JSON when O(check=true).
    type: int
    default: 200
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A column already vector(N) with the index present gives changed=false.
requirements:
  - psycopg2
  - pgvector 0.7+ in the target database (halfvec)
"""

EXAMPLES = r"""
- name: Convert the guide's JSON embeddings and build the HNSW index
  pgshift.mysql.embedding_convert:
    pg_database: athena
    pg_service: athena_target
    table: public.content_embedding
    column: embedding
    dimensions: 1536
    invalid: reject
    index:
      method: hnsw
      opclass: cosine
      m: 16
      ef_construction: 64
    check: true
  register: emb

- name: Show the invalid rows
  ansible.builtin.debug:
    var: emb.invalid_rows
"""

RETURN = r"""
plan:
  description: Steps planned (convert, index), rows, dimensions, batches, whether resuming.
  returned: always
  type: dict
converted:
  description: Rows converted.
  returned: always
  type: int
nulled:
  description: Invalid rows left NULL (policy null).
  returned: always
  type: int
rejected:
  description: Invalid rows copied to the reject table and left NULL (policy reject).
  returned: always
  type: int
invalid_rows:
  description: Up to 100 invalid rows, each {key, reason}.
  returned: always
  type: list
  elements: dict
  sample: [{"key": 17, "reason": "keys are not 0..N-1: missing key \"17\""}]
index:
  description: The index built, with seconds, the session settings used and its SQL.
  returned: when an index was built
  type: dict
memory_note:
  description: How maintenance_work_mem was chosen.
  returned: when an index was built
  type: str
checks:
  description: Figures of the checks (rows, nulls, sample_compared, explain_uses_index).
  returned: when check=true
  type: dict
tables:
  description: Figures keyed schema.table.
  returned: success
  type: dict
queries:
  description: SQL run.
  returned: success
  type: list
  elements: str
warnings:
  description: Warnings.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import PG_ARGUMENT_SPEC, pg_connect
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result

INDEX_SPEC = {
    "method": {"type": "str", "choices": ["hnsw", "ivfflat"], "default": "hnsw"},
    "opclass": {"type": "str", "choices": ["cosine", "l2", "ip"], "default": "cosine"},
    "m": {"type": "int", "default": 16},
    "ef_construction": {"type": "int", "default": 64},
    "lists": {"type": "int"},
    "name": {"type": "str"},
}
ARGUMENT_SPEC = dict(
    PG_ARGUMENT_SPEC,
    table={"type": "str", "required": True},
    column={"type": "str", "required": True},
    key={"type": "str", "no_log": False},
    dimensions={"type": "int"},
    type={"type": "str", "choices": ["vector", "halfvec"], "default": "vector"},
    format={"type": "str", "choices": ["json_object", "json_array"], "default": "json_object"},
    invalid={"type": "str", "choices": ["error", "null", "reject"], "default": "error"},
    batch_rows={"type": "int", "default": 2000},
    engine={"type": "str", "choices": ["copy", "sql"], "default": "copy"},
    index={"type": "dict", "options": INDEX_SPEC},
    memory_share={"type": "float", "default": 0.25},
    memory_mb={"type": "int"},
    parallel_workers={"type": "int"},
    lock_timeout={"type": "str", "default": "5s"},
    check={"type": "bool", "default": False},
    expected_nulls={"type": "int"},
    sample_rows={"type": "int", "default": 200},
)


def run(module):
    from ansible_collections.pgshift.mysql.plugins.module_utils.embeddings.column_job import EmbeddingJob

    p = module.params
    conn = pg_connect(p)
    try:
        job = EmbeddingJob(
            conn, p["table"], p["column"], key=p["key"], dimensions=p["dimensions"], vtype=p["type"],
            fmt=p["format"], invalid=p["invalid"], batch_rows=p["batch_rows"], engine=p["engine"],
            index=p["index"],
            memory_share=p["memory_share"], memory_mb=p["memory_mb"],
            parallel_workers=p["parallel_workers"], check=p["check"], expected_nulls=p["expected_nulls"],
            sample_rows=p["sample_rows"], local_host=p["pg_host"] in ("127.0.0.1", "localhost", "::1"),
            lock_timeout=p["lock_timeout"])
        result = job.run(check_mode=module.check_mode)
    finally:
        conn.close()
    label = "%s.%s" % (job.schema, job.table)
    result["tables"] = {label: {k: result.get(k) for k in ("rows", "converted", "nulled", "rejected")}}
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module)
    except MigrationError as err:
        module.fail_json(msg=str(err))
    except ImportError as err:
        module.fail_json(msg="embedding_convert needs psycopg2 on the managed host: %s" % err)
    exit_result(module, result)


if __name__ == "__main__":
    main()
