#!/usr/bin/python
"""Ansible module pgshift.mysql.live_copy (thin: arguments, check mode, results)."""

DOCUMENTATION = r"""
module: live_copy
short_description: Copy MySQL/MariaDB databases straight into PostgreSQL, consistently, without a dump file
version_added: "0.1.0"
description:
  - Reads the schema from MySQL's C(information_schema), maps it with the same type rules and DDL
    generation as M(pgshift.mysql.dump_transform), and copies every table with C(COPY ... FREEZE) fed
    directly by the C(mariadb)/C(mysql) client binary, whose SELECT makes MySQL write PostgreSQL COPY
    text itself (escapes, C(\N) for NULL, booleans, bytea hex, bit strings, SET as C(text[]), zero dates
    and NUL bytes per policy). No Python in the row path, except for embedding and geometry columns,
    which a bounded-memory filter converts on those columns only.
  - "Consistency: every reader session sees one snapshot. With O(snapshot=lock), C(FLUSH TABLES WITH READ
    LOCK) is held only while each reader runs C(START TRANSACTION WITH CONSISTENT SNAPSHOT) (milliseconds),
    and the binary log position of that snapshot is recorded in the manifest for a later catch-up: per
    table the position its rows reflect (C(tables[].binlog)), and the earliest of them (C(source.binlog)).
    A rerun resumes a half-copied table only in a snapshot at the same position; otherwise it copies the
    table whole again, so no table mixes two snapshots. With O(snapshot=read_only) MySQL must already be
    read-only (cutover)."
  - "Same artefacts as M(pgshift.mysql.pg_load): C(<dest>/manifest.json) (C(source.kind=live)),
    C(pre-data.sql), C(post-data.sql), C(load-state.json), C(rejects/); the same per-table transaction
    and resume record in C(pgshift_state); the same post-data handling (indexes in parallel, FKs
    C(NOT VALID) then C(VALIDATE)). M(pgshift.mysql.sequence_reset) and M(pgshift.mysql.migration_verify)
    work the same after either path."
  - Every table's row count is checked against C(COUNT(*)) in the same snapshot. A row PostgreSQL refuses
    makes the table be re-read (same snapshot) into C(<dest>/data/) and isolated as by
    M(pgshift.mysql.pg_load); the error names the table, the row key and the reason.
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.mysql
  - pgshift.mysql.postgresql
options:
  databases:
    description: MySQL databases to copy.
    type: list
    elements: str
    required: true
  dest:
    description: Migration dir for the manifest, the load state and reject files (no data files unless rows
      are refused).
    type: path
    required: true
  schema_map:
    description: MySQL database -> PostgreSQL schema (default the same name).
    type: dict
  schema_mode:
    description:
      - V(create) creates the tables from the MySQL catalog.
      - V(existing) loads into tables that already exist (for example created by an ORM), found by name
        exactly, then case-insensitively, in the mapped schema or C(public); columns are matched the same
        way and values are coerced to the target's types by the SELECT (tinyint 0/1 to boolean, text to
        jsonb, datetime to timestamptz, ...). Nothing is created, no keys or indexes are added; existing
        rows are replaced only with O(if_exists=truncate).
    type: str
    default: create
    choices: [create, existing]
  identifier_case:
    description: Keep MySQL's identifiers (V(preserve)) or lower-case them (V(lower)).
    type: str
    default: preserve
    choices: [preserve, lower]
  type_rules:
    description: Type rules tried before the defaults, as for M(pgshift.mysql.dump_transform).
    type: list
    elements: dict
  strict_types:
    description: Fail on a column type no rule maps instead of falling back to text.
    type: bool
    default: false
  include_tables:
    description: Only these tables (C(table) or C(db.table), shell patterns).
    type: list
    elements: str
  exclude_tables:
    description: Skip these tables (C(table) or C(db.table), shell patterns).
    type: list
    elements: str
  jobs:
    description: Tables copied in parallel (reader sessions and PostgreSQL connections); default CPU count.
    type: int
  if_exists:
    description: What to do with a target table that exists and was not copied by this plan.
    type: str
    default: fail
    choices: [fail, truncate, drop]
  max_rejects:
    description: Rows PostgreSQL may refuse per table (kept in C(rejects/)); 0 fails on the first one.
    type: int
    default: 0
  zero_date:
    description: Zero dates (C(0000-00-00), zero month or day) - V(error), V(null), V(-infinity) or a
      replacement literal, a valid date or date and time such as C(1970-01-01 00:00:00) (anything else is
      refused). V(null) drops NOT NULL of a column whose default is a zero date; V(-infinity) keeps it.
    type: str
    default: error
  invalid_utf8:
    description: Accepted for symmetry with the dump path; the server converts text to utf8mb4 itself.
    type: str
    default: error
    choices: [error, replace]
  nul_bytes:
    description: NUL bytes in text - V(error) (the row is named) or V(strip).
    type: str
    default: error
    choices: [error, strip]
  embeddings:
    description: Columns holding embeddings, converted to C(vector)/C(halfvec) on the way
      (list of C(table), C(column), C(dimensions), C(type), C(format), C(invalid)).
    type: list
    elements: dict
  snapshot:
    description: V(lock) (brief global read lock while the readers start their snapshot), V(read_only)
      (MySQL already read-only; checked), V(none) (no lock; warned).
    type: str
    default: lock
    choices: [lock, read_only, none]
  chunk_rows:
    description:
      - A table with an integer primary key (or whose composite key starts with an integer column) and
        more rows than this (counted in the snapshot) is copied in primary-key ranges of about this many
        rows, in parallel on the reader sessions, all in the same snapshot.
      - The first range is copied with COPY FREEZE in the transaction that creates or truncates the table;
        every other range is its own COPY and commits with its resume record
        (C(pgshift_state.loaded_chunks)), so a rerun after a failure reloads only the missing ranges.
      - C(0) copies every table whole, in one COPY FREEZE transaction.
    type: int
    default: 1000000
  large_value_bytes:
    description:
      - A row whose TEXT, BLOB, JSON and long VARCHAR columns together hold more bytes than this is read
        raw through a second session of the same snapshot and escaped for COPY on the runner, not by
        MySQL (whose escaping is quadratic in the value's size, and whose string functions return NULL
        past C(max_allowed_packet)). Capped at a quarter of the server's C(max_allowed_packet).
    type: int
    default: 16384
  ignore_columns:
    description:
      - With O(schema_mode=existing), MySQL columns (C(column) or C(table.column)) allowed to have no column
        in the target table; their values are not copied (said in the warnings). Any other unmapped
        column fails the task naming it.
    type: list
    elements: str
  post_data:
    description: Create keys, indexes, FKs, checks, triggers and comments after the data.
    type: bool
    default: true
  maintenance_work_mem:
    description: Session maintenance_work_mem for index builds.
    type: str
    default: 512MB
  views_on_error:
    description:
      - What a view PostgreSQL refuses does to the run, as in M(pgshift.mysql.pg_load). Every view is
        tried on its own and each refused one is named with its error; V(fail) fails the run once all
        were tried, V(warn) lists them in the warnings.
    type: str
    default: fail
    choices: [fail, warn]
  mysql_client:
    description: Path of the C(mariadb)/C(mysql) client binary (default the first found in PATH).
    type: str
attributes:
  check_mode:
    support: full
    details: Reads both catalogs and returns the plan (tables to create, truncate, drop or skip; the
      statements in RV(queries)) without writing anything or locking MySQL.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A rerun with the same plan skips the tables recorded in C(pgshift_state) and reports
      C(changed=false) when nothing was left to do.
requirements:
  - the C(mariadb) or C(mysql) client binary, psycopg2 and PyMySQL on the host that runs the module
notes:
  - O(snapshot=lock) needs the RELOAD privilege (C(FLUSH TABLES WITH READ LOCK)); the binlog position needs
    REPLICATION CLIENT / BINLOG MONITOR.
  - Tables skipped on a rerun were copied from the earlier run's snapshot (a warning lists them).
seealso:
  - module: pgshift.mysql.pg_load
  - module: pgshift.mysql.dump_transform
"""

