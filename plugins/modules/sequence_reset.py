#!/usr/bin/python
"""Ansible module pgshift.mysql.sequence_reset."""

DOCUMENTATION = r"""
module: sequence_reset
short_description: Set identity and serial sequences to max(AUTO_INCREMENT, max(id) + 1)
description:
  - Finds every identity column, serial column and column whose default calls C(nextval()) in the
    target schemas by catalog introspection (C(pg_depend), C(pg_attribute.attidentity)); no list to
    maintain.
  - Sets each sequence so that the next C(nextval()) returns max(AUTO_INCREMENT recorded in the
    manifest, max(column) + 1). Rows deleted from the end of a MySQL table moved AUTO_INCREMENT past
    max(id); those ids are not handed out again. Empty tables get AUTO_INCREMENT, or the sequence's
    start when none was recorded.
  - Uses C(setval(seq, value, false)), so C(is_called) is false and the next value is exactly O(src)'s.
  - A sequence already ahead of the wanted value is left alone (with a warning) unless
    O(allow_decrease=true).
version_added: "0.1.0"
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.postgresql
options:
  schemas:
    description: PostgreSQL schemas to scan.
    type: list
    elements: str
    required: true
  src:
    description:
      - Migration dir (or its C(manifest.json)) whose tables record C(auto_increment).
      - Without it, the next value is max(column) + 1 (or the sequence's start for empty tables).
    type: path
  allow_decrease:
    description: Also lower sequences that are ahead of the wanted value.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Lists the planned C(setval) calls in RV(queries) and changes nothing.
  diff_mode:
    support: full
    description: Shows every sequence's next value before and after.
  idempotent:
    support: full
    description: A second run finds every sequence at its value and reports C(changed=false).
"""

EXAMPLES = r"""
- name: Reset sequences after the load
  pgshift.mysql.sequence_reset:
    schemas: [sakila]
    src: /var/lib/pgshift/sakila
    pg_database: app
    pg_user: postgres
    pg_passfile: /root/.pgpass

- name: Show what would change
  pgshift.mysql.sequence_reset:
    schemas: [sakila]
    src: /var/lib/pgshift/sakila
    pg_database: app
  check_mode: true
  diff: true
"""

RETURN = r"""
changed:
  description: Whether at least one sequence was (or, in check mode, would be) set.
  returned: always
  type: bool
tables:
  description: Per C(schema.table), per column, the sequence and its figures.
  returned: always
  type: dict
  sample:
    sakila.actor:
      columns:
        actor_id: {sequence: sakila.actor_actor_id_seq, kind: identity, max: 200,
                   auto_increment: 205, before: 1, after: 205, action: setval}
queries:
  description: The C(setval) calls run (or planned in check mode).
  returned: always
  type: list
  elements: str
  sample: ["SELECT setval('sakila.actor_actor_id_seq', 205, false)"]
warnings:
  description: Sequences left alone and manifest values with no matching column.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import PG_ARGUMENT_SPEC, pg_connect
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.finish.sequences import reset_sequences
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_optional_manifest
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result


def main():
    argument_spec = dict(PG_ARGUMENT_SPEC)
    argument_spec.update(
        schemas={"type": "list", "elements": "str", "required": True},
        src={"type": "path"},
        allow_decrease={"type": "bool", "default": False},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        manifest = read_optional_manifest(module.params["src"])
        conn = pg_connect(module.params)
        try:
            result = reset_sequences(conn, module.params["schemas"], manifest,
                                     check_mode=module.check_mode,
                                     allow_decrease=module.params["allow_decrease"])
        finally:
            conn.close()
    except MigrationError as err:
        module.fail_json(msg=str(err))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    exit_result(module, result)


if __name__ == "__main__":
    main()
