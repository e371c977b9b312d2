"""Every console verb takes the same connection options and hands the engines the same params."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.cli import embeddings as cli_embeddings
from ansible_collections.pgshift.mysql.plugins.module_utils.cli import live_copy as cli_live_copy
from ansible_collections.pgshift.mysql.plugins.module_utils.cli import load as cli_load
from ansible_collections.pgshift.mysql.plugins.module_utils.cli import migrate_dump as cli_migrate_dump
from ansible_collections.pgshift.mysql.plugins.module_utils.cli import sequences as cli_sequences
from ansible_collections.pgshift.mysql.plugins.module_utils.cli import verify as cli_verify
from ansible_collections.pgshift.mysql.plugins.module_utils.cli.common import connection_params

PG_ARGV = ["--pg-host", "db.internal", "--pg-port", "6432", "--pg-database", "app", "--pg-user", "mig",
           "--pg-sslmode", "require", "--pg-service", "target", "--pg-passfile", "/etc/pgshift/pgpass"]
PG_PARAMS = {"pg_host": "db.internal", "pg_port": 6432, "pg_database": "app", "pg_user": "mig",
             "pg_sslmode": "require", "pg_service": "target", "pg_passfile": "/etc/pgshift/pgpass"}
MY_ARGV = ["--mysql-host", "mysql.internal", "--mysql-port", "3307", "--mysql-user", "dump",
           "--mysql-defaults-file", "/etc/pgshift/my.cnf", "--mysql-ssl-ca", "/etc/ssl/ca.pem"]
MY_PARAMS = {"mysql_host": "mysql.internal", "mysql_port": 3307, "mysql_user": "dump",
             "mysql_defaults_file": "/etc/pgshift/my.cnf", "mysql_ssl_ca": "/etc/ssl/ca.pem"}

VERBS = [
    (lambda a: cli_load.build_parser().parse_args(["dir", *a]), False),
    (lambda a: cli_migrate_dump.build_parser().parse_args(["dump.sql", "dir", *a]), False),
    (lambda a: cli_live_copy.build_parser().parse_args(["--databases", "shop", "--dest", "d", *a]), True),
    (lambda a: cli_sequences.build_parser().parse_args(["--schemas", "app", *a]), False),
    (lambda a: cli_verify.build_parser().parse_args(["--src", "d", *a]), True),
    (lambda a: cli_embeddings.parse_args(["--table", "t", "--column", "c", *a]), False),
]


@pytest.mark.parametrize("parse, mysql", VERBS)
def test_same_connection_options_everywhere(parse, mysql):
    args = parse(PG_ARGV + (MY_ARGV if mysql else []))
    assert connection_params(args) == dict(PG_PARAMS, **(MY_PARAMS if mysql else {}))


@pytest.mark.parametrize("parse, _mysql", VERBS)
def test_unset_options_are_left_to_libpq(parse, _mysql):
    """No built-in host or port: PGHOST, the service file or the Unix socket decide, as for psql."""
    assert connection_params(parse([])) == {}


@pytest.mark.parametrize("parse, _mysql", VERBS)
def test_no_password_option(parse, _mysql):
    with pytest.raises(SystemExit):
        parse(["--pg-password", "secret"])


@pytest.mark.parametrize("verb", ["transform", "load", "migrate-dump", "live-copy", "embeddings", "sequences",
                                  "verify"])
def test_every_option_of_every_verb_has_help(verb, capsys):
    import importlib

    module = importlib.import_module("ansible_collections.pgshift.mysql.plugins.module_utils.cli."
                                     + verb.replace("-", "_"))
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])        # document() raises on an option without help text
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--include" in out or verb in ("load", "embeddings", "sequences", "verify")


def test_live_copy_takes_the_old_table_options_with_a_warning(capsys):
    from ansible_collections.pgshift.mysql.plugins.module_utils.cli.common import deprecated_spelling

    new = cli_live_copy.build_parser().parse_args(["--databases", "d", "--dest", "x", "--include", "a", "b"])
    old = cli_live_copy.build_parser().parse_args(
        deprecated_spelling(["--databases", "d", "--dest", "x", "--include-tables", "a", "b"]))
    assert old.include_tables == new.include_tables == ["a", "b"]
    assert "--include-tables is deprecated, use --include" in capsys.readouterr().err
