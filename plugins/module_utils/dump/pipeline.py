"""A dump file -> a loaded database, the transform and the load overlapping table by table.

    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.pipeline import migrate_dump
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import TransformOptions

    result = migrate_dump(pg_params, TransformOptions(src="dump.sql.zst", dest="/migr/run1"),
                          load_jobs=1, if_exists="fail", max_rejects=0, post_data=True)
    result -> {"changed": True, "manifest_id": "p3c1...", "rows": ..., "seconds": ...,
               "transform": {<dump_transform's result>}, "load": {<pg_load's result>}, "warnings": [...]}

How: the transform runs in this thread. mysqldump writes each table's rows together, so a table is
whole when the next table's statements (or the end of the dump) begin; the transform then drains
its converter processes, closes the table's file and hands the table's manifest entry to loader
threads (Transformer's on_table_done). A loader thread loads it exactly as pg_load does: one
transaction with CREATE/TRUNCATE + COPY FREEZE + the resume record (pgshift_state.loaded_tables).
While PostgreSQL parses one table's COPY, the transform converts the next: two cores busy.
Post-data (keys, indexes, FKs NOT VALID + VALIDATE, triggers, views) and ANALYZE run once the
manifest is complete, as in pg_load.

Within a table too: when its first INSERT arrives, its entry goes to a loader thread at once
(PipelineLoad.begin), whose COPY reads the data file as the transform writes it (TableStream: a
read at the current end waits for more until the transform finishes the table). So a big table's
COPY runs alongside its own conversion, not after it; the COPY's transaction commits only after
the transform declared the table whole and the row count matched.

Guarantees: a table is recorded only after its last row converted without error (a transform that
fails mid-table makes the table's COPY fail and roll back), so a transform that fails later never
leaves a partial table recorded; a table whose rows turn up again after it
was handed over (not a mysqldump order) fails the run and its resume record is deleted. The
manifest is marked complete only by the transform's end, as always.

Resume identity: pg_load keys its records on a hash of manifest.json, which exists only at the end.
Here the key is known before the first byte is read: sha256 of the dump's absolute path, size and
mtime and the transform options that shape the output (the manifest's options record). A rerun on
the same dump with the same options gets the same key, so tables committed by a killed run are
skipped (the transform re-reads the dump but the loader does not copy them again); a changed dump
or other options give another key, so nothing is skipped wrongly. The key is written into the
manifest as `load_identity`, which pg_load's manifest_identity() honours: `pg_load` on the finished
dir, or a pipelined rerun after the transform completed, resumes from the same records. A dump read
from stdin has no size/mtime: it gets a one-off key (no resume) and a warning.
"""
import contextlib
import hashlib
import json
import os
import queue
import threading
import time
import uuid

from .. import manifest as mf
from ..errors import MigrationError, TransformStopped
from ..load.copy import describe_pg_error
from ..load.loader import (
    ConnectionPool,
    LoadError,
    PgLoad,
    TableTask,
    load,
    pre_data_steps,
)
from ..load.sql import ensure_state_tables, read_state
from ..quoting import quote_ident
from .reader import source_facts
from .transform import RowsAfterPublish, _options_record, run_transform, validate_options


class TableStream:
    """A table's data file that the transform is still writing, read by a loader's COPY as it grows.

    Transform side: finish(entry) once the file is whole and closed, or fail(reason). Loader side:
    open() gives a file object whose read() waits at the current end of the file until more bytes
    come or the table is finished (then the rest, then b''); after a fail() it raises."""

    POLL_SECONDS = 0.05      # also wakes on finish/fail; the poll covers plain writes (1 MB flushes)

    def __init__(self, path):
        self.path = path
        self.entry = None
        self.failed = None
        self._cond = threading.Condition()

    def finish(self, entry):
        with self._cond:
            self.entry = entry
            self._cond.notify_all()

    def fail(self, reason):
        with self._cond:
            if self.entry is None:
                self.failed = reason
            self._cond.notify_all()

    def wait_whole(self):
        """The finished entry; raises TransformStopped if the transform failed first."""
        with self._cond:
            while self.entry is None and self.failed is None:
                self._cond.wait()
            if self.entry is None:
                raise TransformStopped(self.failed)
            return self.entry

    def open(self):
        return _GrowingFile(self)

    def _wait_more(self):
        """True when the transform finished the table (no more bytes will come)."""
        with self._cond:
            if self.failed is not None:
                raise TransformStopped(self.failed)
            if self.entry is None:
                self._cond.wait(self.POLL_SECONDS)
            return self.entry is not None


