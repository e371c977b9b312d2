"""live_copy's engine: MySQL straight into PostgreSQL, one consistent snapshot, no dump file.

    from ansible_collections.pgshift.mysql.plugins.module_utils.live.copy import live_copy
    result = live_copy(params, databases=["shop"], dest="/var/lib/pgshift/shop", jobs=4,
                       snapshot="lock", if_exists="fail", max_rejects=0)

Design (why it is as fast as COPY from a ready file, and consistent):

  information_schema --live_catalog--> schema_model.Table --typemap + pgddl--> manifest entries
      (the dump path's own rules and DDL: one engine, two readers)
  N reader sessions = N `mariadb`/`mysql` client processes (option file 0600, never a password in
      argv), each kept open and fed SQL on stdin (live_session)
  snapshot (live_snapshot): FLUSH TABLES WITH READ LOCK on a control session, START TRANSACTION WITH
      CONSISTENT SNAPSHOT on every reader, binlog position read, UNLOCK TABLES: milliseconds of lock
  per table, largest first, on N PostgreSQL connections: pg_load's own transaction (CREATE or
      TRUNCATE + COPY FREEZE + resume record in pgshift_state), the COPY fed by a reader's stdout:
      the SELECT (live_select) makes MySQL write PostgreSQL COPY text itself, the C client prints
      it, libpq sends it. Python moves 256 KB buffers and looks for the end-of-result sentinel; it
      never parses a row, except for the columns that need Python (embeddings, geometry), which the
      SELECT puts last for a bounded-memory filter that rewrites only those fields (live_filter).
  after each table, in the same snapshot: COUNT(*) (rows copied + refused must equal it) and the
      counts of values a non-error policy touched.
  a row PostgreSQL refuses (zero date or NUL byte under policy error, a bad enum...): the table's
      SELECT is re-run in the same snapshot into <dest>/data/<schema>.<table>.copy, and pg_load's
      reject isolation (batches, halving) names the rows; max_rejects as in pg_load.
  post-data (keys, indexes in parallel, FKs NOT VALID + VALIDATE), ANALYZE, load-state.json and the
      manifest (source.kind live, source.binlog) exactly as pg_load writes them, so sequence_reset
      and migration_verify work the same after either path.

Big tables (chunk_rows, default 1,000,000; 0 disables): a table with an integer primary key, or a
composite key whose first column is an integer, and more rows than chunk_rows (COUNT(*) in the
snapshot) is copied in key ranges (live_chunks: even ranges between MIN and MAX, open outer ends).
Chunk 1 runs in the transaction that CREATEs or TRUNCATEs the table, with COPY FREEZE; once it has
committed, the other chunks run in parallel, each its own COPY (no FREEZE: PostgreSQL allows it only in
the creating transaction) committed together with its row in pgshift_state.loaded_chunks (key range,
boundaries, rows). Why this design and not one writer transaction fed by readers one after the other:
  - resumable: a kill loses only the chunks in flight; the rerun reuses the recorded boundaries (never
    recomputed, so no row is in two chunks) and copies only the chunks not recorded, and the table's
    loaded_tables record is written once every chunk is in. A single transaction would lose it all.
  - faster: chunks run on `jobs` PostgreSQL backends and MySQL readers at once, so one big table uses
    every core instead of one COPY backend; a single writer transaction is bound to one backend.
  - the price: rows of chunks 2..n are not frozen (a later VACUUM or the first reads set hint bits).
Every chunk is read by a reader of the one snapshot, so the copy is as consistent as a whole-table COPY;
each chunk's COPY count is checked against COUNT(*) of its range in that snapshot. A plan change (tables,
DDL, options) changes the manifest id, so earlier chunk records no longer match and the table restarts.

Resume: the manifest id is a digest of the plan (source, tables, DDL, options), not of the run, so a
rerun skips the tables pgshift_state already has. Tables copied by an earlier run come from that
run's snapshot: a warning says so when the binlog position moved.
"""
import concurrent.futures
import contextlib
import fnmatch
import hashlib
import json
import os
import queue
import re
import time

from .. import manifest as mf
from ..connections import describe_mysql, mysql_connect, mysql_option_file, mysql_settings
from ..copytext import parse_row
from ..errors import (
    ExtensionMissing,
    LargeValueError,
    LiveCopyError,
    MigrationError,
    PlanChanged,
    write_error,
)
from ..load.copy import (
    READ_SIZE,
    RejectIsolator,
    RejectWriter,
    RowsRejected,
    describe_pg_error,
    is_row_error,
)
from ..load.loader import LoadError, PgLoad, TableTask, pre_data_steps
from ..load.sql import forget_chunks, read_chunks, record_chunk, record_table, table_exists
from ..model.embedding_specs import EmbeddingSpecs
from ..model.embedding_text import make_converter
from ..model.existing import existing_plans, introspect_target
from ..model.foreign_keys import align_referencing_types
from ..model.names import TableNames, column_names, pg_column_name, pg_name
from ..model.pgddl import CREATE_VECTOR, NameRegistry, needs_pgvector, table_ddl, write_sql_files
from ..model.types import MapOptions, map_column, rules_from_dicts
from ..model.values import NUL_CHOICES, check_zero_date, geometry_to_wkt
from ..model.views import routine_entry, schema_object_summary, schema_object_warnings, view_entry
from ..quoting import mysql_ident, quote_ident
from .catalog import read_catalog, schema_statements, server_flavor, table_sizes
from .chunks import DEFAULT_CHUNK_ROWS, ChunkPlan, chunk_count, chunk_key
from .filter import ColumnFilter, PythonColumn, embedding_converter, geometry_converter
from .large import MarkedRows, RawPlan, effective_threshold, large_columns
from .select import (
    Policies,
    SelectColumn,
    big_condition,
    build_select,
    needs_python,
    ordered_columns,
    policy_count_select,
)
from .session import ReaderFailed
from .snapshot import MODES, open_snapshot

ZERO_DATE_FIXED = ("error", "null")
LOSS_WARNINGS = ("1301",)   # ER_WARN_ALLOWED_PACKET_OVERFLOWED: the function's result became NULL
NUL_BYTES = ("error", "strip")
INVALID_UTF8 = ("error", "replace")


# ---------------------------------------------------------------- options

