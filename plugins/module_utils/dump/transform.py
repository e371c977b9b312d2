"""Orchestration: a mysqldump file -> a migration dir (docs/contracts.md) or one psql script.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
        TransformOptions, run_transform)

    result = run_transform(TransformOptions(src="dump.sql.zst", dest="/migr/run1", zero_date="null"))
    result -> {"changed": True, "tables": {"sakila.actor": {"rows": 200, "bytes": 7446, ...}},
               "warnings": [...], "manifest": "/migr/run1/manifest.json", ...}

check_mode=True parses the whole dump and reports, writing nothing. Errors are MigrationError
subclasses naming the table, the row number (and key) and the byte offset.
"""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .. import manifest as mf
from ..copytext import NULL, copy_escape_bytes
from ..errors import (
    DumpDataError,
    DumpReadError,
    DumpSyntaxError,
    IncompleteDump,
    MigrationError,
    RowsAfterPublish,
    ValueConversionError,
    write_error,
)
from ..model import mysqllexer as lx
from ..model.embedding_specs import EmbeddingSpecs
from ..model.existing import existing_plans, find_target, introspect_target
from ..model.foreign_keys import align_referencing_types
from ..model.mysql_ddl import (
    classify,
    parse_create_table,
)
from ..model.names import TableNames, column_names, pg_column_name, pg_name
from ..model.pgddl import NameRegistry, table_ddl, write_sql_files
from ..model.schema import Table, make_column
from ..model.types import MapOptions, map_column, rules_from_dicts
from ..model.values import CHARSETS, Policies, check_zero_date
from ..model.views import routine_entry, schema_object_summary, schema_object_warnings, view_entry
from ..quoting import qualified, quote_ident
from .parallel import (
    ParallelInserts,
    default_jobs,
)
from .reader import (
    DumpReader,
    open_dump,
    source_facts,
)
from .rowcodec import RowCodec

# Ansible argument spec of the transform options shared by dump_transform and dump_load (documented
# once in the doc fragment pgshift.mysql.transform).
TRANSFORM_ARGUMENT_SPEC = {
    "schema_mode": {"type": "str", "choices": ["create", "existing"], "default": "create"},
    "schema_map": {"type": "dict", "default": {}},
    "default_schema": {"type": "str"},
    "identifier_case": {"type": "str", "choices": ["preserve", "lower"], "default": "preserve"},
    "type_rules": {"type": "list", "elements": "dict", "default": []},
    "strict_types": {"type": "bool", "default": False},
    "embeddings": {"type": "list", "elements": "dict", "default": []},
    "zero_date": {"type": "str", "default": "error"},
    "invalid_utf8": {"type": "str", "choices": ["error", "replace"], "default": "error"},
    "nul_bytes": {"type": "str", "choices": ["error", "strip"], "default": "error"},
    "include_tables": {"type": "list", "elements": "str", "default": []},
    "exclude_tables": {"type": "list", "elements": "str", "default": []},
    "ignore_columns": {"type": "list", "elements": "str", "default": []},
    "force": {"type": "bool", "default": False},
    "jobs": {"type": "int"},
    "allow_incomplete_dump": {"type": "bool", "default": False},
}


@dataclass
class TransformOptions:
    src: str
    dest: str
    format: str = "dir"                  # dir | sql
    schema_mode: str = "create"          # create | existing
    schema_map: dict = field(default_factory=dict)
    default_schema: str | None = None    # MySQL database of a dump without USE (else from its header)
    identifier_case: str = "preserve"    # preserve | lower
    type_rules: list = field(default_factory=list)
    strict_types: bool = False
    embeddings: list = field(default_factory=list)
    zero_date: str = "error"
    invalid_utf8: str = "error"
    nul_bytes: str = "error"
    include_tables: list = field(default_factory=list)
    exclude_tables: list = field(default_factory=list)
    ignore_columns: list = field(default_factory=list)   # existing mode: dump columns allowed unmapped
    force: bool = False
    allow_incomplete_dump: bool = False  # a dump without "-- Dump completed" at its end is accepted
    check_mode: bool = False
    pg_params: dict = field(default_factory=dict)
    progress: object = None              # callable(dict) called about every 0.5 s
    jobs: int | None = None              # processes converting INSERTs; None: the CPUs we may use
    on_table_done: object = None         # callable(manifest table entry): the table's data file is whole
    on_table_start: object = None        # callable(entry) -> stream with finish(entry): rows begin
    manifest_extra: dict = field(default_factory=dict)   # more top-level manifest keys (load_identity)


