"""`pgshift verify`: row counts and per-chunk content checksums, MySQL against PostgreSQL."""
import argparse
import json
import sys

from .errors import MigrationError
from .sequences import load_manifest
from .verify import failure_message, verify, write_report


def build_parser():
    parser = argparse.ArgumentParser(prog="pgshift verify", description=__doc__)
    parser.add_argument("--src", required=True, help="migration dir (its manifest maps tables and columns)")
    parser.add_argument("--mode", choices=("counts", "checksums", "sample"), default="checksums")
    parser.add_argument("--sample-percent", type=float, default=10.0)
    parser.add_argument("--chunk-rows", type=int, default=10000)
    parser.add_argument("--tables", help="comma-separated schema.table (or table) names; default: all")
    parser.add_argument("--max-diffs", type=int, default=10, help="differing rows reported per table")
    parser.add_argument("--jobs", type=int, default=1, help="concurrent queries per engine")
    parser.add_argument("--report-path", help="write the JSON report here too")
    parser.add_argument("--mysql-host")
    parser.add_argument("--mysql-port", type=int)
    parser.add_argument("--mysql-user")
    parser.add_argument("--mysql-defaults-file", help="option file holding the password")
    parser.add_argument("--mysql-ssl-ca")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-database")
    parser.add_argument("--pg-user")
    parser.add_argument("--pg-service")
    parser.add_argument("--pg-passfile", help="a .pgpass file; passwords are never taken on the command line")
    parser.add_argument("--pg-sslmode", default="prefer")
    parser.add_argument("--progress", action="store_true", help="progress on stderr even without a TTY")
    return parser


def _progress_printer(enabled):
    def show(event):
        if not enabled:
            return
        if event.get("done"):
            sys.stderr.write("\r%s: %s\n" % (event["table"], event["status"]))
        else:
            sys.stderr.write("\r%s: chunk %d/%d" % (event["table"], event["chunks_done"], event["chunks"]))
        sys.stderr.flush()
    return show


def main(argv):
    args = build_parser().parse_args(argv)
    params = vars(args)
    mysql_params = {k: v for k, v in params.items() if k.startswith("mysql_")}
    pg_params = {k: v for k, v in params.items() if k.startswith("pg_")}
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    try:
        manifest = load_manifest(args.src)
        report = verify(mysql_params, pg_params, manifest, mode=args.mode, chunk_rows=args.chunk_rows,
                        sample_percent=args.sample_percent, tables=tables, max_diffs=args.max_diffs,
                        jobs=args.jobs, progress=_progress_printer(args.progress or sys.stderr.isatty()))
        if args.report_path:
            report["report_path"] = write_report(report, args.report_path)
    except MigrationError as err:
        sys.stderr.write("pgshift verify: %s\n" % err)
        return 1
    json.dump(report, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
    if not report["ok"]:
        sys.stderr.write(failure_message(report) + "\n")
        return 1
    return 0