def check_options(opts):
    if not opts.get("databases"):
        raise LiveCopyError("live_copy: databases is required (the MySQL databases to copy)")
    if opts.get("snapshot", "lock") not in MODES:
        raise LiveCopyError("live_copy: snapshot must be one of %s" % ", ".join(MODES))
    if opts.get("nul_bytes", "error") not in NUL_BYTES:
        raise LiveCopyError("live_copy: nul_bytes must be error or strip")
    if opts.get("invalid_utf8", "error") not in INVALID_UTF8:
        raise LiveCopyError("live_copy: invalid_utf8 must be error or replace")
    if opts.get("identifier_case", "preserve") not in ("preserve", "lower"):
        raise LiveCopyError("live_copy: identifier_case must be preserve or lower")
    if opts.get("schema_mode", "create") not in ("create", "existing"):
        raise LiveCopyError("live_copy: schema_mode must be create or existing")
    check_zero_date(opts.get("zero_date", "error"), "live_copy: zero_date (--zero-date)")


def _table_wanted(db, name, include, exclude):
    keys = ("%s.%s" % (db, name), name)

    def hit(patterns):
        return any(fnmatch.fnmatchcase(k, p) for p in patterns for k in keys)
    return (not include or hit(include)) and not hit(exclude or [])


# ---------------------------------------------------------------- the plan

class LiveTable:
    """One table: its manifest entry, its SELECT, and what the COPY needs."""

    def __init__(self, table, entry, select_columns, plans, *, est_rows, est_bytes):
        self.table, self.entry = table, entry
        self.columns = select_columns            # SelectColumn, in COPY order
        self.plans = plans
        self.est_rows, self.est_bytes = est_rows, est_bytes
        self.key = "%s.%s" % (entry["schema"], entry["name"])
        by_name = {c.source_name: c for c in select_columns}
        # the key fields of marker lines (live.large): every primary-key column the COPY carries
        self.key_columns = [by_name[k] for k in table.primary_key if k in by_name]
        if len(self.key_columns) != len(table.primary_key):
            self.key_columns = []
        self.large = large_columns(select_columns)

    @property
    def pg_names(self):
        by_source = {p.source_name: p.name for p in self.plans}
        return [by_source[c.source_name] for c in self.columns]


def _plan_columns(table, opts, map_options, specs):
    plans, select = [], []
    names = column_names(table, opts.get("identifier_case", "preserve"))
    for col in table.columns:
        plan = map_column(col, map_options, table_name=table.name, pg_name=names[col.name],
                          auto_increment=table.auto_increment)
        specs.apply(table, col, plan)
        plans.append(plan)
        if plan.generated_sql:
            continue  # PostgreSQL computes it; COPY may not write it
        select.append(SelectColumn(source_name=col.name, converter=plan.converter, pg_type=plan.pg_type,
                                   nullable=col.nullable, charset=col.charset, length=col.length,
                                   base_type=col.base_type, embedding=plan.embedding))
    return plans, ordered_columns(select)


def _existing_columns(table, opts, pg_schema, pg_table, specs):
    """schema_mode existing (model.existing): the plans, the SELECT and the target's own names."""
    plans, target_names = existing_plans(
        opts["existing_target"], table, pg_schema, pg_table, ignore_columns=opts.get("ignore_columns"),
        apply_embedding=specs.apply)
    select = [SelectColumn(source_name=p.source_name, converter=p.converter, pg_type=p.pg_type,
                           nullable=col.nullable, charset=col.charset, length=col.length,
                           base_type=col.base_type, embedding=p.embedding)
              for p in plans if p.converter != "drop"
              for col in table.columns if col.name == p.source_name]
    return [p for p in plans if p.converter != "drop"], ordered_columns(select), target_names


def plan_table(table, opts, map_options, names, sizes, *, table_names, specs):
    """schema_model.Table -> LiveTable (manifest entry with the dump path's create_sql/post_data)."""
    case = opts.get("identifier_case", "preserve")
    schema_map = opts.get("schema_map") or {}
    pg_schema = pg_name(schema_map.get(table.schema, table.schema), case)
    pg_table = table_names.claim(pg_schema, table.schema, table.name, table.warnings)

    def pg_col(name):   # also used for the referenced table's columns
        return pg_column_name(name, case)

    def ref_name(db, name):
        return pg_name(schema_map.get(db or table.schema, db or table.schema), case), pg_name(name, case)

    existing = opts.get("schema_mode", "create") == "existing"
    if existing:
        plans, select, (pg_schema, pg_table) = _existing_columns(table, opts, pg_schema, pg_table, specs)
        create_sql, post_data, ddl_warnings = "", [], []   # the ORM owns keys and indexes
    else:
        plans, select = _plan_columns(table, opts, map_options, specs)
        create_sql, post_data, ddl_warnings = table_ddl(table, plans, pg_schema, pg_table, names, pg_col,
                                                        ref_name)
    warnings = list(table.warnings) + ddl_warnings + [w for p in plans for w in p.warnings]
    by_source = {p.source_name: p for p in plans}
    columns = [mf.column_entry(by_source[c.source_name].name, c.source_name,
                               by_source[c.source_name].source_type, c.pg_type,
                               nullable=by_source[c.source_name].nullable,
                               identity=by_source[c.source_name].identity,
                               default=by_source[c.source_name].default_sql, embedding=c.embedding)
               for c in select]
    entry = mf.table_entry(pg_schema, pg_table, source_schema=table.schema, source_name=table.name,
                           columns=columns,
                           primary_key=[by_source[c].name if c in by_source else pg_col(c)
                                        for c in table.primary_key],
                           auto_increment=table.auto_increment, create_sql=create_sql,
                           post_data=post_data, warnings=warnings, data_file=None)
    est_rows, est_bytes = sizes.get(table.name, (0, 0))
    return LiveTable(table, entry, select, plans, est_rows=est_rows, est_bytes=est_bytes)


def read_schema_objects(cur, opts):
    """The copied databases' views and routines, as the dump path records them (model.views)."""
    case, schema_map = opts.get("identifier_case", "preserve"), opts.get("schema_map") or {}

    def pg_schema(db):
        return pg_name(schema_map.get(db, db), case)

    def ident(name):
        return pg_name(name, case)

    views, routines = [], []
    for db in opts["databases"]:
        view_texts, routine_texts = schema_statements(cur, db)
        views.extend(view_entry(text, db, pg_schema, ident)[2] for text in view_texts)
        routines.extend(routine_entry(text) for text in routine_texts)
    return views, routines


