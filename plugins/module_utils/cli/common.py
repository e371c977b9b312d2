"""What the console verbs share: the connection options, progress lines on stderr, and the JSON
report on stdout."""
import json
import sys

from ..errors import MigrationError

PG_OPTIONS = ("host", "port", "database", "user", "sslmode", "service", "passfile")
MYSQL_OPTIONS = ("host", "port", "user", "defaults_file", "ssl_ca")


# Help of the options several verbs share, written once (document() gives it to each parser).
OPTION_HELP = {
    "--pg-host": "PostgreSQL host (unset: libpq's PGHOST, service file or Unix socket)",
    "--pg-port": "PostgreSQL port (unset: libpq's default)",
    "--pg-database": "PostgreSQL database",
    "--pg-user": "PostgreSQL user",
    "--pg-sslmode": "libpq sslmode (disable, prefer, require, verify-ca, verify-full)",
    "--pg-service": "a service of the pg_service.conf file (PGSERVICEFILE)",
    "--pg-passfile": "a .pgpass file (mode 0600) holding the password",
    "--mysql-host": "MySQL host (unset: the option file's)",
    "--mysql-port": "MySQL port (unset: the option file's)",
    "--mysql-user": "MySQL user (unset: the option file's)",
    "--mysql-defaults-file": "a MySQL option file (mode 0600) holding the password",
    "--mysql-ssl-ca": "CA certificate that signed the MySQL server's",
    "src": "the dump (plain, .gz or .zst; - for stdin)",
    "dest": "the migration dir to write",
    "--format": "dir: a migration dir; sql: one psql script",
    "--schema-mode": "create: the tables from MySQL's DDL; existing: fill the tables already in PostgreSQL",
    "--zero-date": "zero dates (0000-00-00): error, null (drops NOT NULL where the default is a zero date),"
                   " -infinity (keeps NOT NULL), or a replacement date such as 1970-01-01",
    "--invalid-utf8": "text that is not UTF-8: error (names table, key, offset) or replace (U+FFFD)",
    "--nul-bytes": "NUL bytes in text: error (names the row) or strip",
    "--identifier-case": "PostgreSQL names: preserve MySQL's spelling, or lower",
    "--schema-map": "MYSQL_DB=PG_SCHEMA (repeatable; default: the same name)",
    "--include": "copy only the tables matching this glob (table or db.table; repeatable)",
    "--exclude": "leave out the tables matching this glob (table or db.table; repeatable)",
    "--strict-types": "fail on a MySQL type no rule maps (default: text, with a warning)",
    "--force": "overwrite a dest that already holds a migration",
    "--progress": "progress lines on stderr even when it is not a TTY",
    "--if-exists": "a target table that already holds rows: fail, truncate, or drop it",
    "--max-rejects": "rows PostgreSQL may refuse per table (to the rejects/ file) before the load fails",
    "--no-post-data": "leave out keys, indexes, foreign keys, triggers and views",
    "--views-on-error": "a view PostgreSQL refuses: fail the run (default, once every view was tried) or"
                        " warn and go on; each refused view is named with its error",
    "--maintenance-work-mem": "maintenance_work_mem of the index builds (e.g. 512MB)",
    "--snapshot": "lock: a short FTWRL for one consistent snapshot; read_only; none",
    "--mode": "counts, checksums (per key-range chunk, both databases) or sample",
    "--sample-percent": "sample mode: percent of the rows compared",
    "--chunk-rows": "rows per key-range chunk",
}
_DEPRECATED = {"--include-tables": "--include", "--exclude-tables": "--exclude"}


def document(parser):
    """Give each option without a help text the shared one; an option with none is a bug."""
    for action in parser._actions:
        names = action.option_strings or [action.dest]
        if not action.help:
            action.help = next((OPTION_HELP[n] for n in names if n in OPTION_HELP), None)
        if not action.help:
            raise AssertionError("console option %s has no help text" % names[0])
    return parser


def deprecated_spelling(argv):
    """argv with the old option names replaced by today's, and a warning on stderr for each."""
    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if name in _DEPRECATED:
            sys.stderr.write("pgshift: %s is deprecated, use %s\n" % (name, _DEPRECATED[name]))
        out.append(_DEPRECATED[name] + sep + value if name in _DEPRECATED else arg)
    return out


def add_connection_arguments(parser, mysql=False):
    """The --pg-* (and with mysql, --mysql-*) options, alike in every verb. Unset ones are left to
    libpq (PGHOST, service file, Unix socket) and to the MySQL option file. Passwords never go on
    the command line: --pg-passfile, --pg-service or libpq's environment; --mysql-defaults-file."""
    for name in PG_OPTIONS:
        option = "--pg-" + name
        parser.add_argument(option, type=int if name == "port" else str, help=OPTION_HELP[option])
    for name in MYSQL_OPTIONS if mysql else ():
        option = "--mysql-" + name.replace("_", "-")
        parser.add_argument(option, type=int if name == "port" else str, help=OPTION_HELP[option])


def connection_params(args):
    """The connection options given on the command line, as the engines take them (pg_*, mysql_*)."""
    names = ["pg_" + n for n in PG_OPTIONS] + ["mysql_" + n for n in MYSQL_OPTIONS]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def schema_map(items):
    """--schema-map DB=SCHEMA (repeated) -> {DB: SCHEMA}."""
    out = {}
    for item in items or []:
        db, sep, schema = item.partition("=")
        if not sep or not db or not schema:
            raise MigrationError("--schema-map wants MYSQL_DB=PG_SCHEMA, got %r" % item)
        out[db] = schema
    return out


def json_argument(option, text, kind=dict):
    """The JSON text of a command-line option, which must hold a `kind` (dict or list)."""
    try:
        value = json.loads(text)
    except ValueError as err:
        raise MigrationError("%s: not valid JSON (%s)" % (option, err)) from None
    if not isinstance(value, kind):
        raise MigrationError("%s: expected a JSON %s, got %s" % (
            option, "object" if kind is dict else "array", type(value).__name__))
    return value


def split_params(params):
    """(mysql_* params, pg_* params)."""
    return ({k: v for k, v in params.items() if k.startswith("mysql_")},
            {k: v for k, v in params.items() if k.startswith("pg_")})


def progress_printer(forced):
    """A callable writing progress lines to stderr when asked (--progress) or on a TTY, else None."""
    if not (forced or sys.stderr.isatty()):
        return None

    def progress(message):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    return progress


def report(verb, run, errors=(MigrationError,)):
    """Run `run()`; print its result as JSON (exit 0) or the error on stderr and as JSON (exit 1)."""
    try:
        result = run()
    except errors as err:
        sys.stderr.write("pgshift %s: %s\n" % (verb, err))
        json.dump({"failed": True, "msg": str(err)}, sys.stdout)
        sys.stdout.write("\n")
        return 1
    json.dump(result, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0