class _GrowingFile:
    def __init__(self, stream):
        self._stream = stream
        self._f = open(stream.path, "rb")  # noqa: SIM115 - closed by __exit__

    def read(self, size=-1):
        while True:
            data = self._f.read(size)
            if data:
                return data
            if self._stream._wait_more():
                return self._f.read(size)      # what came between the last read and the end

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


class _StreamedTask(TableTask):
    """A table loaded from its TableStream: size and row count known once the transform finished it."""

    def __init__(self, src, entry, stream):
        super().__init__(src, entry)
        self.stream = stream
        self.opener = stream.open

    def wait_whole(self):
        self.entry = self.stream.wait_whole()
        self.nbytes = os.path.getsize(self.path)


def pipeline_identity(opts):
    """(identity, warning or None): stable for the same dump file and output-shaping options."""
    if opts.src == "-" or not os.path.exists(opts.src):
        return "p" + uuid.uuid4().hex[:15], ("migrate-dump from a pipe: no resume key (a rerun loads every"
                                             " table again)")
    facts = source_facts(opts.src)
    payload = json.dumps({"path": os.path.abspath(opts.src), "size": facts["size"], "mtime": facts["mtime"],
                          "options": _options_record(opts)}, sort_keys=True, default=str)
    return "p" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:15], None