def build_plan(cur, opts, flavor):
    if opts.get("schema_mode") == "existing":
        opts["existing_target"] = introspect_target(opts["pg_params"])
    map_options = MapOptions(type_rules=rules_from_dicts(opts.get("type_rules")),
                             strict_types=bool(opts.get("strict_types")),
                             zero_date=opts.get("zero_date") or "error")
    names = NameRegistry()
    table_names = TableNames(opts.get("identifier_case", "preserve"))
    specs = EmbeddingSpecs(opts.get("embeddings"))
    planned = []
    for db in opts["databases"]:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (db,))
        if cur.fetchone() is None:
            raise LiveCopyError("live_copy: MySQL database %r does not exist (or the user cannot see it)"
                                % db)
        sizes = table_sizes(cur, db)
        for table in read_catalog(cur, db, flavor=flavor):
            if _table_wanted(db, table.name, opts.get("include_tables"), opts.get("exclude_tables")):
                planned.append(plan_table(table, opts, map_options, names, sizes, table_names=table_names,
                                          specs=specs))
    specs.check_all_matched()
    if not planned:
        raise LiveCopyError("live_copy: no table to copy in %s" % ", ".join(opts["databases"]))
    return planned


# Manifest entry keys that are facts of the data, not of the plan: writers change them (an INSERT moves
# AUTO_INCREMENT), and a rerun must still recognise the tables it copied.
NOT_PLAN = ("rows", "bytes", "rejected", "warnings", "auto_increment", "binlog")
PLAN_OPTIONS = ("zero_date", "nul_bytes", "invalid_utf8", "identifier_case", "schema_mode")
_IDENTITY_START = re.compile(r" \(START WITH \d+\)")   # AUTO_INCREMENT again; sequence_reset sets it


def plan_view(entry):
    """A manifest entry as far as it is the plan (what two runs must share to resume)."""
    view = {k: v for k, v in entry.items() if k not in NOT_PLAN}
    view["create_sql"] = _IDENTITY_START.sub("", view.get("create_sql") or "")
    return view


def plan_identity(source, planned, opts):
    """A digest of what the copy produces (not of when it ran): the resume key in pgshift_state."""
    stable = {"source": {k: source.get(k) for k in ("host", "port", "databases")},
              "tables": [plan_view(t.entry) for t in planned],
              "options": {k: opts.get(k) for k in PLAN_OPTIONS}}
    text = json.dumps(stable, sort_keys=True, default=str)
    return "live-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _column_changes(old, new):
    before = {c["name"]: c for c in old.get("columns") or []}
    after = {c["name"]: c for c in new.get("columns") or []}
    changes = ["column %s added" % n for n in after if n not in before]
    changes += ["column %s removed" % n for n in before if n not in after]
    changes += ["column %s %s -> %s" % (n, before[n].get("pg_type"), c.get("pg_type"))
                for n, c in after.items() if n in before and before[n] != c]
    return changes


def plan_differences(previous, manifest):
    """What changed between the plan an earlier run left in dest and this one (short phrases)."""
    if not previous or previous.get("source", {}).get("kind") != "live":
        return []
    changes = ["option %s %s -> %s" % (k, previous.get("options", {}).get(k), manifest["options"].get(k))
               for k in PLAN_OPTIONS if previous.get("options", {}).get(k) != manifest["options"].get(k)]
    old = {"%s.%s" % (t["schema"], t["name"]): t for t in previous.get("tables") or []}
    new = {"%s.%s" % (t["schema"], t["name"]): t for t in manifest["tables"]}
    changes += ["table %s added" % k for k in new if k not in old]
    changes += ["table %s removed" % k for k in old if k not in new]
    for key in (k for k in new if k in old):
        parts = _column_changes(old[key], new[key])
        before, after = plan_view(old[key]), plan_view(new[key])
        parts += ["%s changed" % f for f in ("primary_key", "create_sql", "post_data")
                  if not parts and before.get(f) != after.get(f)]
        changes += ["%s: %s" % (key, p) for p in parts]
    return changes[:8]


# ---------------------------------------------------------------- the load, fed by reader sessions

class LiveTask(TableTask):
    def __init__(self, dest, live):
        super().__init__(dest, live.entry)
        self.live = live
        self.nbytes = live.est_bytes
        self.copied_bytes = 0
        self.chunks = None   # ChunkRun of a table copied in key ranges
        self.snapshot_count = None
        self.restart = False  # chunks of another snapshot are there: TRUNCATE and copy it whole again

    @property
    def rejected_so_far(self):
        return self.chunks.rejected if self.chunks else 0

    def copy_sql(self, freeze):
        cols = ", ".join(quote_ident(c) for c in self.live.pg_names)
        return "COPY %s (%s) FROM STDIN WITH (FORMAT text%s)" % (
            self.qualified, cols, ", FREEZE true" if freeze else "")