class TableState:
    """One table being transformed: its plans, codec, output file and counters."""

    def __init__(self, table, pg_schema, pg_name, plans, policies):
        self.table, self.pg_schema, self.pg_name = table, pg_schema, pg_name
        self.plans = plans                  # loaded (COPY) columns, in COPY order
        self.policies = policies
        self.rows = self.bytes = self.rejected = 0
        self.out = None
        self.codecs = {}
        self.warnings = list(table.warnings)
        self.create_sql, self.post_data = "", []
        self.seconds = 0.0
        self.skip = False
        self.published = False              # on_table_done was called: no more rows may come
        self.stream = None                  # what on_table_start returned: finished at publish
        self.reject_out = self.reject_log = None

    @property
    def key(self):
        return "%s.%s" % (self.pg_schema, self.pg_name)


class Transformer:
    def __init__(self, opts):
        self.o = opts
        self.map_opts = MapOptions(type_rules=rules_from_dicts(opts.type_rules),
                                   strict_types=opts.strict_types, zero_date=opts.zero_date)
        self.policies = Policies(zero_date=opts.zero_date, invalid_utf8=opts.invalid_utf8,
                                 nul_bytes=opts.nul_bytes)
        self.current_db = opts.default_schema
        self.tables = {}                    # (mysql db, mysql table) -> TableState
        self.order = []
        self.views, self.routines, self.warnings = {}, [], []
        self.names = NameRegistry()
        self.table_names = TableNames(opts.identifier_case)
        self.workdir = None
        self.reader = None
        self.embedding_specs = EmbeddingSpecs(opts.embeddings)
        self.target = None                  # existing mode: {(schema, table): [(name, pg_type)]}
        self._last_progress = 0.0
        self.started = time.monotonic()
        self.jobs = opts.jobs or default_jobs()
        self._open_files = OrderedDict()    # _TableOutput -> None, least recently opened first
        self.parallel = None                # ParallelInserts while run() goes, when jobs > 1
        self.server_version = None          # from the dump's header, when it has one
        self.current = None                 # the TableState whose INSERTs came last
        self.databases = set()              # MySQL databases the dump names (verify lists their tables)

    # -- names ----------------------------------------------------------------------------------
    def ident(self, name):
        return pg_name(name, self.o.identifier_case)

    def column_ident(self, name):
        return pg_column_name(name, self.o.identifier_case)

    def pg_schema(self, db):
        db = db or self.current_db or "public"
        return self.ident(self.o.schema_map.get(db, db))

    def wanted(self, db, name):
        full = "%s.%s" % (db, name)
        inc, exc = self.o.include_tables, self.o.exclude_tables
        if inc and not any(_glob(p, name) or _glob(p, full) for p in inc):
            return False
        return not any(_glob(p, name) or _glob(p, full) for p in exc)

    # -- main loop ------------------------------------------------------------------------------
    def run(self):
        if self.jobs > 1:
            self.parallel = ParallelInserts(self.jobs)
        try:
            self._run()
            if self.parallel:
                self.parallel.drain(self)
            self._publish_rest()
            if self.parallel:
                self.parallel.close()
        except BaseException:
            if self.parallel:
                self.parallel.terminate()
            raise
        finally:
            self.parallel = None
        self.close_outputs()

    def _run(self):
        with open_dump(self.o.src) as stream:
            self.reader = DumpReader(stream, name=self.o.src)
            if self.current_db is None:
                self.current_db = _header_database(self.reader)
            if self.current_db:
                self.databases.add(self.current_db)
            self.server_version = header_server_version(self.reader)
            if self.o.schema_mode == "existing":
                self.target = introspect_target(self.o.pg_params)
            try:
                self._read_events()
                if self.parallel:
                    self.parallel.drain(self)
            except (DumpSyntaxError, ValueConversionError, DumpDataError) as err:
                if not isinstance(err, DumpReadError):
                    self.reader.blame_corruption(err)
                raise
            if not self.reader.completed:
                self._incomplete_dump()
            self.embedding_specs.check_all_matched()

    def _read_events(self):
        while (event := self.reader.next_event()) is not None:
            kind, payload, offset = event
            if kind == "insert":
                self.on_insert(payload, offset)
            elif kind == "routine":
                self.on_routine(payload)
            else:
                self.on_statement(payload, offset)
            self.report_progress()

    def _incomplete_dump(self):
        """No "-- Dump completed" after the last statement: the dump was cut (at a statement
        boundary, so nothing else shows it) unless the user says it is knowingly partial."""
        where = "dump %r ends at byte offset %d without mysqldump's '-- Dump completed' line" % (
            self.o.src, self.reader.offset())
        if not self.o.allow_incomplete_dump:
            raise IncompleteDump("%s: it was cut short (a failed or killed mysqldump, a partial copy), so "
                                 "tables or rows may be missing; dump again, or set allow_incomplete_dump "
                                 "(--allow-incomplete-dump) if it is knowingly partial (e.g. written with "
                                 "--skip-comments or --compact)" % where)
        self.warnings.append("%s: accepted as partial (allow_incomplete_dump)" % where)

    def report_progress(self, table=None, force=False):
        if not self.o.progress:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= 0.5:
            self._last_progress = now
            self.o.progress({"bytes": self.reader.offset(), "rows": sum(t.rows for t in self.tables.values()),
                             "seconds": now - self.started, "table": table})

    def on_statement(self, text, offset):
        kind = classify(text)
        if kind is None:
            if not text.strip():
                return
            raise DumpSyntaxError("not a mysqldump statement at byte offset %d: %r" % (offset, text[:80]))
        if kind in _TABLE_BOUNDARIES:
            self._publish_current()
        handler = getattr(self, "on_" + kind, None)
        if handler:
            handler(text, offset)

    def on_use(self, text, _offset):
        toks = [t for _k, t in lx.tokenize(text)]
        self.current_db = lx.ident_name(toks[1])
        self.databases.add(self.current_db)

    def on_create_database(self, text, _offset):
        pass

    def on_set(self, text, _offset):
        m = re.match(rb"\s*SET\s+NAMES\s+'?(\w+)", text, re.I)
        if m:
            name = m.group(1).decode().lower()
            codec = CHARSETS.get(name)
            if not codec:
                raise DumpSyntaxError("SET NAMES %s: character set not supported" % name)
            self.policies.charset = codec
        m = re.match(rb"\s*SET\s+TIME_ZONE\s*=\s*'([+-]\d\d:\d\d)'", text, re.I)
        if m:
            tz = m.group(1).decode()
            self.policies.tz_suffix = tz.encode() if tz != "+00:00" else b"+00"

    def on_routine(self, text):
        self._publish_current()
        if not text.strip() or classify(text) == "set":
            return
        self.routines.append(routine_entry(text))

    def on_create_view(self, text, offset):
        db, name, entry = view_entry(text, self.current_db, self.pg_schema, self.ident)
        stub = self.tables.pop((db, name), None)
        if stub is not None and self.parallel:
            self.parallel.drain(self)
        if stub is not None:
            self.order.remove(stub)
            if stub.out:
                stub.out.close()
                os.unlink(stub.out.name)
        self.views[(db, name)] = entry

    def on_routine_statement(self, text):
        self.on_routine(text)

    # -- tables ---------------------------------------------------------------------------------
    def on_create_table(self, text, offset):
        table = parse_create_table(text, self.current_db or "public")
        key = (table.schema, table.name)
        if key in self.tables:
            raise DumpSyntaxError("table %s.%s created twice (byte offset %d)"
                                  % (table.schema, table.name, offset))
        ts = self._table_state(table)
        self.tables[key] = ts
        self.order.append(ts)

    def _table_state(self, table):
        pg_schema = self.pg_schema(table.schema)
        pg_name = self.table_names.claim(pg_schema, table.schema, table.name, table.warnings)
        pol = Policies(zero_date=self.policies.zero_date, invalid_utf8=self.policies.invalid_utf8,
                       nul_bytes=self.policies.nul_bytes, charset=self.policies.charset,
                       tz_suffix=self.policies.tz_suffix)
        if self.target is not None:
            plans, (pg_schema, pg_name) = self._existing_plans(table, pg_schema, pg_name)
        else:
            plans = self._create_plans(table)
        loaded = [p for p in plans if not p.generated_sql and p.converter != "drop"]
        ts = TableState(table, pg_schema, pg_name, loaded, pol)
        ts.all_plans = plans
        ts.skip = not self.wanted(table.schema, table.name)
        for p in plans:
            ts.warnings.extend(p.warnings)
        if self.target is None:
            ts.create_sql, ts.post_data, warns = table_ddl(table, plans, pg_schema, pg_name, self.names,
                                                           self.column_ident, self._ref_name)
            ts.warnings.extend(warns)
        return ts

    def _ref_name(self, db, table):
        return self.pg_schema(db or self.current_db), self.ident(table)

    def _create_plans(self, table):
        names = column_names(table, self.o.identifier_case)
        plans = []
        for col in table.columns:
            plan = map_column(col, self.map_opts, table_name=table.name, pg_name=names[col.name],
                              auto_increment=table.auto_increment)
            self.embedding_specs.apply(table, col, plan)
            plans.append(plan)
        return plans

    def _existing_plans(self, table, pg_schema, pg_name):
        return existing_plans(self.target, table, pg_schema, pg_name, ignore_columns=self.o.ignore_columns,
                              apply_embedding=self.embedding_specs.apply)

    # -- data -----------------------------------------------------------------------------------
    def on_insert(self, m, offset):
        db = lx.ident_name(m.group("db")) if m.group("db") else (self.current_db or "public")
        name = lx.ident_name(m.group("table"))
        ts = self.tables.get((db, name))
        if ts is None:
            ts = self._table_from_target(db, name, m, offset)
        if ts is not self.current:
            self._publish_current()
            self.current = ts
        if ts.published:
            raise RowsAfterPublish(ts.key,
                "table %s: more rows at byte offset %d after the table's data ended and was handed to the"
                " load; a pipelined load needs each table's INSERTs together, as mysqldump writes them"
                " (transform, then load, handles such a dump)" % (ts.key, offset))
        if m.group("ignore") or m.group("verb").upper() == b"REPLACE":
            warn = ("%s: INSERT IGNORE/REPLACE rows loaded as plain rows (duplicates will fail at load)"
                    % ts.key)
            if warn not in ts.warnings:
                ts.warnings.append(warn)
        cols = m.group("cols")
        col_key = tuple(lx.ident_name(t) for k, t in lx.tokenize(cols) if k != "punct") if cols else None
        codec = ts.codecs.get(col_key)
        if codec is None:
            codec = ts.codecs[col_key] = self._codec(ts, col_key)
        if not ts.skip and ts.out is None:
            self._open_output(ts)
        if self.o.on_table_start and ts.stream is None and not ts.skip and not self.o.check_mode:
            ts.out.create()                 # truncates a previous run's file before anyone reads it
            ts.stream = self.o.on_table_start(self._table_entry(ts))
        started = time.monotonic()
        if self.parallel is None or not self.parallel.add(self, ts, codec, offset):
            if self.parallel:
                self.parallel.drain(self)   # earlier batches first: rows stay in dump order
            codec.consume(self, ts, offset)
        ts.seconds += time.monotonic() - started

    def _table_from_target(self, db, name, m, offset):
        if self.target is None:
            raise DumpSyntaxError("INSERT into %s.%s at byte offset %d but the dump has no CREATE TABLE "
                                  "for it (a data-only dump loads only into an existing schema: "
                                  "schema_mode=existing)"
                                  % (db, name, offset))
        cols = m.group("cols")
        if not cols:
            tgt = find_target(self.target, self.pg_schema(db), self.ident(name))
            if tgt is None:
                raise MigrationError("schema_mode existing: table %s.%s not found in the target database"
                                     % (self.pg_schema(db), self.ident(name)))
            col_names = [c for c, _t in tgt[1]]
            self.warnings.append("%s.%s: data-only INSERT without a column list: target column order assumed"
                                 % (db, name))
        else:
            col_names = [lx.ident_name(t) for k, t in lx.tokenize(cols) if k != "punct"]
        table = Table(schema=db, name=name, columns=[make_column(c, "longtext") for c in col_names])
        ts = self._table_state(table)
        ts.from_target = not cols
        self.tables[(db, name)] = ts
        self.order.append(ts)
        return ts

    def _codec(self, ts, col_key):
        src_names = list(col_key) if col_key else [c.name for c in ts.table.columns]
        gen = {p.source_name for p in ts.all_plans if p.generated_sql or p.converter == "drop"}
        positions = []
        by_source = {p.source_name: i for i, p in enumerate(ts.plans)}
        lower = {p.source_name.lower(): i for i, p in enumerate(ts.plans)}
        for name in src_names:
            i = by_source.get(name, lower.get(name.lower()))
            if i is None and name not in gen:
                raise MigrationError("table %s: INSERT names column %r that the table does not have"
                                     % (ts.key, name))
            positions.append(i if name not in gen else None)
        missing = [p.source_name for i, p in enumerate(ts.plans) if i not in positions]
        untranslated = {c.name for c in ts.table.columns if c.generated}
        if [m for m in missing if m not in untranslated]:
            raise MigrationError("table %s: INSERT has no value for column(s) %s"
                                 % (ts.key, ", ".join(m for m in missing if m not in untranslated)))
        for name in missing:
            _warn_once(ts.warnings, "column %r: generated column whose expression is not translated, and the "
                                    "dump leaves its values out (MySQL does): loaded as NULL" % name)
        return RowCodec(ts, len(src_names), positions, self.o.check_mode)

    def _open_output(self, ts):
        if self.o.check_mode:
            ts.out = _NullSink()
            return
        ts.out = _TableOutput(mf.data_file(self.workdir, ts.pg_schema, ts.pg_name), self._open_files)

    def reject(self, ts, row_no, offset, line, reason, *, key=""):
        """A row refused by a policy `reject`: its values to rejects/<table>.copy, and to .log its row
        number, key (' (key 17)', the primary key's values; '' without one), offset and reason."""
        ts.rejected += 1
        if self.o.check_mode:
            return
        if ts.reject_out is None:
            mf.make_private_dirs(os.path.join(self.workdir, mf.REJECTS_DIR))
            copy_path, log_path = mf.reject_files(self.workdir, ts.pg_schema, ts.pg_name)
            ts.reject_out = _TableOutput(copy_path, self._open_files)
            ts.reject_log = _TableOutput(log_path, self._open_files)
        ts.reject_out.write(line)
        ts.reject_log.write(("row %d%s at byte offset %d: %s\n" % (row_no, key, offset, reason)).encode())

    def close_outputs(self, failing=False):
        """Close every output; while failing, a second write error (the disk is full) must not hide
        the first error."""
        for ts in self.order:
            for f in (ts.out, ts.reject_out, ts.reject_log):
                if f is not None:
                    try:
                        f.close()
                    except MigrationError:
                        if not failing:
                            raise

    # -- publishing finished tables (pipelined load) ------------------------------------------
    def _publish_current(self):
        """The table whose INSERTs came last is finished (mysqldump writes a table's rows together)."""
        if self.current is not None and self.o.on_table_done:
            self._publish(self.current)
        self.current = None

    def _publish(self, ts):
        """Every row of ts converted and its file flushed: hand its manifest entry to the loader."""
        if ts.published:
            return
        if self.parallel:
            self.parallel.drain(self)       # its last batches written before the file is closed
        for f in (ts.out, ts.reject_out, ts.reject_log):
            if f is not None:
                f.close()
        ts.published = True
        if not ts.skip:
            (ts.stream.finish if ts.stream is not None else self.o.on_table_done)(self._table_entry(ts))

    def _publish_rest(self):
        """End of dump: the last table, then tables without rows (view stubs are gone by now)."""
        if not self.o.on_table_done:
            return
        self._publish_current()
        for ts in list(self.order):
            self._publish(ts)

    # -- outputs --------------------------------------------------------------------------------
    def table_entries(self):
        return [self._table_entry(ts) for ts in self.order if not ts.skip]

    def _table_entry(self, ts):
        if ts.out is None and not self.o.check_mode:
            mf.open_private(mf.data_file(self.workdir, ts.pg_schema, ts.pg_name)).close()
        warnings = ts.warnings + ["%d value(s) changed by policy %s" % (n, k)
                                  for k, n in sorted(ts.policies.counts.items())]
        cols = [mf.column_entry(p.name, p.source_name, p.source_type, p.pg_type, nullable=p.nullable,
                                identity=p.identity, default=p.default_sql, embedding=p.embedding)
                for p in ts.plans]
        return mf.table_entry(
            ts.pg_schema, ts.pg_name, source_schema=ts.table.schema, source_name=ts.table.name,
            columns=cols, primary_key=[self.column_ident(c) for c in ts.table.primary_key],
            auto_increment=ts.table.auto_increment,
            create_sql=ts.create_sql, post_data=ts.post_data, rows=ts.rows - ts.rejected, nbytes=ts.bytes,
            rejected=ts.rejected, warnings=warnings,
            generated_columns=[p.name for p in ts.all_plans if p.generated_sql])


