"""`bin/pgshift load`: a migration dir into PostgreSQL (the engine of the pg_load module).

    bin/pgshift load DIR --pg-service pgshift_lab --pg-database app [--jobs N] [--if-exists truncate]
                         [--max-rejects N] [--tables s.t ...] [--no-post-data] [--check] [--progress]

The password never goes on the command line: use --pg-passfile, --pg-service, or libpq's environment
(PGPASSFILE, PGSERVICEFILE, PGPASSWORD). Progress on stderr (when a TTY, or --progress); the final JSON
report on stdout. Exit 0 on success, 1 on a failure the user can act on (message on stderr and in the
JSON as "msg").
"""
import argparse

from ..load.loader import IF_EXISTS, load
from .common import add_connection_arguments, connection_params, document, progress_printer, report


def build_parser():
    parser = argparse.ArgumentParser(prog="pgshift load", description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="the migration dir (manifest.json, pre-data.sql, data/, post-data.sql)")
    add_connection_arguments(parser)
    parser.add_argument("--jobs", type=int, help="tables loaded in parallel (default: CPU count)")
    parser.add_argument("--if-exists", choices=IF_EXISTS, default="fail")
    parser.add_argument("--max-rejects", type=int, default=0,
                        help="rows PostgreSQL may refuse per table before the load fails (default 0)")
    parser.add_argument("--tables", nargs="+", help="load only these (schema.table or table)")
    parser.add_argument("--no-post-data", dest="post_data", action="store_false",
                        help="skip keys, indexes, FKs, triggers, comments and views")
    parser.add_argument("--maintenance-work-mem", default="512MB")
    parser.add_argument("--views-on-error", choices=("fail", "warn"), default="fail")
    parser.add_argument("--check", action="store_true", help="validate and report the plan, write nothing")
    parser.add_argument("--progress", action="store_true", help="progress on stderr even if not a TTY")
    return document(parser)


def main(argv):
    args = build_parser().parse_args(argv)
    return report("load", lambda: load(
        connection_params(args), args.src, jobs=args.jobs, if_exists=args.if_exists,
        max_rejects=args.max_rejects, tables=args.tables, post_data=args.post_data,
        views_on_error=args.views_on_error,
        maintenance_work_mem=args.maintenance_work_mem, check_mode=args.check,
        progress=progress_printer(args.progress)))
