#!/usr/bin/python
"""Ansible module: a mysqldump file -> PostgreSQL migration dir (or one psql script)."""

DOCUMENTATION = r"""
module: dump_transform
short_description: Transform a mysqldump file into a PostgreSQL migration dir
description:
  - Reads a MySQL 5.7/8.x or MariaDB 10.x/11.x dump (plain, gzip or zstd, detected from its bytes), streaming,
    with memory bounded by the longest row, and writes a migration dir (C(manifest.json), C(pre-data.sql),
    C(data/<schema>.<table>.copy) in COPY text format, C(post-data.sql)) as described in the collection's
    docs/contracts.md, or with O(format=sql) one psql-loadable script with COPY blocks.
  - Every row becomes one COPY line or the task fails naming the table, row number (and key) and byte offset.
  - Types follow ordered rules (first match wins); O(type_rules) are tried before the defaults.
  - Routines, triggers and events are not translated; they are reported in the manifest's C(routines).
    Views are translated only when they use portable SQL; the others are reported.
version_added: "0.1.0"
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.postgresql
  - pgshift.mysql.transform
options:
  src:
    description: The dump file (plain, .gz or .zst), or C(-) for standard input.
    type: path
    required: true
  dest:
    description: The migration dir to write (O(format=dir)) or the script file (O(format=sql)).
    type: path
    required: true
  format:
    description: C(dir) writes a migration dir; C(sql) one script for C(psql -v ON_ERROR_STOP=1 -f).
    type: str
    choices: [dir, sql]
    default: dir
attributes:
  check_mode:
    support: full
    description: >-
      Parses the whole dump and converts every value, reports tables, rows and warnings, writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: partial
    description: A dest that already holds a complete migration is left alone (C(changed=false)) unless
      O(force=true); with O(force=true) every run rewrites it.
"""

EXAMPLES = r"""
- name: Transform the nightly dump
  pgshift.mysql.dump_transform:
    src: /var/backups/app.sql.zst
    dest: /var/lib/pgshift/app
    zero_date: "null"
    embeddings:
      - {table: content_embedding, column: embedding, dimensions: 1536, type: vector, format: json_object,
         invalid: reject}

- name: Data-only dump into the schema the ORM created
  pgshift.mysql.dump_transform:
    src: /var/backups/app-data.sql
    dest: /var/lib/pgshift/app-data
    schema_mode: existing
    schema_map: {app: public}
    pg_database: app
    pg_user: app
    pg_passfile: /root/.pgpass

- name: One script for psql
  pgshift.mysql.dump_transform:
    src: /var/backups/app.sql.gz
    dest: /var/lib/pgshift/app.psql
    format: sql
"""

RETURN = r"""
tables:
  description: Per table (C(schema.table)) figures.
  returned: success
  type: dict
  sample: {"sakila.actor": {"rows": 200, "bytes": 7446, "rejected": 0, "seconds": 0.01, "warnings": []}}
warnings:
  description: Run-level warnings (untranslated views, routines, ...); table warnings are under RV(tables).
  returned: success
  type: list
  elements: str
views:
  description: Views found, and whether they were translated.
  returned: success
  type: list
  elements: dict
routines:
  description: Procedures, functions, triggers and events found (kept untranslated in the manifest).
  returned: success
  type: list
  elements: dict
rows:
  description: Rows written, all tables.
  returned: success
  type: int
bytes_read:
  description: Uncompressed dump bytes read.
  returned: success
  type: int
mb_per_s:
  description: Throughput of the run.
  returned: success
  type: float
jobs:
  description: Processes that converted the data.
  returned: success
  type: int
dest:
  description: The migration dir or script written.
  returned: success
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import PG_ARGUMENT_SPEC
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TRANSFORM_ARGUMENT_SPEC,
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_manifest
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result

OPTION_NAMES = ("src", "dest", "format", *TRANSFORM_ARGUMENT_SPEC)


def _already_done(params):
    """A complete migration dir from this very dump (same size and mtime): nothing to do."""
    if params["format"] != "dir" or params["force"] or params["src"] == "-":
        return None
    try:
        manifest = read_manifest(params["dest"])
    except MigrationError:
        return None
    st = os.stat(params["src"])
    src = manifest.get("source", {})
    if src.get("path") == os.path.abspath(params["src"]) and src.get("size") == st.st_size \
            and src.get("mtime") == int(st.st_mtime):
        return manifest
    raise MigrationError("dump_transform: dest %r holds a migration of another dump "
                         "(force: true to overwrite)"
                         % params["dest"])


def main():
    argument_spec = dict(PG_ARGUMENT_SPEC, **TRANSFORM_ARGUMENT_SPEC)
    argument_spec.update(
        src={"type": "path", "required": True},
        dest={"type": "path", "required": True},
        format={"type": "str", "choices": ["dir", "sql"], "default": "dir"},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        done = _already_done(params)
        if done is not None:
            tables = {"%s.%s" % (t["schema"], t["name"]): {"rows": t["rows"], "bytes": t["bytes"],
                                                           "rejected": t["rejected"],
                                                           "warnings": t["warnings"]}
                      for t in done["tables"]}
            exit_result(module, {"changed": False, "tables": tables, "warnings": done["warnings"],
                                 "dest": params["dest"]})
        opts = TransformOptions(check_mode=module.check_mode,
                                pg_params={k: params[k] for k in PG_ARGUMENT_SPEC},
                                **{k: params[k] for k in OPTION_NAMES})
        result = run_transform(opts)
    except MigrationError as err:
        module.fail_json(msg=str(err))
    exit_result(module, result)


if __name__ == "__main__":
    main()