class _TableOutput:
    """A table's data file, open only while it is written: a dump of many tables keeps a few
    1 MB write buffers, not one per table. Reopened for appending if the table's rows resume."""

    MAX_OPEN = 4

    def __init__(self, path, open_files):
        self.name = path
        self._file = None
        self._created = False
        self._open_files = open_files
        self.written = 0                    # bytes handed to write(), for a disk-full message

    def write(self, data):
        f = self._file
        if f is None:
            f = self._open()
        try:
            f.write(data)
        except OSError as err:              # ENOSPC, EDQUOT, EIO: named, with what was being written
            raise write_error(err, self.name, len(data), os.path.getsize(self.name)) from None
        self.written += len(data)
        return len(data)

    def create(self):
        """Create (truncate) the file now rather than at the first write."""
        if self._file is None and not self._created:
            self._open()

    def _open(self):
        self._file = mf.open_private(self.name, "ab" if self._created else "wb", buffering=1 << 20)
        self._created = True                    # (closed by close() or when others are opened)
        self._open_files[self] = None
        while len(self._open_files) > self.MAX_OPEN:
            oldest = next(iter(self._open_files))
            oldest.close()
        return self._file

    def close(self):
        if self._file is not None:
            f, self._file = self._file, None
            self._open_files.pop(self, None)
            on_disk = os.fstat(f.fileno()).st_size
            try:
                f.close()                        # flushes the last buffered MB
            except OSError as err:
                raise write_error(err, self.name, self.written - on_disk, on_disk) from None
        elif not self._created:
            mf.open_private(self.name).close()   # a table without rows still gets its (empty) file
            self._created = True


