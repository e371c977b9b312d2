#!/usr/bin/env python3
"""`make bench`: every way of moving the same MariaDB data into PostgreSQL, measured in one run.

    python bench/run.py            # full scale (>= 4M rows, 20,000 x 1536 embeddings), 3 runs each
    python bench/run.py --quick    # tiny scale, 1 run each: the CI smoke test of the harness

Absolute times on shared machines drift; ratios measured in the same run do not. Each measurement
runs `runs` times in rounds (round 1 of everything, then round 2...) so drift hits all paths alike;
the median is reported. A path whose tool is missing or fails is reported as such, never estimated.
Results: bench/results/<mode>-<timestamp>.json, bench/results/latest[-quick].{json,md}; the
Markdown table is printed at the end.
"""
import argparse
import contextlib
import datetime
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import harness, report  # noqa: E402
from bench.datasets import employees  # noqa: E402
from bench.datasets_registry import EmployeesData, qa_module  # noqa: E402
from bench.harness import NOT_AVAILABLE, Measurement  # noqa: E402
from bench.lab import Lab  # noqa: E402
from bench.ours import Ours  # noqa: E402

SCALES = {
    # default: ~4.15M rows, ~190 MB of dump. guide_sample_fraction < 1 runs the guide's way on a
    # proportional sample of the dump and scales its times to all rows (it takes minutes per run).
    "full": {"employees": employees.DEFAULT_EMPLOYEES, "qa_rows": 20_000, "qa_dims": 1536, "runs": 3,
             "guide_sample_fraction": 0.1, "guide_loop_sample": 300, "hnsw_runs": 1,
             "convert_sample": 2_000},
    "quick": {"employees": 1_500, "qa_rows": 60, "qa_dims": 1536, "runs": 1,
              "guide_sample_fraction": 1.0, "guide_loop_sample": 5, "hnsw_runs": 1,
              "convert_sample": 20},
}
class Bench:
    def __init__(self, mode, lab, work):
        self.mode = mode
        self.scale = SCALES[mode]
        self.lab = lab
        self.work = work
        self.ours = Ours(lab, ROOT)
        self.tag = "%d" % os.getpid()
        self.databases = []  # created by the attempts under way; dropped when each one ends
        self.log_lines = []
        self.on_checkpoint = None  # writes the results so far (set by main)

    def log(self, msg):
        line = "[bench %s] %s" % (time.strftime("%H:%M:%S"), msg)
        self.log_lines.append(line)
        print(line, file=sys.stderr, flush=True)

    def checkpoint(self, where):
        """After every round: the results so far on disk, marked partial, so a run cut short (time
        limit, kill) still leaves every figure measured up to then."""
        if self.on_checkpoint:
            self.on_checkpoint(where)

    # One fresh PostgreSQL database per run ----------------------------------------------------
    def fresh_db(self, key, run):
        name = "bench_%s_%s_%d" % (key, self.tag, run)
        self.lab.create_pg_database(name)
        self.databases.append(name)
        return name

    def drop_databases_since(self, mark):
        while len(self.databases) > mark:
            name = self.databases.pop()
            try:
                self.lab.drop_pg_database(name)
            except Exception as err:  # never hide the measurement's own outcome behind a cleanup error
                self.log("could not drop %s: %s" % (name, err))

    def check_rows(self, data, db, schema, record):
        """Rows present after a path, compared with the source (an honest count, not timed)."""
        counts = self.lab.pg_counts(db, schema, data.tables)
        loaded = sum(v or 0 for v in counts.values())
        record["rows_loaded"] = loaded
        record["rows_missing"] = data.total_rows() - loaded
        if record["seconds"]:
            record["rows_per_s"] = round(loaded / record["seconds"])
        if data.has_embeddings:
            record.update(self.embedding_state(db, schema))
        return counts

    def embedding_state(self, db, schema):
        """What the embedding column became (vector(N) or still text) and whether an HNSW index exists."""
        rows = self.lab.pg_query(
            db, "SELECT format_type(a.atttypid, a.atttypmod), EXISTS (SELECT 1 FROM pg_index i "
                "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
                "WHERE i.indrelid = a.attrelid AND am.amname = 'hnsw') "
                "FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attname = 'embedding'",
            ('"%s"."content_embedding"' % schema,))
        if not rows:
            return {"embedding_type": None, "hnsw_index": False}
        return {"embedding_type": rows[0][0], "hnsw_index": rows[0][1]}

    def measure(self, m, run, fn):
        """Run one timed attempt of measurement m; a failure marks m failed with its reason. An
        attempt cut short by a server restart (shared lab) is repeated once, after the server is
        back, and the retry is recorded."""
        if not m.active:
            return
        if self._attempt(m, run, fn) is None:
            return
        last = m.failures[-1]["reason"]
        if _server_went_away(last) and self.lab.wait_ready():
            self.log("%s: the server restarted during run %d: measuring it again" % (m.label, run + 1))
            m.failures.pop()
            m.extra.setdefault("retried_after_server_restart", []).append(last[:300])
            self._attempt(m, run, fn)

    def _attempt(self, m, run, fn):
        self.log("%s: run %d" % (m.label, run + 1))
        mark = len(self.databases)
        try:
            record = fn(run)
        except (harness.StepFailed, OSError, RuntimeError) as err:
            m.failed(str(err)[:2000], run + 1)
            self.log("%s: FAILED: %s" % (m.label, str(err)[:300]))
            return False
        except Exception as err:  # psycopg2 errors and the like: report, keep measuring the others
            m.failed("%s: %s" % (type(err).__name__, str(err)[:2000]), run + 1)
            self.log("%s: FAILED: %s" % (m.label, str(err)[:300]))
            return False
        finally:
            self.drop_databases_since(mark)
        m.runs.append(record)
        self.log("%s: %.2f s" % (m.label, record["seconds"]))
        return None

    # mysqldump (context) ------------------------------------------------------------------------
    def mysqldump(self, data, path, run):
        m = harness.run(["mariadb-dump", "--defaults-extra-file=" + self.lab.my_cnf,
                         "--single-transaction", "--hex-blob", "--databases", data.mysql_db],
                        stdout_path=path, label="mariadb-dump")
        rec = m.as_dict()
        rec["bytes"] = os.path.getsize(path)
        rec["mb_per_s"] = round(rec["bytes"] / 2**20 / m.seconds, 1)
        return rec

    # (a) the physical bound ---------------------------------------------------------------------
    def bound(self, data, run, keep=False):
        """COPY of ready TSV into bare tables (CREATE + COPY FREEZE in one transaction per table,
        tables in parallel), then the same keys and indexes (in parallel), FKs (NOT VALID +
        VALIDATE), ANALYZE: what any loader must do at least."""
        db = self.fresh_db("bound_" + data.name, run)
        schema = data.schema
        scripts = os.path.join(self.work, "bound-" + data.name)
        os.makedirs(scripts, exist_ok=True)
        env = self.lab.pg_env
        phases = {}
        rss = 0

        def step(name, commands, workers=1):
            nonlocal rss
            m = harness.run_parallel(commands, workers)
            phases[name] = round(m.seconds, 3)
            rss = max(rss, m.peak_rss)

        psql = self.lab.psql
        step("pre_data", [harness.Command(psql(db, "-v", "ON_ERROR_STOP=1", "-c",
                                               data.create_schema_sql(schema)), env=env)])
        copies = []
        for table, create in data.create_table_sql(schema).items():
            path = os.path.join(scripts, "copy-%s.sql" % table)
            with open(path, "w") as f:
                f.write("BEGIN;\n%s\n\\copy %s.%s FROM '%s' WITH (FREEZE)\nCOMMIT;\n"
                        % (create, schema, table, data.tsv_path(table)))
            copies.append(harness.Command(psql(db, "-v", "ON_ERROR_STOP=1", "-f", path), env=env,
                                          weight=data.tsv_bytes(table), label="copy " + table))
        step("copy", copies, os.cpu_count())
        mwm = ["-c", "SET maintenance_work_mem = '512MB'"]
        step("indexes", [harness.Command(psql(db, "-v", "ON_ERROR_STOP=1", *mwm, "-c", sql), env=env,
                                         weight=_weight_of(sql, data))
                         for sql in data.index_statements(schema)], os.cpu_count())
        fks = [a for sql in data.fk_statements(schema) for a in ("-c", sql)]
        if fks:
            step("foreign_keys", [harness.Command(psql(db, "-v", "ON_ERROR_STOP=1", *fks), env=env)])
        extra = [a for sql in data.extra_post_statements(schema) for a in ("-c", sql)]
        if extra:
            step("other_post_data", [harness.Command(psql(db, "-v", "ON_ERROR_STOP=1", *mwm, *extra),
                                                     env=env)])
        step("analyze", [harness.Command(psql(db, "-c", "ANALYZE"), env=env)])
        rec = {"seconds": round(sum(phases.values()), 3), "phases": phases,
               "peak_rss_mb": round(rss / 2**20, 1)}
        self.check_rows(data, db, schema, rec)
        if not keep:
            self.lab.drop_pg_database(db)
        return rec

    # (d) pgloader -------------------------------------------------------------------------------
    def pgloader(self, data, run):
        """pgloader with its defaults, from the live MariaDB into a fresh database. Credentials are
        in a load-command file of mode 0600 (deleted afterwards), never on its command line."""
        db = self.fresh_db("pgloader_" + data.name, run)
        root = os.path.join(self.work, "pgloader-" + data.name)
        os.makedirs(root, exist_ok=True)
        with self.lab.pgloader_command_file(data.mysql_db, db) as cmdfile:
            m = harness.run(["pgloader", "--root-dir", root, "--no-ssl-cert-verification", cmdfile],
                            label="pgloader")
        rec = m.as_dict()
        summary = [line for line in (m.outputs[0][1] or "").splitlines() + m.outputs[0][2].splitlines()
                   if "Total import time" in line or "ERROR" in line]
        rec["pgloader_summary"] = summary[:20]
        self.check_rows(data, db, data.schema, rec)
        self.lab.drop_pg_database(db)
        return rec

    # The guide's way ----------------------------------------------------------------------------
    def guide_dump(self, data, path):
        """The guide's data-only dump (its step 1.2, second form: the ORM made the schema), and its
        sample; both kept across runs for the same data set (fingerprint) and sample fraction."""
        fraction = self.scale["guide_sample_fraction"]
        key = "%s fraction=%s" % (data.fingerprint(), fraction)
        stamp = path + ".stamp"
        cached = _read_json(stamp)
        if cached.get("key") == key and all(os.path.exists(p) for p in (path, cached["sample"])):
            self.log("%s: the guide's dump and sample reused (%s)" % (data.name, key))
        else:
            harness.run(["mariadb-dump", "--defaults-extra-file=" + self.lab.my_cnf, "--no-create-info",
                         "--skip-triggers", "--single-transaction", data.mysql_db],
                        stdout_path=path, label="mariadb-dump (guide)")
            sample, rows = _dump_sample(path, fraction)
            cached = {"key": key, "sample": sample, "sample_rows": rows}
            with open(stamp, "w") as f:
                json.dump(cached, f)
        self._guide_sample = (cached["sample"], cached["sample_rows"])

    def guide(self, data, dump_path, run):
        """Its regex script over the dump, then psql < the result into the schema an ORM made (tables,
        keys, FKs in `public`), no ON_ERROR_STOP, as the guide runs it. With guide_sample_fraction
        < 1 both steps run on a proportional sample of the dump (every k-th INSERT statement of each
        table) and their times are scaled to all rows: the guide's way takes minutes per run at full
        scale, beyond the 20-minute budget for three runs."""
        fraction = self.scale["guide_sample_fraction"]
        sample, sample_rows = self._guide_sample
        out = os.path.join(self.work, "guide-%s.sql" % data.name)
        script = os.path.join(HERE, "guide", "migrate_mysql_to_postgres.py")
        t = harness.run([sys.executable, script, sample, out], label="guide transform")
        db = self.fresh_db("guide_" + data.name, run)
        tables = getattr(data, "guide_table_sql", data.create_table_sql)("public")
        schema_sql = "\n".join([data.create_schema_sql("public"), *tables.values(),
                                *(s + ";" for s in data.index_statements("public")),
                                *(s + ";" for s in data.fk_statements("public"))])
        harness.run(self.lab.psql(db, "-v", "ON_ERROR_STOP=1", "-c", schema_sql), env=self.lab.pg_env)
        p = harness.run(self.lab.psql(db, "-f", out), env=self.lab.pg_env, label="psql (guide)")
        errors = _error_kinds(p.outputs[0][2])
        loaded = sum(v or 0 for v in self.lab.pg_counts(db, "public", data.tables).values())
        scale_up = data.total_rows() / max(1, sample_rows)
        rec = {"seconds": round((t.seconds + p.seconds) * scale_up, 3),
               "phases": {"regex_transform": round(t.seconds * scale_up, 3),
                          "psql": round(p.seconds * scale_up, 3)},
               "peak_rss_mb": round(max(t.peak_rss, p.peak_rss) / 2**20, 1),
               "transform_peak_rss_mb": round(t.peak_rss / 2**20, 1),
               "sample_fraction": fraction, "sample_rows": sample_rows,
               "sample_bytes": os.path.getsize(sample), "sample_seconds": round(t.seconds + p.seconds, 3),
               "psql_errors": errors, "rows_loaded_in_sample": loaded,
               "rows_missing": round(data.total_rows() - loaded * scale_up)}
        rec["rows_per_s"] = round((data.total_rows() - rec["rows_missing"]) / rec["seconds"])
        self.lab.drop_pg_database(db)
        return rec

    def load_text_embeddings(self, data, db, n, skip):
        """n content_embedding rows after the first `skip`, JSON text as MariaDB holds it, into the
        guide's ORM-made table (embedding text, primary key): where the guide's step 4 starts."""
        conn = self.lab.pg_connect(db)
        try:
            with conn.cursor() as cur:
                cur.execute(data.guide_table_sql("public")["content_embedding"])
                cur.execute("ALTER TABLE public.content_embedding ADD PRIMARY KEY (id)")
                cur.copy_expert("COPY public.content_embedding FROM STDIN",
                                _LineStream(data.embedding_sample_lines(n, skip)))
        finally:
            conn.close()

    def guide_loop_rows(self, data):
        """guide_loop_sample rows in all, a different slice each run."""
        per_run = max(1, self.scale["guide_loop_sample"] // self.scale["runs"])
        return min(per_run, data.rows["content_embedding"])

    def guide_loop(self, data, run):
        """The guide's step 4.1 (plpgsql function, UPDATE of every row, DROP) on the first
        guide_loop_sample rows of content_embedding loaded as text, extrapolated to all rows."""
        n = self.guide_loop_rows(data)
        skip = (run * n) % max(1, data.rows["content_embedding"] - n + 1)  # a new sample each run
        db = self.fresh_db("guide_loop", run)
        self.load_text_embeddings(data, db, n, skip)
        script = os.path.join(self.work, "guide-embedding-loop.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(guide_loop_sql())
        m = harness.run(self.lab.psql(db, "-v", "ON_ERROR_STOP=1", "-f", script), env=self.lab.pg_env,
                        label="psql (guide loop)")
        done = self.lab.pg_query(db, "SELECT count(*) FILTER (WHERE embedding LIKE '[%%'), "
                                     "count(embedding) FROM public.content_embedding")[0]
        self.lab.drop_pg_database(db)
        total = data.rows["content_embedding"]
        rec = {"seconds": round(m.seconds * total / n, 3), "sample_rows": n, "sample_first_id": skip + 1,
               "sample_seconds": round(m.seconds, 3), "converted_in_sample": done[0],
               "non_null_in_sample": done[1], "peak_rss_mb": round(m.peak_rss / 2**20, 1)}
        rec["rows_per_s"] = round(n / m.seconds)
        return rec


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class _LineStream:
    """File-like reader over an iterator of text lines (for copy_expert)."""

    def __init__(self, lines):
        self._lines = lines
        self._buf = b""

    def read(self, size=65536):
        while len(self._buf) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._buf += line.encode("utf-8")
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    readline = read


def guide_loop_sql():
    """The conversion part of the guide's step 4.1, verbatim: CREATE FUNCTION .. UPDATE .. DROP.
    (Its first "check the format" SELECT is left out: it names chunkIndex unquoted, which fails on
    the camelCase column an ORM creates, and is not part of the conversion.)"""
    with open(os.path.join(HERE, "guide", "embedding_loop.sql"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("CREATE OR REPLACE FUNCTION")
    last = "DROP FUNCTION json_to_vector_array(TEXT);"
    end = text.index(last) + len(last)
    return text[start:end] + "\n"


SERVER_GONE = ("the database system is shutting down", "the database system is starting up",
               "Connection refused", "server closed the connection unexpectedly",
               "terminating connection due to administrator command", "Can't connect to MySQL server",
               "Lost connection to MySQL server", "could not connect to server")


def _server_went_away(reason):
    return any(s in (reason or "") for s in SERVER_GONE)


def _error_kinds(stderr, top=6):
    """psql's error messages grouped (numbers and quoted values blanked): what the guide's way hit."""
    kinds = {}
    for line in stderr.splitlines():
        if "ERROR:" in line or "error:" in line:
            msg = line.split("ERROR:", 1)[-1] if "ERROR:" in line else line.split("error:", 1)[-1]
            msg = re.sub(r"\d+", "N", msg.strip())[:120]
            kinds[msg] = kinds.get(msg, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:top])


def _weight_of(sql, data):
    """Rough size of the table an index statement works on, to start the biggest first."""
    for table in data.tables:
        if re.search(r"\.%s\b" % re.escape(table), sql):
            return data.tsv_bytes(table) if hasattr(data, "tsv_bytes") else 0
    return 0


def _ordinal(fraction):
    step = max(1, round(1 / fraction)) if fraction < 1 else 1
    return {1: "", 2: " 2nd", 3: " 3rd"}.get(step, " %dth" % step)


def _dump_sample(path, fraction):
    """The dump with, per table, every k-th INSERT statement (k = 1 / fraction; all other
    statements kept): a proportional sample. Returns (path, rows in the kept INSERTs). A statement
    may span lines (MariaDB writes one tuple per line); rows are counted at tuple boundaries `),(`
    and `),<newline>(`, exact for data without those sequences inside strings."""
    step = max(1, round(1 / fraction)) if fraction < 1 else 1
    out = path + ".sample" if step > 1 else path
    seen = {}
    rows = 0
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(path, encoding="utf-8", errors="surrogateescape"))
        dst = stack.enter_context(open(out, "w", encoding="utf-8", errors="surrogateescape")) \
            if step > 1 else None
        for statement in _statements(src):
            if statement.startswith("INSERT INTO `"):
                table = statement[13:statement.index("`", 13)]
                seen[table] = seen.get(table, 0) + 1
                if (seen[table] - 1) % step:
                    continue
                rows += statement.count("),(") + statement.count("),\n(") + 1
            if dst:
                dst.write(statement)
    return out, rows


def _statements(lines):
    """Lines grouped so that an INSERT statement (to its closing `;` at a line end) is one string."""
    pending = []
    for line in lines:
        if pending or line.startswith("INSERT INTO `"):
            pending.append(line)
            if line.rstrip("\r\n").endswith(";"):
                yield "".join(pending)
                pending = []
        else:
            yield line
    if pending:
        yield "".join(pending)


def run_dataset(bench, data, ms):
    """Every measurement of one data set, in rounds."""
    runs = bench.scale["runs"]
    dump = os.path.join(bench.work, "%s-dump.sql" % data.name)
    guide_dump = os.path.join(bench.work, "%s-guide-data.sql" % data.name)
    ms["mysqldump"] = Measurement("mysqldump", "mysqldump (context)",
                                  "mariadb-dump --single-transaction --hex-blob --databases")
    ms["bound"] = Measurement("bound", "physical bound (a)",
                              "COPY FREEZE of ready TSV into bare tables, tables in parallel; same keys, "
                              "indexes (parallel), FKs (NOT VALID + VALIDATE), ANALYZE")
    ms["pgloader"] = Measurement("pgloader", "pgloader (d)",
                                 "Debian pgloader, defaults, live MariaDB -> fresh database; "
                                 "credentials in a 0600 load file")
    ms["guide"] = Measurement("guide", "guide's way",
                              "its regex script + psql into an ORM-made schema (keys, FKs), no "
                              "ON_ERROR_STOP, on every%s INSERT statement of the data-only dump, "
                              "times scaled to all rows" % _ordinal(bench.scale["guide_sample_fraction"]))
    if data.has_embeddings:
        ms["guide_loop"] = Measurement(
            "guide_loop", "guide's embedding loop (extrapolated)",
            "its plpgsql json_to_vector_array + UPDATE on %d rows per run (a new slice each run) loaded as "
            "text, time scaled "
            "to all rows" % bench.guide_loop_rows(data))
    bench.ours.declare(data, ms)
    for key, why in data.skip.items():
        if key in ms and ms[key].active:
            ms[key].skipped(why)
    if not shutil.which("pgloader"):
        ms["pgloader"].unavailable("pgloader is not installed")
    if ms["guide"].active:
        bench.guide_dump(data, guide_dump)
    for run in range(runs):
        bench.measure(ms["mysqldump"], run, lambda r: bench.mysqldump(data, dump, r))
        bench.measure(ms["bound"], run, lambda r: bench.bound(data, r))
        bench.ours.measure_all(bench, data, ms, dump, run)
        bench.measure(ms["pgloader"], run, lambda r: bench.pgloader(data, r))
        bench.measure(ms["guide"], run, lambda r: bench.guide(data, guide_dump, r))
        if "guide_loop" in ms:
            bench.measure(ms["guide_loop"], run, lambda r: bench.guide_loop(data, r))
        bench.checkpoint("%s: round %d of %d" % (data.name, run + 1, runs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny scale, one run each (CI smoke test)")
    parser.add_argument("--runs", type=int, help="override the number of runs per measurement")
    parser.add_argument("--only", choices=["employees", "qa"], help="run one data set only")
    parser.add_argument("--results-dir", help="where the JSON and Markdown go (default: bench/results "
                        "for a full run, bench/work/quick/results for --quick: not committed)")
    parser.add_argument("--work-dir", help="scratch space for TSV, dumps, migration dirs "
                        "(default: bench/work/<mode>)")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    lab = Lab(ROOT)
    work = os.path.abspath(args.work_dir or os.path.join(HERE, "work", mode))
    os.makedirs(work, exist_ok=True)
    bench = Bench(mode, lab, work)
    if args.runs:
        bench.scale = dict(bench.scale, runs=args.runs)
    bench.ours.convert_sample = bench.scale["convert_sample"]
    started = time.time()
    result = {"format": 1, "mode": mode,
              "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": lab.machine_facts(), "scale": bench.scale, "datasets": {}}
    bench.log("machine: %s" % json.dumps(result["machine"]))
    datasets = []
    if args.only in (None, "employees"):
        datasets.append(EmployeesData(lab, work, bench.scale["employees"], quick=args.quick))
    if args.only in (None, "qa"):
        datasets.append(qa_dataset(bench, args.quick))
    results_dir = args.results_dir or (os.path.join(work, "results") if args.quick
                                       else os.path.join(HERE, "results"))
    live = {}   # data set -> its measurements dict, while it runs

    def finish(partial_at=None):
        for name, ms in live.items():
            _fill_measurements(result["datasets"][name], ms)
        result["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        result["duration_seconds"] = round(time.time() - started, 1)
        result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        result["partial"] = partial_at
        result["ratios"] = report.ratios(result)
        result["figures"] = report.figures(result)
        return report.write(result, results_dir)

    def checkpoint(where):
        load = [round(x, 2) for x in os.getloadavg()]
        result["machine"].setdefault("load_average_by_round", []).append({"after": where, "load": load})
        finish(partial_at="after " + where)
        bench.log("partial results written (after %s; load average %s)" % (where, load))

    bench.on_checkpoint = checkpoint
    for data in datasets:
        ms = {}
        entry = result["datasets"][data.name] = {"status": "running", "measurements": {}}
        if prepare_one(bench, data, entry):
            live[data.name] = ms
            run_dataset(bench, data, ms)
    paths = finish()
    table = report.markdown(result)
    print(table)
    bench.log("results: %s" % ", ".join(paths))
    problems = report.problems(result)
    for problem in problems:
        bench.log("PROBLEM: " + problem)
    return 1 if problems else 0


def qa_dataset(bench, quick):
    from bench.qa_data import QAData

    module, why = qa_module()
    return QAData(bench.lab, bench.work, module, why, rows=bench.scale["qa_rows"],
                  dims=bench.scale["qa_dims"], quick=quick)


def prepare_one(bench, data, entry):
    """The data set generated and loaded (or reused): True, or its entry says why not."""
    try:
        bench.log("%s: preparing the data set" % data.name)
        data.prepare()
    except Exception as err:  # no data set: every row of it is "not available", with the reason
        entry["status"] = NOT_AVAILABLE
        entry["reason"] = "%s: %s" % (type(err).__name__, str(err)[:1000])
        bench.log("%s: %s" % (data.name, entry["reason"]))
        return False
    entry.update({"status": "ok", "mysql_database": data.mysql_db, "rows": data.rows,
                  "rows_total": data.total_rows(), "prepare_seconds": round(data.prepare_seconds, 1)})
    return True


def _fill_measurements(entry, ms):
    entry["measurements"] = {k: m.as_dict() for k, m in ms.items()}
    dump = entry["measurements"].get("mysqldump") or {}
    if dump.get("runs"):
        entry["dump_bytes"] = dump["runs"][-1]["bytes"]


if __name__ == "__main__":
    sys.exit(main())
