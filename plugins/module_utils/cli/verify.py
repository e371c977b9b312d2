"""`pgshift verify`: row counts and per-chunk content checksums, MySQL against PostgreSQL."""
import argparse
import json
import sys

from ..errors import MigrationError
from ..manifest import read_optional_manifest
from ..verify.verify import failure_message, verify, write_report
from .common import add_connection_arguments, connection_params, document, split_params


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
    add_connection_arguments(parser, mysql=True)
    parser.add_argument("--progress", action="store_true", help="progress on stderr even without a TTY")
    return document(parser)


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
    mysql_params, pg_params = split_params(connection_params(args))
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    try:
        manifest = read_optional_manifest(args.src)
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