class _NullSink:
    name = os.devnull

    def write(self, data):
        return len(data)

    def close(self):
        pass


def _warn_once(warnings, text):
    if text not in warnings:
        warnings.append(text)


def _glob(pattern, name):
    return fnmatch.fnmatchcase(name, pattern)


# statements that end the current table's data in a mysqldump (its INSERTs are followed by
# ENABLE KEYS / UNLOCK TABLES, or directly by the next table's DROP/CREATE, a USE, a view or a routine)
_TABLE_BOUNDARIES = frozenset(("create_table", "create_view", "create_database", "use", "drop", "lock",
                               "alter_keys", "routine"))

_HEADER_DB_RE = re.compile(rb"^-- Host: .*?Database: ([^\s]+)", re.M)


def _header_database(reader):
    """mysqldump's header names the database of a single-database dump (which has no USE)."""
    reader.fill(1 << 16)
    m = _HEADER_DB_RE.search(reader.buf[:8192])
    return m.group(1).decode("utf-8", "replace") if m else None


_SERVER_VERSION_RE = re.compile(rb"^-- Server version[ \t:]+(\S+)", re.M)
_DISTRIB_RE = re.compile(rb"^-- (MySQL|MariaDB) dump [\d.]+\s+Distrib ([^\s,]+)", re.M)


