"""A deterministic, seeded employees-like database at any scale (the shape of MySQL's `employees`
sample: departments, employees, dept_emp, dept_manager, titles, salaries).

    tables = generate(out_dir, employees=310_000, seed=42)   # TSV files + their row counts
    load_mariadb(lab, database, out_dir)                      # LOAD DATA LOCAL INFILE, indexes, FKs

Types covered: int (auto_increment), date, char/varchar (with apostrophes and accented UTF-8),
enum, decimal. The TSV files are both MariaDB's LOAD DATA format and PostgreSQL's COPY text format
(no value needs escaping: no tab, newline or backslash), so the same files feed MariaDB and the
physical bound (COPY into bare PostgreSQL tables). Same seed and scale -> byte-identical files.

About 13.4 rows and 620 bytes of mysqldump output per employee: 310,000 employees (the default)
-> ~4.15M rows, ~190 MB of dump.
"""
import contextlib
import datetime
import hashlib
import json
import os
import random
import subprocess

GENERATOR_VERSION = 3
TABLE_ORDER = ("departments", "employees", "dept_emp", "dept_manager", "titles", "salaries")

DEPARTMENTS = (
    ("d001", "Marketing"), ("d002", "Finance"), ("d003", "Human Resources"), ("d004", "Production"),
    ("d005", "Development"), ("d006", "Quality Management"), ("d007", "Sales"), ("d008", "Research"),
    ("d009", "Customer Service"),
)
FIRST_NAMES = (
    "Georgi", "Bezalel", "Parto", "Chirstian", "Kyoichi", "Anneke", "Tzvetan", "Saniya", "Sumant",
    "Duangkaew", "Mary", "Patricio", "Eberhardt", "Berni", "Guoxiang", "Kazuhito", "Cristinel",
    "Kazuhide", "Lillian", "Mayuko", "Ramzi", "Shahaf", "Bojan", "Suzette", "Prasadram", "Yongqiao",
    "Divier", "Domenick", "Otmar", "Elvis", "Karsten", "Jeong", "Arif", "Bader", "Alain", "Adamantios",
    "Pradeep", "Huan", "Alejandro", "Weiyi", "Uri", "Magy", "Yishay", "Mingsen", "Moss", "Lucien",
    "Zvonko", "Florian", "Basil", "Yinghua", "José", "Zoë", "Françoise", "Björn", "Łukasz", "Ştefan",
    "Mónica", "Jürgen", "Ines", "Noël",
)
LAST_NAMES = (
    "Facello", "Simmel", "Bamford", "Koblick", "Maliniak", "Preusig", "Zielinski", "Kalloufi",
    "Peac", "Piveteau", "Sluis", "Bridgland", "Terkki", "Genin", "Nooteboom", "Cappelletti",
    "Bouloucos", "Peha", "Haddadi", "Warwick", "Erde", "Famili", "Montemayor", "Pettey", "Heyers",
    "Berztiss", "Reistad", "Tempesti", "Herbst", "Demeyer", "Joslin", "Reistad", "Merlo", "Swan",
    "Chappelet", "Portugali", "Lenart", "Stamatiou", "Tramer", "Garigliano", "O'Brien", "D'Angelo",
    "Müller", "Łęcki", "Ångström", "Nuñez", "Dvořák", "O'Neil", "Sánchez", "Gøtze",
)
TITLES = ("Staff", "Senior Staff", "Engineer", "Senior Engineer", "Assistant Engineer",
          "Technique Leader", "Manager")
CURRENT = "9999-01-01"
FIRST_EMP_NO = 10001
DEFAULT_EMPLOYEES = 310_000  # ~4.15M rows, ~190 MB of mysqldump output
EPOCH = datetime.date(1950, 1, 1).toordinal()
DAYS = [datetime.date.fromordinal(EPOCH + i).isoformat() for i in range(80 * 366)]