class LiveLoad(PgLoad):
    """pg_load's engine with reader sessions instead of data files (same transactions and state)."""

    def __init__(self, params, dest, live_opts, planned, *, manifest, manifest_id, previous=None,
                 **load_opts):
        super().__init__(params, dest, **load_opts)
        self.live_opts, self.planned = live_opts, planned
        self.manifest, self.manifest_id = manifest, manifest_id
        self.previous = previous   # the manifest an earlier run left in dest (or None)
        self.threshold = effective_threshold(live_opts.get("large_value_bytes"),
                                             live_opts.get("max_allowed_packet"))
        self.snapshot_text = None  # this run's snapshot position as recorded with each table and chunk
        self.policies = Policies(zero_date=live_opts.get("zero_date") or "error",
                                 nul_bytes=live_opts.get("nul_bytes") or "error",
                                 flavor=live_opts["flavor"])
        self.readers = queue.Queue()
        self.snapshot_info = {}
        chunk_rows = live_opts.get("chunk_rows")
        self.chunk_rows = DEFAULT_CHUNK_ROWS if chunk_rows is None else int(chunk_rows)
        self.chunk_state = {}

    def _read_target(self, conn):
        with conn.cursor() as cur:
            self.chunk_state = read_chunks(cur, self.manifest_id)
        conn.commit()
        try:
            super()._read_target(conn)
        except LoadError:
            clash = [t.key for t in self.tasks if t.action == "fail"]
            if not clash:
                raise
            raise PlanChanged(self._clash_message(conn, clash)) from None

    def _clash_message(self, conn, clash):
        """Why tables that exist are not this plan's, and what to do (one line)."""
        with conn.cursor() as cur:
            cur.execute("SELECT DISTINCT manifest_id FROM pgshift_state.loaded_tables WHERE"
                        " schema_name || '.' || table_name = ANY(%s) UNION SELECT DISTINCT manifest_id"
                        " FROM pgshift_state.loaded_chunks WHERE schema_name || '.' || table_name = ANY(%s)",
                        (clash, clash))
            others = sorted(r[0] for r in cur.fetchall())
        conn.commit()
        if not others:
            why = "no pgshift run recorded loading them (created by someone else, or if_exists: drop would" \
                  " replace them)"
        else:
            why = "they were loaded under plan %s, this run's plan is %s" % (", ".join(others),
                                                                              self.manifest_id)
            changes = plan_differences(self.previous, self.manifest)
            why += ("; changed since: %s" % "; ".join(changes)) if changes else (
                " (that plan is not the one in this dest: another dest or source)")
        return ("live copy into %s: table(s) %s already exist: %s. To copy them again set if_exists:"
                " truncate (or drop), or copy into a new database with a new dest"
                % (self.target, ", ".join(clash), why))

    def _decide(self, cur, task):
        """'resume' for a table some of whose chunks this plan already loaded."""
        action = super()._decide(cur, task)
        if action in ("fail", "truncate", "drop") and task.key in self.chunk_state:
            return "resume"
        return action

    def _plan(self):
        """The live plan's tables, largest first; the manifest and its id came with the plan."""
        entries = [t.entry for t in self.planned]
        self.tasks = sorted((LiveTask(self.src, t) for t in self.planned), key=lambda t: t.nbytes,
                            reverse=True)
        self.pre_steps = pre_data_steps(self.src)
        # a table filter leaves tables out, as pg_load's `tables` does
        self._plan_post_data(entries, not (self.live_opts.get("include_tables")
                                           or self.live_opts.get("exclude_tables")))

    def _run_pre_data(self, conn):
        if needs_pgvector(self.manifest) and self.live_opts.get("schema_mode") != "existing":
            self._ensure_pgvector(conn)
        super()._run_pre_data(conn)

    def _ensure_pgvector(self, conn):
        """pgvector in the target database (the dump path's pre-data creates it too), or one line
        saying it is missing and who may create it."""
        import psycopg2

        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
            if cur.fetchone() is not None:
                return conn.commit()
            try:
                cur.execute(CREATE_VECTOR)
                return conn.commit()
            except psycopg2.Error as err:
                conn.rollback()
                code, reason = err.pgcode, describe_pg_error(err)
        if code == "42501":
            raise ExtensionMissing(
                "live copy into %s: embedding columns need the extension vector (pgvector), which is not"
                " installed in this database, and user %s may not create it (%s): a superuser must run"
                " CREATE EXTENSION vector in it first" % (self.target, self.params.get("pg_user") or
                                                          "(libpq default)", reason))
        raise ExtensionMissing("live copy into %s: embedding columns need the extension vector (pgvector),"
                               " which could not be created: %s (install pgvector on the PostgreSQL server)"
                               % (self.target, reason))

    # -- snapshot around the table loads
    def _load_tables(self):
        todo = [t for t in self.tasks if t.action != "skip"]
        if not todo:
            return self._run_units(todo)
        chunked = any(t.action == "resume" or self._chunk_key(t) for t in todo)
        n = self.jobs if chunked else max(1, min(self.jobs, len(todo)))
        mysql_params = self.live_opts["mysql_params"]
        raw_connect = None
        if any(t.live.large for t in todo):   # rows of big values are read raw (live.large)
            def raw_connect():
                return mysql_connect(mysql_params, use_unicode=False, conv={})
        control = mysql_connect(mysql_params)
        try:
            with mysql_option_file(mysql_params) as option_file:
                readers, binlog, warnings, lock_s = open_snapshot(
                    control, option_file, n, mode=self.live_opts.get("snapshot", "lock"),
                    flavor=self.live_opts["flavor"], client=self.live_opts.get("mysql_client"),
                    after_snapshot=(self.live_opts.get("hooks") or {}).get("after_snapshot"),
                    raw_connect=raw_connect)
            # the option file is gone now: every client has read it at start
        finally:
            control.close()
        self.warnings.extend(warnings)
        self.snapshot_text = snapshot_text(binlog)
        self.snapshot_info = {"mode": self.live_opts.get("snapshot", "lock"), "binlog": binlog,
                              "readers": n, "lock_seconds": round(lock_s, 4),
                              "reader_pids": [r.pid for r in readers]}
        self.say("snapshot (%s) taken by %d reader(s); binlog %s"
                 % (self.snapshot_info["mode"], n, binlog))
        self._alive = len(readers)
        for r in readers:
            self.readers.put(r)
        self._readers = readers
        try:
            self._run_units(todo)
        except BaseException:
            self._kill_queries(readers)   # a reader may be mid-query: the server must not go on
            raise
        finally:
            self._close_readers(readers)

    def _kill_queries(self, readers, end=True):
        """KILL QUERY every busy reader session (client and raw) from a fresh connection, and with end
        the clients too: a query the server still runs (a big COUNT, a long scan) would outlive the
        copy, and reading its result to the end could take as long."""
        busy = [r for r in readers if r.busy or (r.raw is not None and r.raw.cursor is not None)]
        ids = [r.connection_id for r in busy if r.connection_id]
        ids += [r.raw.connection_id for r in busy if r.raw is not None]
        try:
            control = mysql_connect(self.live_opts["mysql_params"])
        except MigrationError:
            control = None
        try:
            for conn_id in ids:
                if control is not None:
                    with contextlib.suppress(Exception), control.cursor() as cur:
                        cur.execute("KILL QUERY %d" % int(conn_id))
        finally:
            if control is not None:
                control.close()
            for r in readers if end else ():
                r.kill()

    def _close_readers(self, readers):
        for r in readers:
            try:
                r.close()
            except Exception:  # noqa: BLE001 - closing a dead client must not hide the real error
                r.kill()

    # -- one table
    def _check_rows(self, conn, task, rows, rejected):
        """Checked against COUNT(*) in the snapshot, in _load_in_transaction."""

    def _take_reader(self):
        while True:
            try:
                return self.readers.get(timeout=1)
            except queue.Empty:
                with self._lock:
                    if self._alive == 0:
                        raise LiveCopyError("live copy: no reader session left (an earlier failure ended "
                                            "them)") from None

    def _load_in_transaction(self, conn, task):
        reader = self._take_reader()
        try:
            rows, rejects, figures = self._copy_part(conn, task, reader, WHOLE)
            self._policy_notes(task, figures)
            return rows, rejects
        finally:
            self._give_back(reader)

    def _give_back(self, reader):
        if reader.busy and reader.proc.poll() is None:
            reader.kill()   # left mid-result by a failure: its session is of no further use
        if reader.proc.poll() is None:
            self.readers.put(reader)
        else:
            with self._lock:
                self._alive -= 1

    def _select_sql(self, task, where=None):
        t, live = task.live.table, task.live
        return build_select(t.schema, t.name, live.columns, where=where, policies=self.policies,
                            key_columns=live.key_columns, large_columns=live.large, threshold=self.threshold)

    def _marked(self, task, reader, where):
        """The reader's stream with marker lines resolved (live.large): rows of big values read raw."""
        live = task.live
        plan = raw_sql = None
        if live.large:
            plan = RawPlan(live.table.schema, live.table.name, live.columns, live.large,
                           policies=self.policies, key_columns=live.key_columns)
            raw_sql = plan.select(where, big_condition(live.large, self.threshold))
        stream = reader.stream(self._select_sql(task, where))
        return MarkedRows(stream, label=task.key, key_names=[c.source_name for c in live.key_columns],
                          raw=reader.raw, raw_sql=raw_sql, plan=plan)

    def _source(self, task, stream, rejects):
        python_cols = [c for c in task.live.columns if needs_python(c)]
        if not python_cols:
            return stream, []
        filters = []
        for c in python_cols:
            if c.embedding:
                conv = embedding_converter(make_converter, c.embedding)
                invalid = c.embedding.get("invalid", "error")
            else:
                conv, invalid = geometry_converter(geometry_to_wkt), "error"
            filters.append(PythonColumn(c.source_name, conv, invalid))
        names = [c.source_name for c in task.live.columns]
        key = task.live.table.primary_key
        positions = [names.index(k) for k in key if k in names]
        key_names = [k for k in key if k in names]
        return ColumnFilter(stream, filters, key_positions=positions, key_names=key_names, label=task.key,
                            rejects=rejects), filters

    def _rejects_for_part(self, task, part):
        rejects = self._rejects_for(task)
        if part.index is None:
            return rejects
        suffix = ".chunk-%04d" % part.index
        copy_path, log_path = rejects.copy_path, rejects.log_path
        return RejectWriter(copy_path[:-5] + suffix + ".copy", log_path[:-4] + suffix + ".log",
                            "%s (%s)" % (task.data_file, part.label))

    def _copy_part(self, conn, task, reader, part):
        """COPY one table (or one key range of it) from a reader; -> (rows, rejects, policy figures).
        The PostgreSQL transaction is left open for the caller's resume record."""
        import psycopg2

        rejects = self._rejects_for_part(task, part)
        rejects.clear()
        self.say("%s%s: streaming from %s" % (task.key, part.label and " " + part.label, reader.name))
        marked = None
        with conn.cursor() as cur:
            try:
                if part.prepare:
                    self._prepare_table(cur, task)
                marked = self._marked(task, reader, part.where)
                source, pycols = self._source(task, marked, rejects)
                cur.copy_expert(task.copy_sql(freeze=part.freeze), source, size=READ_SIZE)
                rows = cur.rowcount
                nbytes = source.nbytes
            except psycopg2.Error as err:
                conn.rollback()
                if marked is not None and marked.failure is not None:
                    raise marked.failure from None
                if not is_row_error(err):   # no drain: the server's query is KILLed (_kill_queries)
                    raise LoadError("live copy %s%s: COPY failed: %s"
                                    % (task.key, part.label and " " + part.label,
                                       describe_pg_error(err))) from None
                if marked is not None:
                    marked.drain()
                reader.drain()
                self.say("%s: COPY refused a row (%s); re-reading %s to isolate it"
                         % (task.key, err.pgcode, part.label or "the table"))
                rows, pycols, nbytes = self._isolate(cur, task, reader, rejects=rejects, part=part)
            except MigrationError:
                conn.rollback()   # the run fails: the reader's query is KILLed, not read to its end
                raise
            finally:
                rejects.close()
        with self._lock:
            task.copied_bytes += nbytes
        self._check_warnings(conn, task, reader, part)
        self._verify_count(conn, task, reader, rows, rejects.count, part=part)
        return rows, rejects, self._policy_figures(task, reader, pycols, part.where)

    def _isolate(self, cur, task, reader, *, rejects, part):
        """Spill the part (same snapshot) to a data file, then pg_load's bisecting isolator."""
        path = task.path if part.index is None else "%s.chunk-%04d" % (task.path, part.index)
        mf.make_private_dirs(os.path.dirname(path))
        source, pycols = self._source(task, self._marked(task, reader, part.where), rejects)
        with mf.open_private(path) as f:
            while True:
                chunk = source.read(READ_SIZE)
                if not chunk:
                    break
                try:
                    f.write(chunk)
                except OSError as err:
                    raise write_error(err, path, len(chunk), f.tell()) from None
        if part.prepare:
            self._prepare_table(cur, task)
        with self._lock:
            allowed = max(0, self.max_rejects - task.rejected_so_far)
        isolator = RejectIsolator(cur, task.copy_sql(freeze=False), path, rejects=rejects,
                                  max_rejects=allowed, label=task.key)
        try:
            rows, _ = isolator.run()
        except RowsRejected as err:
            cur.connection.rollback()
            raise RowsRejected("%s%s" % (err, self._first_rejected_key(task, rejects))) from None
        return rows, pycols, os.path.getsize(path)

    def _first_rejected_key(self, task, rejects):
        """' (row key: id=7)' from the first refused line, so the user can find the MySQL row."""
        rejects.close()
        try:
            with open(rejects.copy_path, "rb") as f:
                line = f.readline()
        except OSError:
            return ""
        fields = parse_row(line)
        names = [c.source_name for c in task.live.columns]
        key = [k for k in task.live.table.primary_key if k in names] or names[:1]
        # PostgreSQL says only "invalid byte sequence ... 0x00": name the column and the choices
        nul = [n for n, v in zip(names, fields) if v is not None and "\x00" in v]
        hint = "; column %s holds a NUL byte (%s)" % (", ".join(nul), NUL_CHOICES) if nul else ""
        return " (row key: %s%s)" % (", ".join("%s=%s" % (k, fields[names.index(k)]) for k in key), hint)

    def _check_warnings(self, conn, task, reader, part):
        """MySQL's warnings of the part's SELECTs: a value past max_allowed_packet (1301, a NULL that
        the marker lines already name by key) fails the part; any other (a character with no utf8mb4
        form sent as '?', see README Known limits) is reported, never dropped."""
        found = [w for w in reader.query_rows("SHOW WARNINGS") if len(w) >= 3 and w[0] != "Note"]
        if reader.raw is not None:
            found += [list(w) for w in reader.raw.warnings() if len(w) >= 3 and w[0] != "Note"]
        if not found:
            return
        label = " " + part.label if part.label else ""
        lost = [w for w in found if w[1] in LOSS_WARNINGS or w[0] == "Error"]
        if lost:
            conn.rollback()
            raise LargeValueError("live copy %s%s: MySQL warned while reading the rows: %s (%s)%s"
                                  % (task.key, label, lost[0][2], lost[0][1],
                                     " and %d more warning(s)" % (len(found) - 1) if len(found) > 1 else ""))
        note = ("%s%s: MySQL warned while reading the rows: %s (%s)%s; migration_verify names the values"
                % (task.key, label, found[0][2], found[0][1],
                   " and %d more warning(s)" % (len(found) - 1) if len(found) > 1 else ""))
        with self._lock:
            self.warnings.append(note)
            task.entry["warnings"].append(note)

    def _verify_count(self, conn, task, reader, rows, refused, *, part=None):
        t = task.live.table
        where = part.where if part else None
        sql = "SELECT COUNT(*) FROM %s.%s" % (mysql_ident(t.schema), mysql_ident(t.name))
        if where:
            sql += " WHERE " + where
        if not where and task.snapshot_count is not None:
            count = task.snapshot_count   # counted in this snapshot when the chunks were planned
        else:
            count = int(reader.query_value(sql))
        if rows + refused != count:
            conn.rollback()
            where_label = " " + part.label if part and part.label else ""
            raise LoadError("live copy %s%s: COPY loaded %d rows (+%d refused) but MySQL has %d in the"
                            " snapshot" % (task.key, where_label, rows, refused, count))

    def _policy_figures(self, task, reader, pycols, where=None):
        """{(column, policy, value): count} of values a non-error policy changed in this part."""
        t = task.live.table
        sql, labels = policy_count_select(t.schema, t.name, task.live.columns, self.policies, where=where)
        figures = {}
        if sql:
            counts = reader.query_rows(sql)[0]
            for label, n in zip(labels, counts):
                figures[label] = int(n)
        for col in pycols:
            figures[(col.name, "invalid", "null")] = col.nulled
            figures[(col.name, "invalid", "reject")] = col.rejected
        return figures

    def _policy_notes(self, task, figures):
        notes = []
        for (column, policy, value), n in figures.items():
            if not n:
                continue
            if policy != "invalid":
                notes.append("%s: %s value(s) of column %r changed by %s=%s" % (task.key, n, column, policy,
                                                                               value))
            elif value == "null":
                notes.append("%s: %d invalid value(s) of column %r set to NULL (invalid: null)"
                             % (task.key, n, column))
            else:
                notes.append("%s: %d row(s) with an invalid %r diverted to rejects/ (invalid: reject)"
                             % (task.key, n, column))
        if notes:
            with self._lock:
                self.warnings.extend(notes)
                task.entry["warnings"].extend(notes)

    # -- big tables: primary-key range chunks (see live_chunks and the module doc)
    def _prepare_table(self, cur, task):
        if task.restart and table_exists(cur, task.schema, task.name):
            cur.execute("TRUNCATE %s" % task.qualified)   # our own partial copy of another snapshot
        else:
            super()._prepare_table(cur, task)
        forget_chunks(cur, self.manifest_id, task.schema, task.name)

    def _source_position(self, task):
        return self.snapshot_text

    def _same_snapshot(self, done):
        """Chunks may be added to a table only in the snapshot its other chunks were read in: the
        same binlog position (nothing committed since) of a locked or read-only snapshot."""
        if self.snapshot_text is None or self.live_opts.get("snapshot", "lock") == "none":
            return False
        return all(d.get("snapshot") == self.snapshot_text for d in done.values())

    def _chunk_key(self, task):
        return chunk_key(task.live.table) if self.chunk_rows > 0 else None

    def _load_live_table(self, task):
        if task.action == "resume":
            if self._same_snapshot(self.chunk_state[task.key]):
                return self._resume_chunks(task)
            task.restart = True
            note = ("%s: copied again whole: the chunks an earlier run loaded were read in another snapshot"
                    " (binlog position moved), and a table may only hold rows of one snapshot" % task.key)
            self.say(note)
            with self._lock:
                self.warnings.append(note)
        key = self._chunk_key(task)
        if key is None:
            return self._load_table(task)
        reader = self._take_reader()
        try:
            plan = self._plan_chunks(task, reader, key)
            if len(plan) == 1:
                self._give_back(reader)
                reader = None
                return self._load_table(task)
            task.chunks = ChunkRun(plan, set(range(1, len(plan))))
            # chunk 0 creates (or truncates) the table: the only transaction where FREEZE is allowed
            self._copy_chunk(task, 0, reader, part=Part(0, plan.where(0), freeze=True, prepare=True,
                                                        label="chunk 1/%d" % len(plan)))
        finally:
            if reader is not None:
                self._give_back(reader)
        for i in range(1, len(plan)):
            self._submit(self._copy_chunk, task, i)
        return None

    def _plan_chunks(self, task, reader, key):
        """Exact COUNT(*), MIN and MAX of the key in the snapshot (information_schema's row estimate
        can be 0 for a freshly filled table). The count also serves the whole-table row check."""
        t = task.live.table
        k = mysql_ident(key)
        count, low, high = reader.query_rows("SELECT COUNT(*), MIN(%s), MAX(%s) FROM %s.%s" % (
            k, k, mysql_ident(t.schema), mysql_ident(t.name)))[0]
        task.snapshot_count = int(count)
        n = chunk_count(int(count), self.chunk_rows)
        return ChunkPlan.from_min_max(key, None if low == "NULL" else low,
                                      None if high == "NULL" else high, n)

    def _resume_chunks(self, task):
        done = self.chunk_state[task.key]
        first = next(iter(done.values()))
        plan = ChunkPlan.from_json(first["key_column"], first["bounds"])
        missing = [i for i in range(len(plan)) if i not in done]
        task.chunks = ChunkRun(plan, set(missing))
        task.chunks.rows = sum(d["rows"] for d in done.values())
        task.chunks.rejected = sum(d["rejected"] for d in done.values())
        self.say("%s: resuming, %d of %d chunk(s) already loaded" % (task.key, len(done), len(plan)))
        if not missing:
            return self._finish_chunked(task)
        for i in missing:
            self._submit(self._copy_chunk, task, i)
        return None

    def _copy_chunk(self, task, i, reader=None, part=None):
        plan = task.chunks.plan
        part = part or Part(i, plan.where(i), freeze=False, prepare=False,
                            label="chunk %d/%d" % (i + 1, len(plan)))
        own = reader is None
        reader = reader or self._take_reader()
        try:
            with self.pool.connection() as conn:
                started = time.monotonic()
                rows, rejects, figures = self._copy_part(conn, task, reader, part)
                low, high = plan.range(i)
                with conn.cursor() as cur:
                    record_chunk(cur, self.manifest_id, task.schema, task.name, i, key_column=plan.key_column,
                                 low=low, high=high, bounds=plan.to_json(), rows=rows, rejected=rejects.count,
                                 seconds=time.monotonic() - started, snapshot=self.snapshot_text)
                conn.commit()  # the chunk's rows and its resume record together
        finally:
            if own:
                self._give_back(reader)
        self._mark_changed()
        if rejects.count:
            with self._lock:
                self.warnings.append("%s %s: %d row(s) refused by PostgreSQL, kept in %s (reasons in %s)"
                                     % (task.key, part.label, rejects.count, rejects.copy_path,
                                        rejects.log_path))
        if task.chunks.finished(i, rows, rejects.count, figures, self._lock):
            self._finish_chunked(task)

    def _finish_chunked(self, task):
        run = task.chunks
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                record_table(cur, self.manifest_id, task.schema, task.name, rows=run.rows,
                             rejected=run.rejected, nbytes=task.nbytes, seconds=run.seconds(),
                             snapshot=self.snapshot_text)
            conn.commit()
            self._write_state_file(conn)
        self._mark_changed()
        self._policy_notes(task, run.figures)
        seconds = run.seconds()
        figures = {"action": task.action, "rows": run.rows, "bytes": task.copied_bytes,
                   "rejected": run.rejected, "seconds": round(seconds, 3), "chunks": len(run.plan),
                   "mb_per_s": round(task.copied_bytes / 1e6 / seconds, 2) if seconds > 0 else 0.0}
        with self._lock:
            self.results[task.key] = figures
        self.say("%s: %d rows in %d chunks, %.2f s" % (task.key, run.rows, len(run.plan), seconds))

    # -- the scheduler: tables and chunks on `jobs` workers (a chunk is queued when its table exists)
    def _submit(self, fn, *args):
        with self._lock:
            if self._first_error is None:
                self._futures.append(self._executor.submit(fn, *args))

    def _run_units(self, todo):
        for task in self.tasks:
            if task.action == "skip":
                self.results[task.key] = self._skipped_figures(task)
        self.say("copying %d table(s) with %d job(s); %d already loaded"
                 % (len(todo), self.jobs, len(self.tasks) - len(todo)))
        self._futures, self._first_error = [], None
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) as executor:
            self._executor = executor
            for task in todo:
                self._submit(self._load_live_table, task)
            self._wait_all()
        if self._first_error is not None:
            if isinstance(self._first_error, MigrationError):
                raise self._first_error
            raise LoadError("live copy: %s" % self._first_error) from self._first_error

    def _wait_all(self):
        while True:
            with self._lock:
                pending = list(self._futures)
            _, not_done = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_EXCEPTION)
            for future in pending:
                if future.done() and not future.cancelled() and future.exception() is not None:
                    with self._lock:
                        if self._first_error is None:
                            self._first_error = future.exception()
                            self._kill_queries(self._readers, end=False)   # the other parts stop now
                            for other in self._futures:
                                other.cancel()
            with self._lock:
                if not not_done and len(self._futures) == len(pending):
                    return