def header_server_version(reader):
    """The server that wrote the dump, from its header: '-- Server version<TAB>10.11.6-MariaDB-log'.
    Without that line (an old client), the '-- MySQL dump 10.13  Distrib 8.0.36' line names the
    client's version, which mysqldump requires to match the server's major version; 'MariaDB' is
    kept in the text so canonical.server_flavor() tells the two apart. None for --compact dumps."""
    reader.fill(1 << 16)
    head = reader.buf[:8192]
    m = _SERVER_VERSION_RE.search(head)
    if m:
        return m.group(1).decode("utf-8", "replace")
    m = _DISTRIB_RE.search(head)
    if not m:
        return None
    version = m.group(2).decode("utf-8", "replace")
    if m.group(1) == b"MariaDB" and "mariadb" not in version.lower():
        version += "-MariaDB"
    return version


# -- entry point ------------------------------------------------------------------------------------

def _prepare_dest(opts):
    dest = opts.dest
    if opts.format == "sql":
        if os.path.exists(dest) and not opts.force:
            raise MigrationError("transform: dest %r exists (force: true to overwrite)" % dest)
        work = tempfile.mkdtemp(prefix=".pgshift-", dir=os.path.dirname(os.path.abspath(dest)) or ".")
        mf.make_private_dirs(os.path.join(work, mf.DATA_DIR))
        return work
    manifest_path = os.path.join(dest, mf.MANIFEST_NAME)
    if os.path.exists(manifest_path) and not opts.force:
        raise MigrationError("transform: %r already holds a migration (force: true to overwrite)" % dest)
    if os.path.isdir(dest) and opts.force:
        for sub in (mf.DATA_DIR, mf.REJECTS_DIR):
            shutil.rmtree(os.path.join(dest, sub), ignore_errors=True)
    mf.make_private_dirs(os.path.join(dest, mf.DATA_DIR))
    return dest