MYSQL_DDL = """
CREATE TABLE departments (
  dept_no char(4) NOT NULL,
  dept_name varchar(40) NOT NULL,
  PRIMARY KEY (dept_no),
  UNIQUE KEY dept_name (dept_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE employees (
  emp_no int(11) NOT NULL AUTO_INCREMENT,
  birth_date date NOT NULL,
  first_name varchar(14) NOT NULL,
  last_name varchar(16) NOT NULL,
  gender enum('M','F') NOT NULL,
  hire_date date NOT NULL,
  PRIMARY KEY (emp_no),
  KEY idx_employees_last_name (last_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE dept_emp (
  emp_no int(11) NOT NULL,
  dept_no char(4) NOT NULL,
  from_date date NOT NULL,
  to_date date NOT NULL,
  PRIMARY KEY (emp_no, dept_no),
  KEY dept_no (dept_no),
  CONSTRAINT dept_emp_ibfk_1 FOREIGN KEY (emp_no) REFERENCES employees (emp_no) ON DELETE CASCADE,
  CONSTRAINT dept_emp_ibfk_2 FOREIGN KEY (dept_no) REFERENCES departments (dept_no) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE dept_manager (
  emp_no int(11) NOT NULL,
  dept_no char(4) NOT NULL,
  from_date date NOT NULL,
  to_date date NOT NULL,
  PRIMARY KEY (emp_no, dept_no),
  KEY dept_no (dept_no),
  CONSTRAINT dept_manager_ibfk_1 FOREIGN KEY (emp_no) REFERENCES employees (emp_no) ON DELETE CASCADE,
  CONSTRAINT dept_manager_ibfk_2 FOREIGN KEY (dept_no) REFERENCES departments (dept_no) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE titles (
  emp_no int(11) NOT NULL,
  title varchar(50) NOT NULL,
  from_date date NOT NULL,
  to_date date DEFAULT NULL,
  PRIMARY KEY (emp_no, title, from_date),
  CONSTRAINT titles_ibfk_1 FOREIGN KEY (emp_no) REFERENCES employees (emp_no) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE salaries (
  emp_no int(11) NOT NULL,
  salary decimal(10,2) NOT NULL,
  from_date date NOT NULL,
  to_date date NOT NULL,
  PRIMARY KEY (emp_no, from_date),
  CONSTRAINT salaries_ibfk_1 FOREIGN KEY (emp_no) REFERENCES employees (emp_no) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""

# The same schema as PostgreSQL would get it from the transform's default rules: bare tables
# (pre-data), then keys, indexes and FKs (post-data). Used by the physical bound and as the
# "ORM-made" schema of the guide's way.
PG_PRE_DATA = """
CREATE TABLE {s}.departments (dept_no char(4) NOT NULL, dept_name varchar(40) NOT NULL);
CREATE TABLE {s}.employees (emp_no integer NOT NULL GENERATED BY DEFAULT AS IDENTITY,
  birth_date date NOT NULL, first_name varchar(14) NOT NULL, last_name varchar(16) NOT NULL,
  gender text NOT NULL CHECK (gender IN ('M', 'F')), hire_date date NOT NULL);
CREATE TABLE {s}.dept_emp (emp_no integer NOT NULL, dept_no char(4) NOT NULL,
  from_date date NOT NULL, to_date date NOT NULL);
CREATE TABLE {s}.dept_manager (emp_no integer NOT NULL, dept_no char(4) NOT NULL,
  from_date date NOT NULL, to_date date NOT NULL);
CREATE TABLE {s}.titles (emp_no integer NOT NULL, title varchar(50) NOT NULL,
  from_date date NOT NULL, to_date date);
CREATE TABLE {s}.salaries (emp_no integer NOT NULL, salary numeric(10,2) NOT NULL,
  from_date date NOT NULL, to_date date NOT NULL);