class Part:
    """What one COPY reads: the whole table (index None) or chunk `index` of its key ranges."""

    def __init__(self, index, where, *, freeze, prepare, label=""):
        self.index, self.where, self.freeze, self.prepare, self.label = index, where, freeze, prepare, label


WHOLE = Part(None, None, freeze=True, prepare=True)


class ChunkRun:
    """A chunked table's progress: chunks still to load, totals, policy figures."""

    def __init__(self, plan, todo):
        self.plan, self.todo = plan, set(todo)
        self.rows = self.rejected = 0
        self.figures = {}
        self.started = time.monotonic()

    def finished(self, i, rows, rejected, figures, lock):
        """Count chunk i in; True for the caller that finished the last one."""
        with lock:
            self.todo.discard(i)
            self.rows += rows
            self.rejected += rejected
            for k, n in figures.items():
                self.figures[k] = self.figures.get(k, 0) + n
            return not self.todo

    def seconds(self):
        return time.monotonic() - self.started


# ---------------------------------------------------------------- entry point

def _mysql_params(params):
    return {k: params.get(k) for k in ("mysql_host", "mysql_port", "mysql_user", "mysql_password",
                                       "mysql_defaults_file", "mysql_ssl_ca")}


def _source_info(params, opts, version, flavor):
    s = mysql_settings(params)
    return {"kind": "live", "path": describe_mysql(params), "host": s["host"], "port": s["port"],
            "databases": list(opts["databases"]), "server_version": version, "flavor": flavor,
            "binlog": None}


