"""Reproducible speed check of `pgshift verify --mode checksums` against mariadb-dump of the same table.

    .venv/bin/python tests/integration/verify_speed.py [--rows 4000000] [--jobs 1] [--keep NAME] [--drop]

Generates one table of --rows rows (int key, int, decimal, varchar, date, datetime, double) identically
in the lab's MariaDB (Sequence engine) and PostgreSQL (generate_series), times mariadb-dump of it
(to a file, like the benchmark) and then `bin/pgshift verify` on it, and prints one JSON line: both
wall times, their ratio, the load average, and the CPU seconds the servers spent for each step
(mariadbd threads serving our connections, from /proc/<mariadbd>/task/<tid>/stat via PROCESSLIST.TID;
PostgreSQL backends of the database, from /proc/<pid>/stat). Not collected by pytest (no test_ prefix).
--keep NAME reuses (or creates and keeps) the databases NAME on both sides, so runs before and after
a change measure the same data; --drop drops them at the end.
"""
import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.pgshift.mysql.plugins.module_utils.connections import mysql_connect, pg_connect  # noqa: E402

with open(os.path.join(ROOT, ".lab", "lab.json"), encoding="utf-8") as _f:
    LAB = json.load(_f)
MY = {"mysql_defaults_file": LAB["mysql"]["defaults_file"]}
PG = {"pg_host": LAB["postgresql"]["host"], "pg_port": LAB["postgresql"]["port"],
      "pg_user": LAB["postgresql"]["user"], "pg_passfile": LAB["postgresql"]["passfile"]}
TICK = os.sysconf("SC_CLK_TCK")

MY_DDL = ("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, n INT NOT NULL, amount DECIMAL(10,2), "
          "name VARCHAR(40) NOT NULL, d DATE, ts DATETIME, score DOUBLE)")
MY_FILL = ("INSERT INTO t SELECT seq, (seq * 7919) %% 1000003, CAST((seq %% 100000) / 100 AS DECIMAL(10,2)), "
           "CONCAT('name-', seq, '-', seq %% 97), DATE '2000-01-01' + INTERVAL (seq %% 9000) DAY, "
           "TIMESTAMP '2001-01-01 00:00:00' + INTERVAL (seq * 37) SECOND, seq / 7e0 * 1.37e0 "
           "FROM seq_%d_to_%d")
PG_DDL = ("CREATE TABLE public.t (id integer NOT NULL, n integer NOT NULL, amount numeric(10,2), "
          "name varchar(40) NOT NULL, d date, ts timestamp, score double precision)")
PG_FILL = ("INSERT INTO public.t SELECT s, (s::bigint * 7919) %% 1000003, "
           "((s %% 100000) / 100.0)::numeric(10,2), "
           "'name-' || s || '-' || (s %% 97), date '2000-01-01' + (s %% 9000), "
           "timestamp '2001-01-01' + (s::bigint * 37) * interval '1 second', s / 7::float8 * 1.37::float8 "
           "FROM generate_series(%d, %d) s")
COLUMNS = [("id", "int(11)", "integer"), ("n", "int(11)", "integer"),
           ("amount", "decimal(10,2)", "numeric(10,2)"),
           ("name", "varchar(40)", "character varying(40)"), ("d", "date", "date"),
           ("ts", "datetime", "timestamp without time zone"), ("score", "double", "double precision")]


def mariadbd_pid():
    return int(subprocess.check_output(["pgrep", "-x", "mariadbd"]).split()[0])


def cpu_seconds(path):
    with open(path, encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuMonitor:
    """Samples the CPU time of the server threads/processes serving database `db`."""

    def __init__(self, db, pg_db=None):
        self.db = db
        self.pg_db = pg_db or db
        self.my_pid = mariadbd_pid()
        self.my_first, self.my_last, self.pg_last = {}, {}, {}
        self._stop = threading.Event()
        self.my_conn = mysql_connect(MY)
        self.pg_conn = pg_connect(PG, "postgres", autocommit=True)
        self.proc_before = cpu_seconds("/proc/%d/stat" % self.my_pid)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        with self.my_conn.cursor() as cur:
            cur.execute("SELECT TID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
                        "AND (DB = %s OR INFO LIKE %s)", (self.db, "%%`%s`%%" % self.db))
            tids = [r[0] for r in cur.fetchall()]
        for tid in tids:
            try:
                value = cpu_seconds("/proc/%d/task/%d/stat" % (self.my_pid, tid))
            except OSError:
                continue
            self.my_first.setdefault(tid, value)
            self.my_last[tid] = value
        with self.pg_conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        (self.pg_db,))
            for (pid,) in cur.fetchall():
                with contextlib.suppress(OSError):
                    self.pg_last[pid] = cpu_seconds("/proc/%d/stat" % pid)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()
        self.my_conn.close()
        self.pg_conn.close()

    def figures(self):
        threads = sum(self.my_last[t] - self.my_first[t] for t in self.my_last)
        process = cpu_seconds("/proc/%d/stat" % self.my_pid) - self.proc_before
        return {"mariadbd_threads_cpu_s": round(threads, 2), "mariadbd_process_cpu_s": round(process, 2),
                "postgres_backends_cpu_s": round(sum(self.pg_last.values()), 2)}


