"""pg_load's engine: a migration dir into PostgreSQL at the speed of COPY, resumable, no silent rejects.

    from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load
    result = load(params, src, jobs=4, if_exists="fail", max_rejects=0, tables=None, post_data=True,
                  maintenance_work_mem="512MB", check_mode=False, progress=None)

Order: pre-data (schemas, types; not tables) -> per table, in parallel, largest first, ONE transaction:
CREATE (or TRUNCATE) + COPY ... FREEZE + the resume record in pgshift_state.loaded_tables -> post-data
(keys and indexes in parallel; FKs NOT VALID then VALIDATE; then triggers, comments, checks, views)
-> ANALYZE of the tables loaded.

Why the resume record lives in the target database: it commits in the same transaction as the data,
so "recorded as loaded" and "rows are there" can never disagree, whatever kills the run.
<dir>/load-state.json mirrors it for humans.
"""
import concurrent.futures
import contextlib
import hashlib
import json
import os
import queue
import re
import threading
import time

from .. import manifest as mf
from ..connections import describe_pg, pg_connect
from ..errors import LoadError, MigrationError
from ..model.foreign_keys import KIND as ALIGN_KIND
from ..quoting import qualified, quote_ident
from .copy import (
    RejectIsolator,
    RejectWriter,
    RowsRejected,
    copy_file,
    describe_pg_error,
    error_line,
    is_row_error,
    lost_connection,
)
from .sql import (
    constraint_state,
    ensure_state_tables,
    forget_table_steps,
    is_create_table,
    normalize,
    object_exists,
    read_state,
    record_step,
    record_table,
    split_sql,
    table_exists,
)

IF_EXISTS = ("fail", "truncate", "drop")
VIEWS_ON_ERROR = ("fail", "warn")

# Ansible argument spec of the load options shared by pg_load and dump_load (documented once in the
# doc fragment pgshift.mysql.load).
LOAD_ARGUMENT_SPEC = {
    "if_exists": {"type": "str", "default": "fail", "choices": list(IF_EXISTS)},
    "max_rejects": {"type": "int", "default": 0},
    "post_data": {"type": "bool", "default": True},
    "maintenance_work_mem": {"type": "str", "default": "512MB"},
    "views_on_error": {"type": "str", "default": "fail", "choices": list(VIEWS_ON_ERROR)},
}
STATE_FILE = "load-state.json"
PARALLEL_KINDS = ("primary_key", "unique", "index")
PROGRESS_SECONDS = 2.0


# ---------------------------------------------------------------- the plan (no database needed)

class TableTask:
    """One table of the manifest to load: where its data is and how to create it."""

    def __init__(self, src, entry):
        self.entry = entry
        self.schema, self.name = entry["schema"], entry["name"]
        self.key = "%s.%s" % (self.schema, self.name)
        self.qualified = qualified(self.schema, self.name)
        self.data_file = entry.get("data_file") or os.path.relpath(
            mf.data_file(src, self.schema, self.name), src)
        self.path = os.path.join(src, self.data_file)
        self.nbytes = 0
        self.action = None  # create | truncate | drop | skip

    @property
    def create_sql(self):
        return (self.entry.get("create_sql") or "").strip()

    opener = None    # callable -> file object to COPY from instead of the finished file at path

    def wait_whole(self):
        """Return once the data file is complete, with entry and nbytes final (they are here; a
        pipelined load may stream the file)."""

    def copy_sql(self, freeze):
        cols = [c["name"] for c in self.entry.get("columns") or []]
        col_list = " (%s)" % ", ".join(quote_ident(c) for c in cols) if cols else ""
        return "COPY %s%s FROM STDIN WITH (FORMAT text%s)" % (
            self.qualified, col_list, ", FREEZE true" if freeze else "")


