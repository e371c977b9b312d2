"""The lab's servers as the benchmark sees them: credentials from .lab/ (option files, mode 0600),
psql command lines without secrets, fresh PostgreSQL databases, row counts and machine facts."""
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.parse

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_DIR = os.path.join(ROOT, ".lab")


class Lab:
    def __init__(self, root=ROOT):
        path = os.path.join(root, ".lab", "lab.json")
        if not os.path.exists(path):
            raise SystemExit("the lab is not up: run `make lab-up` (writes .lab/lab.json)")
        with open(path) as f:
            self.facts = json.load(f)
        self.my = self.facts["mysql"]
        self.pg = self.facts["postgresql"]
        self.my_cnf = self.my["defaults_file"]
        self.pg_env = {"PGPASSFILE": self.pg["passfile"]}

    # PostgreSQL -------------------------------------------------------------------------------
    def psql(self, database, *extra):
        """psql argv (password from PGPASSFILE, see pg_env)."""
        return ["psql", "-X", "-q", "-h", self.pg["host"], "-p", str(self.pg["port"]),
                "-U", self.pg["user"], "-d", database, *extra]

    def pg_connect(self, database=None, autocommit=True):
        import psycopg2

        conn = psycopg2.connect(host=self.pg["host"], port=self.pg["port"], user=self.pg["user"],
                                password=self.pg["password"], dbname=database or self.pg["database"],
                                application_name="pgshift-bench")
        conn.autocommit = autocommit
        return conn

    def pg_query(self, database, sql, args=None):
        conn = self.pg_connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def create_pg_database(self, name):
        self.drop_pg_database(name)
        self.pg_query(None, 'CREATE DATABASE "%s"' % name)

    def drop_pg_database(self, name):
        self.pg_query(None, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    def wait_ready(self, seconds=120):
        """True once both servers answer again (after a restart by someone else's test)."""
        import psycopg2

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.pg_query(None, "SELECT 1")
                self.my_query("SELECT 1")
                return True
            except (psycopg2.Error, subprocess.CalledProcessError):
                time.sleep(2)
        return False

    def pg_counts(self, database, schema, tables):
        """{table: rows or None when the table does not exist} in one PostgreSQL schema."""
        out = {}
        for table in tables:
            exists = self.pg_query(database, "SELECT to_regclass(%s)", ('"%s"."%s"' % (schema, table),))
            out[table] = (self.pg_query(database, 'SELECT count(*) FROM "%s"."%s"' % (schema, table))[0][0]
                          if exists[0][0] else None)
        return out

    # MariaDB ----------------------------------------------------------------------------------
    def mariadb(self, *extra):
        return ["mariadb", "--defaults-extra-file=" + self.my_cnf, *extra]

    def my_query(self, sql):
        res = subprocess.run(self.mariadb("-N", "-B", "-e", sql), capture_output=True, text=True,
                             check=True)
        return [line.split("\t") for line in res.stdout.splitlines()]

    @contextlib.contextmanager
    def pgloader_command_file(self, source_db, target_db, options=()):
        """A pgloader load file holding both connection strings, mode 0600 in a private temp dir,
        deleted afterwards: pgloader gets no password on its command line."""
        q = urllib.parse.quote
        tmp = tempfile.mkdtemp(prefix="pgshift-bench-pgloader-")
        path = os.path.join(tmp, "load.pgl")
        text = ("LOAD DATABASE\n  FROM mysql://%s:%s@%s:%d/%s\n  INTO postgresql://%s:%s@%s:%d/%s\n"
                % (q(self.my["user"], safe=""), q(self.my["password"], safe=""), self.my["host"],
                   self.my["port"], source_db, q(self.pg["user"], safe=""),
                   q(self.pg["password"], safe=""), self.pg["host"], self.pg["port"], target_db))
        if options:
            text += "  WITH " + ", ".join(options) + "\n"
        text += ";\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.rmdir(tmp)

    # Facts ------------------------------------------------------------------------------------
    def machine_facts(self):
        def cmd_version(argv):
            try:
                return subprocess.run(argv, check=False, capture_output=True, text=True,
                                      timeout=60).stdout.strip()
            except (OSError, subprocess.SubprocessError) as err:
                return "unavailable: %s" % err
        vec = self.pg_query(None, "SELECT default_version, installed_version FROM pg_available_extensions"
                                  " WHERE name = 'vector'")
        return {
            "nproc": os.cpu_count(),
            "cpu": _cpu_model(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "kernel": platform.release(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "mariadb": self.my_query("SELECT VERSION()")[0][0],
            "postgresql": self.pg_query(None, "SHOW server_version")[0][0],
            "pgvector": vec[0][0] if vec else None,
            "pgloader": cmd_version(["pgloader", "--version"]).splitlines()[0:1],
            "mariadb_dump": cmd_version(["mariadb-dump", "--version"]),
            "python": sys.version.split()[0],
            "git_commit": cmd_version(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        }


def _cpu_model():
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()