class PipelineLoad(PgLoad):
    """pg_load fed table by table while the transform is still writing the migration dir."""

    def __init__(self, params, dest, identity, **options):
        super().__init__(params, dest, **options)
        self.manifest_id = identity
        self.manifest = {}
        self.tasks, self.by_key = [], {}
        self.streams = []
        self.queue = queue.Queue()
        self.error = None
        self._schemas = set()
        self._ddl_lock = threading.Lock()
        self.threads = []

    # -- set-up and feeding
    def start(self):
        self.pool = ConnectionPool(self.params, self.jobs, self.mwm)
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                ensure_state_tables(cur)
                self.state_tables, self.state_steps = read_state(cur, self.manifest_id)
            conn.commit()
        self.post_done = 0
        for n in range(self.jobs):
            thread = threading.Thread(target=self._worker, name="pgshift-load-%d" % n, daemon=True)
            thread.start()
            self.threads.append(thread)

    def publish(self, entry):
        """Transform side: this table's data file is whole. Raises the loader's error, which stops
        the transform (no point converting what cannot be loaded)."""
        if self.error is not None:
            raise self.error
        self.queue.put((entry, None))

    def begin(self, entry):
        """Transform side: this table's rows start (its data file exists, empty); returns the
        TableStream to finish() with the table's final entry once the file is whole."""
        if self.error is not None:
            raise self.error
        stream = TableStream(TableTask(self.src, entry).path)
        with self._lock:
            self.streams.append(stream)
        self.queue.put((entry, stream))
        return stream

    def _worker(self):
        while (item := self.queue.get()) is not None:
            entry, stream = item
            if self.error is not None:
                continue                         # drain: the run is failing
            try:
                self._load_entry(entry, stream)
            except Exception as err:  # noqa: BLE001 - handed to the transform thread
                with self._lock:
                    if self.error is None:
                        self.error = _as_load_error(err, entry)

    def _stop_workers(self):
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        self.threads = []

    # -- one table
    def _load_entry(self, entry, stream=None):
        if stream is not None:
            task = _StreamedTask(self.src, entry, stream)
        else:
            task = TableTask(self.src, entry)
            task.nbytes = os.path.getsize(task.path)
        if stream is None and entry.get("bytes") is not None and entry["bytes"] != task.nbytes:
            raise LoadError("load %s: data file has %d bytes but the transform wrote %d"
                            % (task.key, task.nbytes, entry["bytes"]))
        with self._lock:
            self.tasks.append(task)
            self.by_key[task.key] = task
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                self._ensure_namespace(cur, entry)
                task.action = self._decide(cur, task)
            conn.commit()
            if task.action == "fail":
                raise LoadError("load into %s: table %s already exists and was not loaded from this dump;"
                                " set if_exists to truncate or drop" % (self.target, task.key))
            if task.action == "create" and not task.create_sql:
                raise LoadError("load into %s: table %s does not exist and the manifest has no create_sql"
                                " for it (schema_mode existing): create it first" % (self.target, task.key))
            if task.action == "drop":
                with conn.cursor() as cur:
                    cur.execute("DROP TABLE IF EXISTS %s CASCADE" % task.qualified)
                conn.commit()
        if task.action == "skip":
            with self._lock:
                self.results[task.key] = self._skipped_figures(task)
            self.say("%s: already loaded from this dump (resume)" % task.key)
            return
        self._load_table(task)

    def _ensure_namespace(self, cur, entry):
        """The table's schema (and pgvector for embedding columns): pre-data, as the tables come."""
        with self._ddl_lock:
            if entry["schema"] not in self._schemas:
                cur.execute("CREATE SCHEMA IF NOT EXISTS %s" % quote_ident(entry["schema"]))
                self._schemas.add(entry["schema"])
            if any(c.get("embedding") for c in entry.get("columns") or []) and "vector" not in self._schemas:
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
                self._schemas.add("vector")
            cur.connection.commit()

    # -- the end
    def finish(self):
        """The transform completed: wait for the tables, then pre-data records, post-data, ANALYZE."""
        self._stop_workers()
        if self.error is not None:
            raise self.error
        self.manifest = mf.read_manifest(self.src)
        entries = self.manifest.get("tables") or []
        missing = ["%s.%s" % (t["schema"], t["name"]) for t in entries
                   if "%s.%s" % (t["schema"], t["name"]) not in self.results]
        if missing:
            raise LoadError("load: table(s) %s were never handed to the load" % ", ".join(missing))
        self.pre_steps = pre_data_steps(self.src)
        # the transform is done: its cores are free for index builds and FK validations in parallel
        self.jobs = max(self.jobs, os.cpu_count() or 1)
        with self.pool.connection() as conn:
            self._run_pre_data(conn)
        try:
            self._plan_post_data(entries, every_table=True)
            self._post_data_and_analyze()
        finally:
            self._write_state_file()
        return self._report()

    def abort(self, err):
        """The transform failed: tables already committed stay (each is whole); a table being
        streamed rolls back; a table the failure shows was not whole after all loses its resume
        record, so a rerun loads it again."""
        for stream in self.streams:
            stream.fail("the transform stopped before the table's end: %s" % err)
        self._stop_workers()
        if isinstance(err, RowsAfterPublish) and err.table_key in self.by_key:
            task = self.by_key[err.table_key]
            with self.pool.connection() as conn, conn.cursor() as cur:
                cur.execute("DELETE FROM pgshift_state.loaded_tables WHERE manifest_id = %s"
                            " AND schema_name = %s AND table_name = %s",
                            (self.manifest_id, task.schema, task.name))
                conn.commit()
        if self.tasks:
            with contextlib.suppress(Exception):  # the human copy; the database holds the authority
                self._write_state_file()