def largest_tables_first(cur, todo):
    """(step, need) pairs of index builds or FK validations ordered by their table's size, biggest
    first (stable: a table's own steps keep their order). The longest ones then start at once and
    the small ones fill in beside them, instead of the biggest starting last and running alone."""
    sizes = {}
    for step, _need in todo:
        if step.table and (step.schema, step.table) not in sizes:
            cur.execute("SELECT pg_relation_size(to_regclass(%s))", (qualified(step.schema, step.table),))
            sizes[(step.schema, step.table)] = cur.fetchone()[0] or 0
    return sorted(todo, key=lambda item: -sizes.get((item[0].schema, item[0].table), 0))


class Step:
    """One pre-data or post-data statement, with the key it is recorded under."""

    def __init__(self, phase, kind, *, schema, table, name, sql):
        self.phase, self.kind, self.schema, self.table, self.name = phase, kind, schema, table, name
        self.sql = sql
        digest = hashlib.sha1(normalize(sql).encode("utf-8")).hexdigest()[:12]
        self.key = "%s:%s.%s:%s" % (kind, schema, table, name or digest) if phase == "post" else digest

    def describe(self):
        where = "%s.%s" % (self.schema, self.table) if self.table else self.schema
        return "%s %s on %s" % (self.kind, self.name or "(unnamed)", where)


def manifest_identity(src):
    """A stable id of the manifest's content: a new transform means a new load. A pipelined run
    (pgload_pipeline) loads before manifest.json is final, so it records the id it loaded under as
    `load_identity` in the manifest; a later pg_load of that dir then resumes the same records."""
    with open(os.path.join(src, mf.MANIFEST_NAME), "rb") as f:
        raw = f.read()
    try:
        recorded = json.loads(raw).get("load_identity")
    except (ValueError, AttributeError):
        recorded = None
    return recorded or hashlib.sha256(raw).hexdigest()[:16]


def select_tables(manifest, wanted):
    """The manifest's table entries, restricted to `wanted` ("schema.table" or "table") if given."""
    entries = manifest.get("tables") or []
    if not wanted:
        return list(entries)
    by_key = {"%s.%s" % (t["schema"], t["name"]): t for t in entries}
    chosen = []
    for name in wanted:
        matches = [t for k, t in by_key.items() if name in (k, t["name"])]
        if not matches:
            raise LoadError("load: table %r is not in the manifest (known: %s)"
                            % (name, ", ".join(sorted(by_key)) or "none"))
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def plan_tables(src, entries):
    """TableTasks largest first; every data file present and of the size the manifest says."""
    tasks = []
    for entry in entries:
        task = TableTask(src, entry)
        try:
            task.nbytes = os.path.getsize(task.path)
        except OSError:
            raise LoadError("load %s: data file %r is missing from the migration dir"
                            % (task.key, task.path)) from None
        expected = entry.get("bytes")
        if expected is not None and expected != task.nbytes:
            raise LoadError("load %s: data file %r has %d bytes but the manifest says %d (damaged or"
                            " still being written)" % (task.key, task.path, task.nbytes, expected))
        tasks.append(task)
    tasks.sort(key=lambda t: t.nbytes, reverse=True)
    return tasks


def pre_data_steps(src):
    """pre-data.sql minus its CREATE TABLE statements (tables are created in their load transaction)."""
    path = os.path.join(src, mf.PRE_DATA)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        statements = split_sql(f.read())
    return [Step("pre", "pre_data", schema=None, table=None, name=None, sql=s)
            for s in statements if not is_create_table(s)]


def post_data_steps(manifest, entries, all_tables):
    """Post-data steps of the chosen tables, in manifest order; views only when every table is loaded."""
    steps = []
    for entry in entries:
        for item in entry.get("post_data") or []:
            steps.append(Step("post", item["kind"], schema=entry["schema"], table=entry["name"],
                              name=item.get("name"), sql=item["sql"]))
    if all_tables:
        for view in manifest.get("views") or []:
            if view.get("translated", True):
                steps.append(Step("post", "view", schema=view["schema"], table=None, name=view["name"],
                                  sql=view["sql"]))
    return steps


