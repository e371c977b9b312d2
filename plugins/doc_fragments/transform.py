class ModuleDocFragment:
    """Options of the dump transform, shared by dump_transform and dump_load."""

    DOCUMENTATION = r"""
options:
  schema_mode:
    description:
      - C(create) builds the PostgreSQL schema from the dump's DDL.
      - C(existing) reads the target database (through the pg_* options) and coerces values to its column
        types, mapping columns by name (exact, then case-insensitive); data-only dumps need this mode.
    type: str
    choices: [create, existing]
    default: create
  schema_map:
    description: MySQL database name -> PostgreSQL schema name (default the same name).
    type: dict
    default: {}
  default_schema:
    description: MySQL database of a dump with no C(USE) statement (default the dump header's database).
    type: str
  identifier_case:
    description: Keep identifiers as they are, or lower-case them.
    type: str
    choices: [preserve, lower]
    default: preserve
  type_rules:
    description:
      - Rules tried before the defaults, first match wins. Each is a dict with C(match) (keys C(type),
        C(column_type) regex, C(unsigned), C(length), C(auto_increment), C(table), C(column) glob),
        C(pg_type) (template with {length} {precision} {scale}) and optional C(converter).
    type: list
    elements: dict
    default: []
  strict_types:
    description: Fail on a column type no rule maps (default maps it to text with a warning).
    type: bool
    default: false
  embeddings:
    description:
      - Columns holding embeddings, made C(vector(N)) or C(halfvec(N)); each a dict with C(table), C(column),
        C(dimensions), C(type) (vector|halfvec),
        C(format) (json_object|json_array|csv|float32_blob|mysql_vector) and C(invalid)
        (error|null|reject; reject writes the row to C(rejects/)).
    type: list
    elements: dict
    default: []
  zero_date:
    description:
      - Zero dates (0000-00-00...) -> C(error), C(null), C(-infinity), or this replacement literal.
      - C(null) also drops NOT NULL (and the zero default) of a column whose default is a zero date, as
        pgloader does (said in the warnings); C(-infinity) keeps NOT NULL (PostgreSQL's date before all).
      - A replacement must be a valid date (C(1970-01-01)) or date and time (C(1970-01-01 00:00:00));
        anything else is refused before the dump is read, and a date column refuses a time of day.
    type: str
    default: error
  invalid_utf8:
    description: Invalid UTF-8 in text -> C(error) (names table, row and offset) or C(replace) (U+FFFD).
    type: str
    choices: [error, replace]
    default: error
  nul_bytes:
    description: NUL bytes in text -> C(error) or C(strip).
    type: str
    choices: [error, strip]
    default: error
  include_tables:
    description: Only these tables (globs on C(table) or C(db.table)).
    type: list
    elements: str
    default: []
  exclude_tables:
    description: Skip these tables (globs); their rows are still read but not written.
    type: list
    elements: str
    default: []
  ignore_columns:
    description: With O(schema_mode=existing), dump columns (C(column) or C(table.column)) allowed to have no
      target column; their values are dropped.
    type: list
    elements: str
    default: []
  force:
    description: Overwrite a migration dir (or script) of another dump or other options; a complete one
      of this very dump is left alone without it.
    type: bool
    default: false
  allow_incomplete_dump:
    description:
      - mysqldump and mariadb-dump end a complete dump with a C(-- Dump completed) line; without it after
        the last statement the dump was cut short (a failed or killed mysqldump, a partial copy), even
        at a statement boundary, and the run fails naming the file.
      - C(true) accepts such a dump as knowingly partial (e.g. written with C(--skip-comments) or
        C(--compact)), with a warning.
    type: bool
    default: false
  jobs:
    description:
      - Processes converting INSERT statements to COPY text. The dump is read and split in one process;
        batches of statements are converted in parallel and written in dump order, so the output is
        byte-identical whatever the number of jobs.
      - Default is the number of CPUs the module may use, at most 4 (each worker adds 30-45 MB of
        memory and the reading process caps throughput near 150 MB/s); an explicit value is not capped.
        C(1) converts everything in one process.
    type: int
"""