def run_transform(opts):
    """Transform opts.src into opts.dest; returns the result dict (see module RETURN)."""
    validate_options(opts)
    facts = source_facts(opts.src) if os.path.exists(opts.src) or opts.src == "-" else None
    if facts is None:
        raise MigrationError("transform: src %r not found" % opts.src)
    tr = Transformer(opts)
    manifest = mf.new_manifest({"kind": "dump", "path": os.path.abspath(opts.src) if opts.src != "-" else "-",
                                **facts}, _options_record(opts))
    manifest.update(opts.manifest_extra)
    if not opts.check_mode:
        tr.workdir = _prepare_dest(opts)
        mf.write_manifest(tr.workdir, manifest, complete=False)
    try:
        tr.run()
    except BaseException:
        tr.close_outputs(failing=True)
        if opts.format == "sql" and tr.workdir:
            shutil.rmtree(tr.workdir, ignore_errors=True)
        raise
    tr.report_progress(force=True)
    _fill_manifest(tr, manifest)
    if opts.schema_mode == "create":
        align_referencing_types(manifest)
    if not opts.check_mode:
        write_sql_files(tr.workdir, manifest)
        if opts.format == "sql":
            _assemble_script(tr, manifest, opts.dest)
            shutil.rmtree(tr.workdir, ignore_errors=True)
        else:
            mf.write_manifest(tr.workdir, manifest, complete=True)
    return _result(tr, manifest, opts)


