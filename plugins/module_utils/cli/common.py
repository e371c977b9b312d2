"""What the console verbs share: the connection options, progress lines on stderr, and the JSON
report on stdout."""
import json
import sys

from ..errors import MigrationError

PG_OPTIONS = ("host", "port", "database", "user", "sslmode", "service", "passfile")
MYSQL_OPTIONS = ("host", "port", "user", "defaults_file", "ssl_ca")


def add_connection_arguments(parser, mysql=False):
    """The --pg-* (and with mysql, --mysql-*) options, alike in every verb. Unset ones are left to
    libpq (PGHOST, service file, Unix socket) and to the MySQL option file. Passwords never go on
    the command line: --pg-passfile, --pg-service or libpq's environment; --mysql-defaults-file."""
    helps = {"pg_passfile": "a .pgpass file (mode 0600) holding the password",
             "mysql_defaults_file": "a MySQL option file (mode 0600) holding the password"}
    for name in PG_OPTIONS:
        parser.add_argument("--pg-" + name, type=int if name == "port" else str, help=helps.get("pg_" + name))
    for name in MYSQL_OPTIONS if mysql else ():
        parser.add_argument("--mysql-" + name.replace("_", "-"), type=int if name == "port" else str,
                            help=helps.get("mysql_" + name))


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
