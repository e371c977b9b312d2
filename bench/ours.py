"""Our tools as the benchmark drives them: the console verbs of bin/pgshift, as a user would run
them, each a separate measured process. A verb whose cli/<verb>.py has not landed makes its rows
"not available" (never an estimate).

Measurements (keys in the results JSON):
  ours_transform_1   transform with one job (MB/s per core)
  ours_transform_n   transform with all cores (when the transform takes --jobs)
  ours_load          (b) load of an already transformed migration dir, with keys, indexes, FKs
  ours_dump_path     dump file -> transform -> load -> sequences, one after another (context)
  ours_e2e           (c) `bin/pgshift migrate-dump`: transform and load overlapping -> sequences
  ours_live          live-copy from the live MariaDB -> sequences
  ours_verify        verify (checksums) of (c)'s result against MariaDB
  ours_convert       (qa) embedding_convert (`bin/pgshift embeddings`, default engine) on rows loaded
                     as text, the same start as the guide's loop, scaled to all rows
"""
import json
import os
import shutil
import sys

from . import harness
from .harness import Measurement

# Our results that verify (and, for embeddings, the HNSW comparison) can run on, preferred first.
RESULT_PATHS = ("ours_e2e", "ours_dump_path", "ours_live")

VERB_FILES = {"transform": "cli/transform.py", "load": "cli/load.py", "live-copy": "cli/live_copy.py",
              "embeddings": "cli/embeddings.py", "sequences": "cli/sequences.py", "verify": "cli/verify.py",
              "migrate-dump": "cli/migrate_dump.py"}