def validate_options(opts):
    """Refuse bad options before anything is read or written (transform and migrate-dump)."""
    check_zero_date(opts.zero_date)
    if opts.jobs is not None and (not isinstance(opts.jobs, int) or opts.jobs < 1):
        raise MigrationError("transform: jobs must be a positive integer, got %r" % (opts.jobs,))
    for name, allowed in (("format", ("dir", "sql")), ("schema_mode", ("create", "existing")),
                          ("identifier_case", ("preserve", "lower")), ("invalid_utf8", ("error", "replace")),
                          ("nul_bytes", ("error", "strip"))):
        if getattr(opts, name) not in allowed:
            raise MigrationError("transform: %s must be one of %s, got %r" % (name, ", ".join(allowed),
                                                                              getattr(opts, name)))
    for e in opts.embeddings or []:
        if not isinstance(e, dict) or not e.get("table") or not e.get("column"):
            raise MigrationError("transform: each embeddings entry needs table and column, got %r" % (e,))
        if (e.get("invalid") or "error") not in ("error", "null", "reject"):
            raise MigrationError("transform: embeddings invalid must be error|null|reject, got %r"
                                 % e.get("invalid"))


def _options_record(opts):
    # jobs is left out: it changes the speed, never the output
    return {"identifier_case": opts.identifier_case, "zero_date": opts.zero_date,
            "invalid_utf8": opts.invalid_utf8,
            "nul_bytes": opts.nul_bytes, "schema_mode": opts.schema_mode, "format": opts.format,
            "schema_map": dict(opts.schema_map), "strict_types": opts.strict_types,
            "type_rules": list(opts.type_rules), "include_tables": list(opts.include_tables),
            "exclude_tables": list(opts.exclude_tables),
            "allow_incomplete_dump": bool(opts.allow_incomplete_dump),
            "embeddings": [{k: v for k, v in e.items()} for e in opts.embeddings or []]}