def untranslated_views(manifest):
    """Views the transform could not translate are not created: said, never silently."""
    return ["view %s.%s not created: the transform could not translate its SQL (manifest views[].sql);"
            " create it by hand" % (v["schema"], v["name"])
            for v in manifest.get("views") or [] if not v.get("translated", True)]


_FK_ADD = re.compile(r"^\s*ALTER\s+TABLE\b.*\bFOREIGN\s+KEY\b", re.I | re.S)


def not_valid_sql(sql):
    """ALTER TABLE ... ADD ... FOREIGN KEY ... NOT VALID (no scan now; VALIDATE later, lighter lock)."""
    body = normalize(sql)
    if not _FK_ADD.match(body) or re.search(r"\bNOT\s+VALID\s*$", body, re.I):
        return body
    return body + " NOT VALID"


# ---------------------------------------------------------------- connections

class ConnectionPool:
    """Up to `size` connections, each with the load's session settings (nothing set server-wide)."""

    def __init__(self, params, size, maintenance_work_mem):
        self.params, self.size, self.mwm = params, size, maintenance_work_mem
        self._idle = queue.LifoQueue()
        self._all = []
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()

    def _open(self):
        try:
            import psycopg2  # noqa: F401 - a clear message instead of a traceback
        except ImportError:
            raise LoadError("load: the Python library psycopg2 is required on the host that runs the load"
                            " (pip install psycopg2-binary)") from None
        conn = pg_connect(self.params)
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit TO off")  # the load is redone on a crash anyway
            cur.execute("SET client_encoding TO 'UTF8'")
            cur.execute("SET statement_timeout TO 0")
            cur.execute("SET lock_timeout TO 0")
            cur.execute("SET idle_in_transaction_session_timeout TO 0")
            if self.mwm:
                self._set_mwm(cur)
        conn.commit()
        return conn

    def _set_mwm(self, cur):
        import psycopg2

        try:
            cur.execute("SELECT set_config('maintenance_work_mem', %s, false)", (self.mwm,))
        except psycopg2.Error as err:
            raise LoadError("load: maintenance_work_mem %r refused by PostgreSQL: %s"
                            % (self.mwm, describe_pg_error(err))) from None

    @contextlib.contextmanager
    def connection(self):
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
            with self._lock:
                self._all.append(conn)
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        self._idle.put(conn)

    def close(self):
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(Exception):
                    conn.close()
            self._all = []


# ---------------------------------------------------------------- the load