def live_copy(params, *, databases, dest, schema_map=None, schema_mode="create", jobs=None,
              if_exists="fail", max_rejects=0, zero_date="error", invalid_utf8="error", nul_bytes="error",
              embeddings=None, snapshot="lock", chunk_rows=None, identifier_case="preserve",
              type_rules=None, strict_types=False, include_tables=None, exclude_tables=None,
              post_data=True, maintenance_work_mem="512MB", views_on_error="fail", mysql_client=None,
              ignore_columns=None,
              large_value_bytes=None, check_mode=False, progress=None, hooks=None):
    """Copy MySQL databases into PostgreSQL; returns pg_load's result dict plus snapshot/binlog."""
    opts = {"databases": list(databases or []), "schema_map": schema_map or {}, "schema_mode": schema_mode,
            "zero_date": zero_date, "invalid_utf8": invalid_utf8, "nul_bytes": nul_bytes,
            "embeddings": embeddings or [], "snapshot": snapshot, "chunk_rows": chunk_rows,
            "identifier_case": identifier_case, "type_rules": type_rules or [], "strict_types": strict_types,
            "include_tables": include_tables or [], "exclude_tables": exclude_tables or [],
            "mysql_client": mysql_client, "hooks": hooks or {}, "mysql_params": _mysql_params(params),
            "ignore_columns": ignore_columns or [], "pg_params": params,
            "large_value_bytes": large_value_bytes}
    check_options(opts)
    dest = os.path.abspath(dest)
    control = mysql_connect(params)
    try:
        with control.cursor() as cur:
            opts["flavor"], version = server_flavor(cur)
            cur.execute("SELECT @@max_allowed_packet")   # bounds what a MySQL string function returns
            opts["max_allowed_packet"] = int(cur.fetchone()[0])
            planned = build_plan(cur, opts, opts["flavor"])
            views, routines = read_schema_objects(cur, opts)
    finally:
        control.close()
    source = _source_info(params, opts, version, opts["flavor"])
    manifest = mf.new_manifest(source, {k: opts[k] for k in ("identifier_case", "zero_date", "invalid_utf8",
                                                             "nul_bytes", "schema_mode", "snapshot",
                                                             "include_tables", "exclude_tables")}
                               | {"schema_map": opts["schema_map"]})
    manifest["schemas"] = sorted({t.entry["schema"] for t in planned} | {v["schema"] for v in views})
    manifest["tables"] = [t.entry for t in planned]
    manifest["views"], manifest["routines"] = views, routines
    align_referencing_types(manifest)
    manifest["warnings"] = ([w for t in planned for w in t.entry["warnings"]]
                            + schema_object_warnings(views, routines))
    manifest_id = plan_identity(source, planned, opts)
    manifest["live_plan_id"] = manifest_id
    previous = _previous_manifest(dest)
    if not check_mode:
        mf.make_private_dirs(dest)
        write_sql_files(dest, manifest)
        mf.write_manifest(dest, manifest, complete=False)
    elif not os.path.isdir(dest):
        dest = os.path.abspath(dest)  # check mode writes nothing; pg_load reads nothing from dest
    loader = LiveLoad(params, dest, opts, planned, manifest=manifest, manifest_id=manifest_id,
                      previous=previous, jobs=jobs, if_exists=if_exists, max_rejects=max_rejects,
                      post_data=post_data, views_on_error=views_on_error,
                      maintenance_work_mem=maintenance_work_mem, check_mode=check_mode, progress=progress)
    started = time.monotonic()
    result = loader.run()
    if not check_mode:
        _finish_manifest(dest, manifest, loader, result, previous)
    result.update(schema_object_summary(manifest))
    result.update({"snapshot": loader.snapshot_info, "binlog": manifest["source"].get("binlog"),
                   "manifest": os.path.join(dest, mf.MANIFEST_NAME), "source": source["path"],
                   "copy_seconds": round(time.monotonic() - started, 3)})
    return result


