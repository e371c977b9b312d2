#!/usr/bin/python
"""Ansible module pgshift.mysql.migration_verify."""

DOCUMENTATION = r"""
module: migration_verify
short_description: Prove that PostgreSQL holds what MySQL holds (counts and content checksums)
description:
  - For every table of the migration dir's manifest, counts rows on both sides and compares content
    checksums per chunk of primary-key range (tables without a key use an order-independent sum of
    row hashes). Differing chunks are bisected down to the differing rows, and both sides' values are
    reported with the row key.
  - Key-range tables whose columns SQL canonicalizes are checked with one MD5 per chunk over the rows'
    canonical texts in key order (C(chunk_checksum=md5_of_chunk)); a differing chunk is first rechecked
    with the order-independent XOR of per-row MD5s, so a row order the engines disagree on costs time,
    never a false report (text keys then switch to sorting, C(key_order=sorted)).
  - Rows are hashed inside each database from a canonical text that both engines compute alike
    (booleans, integers, decimals at their scale, FLOAT at float32 and DOUBLE at double precision,
    datetimes in UTC, zero dates as the manifest's zero_date policy mapped them, bytes, bit, enum, set).
  - A dump of MariaDB or MySQL before 8.0 carries FLOAT values with 6 significant digits only (the
    server prints FLOAT with C(%g)), so for a C(dump) manifest FLOAT columns are compared at 6
    significant digits and each such table gets a warning naming the columns; use C(live_copy) to
    carry and verify exact float32 values. Live manifests and dumps of MySQL 8+ compare exactly.
    JSON and embedding columns, which SQL cannot canonicalize identically, are streamed and compared in
    Python (embeddings as float32 arrays against their source JSON or blob).
  - "Text columns in a character set other than utf8mb4/utf8mb3/latin1/binary (ascii, sjis, gbk, ...)
    can hold bytes with no Unicode form (after an ALTER from VARBINARY, or a non-strict insert); MySQL
    sends C(?) for them to every utf8mb4 reader, so both migration paths and the checksums would carry
    the same C(?). Such values are looked for apart, in every mode, and reported as
    C(unrepresentable_text) with the key, the column and the source bytes in hex."
  - Any difference fails the task with a message naming the table and the key; the full report is
    returned and, with O(report_path), written as JSON.
  - Read-only on both sides.
version_added: "0.1.0"
author: pgshift maintainers
extends_documentation_fragment:
  - pgshift.mysql.mysql
  - pgshift.mysql.postgresql
options:
  src:
    description: Migration dir (or its C(manifest.json)) with the table and column mapping and the policies.
    type: path
    required: true
  mode:
    description:
      - C(counts) compares row counts only; C(checksums) every chunk's content; C(sample) a random
        O(sample_percent) of the chunks (counts stay complete).
    type: str
    choices: [counts, checksums, sample]
    default: checksums
  sample_percent:
    description: Share of chunks checked in C(sample) mode.
    type: float
    default: 10.0
  chunk_rows:
    description: Rows per chunk (the granularity of the checksums before bisection).
    type: int
    default: 10000
  tables:
    description: Only these tables (C(schema.table) or C(table), PostgreSQL names). Default all.
    type: list
    elements: str
  max_diffs:
    description: Differing rows reported per table.
    type: int
    default: 10
  jobs:
    description: Concurrent queries per engine.
    type: int
    default: 1
  report_path:
    description: Write the full report here as JSON (also on failure).
    type: path
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same way in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: Never changes anything (C(changed) is always false).
"""

EXAMPLES = r"""
- name: Verify the migrated data
  pgshift.mysql.migration_verify:
    src: /var/lib/pgshift/sakila
    mysql_defaults_file: /root/.my.cnf
    pg_database: app
    pg_passfile: /root/.pgpass
    report_path: /var/lib/pgshift/sakila/verify.json

- name: Quick check during a rehearsal
  pgshift.mysql.migration_verify:
    src: /var/lib/pgshift/sakila
    mode: sample
    sample_percent: 5
    mysql_defaults_file: /root/.my.cnf
    pg_database: app
"""

RETURN = r"""
ok:
  description: True when every table matched.
  returned: always
  type: bool
tables:
  description:
    - Per C(schema.table) the counts, chunks checked, strategy and differences.
    - C(chunk_checksum) is C(md5_of_chunk) or C(xor_of_row_md5); with chunk digests also C(key_order)
      (C(natural), C(scan) or C(sorted)) and C(chunks_rechecked) (digests rechecked row by row).
  returned: always
  type: dict
  sample:
    sakila.actor: {strategy: range, mysql_rows: 200, postgresql_rows: 200, chunks: 1, chunks_checked: 1,
                   chunk_checksum: md5_of_chunk, key_order: natural, chunks_rechecked: 0,
                   chunks_differing: 0, differences: [], status: ok, seconds: 0.02}
failed_tables:
  description: Tables that differ.
  returned: always
  type: list
  elements: str
rows:
  description: Rows compared (MySQL side).
  returned: always
  type: int
rows_per_second:
  description: Throughput of the run.
  returned: always
  type: int
report_path:
  description: Where the JSON report was written.
  returned: when report_path is set
  type: str
warnings:
  description: Notes about the comparison.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgshift.mysql.plugins.module_utils.connections import (
    MYSQL_ARGUMENT_SPEC,
    PG_ARGUMENT_SPEC,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_optional_manifest
from ansible_collections.pgshift.mysql.plugins.module_utils.results import exit_result, fail_result
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import (
    failure_message,
    verify,
    write_report,
)


def main():
    argument_spec = dict(MYSQL_ARGUMENT_SPEC)
    argument_spec.update(PG_ARGUMENT_SPEC)
    argument_spec.update(
        src={"type": "path", "required": True},
        mode={"type": "str", "default": "checksums", "choices": ["counts", "checksums", "sample"]},
        sample_percent={"type": "float", "default": 10.0},
        chunk_rows={"type": "int", "default": 10000},
        tables={"type": "list", "elements": "str"},
        max_diffs={"type": "int", "default": 10},
        jobs={"type": "int", "default": 1},
        report_path={"type": "path"},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        manifest = read_optional_manifest(p["src"])
        report = verify(p, p, manifest, mode=p["mode"], chunk_rows=p["chunk_rows"],
                        sample_percent=p["sample_percent"], tables=p["tables"], max_diffs=p["max_diffs"],
                        jobs=p["jobs"])
        if p["report_path"]:
            report["report_path"] = write_report(report, p["report_path"])
    except MigrationError as err:
        module.fail_json(msg=str(err))
    if not report["ok"]:
        fail_result(module, failure_message(report), dict(report, changed=False))
    exit_result(module, dict(report, changed=False))


if __name__ == "__main__":
    main()
