"""The data sets the benchmark runs on, behind one small interface the harness drives.

Each data set knows its MariaDB database, its tables (load order), expected row counts, and the
PostgreSQL DDL of the physical bound (bare tables, then the same keys, indexes and FKs), and has
TSV files ready for that bound (PostgreSQL COPY text).
"""
import importlib
import os
import time

from .datasets import employees


class EmployeesData:
    name = "employees"
    has_embeddings = False
    skip = {}

    def __init__(self, lab, work, employees_count, seed=42, quick=False):
        self.lab = lab
        self.work = work
        self.count = employees_count
        self.seed = seed
        self.mysql_db = "pgshift_bench%s_employees" % ("q" if quick else "")
        self.schema = self.mysql_db     # our default schema_map: MySQL database -> same-named schema
        self.tables = list(employees.TABLE_ORDER)
        self.tsv_dir = os.path.join(work, "employees-tsv")
        self.rows = None
        self.prepare_seconds = None

    def prepare(self):
        """Generate the TSV files and (re)load MariaDB unless both already hold this data set."""
        started = time.perf_counter()
        self.rows = employees.generate(self.tsv_dir, self.count, self.seed)
        fp = self.fingerprint()
        if not employees.mariadb_has(self.lab.my_cnf, self.mysql_db, fp):
            employees.load_mariadb(self.lab.my_cnf, self.mysql_db, self.tsv_dir, fp)
        self.prepare_seconds = time.perf_counter() - started

    def fingerprint(self):
        """Generator version, scale and seed: the same fingerprint means the same data."""
        return employees.fingerprint(self.count, self.seed)

    def tsv_path(self, table):
        return os.path.join(self.tsv_dir, table + ".tsv")

    def tsv_bytes(self, table):
        return os.path.getsize(self.tsv_path(table))

    def create_schema_sql(self, schema):
        return "CREATE SCHEMA IF NOT EXISTS %s;" % schema

    def create_table_sql(self, schema):
        """{table: CREATE TABLE statement} for bare tables."""
        out = {}
        for raw in employees.PG_PRE_DATA.format(s=schema).split(";"):
            stmt = raw.strip()
            if stmt:
                table = stmt.split()[2].split(".")[1]
                out[table] = stmt + ";"
        return out

    def index_statements(self, schema):
        return employees.pg_index_statements(schema)

    def fk_statements(self, schema):
        return employees.pg_foreign_key_statements(schema)

    def extra_post_statements(self, schema):
        return []

    def total_rows(self):
        return sum(self.rows.values())


def qa_module():
    """bench/datasets/qa.py (the guide-shaped content/content_embedding generator), or None with why."""
    try:
        return importlib.import_module("bench.datasets.qa"), None
    except ImportError as err:
        return None, "bench/datasets/qa.py not available (%s)" % err