def _as_load_error(err, entry):
    if isinstance(err, MigrationError):
        return err
    try:
        import psycopg2
        if isinstance(err, psycopg2.Error):
            return LoadError("load %s.%s: %s" % (entry["schema"], entry["name"], describe_pg_error(err)))
    except ImportError:
        pass
    return LoadError("load %s.%s: %s" % (entry["schema"], entry["name"], err))


def _existing_manifest(dest):
    try:
        return mf.read_manifest(dest, require_complete=False)
    except MigrationError:
        return None


def _resume_plain_load(params, opts, identity, load_options):
    """The transform of this very dump already completed: only the load has work left."""
    result = load(params, opts.dest, **load_options)
    transform = {"changed": False, "skipped": True,
                 "msg": "migration dir already complete for this dump (load_identity %s)" % identity}
    return _combined(transform, result, identity, [])


def _combined(transform, loaded, identity, warnings):
    return {"changed": bool(transform.get("changed") or loaded.get("changed")), "manifest_id": identity,
            "dest": transform.get("dest"), "rows": loaded.get("rows"),
            "seconds": round((transform.get("seconds") or 0) if transform.get("skipped") else
                             loaded.get("seconds") or 0, 3),
            "transform": transform, "load": loaded,
            "warnings": (list(warnings) + list(transform.get("warnings") or [])
                         + list(loaded.get("warnings") or []))}


def migrate_dump(params, opts, *, load_jobs=1, if_exists="fail", max_rejects=0, post_data=True,  # noqa: PLR0913
                 maintenance_work_mem="512MB", views_on_error="fail", progress=None):
    """Transform opts.src into opts.dest and load it into `params`' database, overlapping."""
    if opts.format != "dir":
        raise MigrationError("migrate-dump: format must be 'dir' (the loader reads the migration dir)")
    validate_options(opts)          # before the target is touched
    identity, warning = pipeline_identity(opts)
    load_options = {"jobs": load_jobs, "if_exists": if_exists, "max_rejects": max_rejects,
                    "post_data": post_data, "maintenance_work_mem": maintenance_work_mem,
                    "views_on_error": views_on_error,
                    "progress": progress}
    existing = _existing_manifest(opts.dest)
    if existing is not None and existing.get("load_identity") == identity and not opts.force:
        if existing.get("complete"):
            return _resume_plain_load(params, opts, identity,
                                      dict(load_options, check_mode=opts.check_mode))
        opts.force = True          # our own interrupted run: transform again, resume the load
    if opts.check_mode:
        return _check(params, opts, identity, load_options)
    loader = PipelineLoad(params, opts.dest, identity, **load_options)
    opts.on_table_done = loader.publish
    opts.on_table_start = loader.begin
    opts.manifest_extra = dict(opts.manifest_extra, load_identity=identity)
    started = time.monotonic()
    try:
        try:
            loader.start()
            transformed = run_transform(opts)    # raises the loader's error if the load failed first
        except BaseException as err:
            loader.abort(err)
            raise
        loaded = loader.finish()
    finally:
        loader.pool.close()
    result = _combined(transformed, loaded, identity, [warning] if warning else [])
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _check(params, opts, identity, load_options):
    """Check mode: parse the whole dump (transform check mode) and reach the target; write nothing."""
    transformed = run_transform(opts)
    loader = PgLoad(params, opts.dest, jobs=1, if_exists=load_options["if_exists"])
    pool = ConnectionPool(params, 1, None)
    try:
        with pool.connection() as conn:
            with conn.cursor() as cur:
                tables, _steps = read_state(cur, identity)
            conn.commit()
    finally:
        pool.close()
    loaded = {"changed": len(tables) < len(transformed["tables"]), "target": loader.target,
              "tables": {k: {"action": "skip" if k in tables else "load"} for k in transformed["tables"]},
              "warnings": []}
    return _combined(dict(transformed, changed=False), loaded, identity, [])