class PgLoad:
    def __init__(self, params, src, *, jobs=None, if_exists="fail", max_rejects=0, tables=None,
                 post_data=True, maintenance_work_mem="512MB", views_on_error="fail", check_mode=False,
                 progress=None):
        if if_exists not in IF_EXISTS:
            raise LoadError("load: if_exists must be one of %s, not %r" % (", ".join(IF_EXISTS), if_exists))
        if views_on_error not in VIEWS_ON_ERROR:
            raise LoadError("load: views_on_error must be one of %s, not %r"
                            % (", ".join(VIEWS_ON_ERROR), views_on_error))
        if max_rejects is None or max_rejects < 0:
            raise LoadError("load: max_rejects must be >= 0, not %r" % (max_rejects,))
        self.params, self.src = params, os.path.abspath(src)
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self.if_exists, self.max_rejects = if_exists, int(max_rejects)
        self.wanted, self.run_post_data, self.views_on_error = tables, post_data, views_on_error
        self.mwm, self.check_mode = maintenance_work_mem, check_mode
        self._progress = progress
        self.target = describe_pg(params)
        self.warnings, self.queries = [], []
        self.results = {}
        self.changed = False
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._t0 = time.monotonic()

    # -- helpers
    def say(self, message):
        if self._progress:
            self._progress("[%7.1fs] %s" % (time.monotonic() - self._t0, message))

    def _mark_changed(self):
        with self._lock:
            self.changed = True

    # -- entry point
    def run(self):
        self._plan()
        self.pool = ConnectionPool(self.params, self.jobs, self.mwm)
        try:
            with self.pool.connection() as conn:
                self._read_target(conn)
            if self.check_mode:
                return self._report_plan()
            self._execute()
            return self._report()
        finally:
            self.pool.close()

    def _plan(self):
        """The tasks and the pre/post-data steps of this run (a reader's load plans its own)."""
        self.manifest = mf.read_manifest(self.src)  # refuses a manifest not marked complete
        self.manifest_id = manifest_identity(self.src)
        entries = select_tables(self.manifest, self.wanted)
        self.tasks = plan_tables(self.src, entries)
        self.pre_steps = pre_data_steps(self.src)
        self._plan_post_data(entries, every_table=not self.wanted)

    def _plan_post_data(self, entries, every_table):
        """The post-data steps of these tables; views (and the note of untranslated ones) only when
        every table is loaded, since a view reads tables."""
        self.post_steps = post_data_steps(self.manifest, entries, every_table) if self.run_post_data else []
        if self.run_post_data and every_table:
            self.warnings.extend(untranslated_views(self.manifest))

    def _read_target(self, conn):
        with conn.cursor() as cur:
            self.state_tables, self.state_steps = read_state(cur, self.manifest_id)
            for task in self.tasks:
                task.action = self._decide(cur, task)
        conn.commit()
        existing = [t.key for t in self.tasks if t.action == "fail"]
        if existing:
            raise LoadError("load into %s: table(s) %s already exist and were not loaded from this migration"
                            " dir; set if_exists to truncate or drop" % (self.target, ", ".join(existing)))
        missing = [t.key for t in self.tasks if t.action == "create" and not t.create_sql]
        if missing:
            raise LoadError("load into %s: table(s) %s do not exist and the manifest has no create_sql for"
                            " them (schema_mode existing): create them first"
                            % (self.target, ", ".join(missing)))

    def _decide(self, cur, task):
        exists = table_exists(cur, task.schema, task.name)
        if exists and task.key in self.state_tables:
            return "skip"
        if not exists:
            return "create"
        return self.if_exists

    # -- check mode
    def _report_plan(self):
        self.queries = [s.sql for s in self.pre_steps if ("pre", s.key) not in self.state_steps]
        for task in self.tasks:
            prep = {"create": task.create_sql, "truncate": "TRUNCATE %s" % task.qualified,
                    "drop": "DROP TABLE %s CASCADE; %s" % (task.qualified, task.create_sql)}.get(task.action)
            if prep:
                self.queries.append(prep)
                self.queries.append(task.copy_sql(freeze=True))
            self.results[task.key] = self._skipped_figures(task) if task.action == "skip" else {
                "action": task.action, "rows": task.entry.get("rows"), "bytes": task.nbytes,
                "rejected": 0, "seconds": 0.0, "mb_per_s": 0.0}
        with self.pool.connection() as conn, conn.cursor() as cur:
            pending_post = [s for s in self.post_steps if self._post_needed(cur, s) is not None]
        self.queries.extend(s.sql for s in pending_post)
        self.changed = any(t.action != "skip" for t in self.tasks) or bool(self.queries)
        return self._result(post_pending=len(pending_post))

    def _skipped_figures(self, task):
        done = self.state_tables.get(task.key, {})
        return {"action": "skip", "rows": done.get("rows"), "bytes": task.nbytes,
                "rejected": done.get("rejected", 0), "seconds": 0.0, "mb_per_s": 0.0}

    # -- real run
    def _execute(self):
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                ensure_state_tables(cur)
            conn.commit()
            self._run_pre_data(conn)
            self._drop_tables(conn)
        self.post_done = 0
        try:
            self._load_tables()
            self._post_data_and_analyze()
        except BaseException:
            with contextlib.suppress(Exception):   # the human copy (the database holds the authority):
                self._write_state_file()          # never in place of the error that stopped the load
            raise
        self._write_state_file()

    def _post_data_and_analyze(self):
        """Keys, indexes, FKs and the rest of post-data (when asked), then ANALYZE of what was loaded."""
        if self.run_post_data:
            self._run_post_data()
        loaded = [t for t in self.tasks if t.action != "skip"]
        if loaded:
            self._analyze(loaded)

    def _run_pre_data(self, conn):
        import psycopg2

        with conn.cursor() as cur:
            for schema in self.manifest.get("schemas") or []:
                cur.execute("CREATE SCHEMA IF NOT EXISTS %s" % quote_ident(schema))
            conn.commit()
            for step in self.pre_steps:
                if ("pre", step.key) in self.state_steps:
                    continue
                cur.execute("SAVEPOINT pgshift_pre")
                try:
                    cur.execute(step.sql)
                except psycopg2.Error as err:
                    # schema/type already there (an ORM, or a pre-data run killed before its record)
                    if err.pgcode not in ("42P06", "42710", "42P07"):
                        conn.rollback()
                        raise LoadError("load: pre-data statement failed: %s\nSQL: %s"
                                        % (describe_pg_error(err), step.sql[:500])) from None
                    cur.execute("ROLLBACK TO SAVEPOINT pgshift_pre")
                    self.warnings.append("pre-data: kept the existing object: %s" % describe_pg_error(err))
                record_step(cur, self.manifest_id, "pre", step.key, kind=step.kind)
                conn.commit()
                self._mark_changed()

    def _drop_tables(self, conn):
        """if_exists=drop: drop every table about to be reloaded first, in one transaction (CASCADE:
        FKs and views on them go too; post-data recreates what the manifest has)."""
        doomed = [t for t in self.tasks if t.action == "drop"]
        if not doomed:
            return
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS %s CASCADE" % ", ".join(t.qualified for t in doomed))
        conn.commit()
        self._mark_changed()
        self.say("dropped %d existing table(s)" % len(doomed))

    # -- tables
    def _load_tables(self):
        todo = [t for t in self.tasks if t.action != "skip"]
        for task in self.tasks:
            if task.action == "skip":
                self.results[task.key] = self._skipped_figures(task)
        self.say("loading %d table(s) (%.1f MB) with %d job(s); %d already loaded"
                 % (len(todo), sum(t.nbytes for t in todo) / 1e6, self.jobs, len(self.tasks) - len(todo)))
        first_error = None
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = {pool.submit(self._load_table, task): task for task in todo}
            for future in concurrent.futures.as_completed(futures):
                try:
                    future.result()
                except Exception as err:  # noqa: BLE001 - other tables finish, first error reported
                    if first_error is None:
                        first_error = err
                        for other in futures:
                            other.cancel()
        if first_error is not None:
            if isinstance(first_error, MigrationError):
                raise first_error
            raise LoadError("load: %s" % first_error) from first_error

    def _load_table(self, task):
        with self.pool.connection() as conn:
            started = time.monotonic()
            rows, rejects = self._load_in_transaction(conn, task)
            seconds = time.monotonic() - started
            with conn.cursor() as cur:
                self._check_rows(conn, task, rows, rejects.count)
                record_table(cur, self.manifest_id, task.schema, task.name, rows=rows,
                             rejected=rejects.count, nbytes=task.nbytes, seconds=seconds,
                             snapshot=self._source_position(task))
            conn.commit()  # data, table and resume record become visible together
            self._write_state_file(conn)
        self._mark_changed()
        figures = {"action": task.action, "rows": rows, "bytes": task.nbytes, "rejected": rejects.count,
                   "seconds": round(seconds, 3),
                   "mb_per_s": round(task.nbytes / 1e6 / seconds, 2) if seconds > 0 else 0.0}
        if rejects.count:
            figures["reject_file"] = rejects.copy_path
            self.warnings.append("%s: %d row(s) refused by PostgreSQL, kept in %s (reasons in %s)"
                                 % (task.key, rejects.count, rejects.copy_path, rejects.log_path))
        with self._lock:
            self.results[task.key] = figures
            done = len(self.results)
        self.say("%s: %d rows in %.2f s (%.1f MB/s)%s [%d/%d]"
                 % (task.key, rows, seconds, figures["mb_per_s"],
                    ", %d refused" % rejects.count if rejects.count else "", done, len(self.tasks)))

    def _source_position(self, task):
        """The source position a table's rows reflect, recorded with it (live_copy: its snapshot)."""
        return None

    def _prepare_table(self, cur, task):
        """CREATE or TRUNCATE in the load's transaction (what makes COPY FREEZE possible)."""
        if table_exists(cur, task.schema, task.name):
            if self.if_exists == "fail":
                raise LoadError("load %s: the table appeared in %s during the load" % (task.key, self.target))
            cur.execute("TRUNCATE %s" % task.qualified)
        else:
            cur.execute(task.create_sql)
            forget_table_steps(cur, self.manifest_id, task.schema, task.name)

    def _rejects_for(self, task):
        copy_path, log_path = mf.reject_files(self.src, task.schema, task.name)
        if task.entry.get("rejected"):  # the transform's own rejects are there: keep them apart
            copy_path, log_path = copy_path[:-5] + ".load.copy", log_path[:-4] + ".load.log"
        return RejectWriter(copy_path, log_path, task.data_file)

    def _load_in_transaction(self, conn, task):
        """(rows loaded, RejectWriter); the transaction is left open for the resume record."""
        import psycopg2

        rejects = self._rejects_for(task)
        rejects.clear()
        on_bytes = self._byte_counter(task)
        self.say("%s: loading %.1f MB" % (task.key, task.nbytes / 1e6))
        with conn.cursor() as cur:
            try:
                self._prepare_table(cur, task)
                rows = copy_file(cur, task.copy_sql(freeze=True), task.path, on_bytes, task.opener)
                task.wait_whole()            # a streamed file: the table's final row count and size
                return rows, rejects
            except (psycopg2.Error, SystemError) as err:
                lost = lost_connection(err, conn, "load %s (COPY from %s)" % (task.key, task.data_file))
                if lost is not None:
                    raise lost from None
                if isinstance(err, SystemError):
                    raise
                conn.rollback()
                if not is_row_error(err):
                    raise LoadError("load %s: COPY from %s failed: %s"
                                    % (task.key, task.data_file, describe_pg_error(err))) from None
                if self.max_rejects == 0:
                    raise RowsRejected(
                        "load %s: row refused by PostgreSQL at %s line %s: %s %s (max_rejects is 0: set it to"
                        " divert such rows to rejects/)" % (task.key, task.data_file, error_line(err) or "?",
                                                           err.pgcode, describe_pg_error(err))) from None
                self.say("%s: COPY refused a row (%s); isolating refused rows" % (task.key, err.pgcode))
            # slow path: a fresh transaction, batches in savepoints (no FREEZE inside a savepoint)
            task.wait_whole()
            self._prepare_table(cur, task)
            isolator = RejectIsolator(cur, task.copy_sql(freeze=False), task.path, rejects=rejects,
                                      max_rejects=self.max_rejects, label=task.key, on_bytes=on_bytes)
            try:
                rows, _ = isolator.run()
            finally:
                rejects.close()
            return rows, rejects

    def _check_rows(self, conn, task, rows, rejected):
        expected = task.entry.get("rows")
        if expected is not None and rows + rejected != expected:
            conn.rollback()
            raise LoadError("load %s: COPY read %d rows (+%d refused) from %s but the manifest says %d: the"
                            " data file and the manifest disagree"
                            % (task.key, rows, rejected, task.data_file, expected))

    def _byte_counter(self, task):
        if not self._progress or task.nbytes < (32 << 20):
            return None
        state = {"read": 0, "last": time.monotonic(), "start": time.monotonic()}

        def on_bytes(n):
            state["read"] += n
            now = time.monotonic()
            if now - state["last"] >= PROGRESS_SECONDS:
                state["last"] = now
                self.say("%s: %3.0f%% (%.0f/%.0f MB, %.1f MB/s)"
                         % (task.key, 100.0 * state["read"] / task.nbytes, state["read"] / 1e6,
                            task.nbytes / 1e6, state["read"] / 1e6 / max(now - state["start"], 1e-6)))
        return on_bytes

    # -- post-data
    def _post_needed(self, cur, step):
        """None when done; else what to run: 'create' or 'validate' (an FK added NOT VALID earlier)."""
        if step.kind == "foreign_key" and step.name and step.table:
            state = constraint_state(cur, step.schema, step.table, step.name)
            return {"valid": None, "not_valid": "validate"}.get(state, "create")
        exists = object_exists(cur, step.kind, step.schema, step.table, step.name)
        if exists is None:
            return None if ("post", step.key) in self.state_steps else "create"
        return None if exists else "create"

    def _run_post_data(self):
        with self.pool.connection() as conn, conn.cursor() as cur:
            todo = [(s, self._post_needed(cur, s)) for s in self.post_steps]
            todo = [(s, need) for s, need in todo if need]
            types = [(s, n) for s, n in todo if s.kind == ALIGN_KIND]
            keys = largest_tables_first(cur, [(s, n) for s, n in todo if s.kind in PARALLEL_KINDS])
            fks = largest_tables_first(cur, [(s, n) for s, n in todo if s.kind == "foreign_key"])
            conn.commit()
        if not todo:
            return
        self.say("post-data: %d step(s)" % len(todo))
        rest = [(s, n) for s, n in todo if s.kind not in PARALLEL_KINDS + ("foreign_key", ALIGN_KIND, "view")]
        # referencing columns take their referenced column's type before any index is built on them
        self._parallel([lambda s=s: self._run_step(s, s.sql) for s, _ in types])
        self._parallel([lambda s=s: self._run_step(s, s.sql) for s, _ in keys])
        for step, need in fks:  # NOT VALID: catalog only, but it locks both tables: one at a time
            if need == "create":  # an unnamed FK cannot be validated by name: added valid at once
                self._run_step(step, not_valid_sql(step.sql) if step.name else step.sql,
                               record=not step.name, label=" added NOT VALID" if step.name else "")
        self._parallel([lambda s=s: self._validate_fk(s) for s, _ in fks if s.name])
        for step, _ in rest:
            self._run_step(step, step.sql)
        self._create_views([s for s, _ in todo if s.kind == "view"])

    def _create_views(self, steps):
        """Every view on its own: one PostgreSQL refuses is reported and the others are still created.
        A view that failed is tried again after the others succeeded (it may read a view listed after
        it), until a round creates nothing more."""
        failed = {}
        while steps:
            failed = {}
            for step in steps:
                try:
                    self._run_step(step, step.sql)
                except LoadError as err:
                    failed[step] = str(err).split("\n", 1)[0]
            if len(failed) == len(steps):
                break
            steps = list(failed)
        if not failed:
            return
        reasons = ["view %s.%s not created: %s" % (s.schema, s.name, why.split(" failed: ", 1)[-1])
                   for s, why in failed.items()]
        if self.views_on_error == "warn":
            self.warnings.extend(reasons)
            return
        raise LoadError("%d view(s) not created (views_on_error=fail; 'warn' loads without them, each one"
                        " named in the warnings; the SQL is in post-data.sql): %s"
                        % (len(reasons), "; ".join(reasons)))

    def _parallel(self, calls):
        errors = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) as pool:
            for future in [pool.submit(c) for c in calls]:
                try:
                    future.result()
                except MigrationError as err:
                    errors.append(str(err))
        if errors:
            raise LoadError("%s%s" % (errors[0], " (and %d more post-data failures)" % (len(errors) - 1)
                                      if len(errors) > 1 else ""))

    def _run_step(self, step, sql, record=True, label=""):
        import psycopg2

        started = time.monotonic()
        with self.pool.connection() as conn, conn.cursor() as cur:
            try:
                cur.execute(sql)
                if record:
                    record_step(cur, self.manifest_id, "post", step.key, kind=step.kind, schema=step.schema,
                                table=step.table, name=step.name, seconds=time.monotonic() - started)
                conn.commit()
            except psycopg2.Error as err:
                conn.rollback()
                detail = getattr(err.diag, "message_detail", None)
                raise LoadError("post-data %s failed: %s%s\nSQL: %s"
                                % (step.describe(), describe_pg_error(err),
                                   " (%s)" % detail if detail else "", sql[:500])) from None
        self._mark_changed()
        with self._lock:
            self.post_done += 1
        self.say("post-data: %s%s (%.2f s)" % (step.describe(), label, time.monotonic() - started))

    def _validate_fk(self, step):
        sql = "ALTER TABLE %s VALIDATE CONSTRAINT %s" % (qualified(step.schema, step.table),
                                                         quote_ident(step.name))
        self._run_step(step, sql, label=" validated")

    def _analyze(self, tasks):
        def analyze(task):
            with self.pool.connection() as conn, conn.cursor() as cur:
                cur.execute("ANALYZE %s" % task.qualified)
                conn.commit()
        self._parallel([lambda t=t: analyze(t) for t in tasks])
        self.say("analyzed %d table(s)" % len(tasks))

    # -- reporting
    def _write_state_file(self, conn=None):
        """<dir>/load-state.json for humans (the database's pgshift_state is the authority)."""
        if conn is None:
            with self.pool.connection() as own:
                self._write_state_file(own)
            return
        with self._state_lock:  # read and write together: the file never goes back in time
            with conn.cursor() as cur:
                tables, steps = read_state(cur, self.manifest_id)
            conn.commit()
            self._write_state_json(tables, steps)

    def _write_state_json(self, tables, steps):
        state = {"target": self.target, "manifest_created_at": self.manifest.get("created_at"),
                 "manifest_id": self.manifest_id,
                 "tables": {k: dict(v, state="done", seconds=round(v["seconds"] or 0.0, 3))
                            for k, v in sorted(tables.items())},
                 "post_data_done": sorted(step for phase, step in steps if phase == "post")}
        path = os.path.join(self.src, STATE_FILE)
        tmp = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
        mf.write_text(tmp, json.dumps(state, indent=1, default=str) + "\n")
        os.replace(tmp, path)

    def _result(self, **extra):
        rows = sum(f.get("rows") or 0 for f in self.results.values())
        rejected = sum(f.get("rejected") or 0 for f in self.results.values())
        result = {"changed": self.changed, "tables": dict(sorted(self.results.items())), "rows": rows,
                  "rejected": rejected, "seconds": round(time.monotonic() - self._t0, 3),
                  "target": self.target, "manifest_id": self.manifest_id, "warnings": self.warnings}
        if self.check_mode:
            result["queries"] = self.queries
        result.update(extra)
        return result

    def _report(self):
        return self._result(post_data_steps=self.post_done,
                            state_file=os.path.join(self.src, STATE_FILE))


def load(params, src, **options):
    """Run (or, with check_mode=True, plan) a load; returns the result dict of docs/contracts.md.
    Every failure is a MigrationError with a message, never a driver traceback."""
    loader = PgLoad(params, src, **options)
    try:
        import psycopg2
    except ImportError:
        return loader.run()  # the pool reports the missing library as a LoadError
    try:
        return loader.run()
    except psycopg2.Error as err:
        raise LoadError("load into %s: %s" % (loader.target, describe_pg_error(err))) from None
    except OSError as err:
        raise LoadError("load from %s: %s" % (loader.src, err)) from None
