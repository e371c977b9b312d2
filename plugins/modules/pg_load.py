#!/usr/bin/python
"""Ansible module pgshift.mysql.pg_load (thin: arguments, check mode, results)."""

DOCUMENTATION = r"""
module: pg_load
short_description: Load a pgshift migration dir into PostgreSQL with COPY, resumably
version_added: "0.1.0"
description:
  - Loads the migration dir written by M(pgshift.mysql.dump_transform) (C(manifest.json), C(pre-data.sql),
    C(data/*.copy), C(post-data.sql)) into a PostgreSQL database.
  - "Order: pre-data (schemas, types) -> data -> post-data -> ANALYZE. Each table is created (or truncated)
    and filled with C(COPY ... FREEZE) in one transaction, tables in parallel, largest first. Primary keys,
    unique keys and indexes are then built in parallel, foreign keys added C(NOT VALID) and then
    C(VALIDATE)d, then triggers, comments, checks and views are created; loaded tables are ANALYZEd."
  - "Resumable: each loaded table is recorded in C(pgshift_state.loaded_tables) in the target database, in
    the same transaction as its data, so the record can never disagree with the rows. A rerun skips the
    tables loaded from the same manifest and reloads an interrupted table from scratch. Post-data steps
    are recorded in C(pgshift_state.steps) and skipped when their object is already there.
    C(<src>/load-state.json) mirrors the state for humans."
  - "No silent rejects: a row PostgreSQL refuses fails the task (naming the table, the line of the data
    file and the error) unless O(max_rejects) allows it; allowed rejects are isolated by splitting the
    batch in halves, written to C(<src>/rejects/<schema>.<table>.copy) with a C(.log) giving each line
    number and error, and counted in the result and the state."
  - Session settings (C(synchronous_commit=off), C(maintenance_work_mem)) are set per connection only;
    nothing is changed on the server.
  - A manifest whose C(complete) is not true is refused.
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.postgresql
  - pgshift.mysql.load
options:
  src:
    description: The migration dir.
    type: path
    required: true
  jobs:
    description: Tables loaded (and indexes built) in parallel, one connection each. Default is the
      number of CPU cores of the host running the module.
    type: int
  tables:
    description: Load only these tables (C(schema.table) or C(table)). Views are then not created.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details: Connects, validates the plan (manifest complete, data files present with the sizes the
      manifest records, target tables to create, truncate, drop or skip) and returns it in RV(queries)
      without writing anything.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A rerun after a complete load skips every table and step and reports C(changed=false).
requirements:
  - psycopg2 on the host that runs the module
notes:
  - Tables recorded as loaded from the same manifest are never reloaded; to force a reload, drop the
    table (or the C(pgshift_state) schema) first, or load a new transform.
  - With O(if_exists=truncate), a table referenced by a foreign key of another table cannot be truncated;
    drop the constraint or use O(if_exists=drop).
seealso:
  - module: pgshift.mysql.dump_transform
"""

EXAMPLES = r"""
- name: Load the migration dir into the scratch database
  pgshift.mysql.pg_load:
    src: /var/lib/pgshift/rehearsal
    pg_service: app_target
    pg_database: app_rehearsal
    jobs: 4
    if_exists: drop

- name: Reload two tables into an ORM-created schema, tolerating at most 10 refused rows each
  pgshift.mysql.pg_load:
    src: /var/lib/pgshift/cutover
    pg_host: db.internal
    pg_user: app_owner
    pg_password: "{{ vault_pg_password }}"
    pg_database: app
    if_exists: truncate
    tables: [app.orders, app.order_lines]
    max_rejects: 10
"""

RETURN = r"""
tables:
  description: Per table (keyed C(schema.table)) what was done and its figures.
  returned: always
  type: dict
  sample:
    sakila.rental: {action: create, rows: 16044, bytes: 1157734, rejected: 0, seconds: 0.21, mb_per_s: 5.5}
    sakila.actor: {action: skip, rows: 200, bytes: 7446, rejected: 0, seconds: 0.0, mb_per_s: 0.0}
rows:
  description: Rows loaded (or already loaded, for skipped tables) over all tables.
  returned: always
  type: int
rejected:
  description: Rows refused by PostgreSQL over all tables (each in a reject file).
  returned: always
  type: int
seconds:
  description: Wall-clock time of the task.
  returned: always
  type: float
post_data_steps:
  description: Post-data statements executed by this run.
  returned: when not in check mode
  type: int
queries:
  description: The statements a real run would execute (pre-data, table creation, COPY, post-data).
  returned: in check mode
  type: list
  elements: str
warnings:
  description: Rows refused and where they are, objects kept as found.
  returned: always
  type: list
  elements: str
state_file:
  description: Path of the human-readable load-state.json.
  returned: when not in check mode
  type: str
target:
  description: host:port/database loaded into (no secrets).
  returned: always
  type: str
manifest_id:
  description: The identity of the manifest the resume records refer to.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import PG_ARGUMENT_SPEC
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import LOAD_ARGUMENT_SPEC, load
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result

ARGUMENT_SPEC = dict(
    PG_ARGUMENT_SPEC,
    src={"type": "path", "required": True},
    jobs={"type": "int"},
    tables={"type": "list", "elements": "str"},
    **LOAD_ARGUMENT_SPEC,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    try:
        result = load(p, p["src"], jobs=p["jobs"], if_exists=p["if_exists"], max_rejects=p["max_rejects"],
                      tables=p["tables"], post_data=p["post_data"],
                      maintenance_work_mem=p["maintenance_work_mem"], views_on_error=p["views_on_error"],
                      check_mode=module.check_mode)
    except MigrationError as err:
        module.fail_json(msg=str(err))
    exit_result(module, result)


if __name__ == "__main__":
    main()