def _previous_manifest(dest):
    """The manifest an earlier run left in dest (complete or not), or None."""
    try:
        return mf.read_manifest(dest, require_complete=False)
    except MigrationError:
        return None


def snapshot_text(binlog):
    """The binlog position of a snapshot as recorded in pgshift_state (compared as text)."""
    if binlog is None:
        return None
    return json.dumps({k: binlog.get(k) for k in ("file", "position", "gtid")}, sort_keys=True)


def _position_order(binlog):
    """Sort key of a binlog position: file sequence number, then offset."""
    stem, _, number = binlog["file"].rpartition(".")
    return (stem, int(number) if number.isdigit() else number, int(binlog["position"]))


def table_positions(loader, manifest, previous):
    """{table key: binlog position its rows reflect}: this run's snapshot for the tables it copied,
    the position recorded with the table (pgshift_state) for the tables an earlier run copied."""
    same_plan = (previous or {}).get("live_plan_id") == manifest["live_plan_id"]
    legacy = ((previous or {}).get("source") or {}).get("binlog") if same_plan else None
    earlier = {"%s.%s" % (t["schema"], t["name"]): t.get("binlog", legacy)
               for t in (previous or {}).get("tables") or [] if same_plan}
    positions = {}
    for task in loader.tasks:
        if task.action != "skip":
            positions[task.key] = loader.snapshot_info.get("binlog")
            continue
        recorded = (loader.state_tables.get(task.key) or {}).get("snapshot")
        positions[task.key] = json.loads(recorded) if recorded else earlier.get(task.key)
    return positions