def create(name, rows):
    my = mysql_connect(MY)
    with my.cursor() as cur:
        cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
        cur.execute("USE `%s`" % name)
        cur.execute(MY_DDL)
        for lo in range(1, rows + 1, 500000):
            cur.execute(MY_FILL % (lo, min(rows, lo + 499999)))
    my.close()
    admin = pg_connect(PG, "postgres", autocommit=True)
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    admin.close()
    pg = pg_connect(PG, name, autocommit=True)
    with pg.cursor() as cur:
        cur.execute(PG_DDL)
        cur.execute(PG_FILL % (1, rows))
        cur.execute("ALTER TABLE public.t ADD PRIMARY KEY (id)")
        cur.execute("VACUUM ANALYZE public.t")
    pg.close()


def exists(name):
    my = mysql_connect(MY)
    with my.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        found = cur.fetchone()[0] > 0
    my.close()
    return found


def drop(name):
    my = mysql_connect(MY)
    with my.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
    my.close()
    admin = pg_connect(PG, "postgres", autocommit=True)
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    admin.close()


def manifest(name):
    cols = [{"name": n, "source_name": n, "source_type": t, "pg_type": p, "nullable": True, "identity": False,
             "default": None, "embedding": None} for n, t, p in COLUMNS]
    return {"format": 1, "complete": True, "source": {"kind": "live", "server_version": "10.11"},
            "options": {"zero_date": "error"}, "schemas": ["public"],
            "tables": [{"schema": "public", "name": "t", "source_schema": name, "source_name": "t",
                        "columns": cols, "primary_key": ["id"], "auto_increment": None}]}


def timed(name, argv, pg_db=None, **kw):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with CpuMonitor(name, pg_db) as mon:
        started = time.monotonic()
        proc = subprocess.run(argv, check=False, **kw)
        seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = mon.figures()
    figures["client_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    return proc, round(seconds, 2), figures


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--keep", help="database name to reuse/keep on both sides")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument("--verify-args", default="", help="extra arguments for pgshift verify")
    parser.add_argument("--existing", nargs=3, metavar=("MYSQL_DB", "MIGRATION_DIR", "PG_DB"),
                        help="measure data migrated already (e.g. the benchmark's employees) instead")
    parser.add_argument("--skip-dump", action="store_true", help="time verify only")
    args = parser.parse_args(argv)
    if args.existing:
        return measure(args, args.existing[0], args.existing[1], args.existing[2])
    name = args.keep or "t_vspeed_%s" % uuid.uuid4().hex[:8]
    if not exists(name):
        started = time.monotonic()
        create(name, args.rows)
        sys.stderr.write("generated %d rows in %.1f s\n" % (args.rows, time.monotonic() - started))
    work = tempfile.mkdtemp(prefix="vspeed-")
    try:
        with open(os.path.join(work, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest(name), f)
        measure(args, name, work, name)
    finally:
        subprocess.run(["rm", "-rf", work], check=False)
        if args.drop or not args.keep:
            drop(name)
    return 0


def measure(args, my_db, src, pg_db):
    """Time mariadb-dump of my_db, then pgshift verify of the migration dir src against pg_db."""
    load_before = os.getloadavg()
    dump_s, dump_cpu = None, None
    if not args.skip_dump:
        with tempfile.TemporaryFile() as out:
            dump = ["mariadb-dump", "--defaults-extra-file=" + MY["mysql_defaults_file"],
                    "--single-transaction", "--hex-blob", my_db]
            proc, dump_s, dump_cpu = timed(my_db, dump, pg_db, stdout=out)
        assert proc.returncode == 0
    proc, verify_s, verify_cpu = timed(
        my_db, [sys.executable, os.path.join(ROOT, "bin", "pgshift"), "verify", "--src", src, "--mode",
                "checksums", "--jobs", str(args.jobs), "--mysql-defaults-file", MY["mysql_defaults_file"],
                "--pg-host", PG["pg_host"], "--pg-port", str(PG["pg_port"]),
                "--pg-database", pg_db, "--pg-user", PG["pg_user"], "--pg-passfile", PG["pg_passfile"],
                *args.verify_args.split()], pg_db, capture_output=True, text=True)
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    print(json.dumps({"rows": report.get("rows"), "jobs": args.jobs, "verify_ok": report.get("ok"),
                      "dump_s": dump_s, "verify_s": verify_s,
                      "ratio": round(verify_s / dump_s, 2) if dump_s else None,
                      "loadavg_before": [round(x, 2) for x in load_before],
                      "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                      "dump_cpu": dump_cpu, "verify_cpu": verify_cpu,
                      "verify_stderr": proc.stderr[-300:] if proc.returncode else ""}))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
