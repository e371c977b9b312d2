"""`bin/pgshift live-copy`: MySQL databases straight into PostgreSQL (the engine of the live_copy module).

    bin/pgshift live-copy --databases shop --dest /var/lib/pgshift/shop \\
        --mysql-defaults-file ~/.my.cnf --pg-service target --pg-database app \\
        [--jobs N] [--snapshot lock|read_only|none] [--if-exists fail|truncate|drop] [--max-rejects N]
        [--zero-date error|null|LITERAL] [--nul-bytes error|strip] [--schema-map shop=public]
        [--identifier-case preserve|lower] [--include-tables T ...] [--exclude-tables T ...]
        [--embeddings JSON] [--large-value-bytes N] [--no-post-data] [--check] [--progress]

Passwords never go on the command line: MySQL credentials come from an option file
(--mysql-defaults-file), PostgreSQL's from --pg-passfile, --pg-service or libpq's environment.
Progress on stderr (when a TTY, or --progress); the final JSON report on stdout. Exit 0 on success,
1 on a failure the user can act on (message on stderr and in the JSON as "msg").
"""
import argparse

from ..live.copy import live_copy
from ..live.snapshot import MODES
from ..load.loader import IF_EXISTS
from .common import (
    add_connection_arguments,
    connection_params,
    deprecated_spelling,
    document,
    json_argument,
    progress_printer,
    report,
    schema_map,
)


def build_parser():
    p = argparse.ArgumentParser(prog="pgshift live-copy", description=__doc__.split("\n\n")[0])
    p.add_argument("--databases", nargs="+", required=True, help="MySQL databases to copy")
    p.add_argument("--dest", required=True, help="migration dir for manifest, state and rejects")
    add_connection_arguments(p, mysql=True)
    p.add_argument("--jobs", type=int, help="tables copied in parallel (default: CPU count)")
    p.add_argument("--snapshot", choices=MODES, default="lock")
    p.add_argument("--if-exists", choices=IF_EXISTS, default="fail")
    p.add_argument("--max-rejects", type=int, default=0)
    p.add_argument("--zero-date", default="error")
    p.add_argument("--nul-bytes", choices=("error", "strip"), default="error")
    p.add_argument("--invalid-utf8", choices=("error", "replace"), default="error")
    p.add_argument("--schema-mode", choices=("create", "existing"), default="create")
    p.add_argument("--schema-map", nargs="+", metavar="DB=SCHEMA")
    p.add_argument("--identifier-case", choices=("preserve", "lower"), default="preserve")
    p.add_argument("--include", dest="include_tables", action="extend", nargs="+")
    p.add_argument("--exclude", dest="exclude_tables", action="extend", nargs="+")
    p.add_argument("--embeddings", help="JSON list of {table, column, dimensions, type, format, invalid}")
    p.add_argument("--chunk-rows", type=int, help="rows per primary-key range of big tables (0: whole)")
    p.add_argument("--large-value-bytes", type=int,
                   help="rows whose big columns hold more are read raw (default 16384)")
    p.add_argument("--ignore-columns", nargs="+", help="schema_mode existing: MySQL columns not copied")
    p.add_argument("--mysql-client", help="path of the mariadb/mysql client binary")
    p.add_argument("--no-post-data", dest="post_data", action="store_false")
    p.add_argument("--views-on-error", choices=("fail", "warn"), default="fail")
    p.add_argument("--maintenance-work-mem", default="512MB")
    p.add_argument("--check", action="store_true", help="plan and report, write nothing")
    p.add_argument("--progress", action="store_true", help="progress on stderr even if not a TTY")
    return document(p)


def main(argv):
    args = build_parser().parse_args(deprecated_spelling(argv))
    def run():
        embeddings = json_argument("--embeddings", args.embeddings, list) if args.embeddings else None
        return live_copy(
            connection_params(args), databases=args.databases, dest=args.dest, jobs=args.jobs,
            snapshot=args.snapshot, if_exists=args.if_exists, max_rejects=args.max_rejects,
            zero_date=args.zero_date, nul_bytes=args.nul_bytes, invalid_utf8=args.invalid_utf8,
            schema_mode=args.schema_mode, schema_map=schema_map(args.schema_map),
            identifier_case=args.identifier_case, include_tables=args.include_tables,
            exclude_tables=args.exclude_tables, embeddings=embeddings, chunk_rows=args.chunk_rows,
            ignore_columns=args.ignore_columns, large_value_bytes=args.large_value_bytes,
            mysql_client=args.mysql_client, post_data=args.post_data, views_on_error=args.views_on_error,
            maintenance_work_mem=args.maintenance_work_mem, check_mode=args.check,
            progress=progress_printer(args.progress))
    return report("live-copy", run)
