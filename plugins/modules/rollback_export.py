#!/usr/bin/python
"""Ansible module pgshift.mysql.rollback_export."""

DOCUMENTATION = r"""
module: rollback_export
short_description: Write the rows written to PostgreSQL after a cutover back to MySQL, or to a reviewable file
description:
  - Uses the high-water marks recorded at cutover by M(pgshift.mysql.rollback_marks) to find, per
    table, the rows written to PostgreSQL after the switch. New rows have a key above the recorded
    max(key); rows changed in place have an C(updated_at)-like column later than the cutover time.
  - Tables with neither an integer key nor an C(updated_at) column are B(unverifiable) and listed in
    RV(unverifiable) with their row counts at cutover and now; deletes are never detectable.
  - O(mode=mysql) upserts the rows into the MySQL source tables (C(INSERT ... ON DUPLICATE KEY UPDATE),
    one transaction per table, foreign key checks off for the session, times in UTC).
    O(mode=file) writes the same statements to O(dest), mode 0600, for review.
  - Values go back in the MySQL form; vectors as the embedding format of the source (JSON object,
    JSON array or CSV), booleans as 0/1, JSON as text, bit strings as integers, arrays as SET text.
  - Rows are streamed from PostgreSQL with a server-side cursor.
version_added: "0.1.0"
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.postgresql
  - pgshift.mysql.mysql
options:
  marks:
    description: The C(marks) result of M(pgshift.mysql.rollback_marks), as kept in the cutover record.
    type: dict
    required: true
  mode:
    description: C(mysql) writes the rows back into MySQL; C(file) writes a reviewable SQL file.
    type: str
    choices: [mysql, file]
    default: mysql
  dest:
    description: The SQL file written when O(mode=file).
    type: path
attributes:
  check_mode:
    support: full
    description: Counts the rows per table and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: >-
      Upserts: a second run writes the same values again (MySQL reports no affected rows and the
      task C(changed=false)); O(mode=file) rewrites the same file.
"""

EXAMPLES = r"""
- name: Write rows created on PostgreSQL after the cutover back into MySQL
  pgshift.mysql.rollback_export:
    marks: "{{ (lookup('file', '/var/lib/pgshift/cutover-record.json') | from_json).marks }}"
    pg_database: app
    pg_passfile: /root/.pgpass
    mysql_defaults_file: /root/.my.cnf

- name: Or write them to a file to review first
  pgshift.mysql.rollback_export:
    marks: "{{ record.marks }}"
    mode: file
    dest: /var/lib/pgshift/rollback.sql
    pg_database: app
"""

RETURN = r"""
tables:
  description: >-
    Per C(schema.table): C(method) (key, updated_at, key+updated_at, unverifiable), C(rows_at_cutover),
    C(rows_now), C(new_rows), C(updated_rows), C(rows_to_write), C(written), C(note) for unverifiable tables.
  returned: always
  type: dict
rows:
  description: Rows written back (or, in check mode, to write).
  returned: always
  type: int
unverifiable:
  description: Tables whose changes after the switch cannot be found.
  returned: always
  type: list
  elements: str
warnings:
  description: One line per unverifiable table.
  returned: always
  type: list
  elements: str
path:
  description: The SQL file written.
  returned: when O(mode=file)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import (
    MYSQL_ARGUMENT_SPEC,
    PG_ARGUMENT_SPEC,
    mysql_connect,
    pg_connect,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.finish.rollback import (
    plan_changes,
    write_back_mysql,
    write_sql_file,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result


def run(module):
    params = module.params
    pg = pg_connect(params)
    try:
        if module.check_mode:
            return plan_changes(pg, params["marks"]), False
        if params["mode"] == "file":
            import pymysql

            plan = write_sql_file(pg, params["marks"], params["dest"],
                                  lambda v: pymysql.converters.escape_item(v, "utf8mb4"))
            return plan, True
        my = mysql_connect(params)
        try:
            plan = write_back_mysql(pg, my, params["marks"])
        finally:
            my.close()
        return plan, any(t.get("mysql_affected") for t in plan.values())
    finally:
        pg.close()


def main():
    argument_spec = dict(PG_ARGUMENT_SPEC)
    argument_spec.update(MYSQL_ARGUMENT_SPEC)
    argument_spec.update(
        marks={"type": "dict", "required": True},
        mode={"type": "str", "choices": ["mysql", "file"], "default": "mysql"},
        dest={"type": "path"},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("mode", "file", ["dest"])])
    try:
        plan, changed = run(module)
    except MigrationError as err:
        module.fail_json(msg=str(err))
    unverifiable = sorted(n for n, t in plan.items() if t["method"] == "unverifiable")
    rows = sum(t.get("written", t.get("rows_to_write") or 0) or 0 for t in plan.values())
    result = {"changed": changed, "tables": plan, "rows": rows, "unverifiable": unverifiable,
              "warnings": ["%s: %s" % (n, plan[n]["note"]) for n in unverifiable]}
    if module.params["mode"] == "file" and not module.check_mode:
        result["path"] = module.params["dest"]
    exit_result(module, result)


if __name__ == "__main__":
    main()