def _finish_manifest(dest, manifest, loader, result, previous):
    """Rows, bytes and binlog positions into manifest.json, marked complete. Each table states the
    position its rows reflect; source.binlog is the earliest of them: a catch-up replays from there
    and applies to a table only the events after its own position (docs/contracts.md)."""
    by_key = {t.key: t for t in loader.tasks}
    positions = table_positions(loader, manifest, previous)
    for entry in manifest["tables"]:
        key = "%s.%s" % (entry["schema"], entry["name"])
        figures = result["tables"].get(key, {})
        entry["rows"] = (figures.get("rows") or 0) + (figures.get("rejected") or 0)
        entry["rejected"] = figures.get("rejected") or 0
        entry["bytes"] = by_key[key].copied_bytes if key in by_key else 0
        entry["binlog"] = positions.get(key)
    known = [p for p in positions.values() if p]
    if known and len(known) == len(positions):
        manifest["source"]["binlog"] = min(known, key=_position_order)
    else:
        manifest["source"]["binlog"] = None
        if known:
            note = ("no binlog position is valid for every table: %s were copied without a recorded"
                    " position; a catch-up must start with those tables copied again"
                    % ", ".join(sorted(k for k, p in positions.items() if not p)))
            result["warnings"].append(note)
    skipped = [k for k, f in result["tables"].items() if f.get("action") == "skip"]
    if skipped:
        note = ("%d table(s) were copied by an earlier live_copy run and kept as of its snapshot (position"
                " in the manifest's tables[].binlog; later writes are for a catch-up from there, or set"
                " if_exists: truncate to copy them again): %s" % (len(skipped), ", ".join(sorted(skipped))))
        result["warnings"].append(note)
        manifest["warnings"].append(note)
    manifest["warnings"] = sorted(set(manifest["warnings"] + result["warnings"]))
    mf.write_manifest(dest, manifest, complete=True)


__all__ = ["live_copy", "LiveCopyError", "ReaderFailed", "describe_pg_error"]
