"""Connections to both engines, from the shared option names of docs/contracts.md.

    pg = pg_connect(params)                  # psycopg2 connection (autocommit off)
    my = mysql_connect(params, database=db)  # PyMySQL connection (autocommit on, utf8mb4)
    with mysql_option_file(params) as path:  # a 0600 option file for the mysql/mariadb binaries
        subprocess.run(["mariadb", "--defaults-extra-file=" + path, ...])

Passwords never reach a command line or an error message.
"""
import configparser
import contextlib
import os
import tempfile

from .errors import ConnectionFailed

# Aliases: the community.postgresql names (login_host, login_user, ...), so that one
# module_defaults block can serve both collections.
PG_ARGUMENT_SPEC = {
    "pg_host": {"type": "str", "default": "127.0.0.1", "aliases": ["login_host"]},
    "pg_port": {"type": "int", "default": 5432, "aliases": ["login_port"]},
    "pg_database": {"type": "str", "aliases": ["login_db"]},
    "pg_user": {"type": "str", "aliases": ["login_user"]},
    "pg_password": {"type": "str", "no_log": True, "aliases": ["login_password"]},
    "pg_sslmode": {"type": "str", "default": "prefer", "aliases": ["ssl_mode"],
                   "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "pg_sslrootcert": {"type": "path", "aliases": ["ca_cert"]},
    "pg_service": {"type": "str"},
    "pg_passfile": {"type": "path"},
}

MYSQL_ARGUMENT_SPEC = {
    "mysql_host": {"type": "str", "default": "127.0.0.1"},
    "mysql_port": {"type": "int", "default": 3306},
    "mysql_user": {"type": "str"},
    "mysql_password": {"type": "str", "no_log": True},
    "mysql_defaults_file": {"type": "path"},
    "mysql_ssl_ca": {"type": "path"},
}


def pg_dsn_kwargs(params, database=None):
    """psycopg2.connect keyword arguments from pg_* options (service/passfile honoured by libpq)."""
    kwargs = {}
    if params.get("pg_service"):
        kwargs["service"] = params["pg_service"]
    for opt, key in (("pg_host", "host"), ("pg_port", "port"), ("pg_user", "user"),
                     ("pg_password", "password"), ("pg_sslmode", "sslmode"),
                     ("pg_passfile", "passfile"), ("pg_sslrootcert", "sslrootcert")):
        if params.get(opt) not in (None, ""):
            kwargs[key] = params[opt]
    dbname = database or params.get("pg_database")
    if dbname:
        kwargs["dbname"] = dbname
    kwargs.setdefault("application_name", "pgshift")
    return kwargs


def describe_pg(params, database=None):
    """host:port/db for messages (no secrets)."""
    kw = pg_dsn_kwargs(params, database)
    return "%s:%s/%s" % (kw.get("host", "(service)"), kw.get("port", ""), kw.get("dbname", ""))


def _driver(name, package):
    """Import a database driver, or fail with a message that says what to install."""
    try:
        return __import__(name)
    except ImportError:
        raise ConnectionFailed("the Python package %s is missing on this host: install it "
                               "(pip install %s) or use the project's .venv" % (package, package)) from None


def one_line(err):
    """A driver's message on one line (libpq adds a tab-indented hint line: 'Is the server running')."""
    return "; ".join(line.strip() for line in str(err).strip().splitlines() if line.strip())


def pg_connect(params, database=None, autocommit=False):
    psycopg2 = _driver("psycopg2", "psycopg2-binary")

    try:
        conn = psycopg2.connect(**pg_dsn_kwargs(params, database))
    except psycopg2.OperationalError as err:
        raise ConnectionFailed("cannot connect to PostgreSQL %s: %s"
                               % (describe_pg(params, database), one_line(err))) from None
    conn.autocommit = autocommit
    return conn


def _mysql_file_options(path):
    """[client] options of a MySQL option file (host, port, user, password, ssl-ca...)."""
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=False)
    try:
        with open(path) as f:
            parser.read_string(f.read())
    except (OSError, UnicodeDecodeError, configparser.Error) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err).splitlines()[0]
        raise ConnectionFailed("MySQL option file %s (mysql_defaults_file / --mysql-defaults-file): cannot "
                               "read it: %s" % (path, reason)) from None
    opts = {}
    for section in ("client", "mysql", "mariadb-client", "mysqldump"):
        if parser.has_section(section):
            for key, value in parser.items(section):
                opts.setdefault(key.replace("_", "-"), (value or "").strip().strip('"').strip("'"))
    return opts


def mysql_settings(params):
    """Effective host/port/user/password/ssl_ca: explicit options win over the option file."""
    fileopts = _mysql_file_options(params["mysql_defaults_file"]) if params.get("mysql_defaults_file") else {}
    port = params.get("mysql_port") or fileopts.get("port") or 3306
    return {
        "host": params.get("mysql_host") or fileopts.get("host") or "127.0.0.1",
        "port": int(port),
        "user": params.get("mysql_user") or fileopts.get("user"),
        "password": params.get("mysql_password") if params.get("mysql_password") is not None
        else fileopts.get("password"),
        "ssl_ca": params.get("mysql_ssl_ca") or fileopts.get("ssl-ca"),
    }


def describe_mysql(params, database=None):
    s = mysql_settings(params)
    return "%s@%s:%s%s" % (s["user"], s["host"], s["port"], "/" + database if database else "")


def mysql_connect(params, database=None, **kwargs):
    pymysql = _driver("pymysql", "PyMySQL")

    s = mysql_settings(params)
    connect_kwargs = {"host": s["host"], "port": s["port"], "user": s["user"],
                      "password": s["password"] or "", "database": database, "charset": "utf8mb4",
                      "autocommit": True}
    if s["ssl_ca"]:
        connect_kwargs["ssl"] = {"ca": s["ssl_ca"]}
    connect_kwargs.update(kwargs)
    try:
        return pymysql.connect(**connect_kwargs)
    except pymysql.err.OperationalError as err:
        raise ConnectionFailed("cannot connect to MySQL %s: %s"
                               % (describe_mysql(params, database), one_line(err.args[-1]))) from None


@contextlib.contextmanager
def mysql_option_file(params, database=None):
    """A temporary [client] option file (mode 0600) for mysql/mariadb/mysqldump binaries."""
    s = mysql_settings(params)
    fd, path = tempfile.mkstemp(prefix="pgshift-my-", suffix=".cnf")
    try:
        os.fchmod(fd, 0o600)
        lines = ["[client]", "host=%s" % s["host"], "port=%d" % s["port"]]
        if s["user"]:
            lines.append("user=%s" % s["user"])
        if s["password"] is not None:
            lines.append('password="%s"' % s["password"].replace("\\", "\\\\").replace('"', '\\"'))
        if s["ssl_ca"]:
            lines.append("ssl-ca=%s" % s["ssl_ca"])
        if database:
            lines.append("database=%s" % database)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
