#!/usr/bin/python
"""Ansible module pgshift.mysql.dump_load: a mysqldump file into PostgreSQL, pipelined."""

DOCUMENTATION = r"""
module: dump_load
short_description: Transform a mysqldump file and load it into PostgreSQL, the two overlapping
version_added: "0.2.0"
description:
  - M(pgshift.mysql.dump_transform) and M(pgshift.mysql.pg_load) in one task, pipelined table by table
    so that two cores work at once; the migration dir left behind is the same as the two modules write.
  - "The transform hands each table to the load as soon as its first rows are written (mysqldump writes
    each table's rows together); the load creates (or truncates) it and fills it with C(COPY ... FREEZE)
    reading the table's data file as it grows, in one transaction that commits only once the transform
    declared the table whole, and that also records it in C(pgshift_state.loaded_tables), exactly as
    M(pgshift.mysql.pg_load) does. Keys, indexes, foreign keys (C(NOT VALID) then C(VALIDATE)),
    triggers, comments and views follow once the whole dump is transformed, then ANALYZE."
  - "Nothing partial is ever recorded: a table's load commits only once all its rows converted; when
    the transform fails (a truncated dump, a bad value) the task fails with its message, the table being
    converted rolls back, the tables already loaded are whole, and the manifest stays marked incomplete."
  - "Resumable: the resume key (C(load_identity) in the manifest) is derived from the dump's path, size
    and modification time and the transform options, so a rerun on the same dump skips the tables
    already loaded (the dump is read again, the tables are not copied again). A dump read from standard
    input cannot be resumed."
  - A dump whose rows of one table are split across the file (not mysqldump's order) fails; use
    M(pgshift.mysql.dump_transform) then M(pgshift.mysql.pg_load) for it.
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.postgresql
  - pgshift.mysql.transform
  - pgshift.mysql.load
options:
  src:
    description: The dump file (plain, .gz or .zst), or C(-) for standard input.
    type: path
    required: true
  dest:
    description: The migration dir to write (the same dir M(pgshift.mysql.dump_transform) writes).
    type: path
    required: true
  load_jobs:
    description: Tables loaded at once (one connection each). Default 1, since the transform uses the
      other cores; raise it on hosts with many cores.
    type: int
    default: 1
attributes:
  check_mode:
    support: full
    details: Parses the whole dump and converts every value (writing nothing), connects to the target and
      reports which tables would be loaded or skipped.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A rerun after a complete run skips every table and step and reports C(changed=false).
requirements:
  - psycopg2 on the host that runs the module
seealso:
  - module: pgshift.mysql.dump_transform
  - module: pgshift.mysql.pg_load
"""

EXAMPLES = r"""
- name: Nightly dump straight into the rehearsal database
  pgshift.mysql.dump_load:
    src: /var/backups/app.sql.zst
    dest: /var/lib/pgshift/app
    zero_date: "null"
    pg_service: app_target
    pg_database: app_rehearsal
    if_exists: drop
"""

RETURN = r"""
manifest_id:
  description: The resume key the load records refer to (also C(load_identity) in the manifest).
  returned: always
  type: str
rows:
  description: Rows in the loaded tables (loaded now or by an earlier run).
  returned: success
  type: int
seconds:
  description: Wall-clock time of the task.
  returned: success
  type: float
transform:
  description: The transform's result (as M(pgshift.mysql.dump_transform) returns it); C(skipped) when the
    migration dir of this dump was already complete.
  returned: success
  type: dict
load:
  description: The load's result (as M(pgshift.mysql.pg_load) returns it, C(tables) with each action).
  returned: success
  type: dict
dest:
  description: The migration dir.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import PG_ARGUMENT_SPEC
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.pipeline import migrate_dump
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TRANSFORM_ARGUMENT_SPEC,
    TransformOptions,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import LOAD_ARGUMENT_SPEC
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result

TRANSFORM_OPTIONS = ("src", "dest", *TRANSFORM_ARGUMENT_SPEC)

ARGUMENT_SPEC = dict(
    PG_ARGUMENT_SPEC,
    **TRANSFORM_ARGUMENT_SPEC,
    src={"type": "path", "required": True},
    dest={"type": "path", "required": True},
    load_jobs={"type": "int", "default": 1},
    **LOAD_ARGUMENT_SPEC,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    pg_params = {k: p[k] for k in PG_ARGUMENT_SPEC}
    try:
        opts = TransformOptions(check_mode=module.check_mode, pg_params=pg_params,
                                **{k: p[k] for k in TRANSFORM_OPTIONS})
        result = migrate_dump(pg_params, opts, load_jobs=p["load_jobs"], if_exists=p["if_exists"],
                              max_rejects=p["max_rejects"], post_data=p["post_data"],
                              maintenance_work_mem=p["maintenance_work_mem"],
                              views_on_error=p["views_on_error"])
    except MigrationError as err:
        module.fail_json(msg=str(err))
    exit_result(module, result)


if __name__ == "__main__":
    main()
