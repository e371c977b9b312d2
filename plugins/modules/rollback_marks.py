#!/usr/bin/python
"""Ansible module pgshift.mysql.rollback_marks."""

DOCUMENTATION = r"""
module: rollback_marks
short_description: Record per-table high-water marks in PostgreSQL before the application is switched
description:
  - Run by C(playbooks/cutover.yml) after the load and sequence reset, before the switch. For each
    table of the migration dir's manifest it records the row count, the max of its single-column
    integer primary key and its sequence's value, the C(updated_at)-like column if there is one,
    and the column mapping back to the MySQL names and types.
  - The result, kept in the cutover record, is what M(pgshift.mysql.rollback_export) uses to find
    the rows written to PostgreSQL after the switch.
  - Reads only.
version_added: "0.1.0"
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.postgresql
options:
  src:
    description: The migration dir (its C(manifest.json) gives tables, keys and MySQL names).
    type: path
    required: true
  updated_at_columns:
    description: Column names that hold a row's last modification time, first match wins.
    type: list
    elements: str
    default: [updated_at, updatedAt, updated, modified_at, modifiedAt, last_modified, lastModified, mtime]
attributes:
  check_mode:
    support: full
    description: Reads only; the same result in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: Never changes anything.
"""

EXAMPLES = r"""
- name: Record the high-water marks for a later rollback
  pgshift.mysql.rollback_marks:
    src: /var/lib/pgshift/cutover
    pg_database: app
    pg_passfile: /root/.pgpass
  register: marks
"""

RETURN = r"""
marks:
  description: C(captured_at) (UTC), C(captured_at_local), C(timezone) and per C(schema.table) the marks.
  returned: always
  type: dict
  sample:
    captured_at: "2026-11-22T05:00:00.123456Z"
    tables:
      app.content: {key: id, max_key: 200, sequence: app.content_id_seq, sequence_value: 200, rows: 200,
                    updated_at: updated_at, method: key+updated_at, source_schema: app, source_name: content}
tables:
  description: Per C(schema.table), the method by which later changes can be found and the marks.
  returned: always
  type: dict
unverifiable:
  description: Tables whose later changes cannot be found (no integer key, no updated_at column).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import PG_ARGUMENT_SPEC, pg_connect
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.finish.rollback import (
    UPDATED_AT_COLUMNS,
    capture_marks,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_manifest


def main():
    argument_spec = dict(PG_ARGUMENT_SPEC)
    argument_spec.update(
        src={"type": "path", "required": True},
        updated_at_columns={"type": "list", "elements": "str", "default": list(UPDATED_AT_COLUMNS)},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        manifest = read_manifest(module.params["src"], require_complete=False)
        conn = pg_connect(module.params)
        try:
            marks = capture_marks(conn, manifest, module.params["updated_at_columns"])
        finally:
            conn.close()
    except MigrationError as err:
        module.fail_json(msg=str(err))
    tables = {name: {k: v for k, v in mark.items() if k != "columns"}
              for name, mark in marks["tables"].items()}
    module.exit_json(changed=False, marks=marks, tables=tables,
                     unverifiable=sorted(n for n, m in tables.items() if m["method"] == "unverifiable"))


if __name__ == "__main__":
    main()