"""
PG_INDEXES = (
    "ALTER TABLE {s}.departments ADD PRIMARY KEY (dept_no)",
    "ALTER TABLE {s}.departments ADD CONSTRAINT departments_dept_name_key UNIQUE (dept_name)",
    "ALTER TABLE {s}.employees ADD PRIMARY KEY (emp_no)",
    "CREATE INDEX idx_employees_last_name ON {s}.employees (last_name)",
    "ALTER TABLE {s}.dept_emp ADD PRIMARY KEY (emp_no, dept_no)",
    "CREATE INDEX dept_emp_dept_no ON {s}.dept_emp (dept_no)",
    "ALTER TABLE {s}.dept_manager ADD PRIMARY KEY (emp_no, dept_no)",
    "CREATE INDEX dept_manager_dept_no ON {s}.dept_manager (dept_no)",
    "ALTER TABLE {s}.titles ADD PRIMARY KEY (emp_no, title, from_date)",
    "ALTER TABLE {s}.salaries ADD PRIMARY KEY (emp_no, from_date)",
)
PG_FOREIGN_KEYS = (
    ("dept_emp", "dept_emp_ibfk_1", "(emp_no) REFERENCES {s}.employees (emp_no) ON DELETE CASCADE"),
    ("dept_emp", "dept_emp_ibfk_2", "(dept_no) REFERENCES {s}.departments (dept_no) ON DELETE CASCADE"),
    ("dept_manager", "dept_manager_ibfk_1", "(emp_no) REFERENCES {s}.employees (emp_no) ON DELETE CASCADE"),
    ("dept_manager", "dept_manager_ibfk_2",
     "(dept_no) REFERENCES {s}.departments (dept_no) ON DELETE CASCADE"),
    ("titles", "titles_ibfk_1", "(emp_no) REFERENCES {s}.employees (emp_no) ON DELETE CASCADE"),
    ("salaries", "salaries_ibfk_1", "(emp_no) REFERENCES {s}.employees (emp_no) ON DELETE CASCADE"),
)


def pg_pre_data(schema):
    return "CREATE SCHEMA IF NOT EXISTS %s;\n%s" % (schema, PG_PRE_DATA.format(s=schema))


def pg_index_statements(schema):
    return [sql.format(s=schema) for sql in PG_INDEXES]


def pg_foreign_key_statements(schema):
    """Each FK added NOT VALID then validated (no long lock on the referenced table)."""
    out = []
    for table, name, spec in PG_FOREIGN_KEYS:
        out.append("ALTER TABLE %s.%s ADD CONSTRAINT %s FOREIGN KEY %s NOT VALID"
                   % (schema, table, name, spec.format(s=schema)))
        out.append("ALTER TABLE %s.%s VALIDATE CONSTRAINT %s" % (schema, table, name))
    return out


def fingerprint(employees, seed):
    """Identifies one generated data set: same fingerprint -> same bytes."""
    return "employees-v%d-n%d-s%d" % (GENERATOR_VERSION, employees, seed)


def _day(rng, start_year, span_days):
    return (datetime.date(start_year, 1, 1).toordinal() - EPOCH) + rng.randrange(span_days)


def _employee_rows(rng, emp_no):
    """All rows of one employee, as TSV lines per table."""
    birth = _day(rng, 1952, 13 * 365)
    hire = _day(rng, 1985, 15 * 365)
    out = {"employees": "%d\t%s\t%s\t%s\t%s\t%s\n" % (
        emp_no, DAYS[birth], rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES),
        "M" if rng.random() < 0.6 else "F", DAYS[hire])}
    # Salaries: one per year from hiring; a quarter of the staff has left.
    years = rng.randint(1, 18)
    left = rng.random() < 0.25
    salary = rng.randint(3800000, 8800000)
    parts = []
    day = hire
    for i in range(years):
        nxt = day + 365
        to = DAYS[nxt] if (left or i < years - 1) else CURRENT
        parts.append("%d\t%d.%02d\t%s\t%s\n" % (emp_no, salary // 100, salary % 100, DAYS[day], to))
        salary += rng.randint(0, 400000)
        day = nxt
    out["salaries"] = "".join(parts)
    end = DAYS[day] if left else CURRENT
    # Titles: 1-3 promotions; the last one open-ended (NULL) for some, like a missing end date.
    ntitles = rng.choice((1, 1, 2, 2, 3))
    tstart = hire
    tparts = []
    first = rng.randrange(len(TITLES) - 2)
    for i in range(ntitles):
        last = i == ntitles - 1
        tend = (end if rng.random() < 0.9 else "\\N") if last else DAYS[tstart + 700]
        tparts.append("%d\t%s\t%s\t%s\n" % (emp_no, TITLES[first + i], DAYS[tstart], tend))
        tstart += 700
    out["titles"] = "".join(tparts)
    depts = rng.sample(DEPARTMENTS, 2 if rng.random() < 0.1 else 1)
    if emp_no - FIRST_EMP_NO < len(DEPARTMENTS):  # the first staff: one per department, its manager
        depts = [DEPARTMENTS[emp_no - FIRST_EMP_NO]]
    out["dept_emp"] = "".join("%d\t%s\t%s\t%s\n" % (emp_no, d[0], DAYS[hire], end) for d in depts)
    out["dept_manager"] = ""
    if emp_no - FIRST_EMP_NO < len(DEPARTMENTS) or rng.random() < 0.001:  # every department managed
        d = depts[0][0]
        out["dept_manager"] = "%d\t%s\t%s\t%s\n" % (emp_no, d, DAYS[hire], end)
    return out


def generate(out_dir, employees=DEFAULT_EMPLOYEES, seed=42):
    """Write <table>.tsv files for `employees` employees; returns {table: rows}. Reuses files
    already generated with the same fingerprint (stamp file)."""
    os.makedirs(out_dir, exist_ok=True)
    stamp = os.path.join(out_dir, "stamp.json")
    fp = fingerprint(employees, seed)
    if os.path.exists(stamp):
        with open(stamp) as f:
            meta = json.load(f)
        if meta.get("fingerprint") == fp and all(
                os.path.exists(os.path.join(out_dir, t + ".tsv")) for t in TABLE_ORDER):
            return meta["rows"]
        os.unlink(stamp)
    rng = random.Random(seed)
    rows = dict.fromkeys(TABLE_ORDER, 0)
    with contextlib.ExitStack() as stack:
        files = {t: stack.enter_context(open(os.path.join(out_dir, t + ".tsv"), "w", encoding="utf-8",
                                             newline="\n"))
                 for t in TABLE_ORDER}
        for code, name in DEPARTMENTS:
            files["departments"].write("%s\t%s\n" % (code, name))
        rows["departments"] = len(DEPARTMENTS)
        buffers = {t: [] for t in TABLE_ORDER}
        for emp_no in range(FIRST_EMP_NO, FIRST_EMP_NO + employees):
            for table, text in _employee_rows(rng, emp_no).items():
                if text:
                    buffers[table].append(text)
                    rows[table] += text.count("\n")
            if emp_no % 5000 == 0:
                _flush(buffers, files)
        _flush(buffers, files)
    with open(stamp + ".tmp", "w") as f:
        json.dump({"fingerprint": fp, "rows": rows, "sha256": _digest(out_dir)}, f, indent=1)
    os.replace(stamp + ".tmp", stamp)
    return rows


def _flush(buffers, files):
    for table, parts in buffers.items():
        if parts:
            files[table].write("".join(parts))
            parts.clear()


def _digest(out_dir):
    """sha256 of every TSV file (determinism checks)."""
    out = {}
    for table in TABLE_ORDER:
        h = hashlib.sha256()
        with open(os.path.join(out_dir, table + ".tsv"), "rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                h.update(block)
        out[table] = h.hexdigest()
    return out


META_DB = "pgshift_bench_meta"


def mariadb_has(defaults_file, database, fp):
    """True when `database` was filled completely with this data set (its fingerprint is recorded in
    pgshift_bench_meta.datasets, outside the dumped database, once the load has finished)."""
    sql = ("SELECT fingerprint FROM %s.datasets WHERE name = '%s' AND "
           "EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '%s')"
           % (META_DB, database, database))
    res = subprocess.run(["mariadb", "--defaults-extra-file=" + defaults_file, "-N", "-B", "-e", sql],
                         check=False, capture_output=True, text=True)
    return res.returncode == 0 and res.stdout.strip() == fp


def forget_fingerprint_sql(database):
    """SQL run first when (re)loading `database`: it no longer holds a known data set."""
    return ("CREATE DATABASE IF NOT EXISTS %s; CREATE TABLE IF NOT EXISTS %s.datasets "
            "(name varchar(64) PRIMARY KEY, fingerprint varchar(200) NOT NULL); "
            "DELETE FROM %s.datasets WHERE name = '%s';" % (META_DB, META_DB, META_DB, database))


def record_fingerprint_sql(database, fp):
    """SQL run last, after a complete load: `database` holds data set `fp`."""
    return "REPLACE INTO %s.datasets VALUES ('%s', '%s');" % (META_DB, database, fp)


def load_mariadb(defaults_file, database, tsv_dir, fp):
    """(Re)create `database` in MariaDB and fill it from the TSV files with LOAD DATA LOCAL INFILE
    (the fast path: no per-row INSERT). The fingerprint is recorded last, so an interrupted load is
    never mistaken for a finished one."""
    script = [forget_fingerprint_sql(database),
              "DROP DATABASE IF EXISTS `%s`;" % database,
              "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;" % database,
              "USE `%s`;" % database,
              "SET foreign_key_checks = 0, unique_checks = 0;", MYSQL_DDL]
    for table in TABLE_ORDER:
        path = os.path.abspath(os.path.join(tsv_dir, table + ".tsv")).replace("'", "''")
        script.append("LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` CHARACTER SET utf8mb4 "
                      "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n';"
                      % (path, table))
    # As when rows were deleted at the end of the table: AUTO_INCREMENT is past max(id) + 1.
    script.append("SET @next = (SELECT MAX(emp_no) + 11 FROM employees);")
    script.append("SET @s = CONCAT('ALTER TABLE employees AUTO_INCREMENT = ', @next);")
    script.append("PREPARE st FROM @s; EXECUTE st; DEALLOCATE PREPARE st;")
    script.append(record_fingerprint_sql(database, fp))
    subprocess.run(["mariadb", "--defaults-extra-file=" + defaults_file, "--local-infile=1",
                    "--batch"], input="\n".join(script), text=True, check=True,
                   capture_output=True)