EXAMPLES = r"""
- name: Rehearsal - copy production into a scratch database (MySQL stays writable)
  pgshift.mysql.live_copy:
    databases: [app]
    dest: /var/lib/pgshift/rehearsal
    mysql_defaults_file: /etc/pgshift/mysql-reader.cnf
    pg_service: app_target
    pg_database: app_rehearsal
    jobs: 4
    if_exists: drop
    embeddings:
      - {table: content_embedding, column: embedding, dimensions: 1536, format: json_object}

- name: Cutover - MySQL is read-only already
  pgshift.mysql.live_copy:
    databases: [app]
    schema_map: {app: public}
    dest: /var/lib/pgshift/cutover
    mysql_host: mysql.internal
    mysql_user: migrator
    mysql_password: "{{ vault_mysql_password }}"
    pg_host: pg.internal
    pg_user: app_owner
    pg_password: "{{ vault_pg_password }}"
    pg_database: app
    snapshot: read_only
"""

RETURN = r"""
tables:
  description: Figures per C(schema.table) (action, rows, bytes, rejected, seconds).
  returned: always
  type: dict
  sample:
    sakila.rental: {action: create, rows: 16044, bytes: 1157734, rejected: 0, seconds: 0.11, mb_per_s: 10.5}
rows:
  description: Rows copied.
  returned: always
  type: int
rejected:
  description: Rows refused (kept in C(rejects/)).
  returned: always
  type: int
binlog:
  description: Binary log position (C(file), C(position), C(gtid)) valid for every table (the earliest of
    the tables' own positions in the manifest's C(tables[].binlog)), or null.
  returned: when not in check mode
  type: dict
snapshot:
  description: Snapshot mode, readers, lock seconds.
  returned: always
  type: dict
manifest:
  description: Path of the manifest written.
  returned: always
  type: str
queries:
  description: Statements planned (check mode).
  returned: in check mode
  type: list
  elements: str
seconds:
  description: Wall time of the copy.
  returned: always
  type: float
target:
  description: PostgreSQL host:port/db.
  returned: always
  type: str
source:
  description: MySQL user@host:port.
  returned: always
  type: str
manifest_id:
  description: Resume key of this plan in C(pgshift_state).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import (
    MYSQL_ARGUMENT_SPEC,
    PG_ARGUMENT_SPEC,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.live.copy import live_copy
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result

ARGUMENT_SPEC = dict(
    MYSQL_ARGUMENT_SPEC,
    **PG_ARGUMENT_SPEC,
    databases={"type": "list", "elements": "str", "required": True},
    dest={"type": "path", "required": True},
    schema_map={"type": "dict"},
    schema_mode={"type": "str", "default": "create", "choices": ["create", "existing"]},
    identifier_case={"type": "str", "default": "preserve", "choices": ["preserve", "lower"]},
    type_rules={"type": "list", "elements": "dict"},
    strict_types={"type": "bool", "default": False},
    include_tables={"type": "list", "elements": "str"},
    exclude_tables={"type": "list", "elements": "str"},
    jobs={"type": "int"},
    if_exists={"type": "str", "default": "fail", "choices": ["fail", "truncate", "drop"]},
    max_rejects={"type": "int", "default": 0},
    zero_date={"type": "str", "default": "error"},
    invalid_utf8={"type": "str", "default": "error", "choices": ["error", "replace"]},
    nul_bytes={"type": "str", "default": "error", "choices": ["error", "strip"]},
    embeddings={"type": "list", "elements": "dict"},
    snapshot={"type": "str", "default": "lock", "choices": ["lock", "read_only", "none"]},
    chunk_rows={"type": "int", "default": 1000000},
    large_value_bytes={"type": "int", "default": 16384},
    ignore_columns={"type": "list", "elements": "str"},
    post_data={"type": "bool", "default": True},
    maintenance_work_mem={"type": "str", "default": "512MB"},
    views_on_error={"type": "str", "default": "fail", "choices": ["fail", "warn"]},
    mysql_client={"type": "str"},
)

ENGINE_OPTIONS = ("databases", "dest", "schema_map", "schema_mode", "identifier_case", "type_rules",
                  "strict_types", "include_tables", "exclude_tables", "jobs", "if_exists", "max_rejects",
                  "zero_date", "invalid_utf8", "nul_bytes", "embeddings", "snapshot", "chunk_rows",
                  "post_data", "maintenance_work_mem", "views_on_error", "mysql_client", "ignore_columns",
                  "large_value_bytes")


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    try:
        result = live_copy(p, check_mode=module.check_mode, **{k: p[k] for k in ENGINE_OPTIONS})
    except MigrationError as err:
        module.fail_json(msg=str(err))
    exit_result(module, result)


if __name__ == "__main__":
    main()