class Ours:
    def __init__(self, lab, root):
        self.lab = lab
        self.root = root
        self.bin = [sys.executable, os.path.join(root, "bin", "pgshift")]
        self.transform_jobs = None  # --jobs value when the transform takes one (set by declare)
        self.e2e_jobs = None        # the same for migrate-dump
        self.convert_sample = 2000  # rows per run of the in-database conversion (set by the scale)
        self._ms = {}
        self._help = {}

    # What is there -----------------------------------------------------------------------------
    def has(self, verb):
        return os.path.exists(os.path.join(self.root, "plugins", "module_utils", VERB_FILES[verb]))

    def help_text(self, verb):
        """`bin/pgshift VERB --help`, asked once per run (it starts a Python process each time)."""
        if verb not in self._help:
            m = harness.run([*self.bin, verb, "--help"], check=False, label="pgshift %s --help" % verb)
            self._help[verb] = (m.outputs[0][1] or "") + m.outputs[0][2]
        return self._help[verb]

    def missing(self, *verbs):
        gone = [v for v in verbs if not self.has(v)]
        return ("`bin/pgshift %s` has not landed (plugins/module_utils/%s missing)"
                % (", ".join(gone), ", ".join(VERB_FILES[v] for v in gone))) if gone else None

    def pg_args(self, database):
        p = self.lab.pg
        return ["--pg-host", p["host"], "--pg-port", str(p["port"]), "--pg-user", p["user"],
                "--pg-passfile", p["passfile"], "--pg-database", database]

    def mysql_args(self):
        return ["--mysql-defaults-file", self.lab.my_cnf]

    # Declarations ------------------------------------------------------------------------------
    def declare(self, data, ms):
        emb = " (embeddings converted in the stream)" if data.has_embeddings else ""
        ms["ours_transform_1"] = Measurement("ours_transform_1", "ours: transform, 1 job",
                                             "bin/pgshift transform --jobs 1: dump file -> migration dir")
        ms["ours_transform_n"] = Measurement("ours_transform_n", "ours: transform, all cores",
                                             "bin/pgshift transform --jobs %d (the sequential dump "
                                             "path's transform phase)" % os.cpu_count())
        ms["ours_load"] = Measurement("ours_load", "ours: load (b)",
                                      "bin/pgshift load of a transformed dir: COPY, keys, indexes, FKs, "
                                      "ANALYZE (the dump path's load phase)")
        ms["ours_dump_path"] = Measurement("ours_dump_path", "ours: dump path, sequential (context)",
                                           "dump file -> transform%s -> load -> sequences, one after "
                                           "the other (separate processes)" % emb)
        ms["ours_e2e"] = Measurement("ours_e2e", "ours: end to end (c)",
                                     "bin/pgshift migrate-dump --jobs %d: dump file -> transform%s "
                                     "overlapping load table by table -> keys, indexes, FKs -> "
                                     "sequences" % (os.cpu_count(), emb))
        ms["ours_live"] = Measurement("ours_live", "ours: live path",
                                      "live-copy from MariaDB%s -> sequences" % emb)
        ms["ours_verify"] = Measurement("ours_verify", "ours: verify (checksums)",
                                        "bin/pgshift verify --mode checksums --jobs %d of the end "
                                        "to end (c) result against MariaDB" % os.cpu_count())
        needs = {"ours_transform_1": ("transform",), "ours_transform_n": ("transform",),
                 "ours_load": ("transform", "load"),
                 "ours_dump_path": ("transform", "load", "sequences"),
                 "ours_e2e": ("migrate-dump", "sequences"),
                 "ours_live": ("live-copy", "sequences"),
                 "ours_verify": ("verify",)}
        if data.has_embeddings:
            ms["hnsw_ours"] = Measurement(
                "hnsw_ours", "ours: HNSW index (embeddings)",
                "bin/pgshift embeddings on the end to end (c) result: HNSW cosine, m 16, ef_construction 64, "
                "session memory and parallel workers sized by us")
            ms["hnsw_defaults"] = Measurement(
                "hnsw_defaults", "HNSW index, server defaults",
                "the same CREATE INDEX in a fresh psql session (server's maintenance_work_mem and workers)")
            ms["ours_convert"] = Measurement(
                "ours_convert", "ours: in-database conversion (extrapolated)",
                "bin/pgshift embeddings --index none (embedding_convert, default engine) on %d rows per "
                "run (a new slice each run) loaded as text, as the guide's loop starts; time scaled to "
                "all rows" % self.convert_rows(data))
            needs["hnsw_ours"] = ("embeddings",)
            needs["hnsw_defaults"] = ()
            needs["ours_convert"] = ("embeddings",)
        for key, verbs in needs.items():
            why = self.missing(*verbs)
            if why:
                ms[key].unavailable(why)
        if ms["ours_verify"].active and not any(ms[k].active for k in RESULT_PATHS):
            ms["ours_verify"].unavailable("none of our paths is available to verify")
        if data.has_embeddings and not any(ms[k].active for k in RESULT_PATHS[:2]):
            for key in ("hnsw_ours", "hnsw_defaults"):
                ms[key].unavailable("no dump path result to build the index on")
        self.transform_jobs = None
        if self.has("transform"):
            if "--jobs" in self.help_text("transform"):
                self.transform_jobs = os.cpu_count()
            else:
                ms["ours_transform_1"].notes = "bin/pgshift transform (one job: the dump path's phase)"
            if not self.transform_jobs and ms["ours_transform_n"].active:
                ms["ours_transform_n"].unavailable("`bin/pgshift transform` takes no --jobs option: "
                                                   "one job only (see transform, 1 job)")
        self.e2e_jobs = None
        if ms["ours_e2e"].active and "--jobs" in self.help_text("migrate-dump"):
            self.e2e_jobs = os.cpu_count()

    def convert_rows(self, data):
        """Rows per run of the in-database conversion sample (enough to dwarf its fixed costs)."""
        return min(data.rows["content_embedding"], max(1, self.convert_sample))

    # Steps (each one measured process) ---------------------------------------------------------
    def _run(self, argv, label):
        m = harness.run([*self.bin, *argv], label=label)
        out = m.outputs[0][1] or ""
        try:
            report = json.loads(out) if out.strip() else {}
        except ValueError:
            report = {"unparsed_stdout": out[-500:]}
        return m, report

    def transform_argv(self, dump, dest):
        """src and dest as the transform's console verb takes them (options or positionals)."""
        text = self.help_text("transform")
        if "--src" in text:
            return ["transform", "--src", dump, "--dest", dest]
        if "--dest" in text:
            return ["transform", dump, "--dest", dest]
        return ["transform", dump, dest]

    def transform(self, dump, dest, jobs, data):
        if os.path.exists(dest):
            shutil.rmtree(dest)
        argv = self.transform_argv(dump, dest)
        if jobs:
            argv += ["--jobs", str(jobs)]
        emb = self.embeddings_option(data)
        if emb and "--embeddings" not in self.help_text("transform"):
            emb = self._options_json(dest, data)  # the transform takes them in its options file
        return self._run(argv + emb, "pgshift transform")

    @staticmethod
    def embeddings_option(data):
        """--embeddings JSON: the columns converted to pgvector in the stream (transform, live-copy)."""
        specs = [{"table": spec["table"].split(".")[-1], "column": spec["column"],
                  "dimensions": spec["dimensions"], "type": "vector", "format": "json_object"}
                 for spec in getattr(data, "embedding_specs", list)()]
        return ["--embeddings", json.dumps(specs)] if specs else []

    def migrate_dump(self, dump, dest, database, data):
        """(c): the dump straight into `database`, transform and load overlapping. dest is removed
        first: migrate-dump resumes (skips the transform) when it finds its own finished dir."""
        if os.path.exists(dest):
            shutil.rmtree(dest)
        argv = ["migrate-dump", dump, dest, *self.pg_args(database)]
        if self.e2e_jobs:
            argv += ["--jobs", str(self.e2e_jobs)]
        return self._run(argv + self._options_json(dest, data), "pgshift migrate-dump")

    def _options_json(self, dest, data):
        """--options-json with the embedding columns converted in the stream (none: no option)."""
        emb = self.embeddings_option(data)
        if not emb:
            return []
        options = dest.rstrip("/") + ".options.json"
        with open(options, "w", encoding="utf-8") as f:
            json.dump({"embeddings": json.loads(emb[1])}, f)
        return ["--options-json", options]

    def convert(self, database, table, data):
        """embedding_convert in place (no index): text JSON -> vector(N), the module's default engine."""
        argv = ["embeddings", "--table", table, "--column", "embedding", "--dimensions", str(data.dims),
                "--format", "json_object", "--index", "none", *self.pg_args(database)]
        return self._run(argv, "pgshift embeddings (convert)")

    def load(self, src, database):
        return self._run(["load", src, *self.pg_args(database)], "pgshift load")

    def sequences(self, src, database, schema):
        return self._run(["sequences", "--schemas", schema, "--src", src, *self.pg_args(database)],
                         "pgshift sequences")

    def embeddings(self, database, spec):
        """The vectors are already converted in the stream: this builds the HNSW index (cosine) with
        our memory and parallelism settings, and checks dimensions."""
        argv = ["embeddings", "--table", spec["table"], "--column", spec["column"],
                "--dimensions", str(spec["dimensions"]), "--index", "hnsw", "--opclass", "cosine",
                *self.pg_args(database)]
        return self._run(argv, "pgshift embeddings")

    def live_copy(self, data, dest, database):
        if os.path.exists(dest):
            shutil.rmtree(dest)
        argv = ["live-copy", "--databases", data.mysql_db, "--dest", dest, *self.mysql_args(),
                *self.pg_args(database), *self.embeddings_option(data)]
        return self._run(argv, "pgshift live-copy")

    def verify(self, src, database, report_path):
        argv = ["verify", "--src", src, "--mode", "checksums", "--jobs", str(os.cpu_count()),
                "--report-path", report_path, *self.mysql_args(), *self.pg_args(database)]
        return self._run(argv, "pgshift verify")

    # Measurements ------------------------------------------------------------------------------
    def measure_all(self, bench, data, ms, dump, run):
        """One round. The sequential dump path runs transform (all cores) then load as separate
        processes, so its phases ARE (b) "load of a transformed dir" and "transform with all cores":
        they are recorded as those measurements rather than run a second time (the time budget).
        Verify and the HNSW comparison run on the first available result of RESULT_PATHS."""
        self._ms = ms
        target = next((k for k in RESULT_PATHS if ms[k].active), None)
        if self.transform_jobs:
            dir1 = os.path.join(bench.work, "%s-migration-1" % data.name)
            bench.measure(ms["ours_transform_1"], run, lambda r: self.m_transform(dump, dir1, 1, data))
        bench.measure(ms["ours_e2e"], run,
                      lambda r: self.m_e2e(bench, data, dump, r, target == "ours_e2e"))
        before = len(ms["ours_dump_path"].runs)
        bench.measure(ms["ours_dump_path"], run,
                      lambda r: self.m_dump_path(bench, data, dump, r, target == "ours_dump_path"))
        if len(ms["ours_dump_path"].runs) > before:
            self.record_phases(ms, ms["ours_dump_path"].runs[-1], dump)
        elif ms["ours_dump_path"].failures and ms["ours_dump_path"].failures[-1]["run"] == run + 1:
            derived = ["ours_load", "ours_transform_n"]
            derived += [] if self.transform_jobs else ["ours_transform_1"]
            for key in derived:
                if ms[key].active:
                    ms[key].failed("the dump path failed: " + (ms["ours_dump_path"].reason or ""), run + 1)
        bench.measure(ms["ours_live"], run, lambda r: self.m_live(bench, data, r, target == "ours_live"))
        if "ours_convert" in ms:
            bench.measure(ms["ours_convert"], run, lambda r: self.m_convert(bench, data, r))

    def _on_result(self, bench, data, src, db, run, *, here):
        """Verify (and for embeddings the HNSW comparison) on this path's result when it is the
        chosen one (see RESULT_PATHS)."""
        if not here:
            return
        ms = self._ms
        bench.measure(ms["ours_verify"], run, lambda r: self.m_verify(src, db, bench.work, data))
        if data.has_embeddings:
            self.m_hnsw(bench, data, db, ms, run)

    def record_phases(self, ms, rec, dump):
        size = os.path.getsize(dump)
        t = rec["phase_detail"]["transform"]
        t = dict(t, mb_per_s=round(size / 2**20 / t["seconds"], 1))
        jobs = self.transform_jobs or 1
        t["mb_per_s_per_core"] = round(t["mb_per_s"] / jobs, 1)
        if self.transform_jobs:
            if ms["ours_transform_n"].active:
                ms["ours_transform_n"].runs.append(t)
        elif ms["ours_transform_1"].active:
            ms["ours_transform_1"].runs.append(t)
        if ms["ours_load"].active:
            ms["ours_load"].runs.append(dict(rec["phase_detail"]["load"], rows_missing=rec["rows_missing"],
                                             rows_per_s=round(rec["rows_loaded"]
                                                              / rec["phase_detail"]["load"]["seconds"])))

    def m_transform(self, dump, dest, jobs, data):
        m, report = self.transform(dump, dest, jobs, data)
        rec = m.as_dict()
        size = os.path.getsize(dump)
        rec["mb_per_s"] = round(size / 2**20 / m.seconds, 1)
        rec["mb_per_s_per_core"] = round(rec["mb_per_s"] / jobs, 1)
        rec["rows"] = _rows_of(report)
        return rec

    def _after_data(self, data, src, db, phases, rss):
        """The steps after the data is in: sequences (embeddings are converted in the stream; their
        HNSW index is measured separately, see m_hnsw)."""
        m, _ = self.sequences(src, db, data.schema)
        phases["sequences"] = round(m.seconds, 3)
        return max(rss, m.peak_rss)

    def m_hnsw(self, bench, data, db, ms, run):
        """On the dump path's result: the HNSW index built by `pgshift embeddings` (our memory and
        parallel-worker settings), then dropped and built again by plain CREATE INDEX in a fresh
        session (the server's defaults)."""
        spec = data.embedding_specs()[0]
        schema, table = spec["table"].split(".")

        def ours(_run):
            m, report = self.embeddings(db, spec)
            rec = m.as_dict()
            rec["report_index"] = {k: v for k, v in (report.get("index") or {}).items()
                                   if k in ("name", "seconds", "maintenance_work_mem", "workers", "method")}
            return rec

        def defaults(_run):
            for (name,) in self.lab.pg_query(db, "SELECT indexname FROM pg_indexes WHERE schemaname = %s "
                                                 "AND tablename = %s AND indexdef ILIKE '%%USING hnsw%%'",
                                             (schema, table)):
                self.lab.pg_query(db, 'DROP INDEX "%s"."%s"' % (schema, name))
            m = harness.run(self.lab.psql(db, "-v", "ON_ERROR_STOP=1", "-c", data.hnsw_sql(schema)),
                            env=self.lab.pg_env, label="psql CREATE INDEX (server defaults)")
            return m.as_dict()

        if run < bench.scale.get("hnsw_runs", 1):
            bench.measure(ms["hnsw_ours"], run, ours)
            bench.measure(ms["hnsw_defaults"], run, defaults)

    def m_dump_path(self, bench, data, dump, run, verify_here):
        db = bench.fresh_db("ours_dump_" + data.name, run)
        src = os.path.join(bench.work, "%s-migration-path" % data.name)
        phases = {}
        t, _ = self.transform(dump, src, self.transform_jobs, data)
        phases["transform"] = round(t.seconds, 3)
        ld, _ = self.load(src, db)
        phases["load"] = round(ld.seconds, 3)
        rss = self._after_data(data, src, db, phases, max(t.peak_rss, ld.peak_rss))
        rec = {"seconds": round(sum(phases.values()), 3), "phases": phases,
               "peak_rss_mb": round(rss / 2**20, 1),
               "phase_detail": {"transform": t.as_dict(), "load": ld.as_dict()}}
        bench.check_rows(data, db, data.schema, rec)
        self._on_result(bench, data, src, db, run, here=verify_here)
        self.lab.drop_pg_database(db)
        return rec

    def m_e2e(self, bench, data, dump, run, verify_here):
        """(c) migrate-dump -> sequences; the transform's own seconds inside the pipeline come from
        its report (it overlaps the load, so they are not a separate phase of the wall time)."""
        db = bench.fresh_db("ours_e2e_" + data.name, run)
        src = os.path.join(bench.work, "%s-migration-e2e" % data.name)
        phases = {}
        md, report = self.migrate_dump(dump, src, db, data)
        phases["migrate_dump"] = round(md.seconds, 3)
        rss = self._after_data(data, src, db, phases, md.peak_rss)
        rec = {"seconds": round(sum(phases.values()), 3), "phases": phases,
               "peak_rss_mb": round(rss / 2**20, 1)}
        transform = report.get("transform") or {}
        if transform.get("seconds"):
            size = os.path.getsize(dump)
            rec["pipeline_transform"] = {"seconds": transform["seconds"], "jobs": transform.get("jobs"),
                                         "mb_per_s": round(size / 2**20 / transform["seconds"], 1)}
        bench.check_rows(data, db, data.schema, rec)
        self._on_result(bench, data, src, db, run, here=verify_here)
        self.lab.drop_pg_database(db)
        return rec

    def m_convert(self, bench, data, run):
        """embedding_convert on a slice of content_embedding loaded as text into the guide's
        ORM-made table (the guide's loop starts there too), scaled to all rows."""
        n = self.convert_rows(data)
        total = data.rows["content_embedding"]
        skip = (run * n) % max(1, total - n + 1)
        db = bench.fresh_db("ours_convert", run)
        bench.load_text_embeddings(data, db, n, skip)
        m, _ = self.convert(db, "public.content_embedding", data)
        converted = bench.lab.pg_query(
            db, "SELECT count(embedding) FROM public.content_embedding "
                "WHERE pg_typeof(embedding)::text IN ('vector', 'halfvec')")[0][0]
        rec = {"seconds": round(m.seconds * total / n, 3), "sample_rows": n, "sample_first_id": skip + 1,
               "sample_seconds": round(m.seconds, 3), "converted_in_sample": converted,
               "peak_rss_mb": round(m.peak_rss / 2**20, 1), "rows_per_s": round(n / m.seconds)}
        self.lab.drop_pg_database(db)
        return rec

    def m_live(self, bench, data, run, verify_here):
        db = bench.fresh_db("ours_live_" + data.name, run)
        src = os.path.join(bench.work, "%s-migration-live" % data.name)
        phases = {}
        lc, _ = self.live_copy(data, src, db)
        phases["live_copy"] = round(lc.seconds, 3)
        rss = self._after_data(data, src, db, phases, lc.peak_rss)
        rec = {"seconds": round(sum(phases.values()), 3), "phases": phases,
               "peak_rss_mb": round(rss / 2**20, 1)}
        bench.check_rows(data, db, data.schema, rec)
        if verify_here:
            verify = self._ms["ours_verify"]
            note = " (on the live path's result: no dump path available)"
            verify.notes += "" if note in verify.notes else note
        self._on_result(bench, data, src, db, run, here=verify_here)
        self.lab.drop_pg_database(db)
        return rec

    def m_verify(self, src, db, work, data):
        report_path = os.path.join(work, "%s-verify.json" % data.name)
        m, report = self.verify(src, db, report_path)
        rec = m.as_dict()
        rec["verify_failed"] = bool(report.get("failed"))
        return rec


def _rows_of(report):
    tables = report.get("tables") if isinstance(report, dict) else None
    if isinstance(tables, dict):
        return sum(t.get("rows", 0) for t in tables.values() if isinstance(t, dict))
    return None