def _fill_manifest(tr, manifest):
    manifest["tables"] = tr.table_entries()
    manifest["schemas"] = sorted({t["schema"] for t in manifest["tables"]}
                                 | {v["schema"] for v in tr.views.values()})
    manifest["views"] = list(tr.views.values())
    manifest["routines"] = tr.routines
    manifest["warnings"] = list(tr.warnings) + schema_object_warnings(manifest["views"], tr.routines)
    manifest["source"]["bytes_read"] = tr.reader.offset() if tr.reader else 0
    manifest["source"]["databases"] = sorted(tr.databases | {ts.table.schema for ts in tr.order})
    if tr.server_version:
        manifest["source"]["server_version"] = tr.server_version


def _assemble_script(tr, manifest, dest):
    tmp = dest + ".tmp-%d" % os.getpid()
    try:
        _write_script(tr, manifest, tmp)
    except OSError as err:
        raise write_error(err, tmp, None, os.path.getsize(tmp) if os.path.exists(tmp) else None) from None
    os.replace(tmp, dest)


def _write_script(tr, manifest, tmp):
    with mf.open_private(tmp) as out:
        with open(os.path.join(tr.workdir, mf.PRE_DATA), "rb") as f:
            shutil.copyfileobj(f, out)
        for t in manifest["tables"]:
            cols = ", ".join(quote_ident(c["name"]) for c in t["columns"])
            head = "\nCOPY %s (%s) FROM stdin;\n" % (qualified(t["schema"], t["name"]), cols)
            out.write(head.encode("utf-8"))
            with open(os.path.join(tr.workdir, t["data_file"]), "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
            out.write(b"\\.\n")
        out.write(b"\n")
        with open(os.path.join(tr.workdir, mf.POST_DATA), "rb") as f:
            shutil.copyfileobj(f, out)


def _result(tr, manifest, opts):
    tables = {"%s.%s" % (t["schema"], t["name"]): {"rows": t["rows"], "bytes": t["bytes"],
                                                   "rejected": t["rejected"],
                                                   "seconds": round(tr.tables_by_key(t).seconds, 3),
                                                   "warnings": t["warnings"]}
              for t in manifest["tables"]}
    seconds = time.monotonic() - tr.started
    read = manifest["source"].get("bytes_read", 0)
    return {"changed": not opts.check_mode, "tables": tables, "warnings": manifest["warnings"],
            **schema_object_summary(manifest),
            "dest": opts.dest, "format": opts.format, "seconds": round(seconds, 3), "bytes_read": read,
            "mb_per_s": round(read / 1e6 / seconds, 1) if seconds else None, "jobs": tr.jobs,
            "rows": sum(t["rows"] for t in manifest["tables"])}


def _tables_by_key(self, entry):
    for ts in self.order:
        if ts.pg_schema == entry["schema"] and ts.pg_name == entry["name"]:
            return ts
    return None


Transformer.tables_by_key = _tables_by_key
__all__ = ["NULL", "TransformOptions", "ValueConversionError", "copy_escape_bytes", "run_transform"]
