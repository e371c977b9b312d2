"""`pgshift sequences`: set identity/serial sequences to max(AUTO_INCREMENT, max(id) + 1)."""
import argparse
import json
import sys

from ..connections import pg_connect
from ..errors import MigrationError
from ..finish.sequences import reset_sequences
from ..manifest import read_optional_manifest
from .common import add_connection_arguments, connection_params, document


def build_parser():
    parser = argparse.ArgumentParser(prog="pgshift sequences", description=__doc__)
    parser.add_argument("--schemas", required=True, help="comma-separated PostgreSQL schemas")
    parser.add_argument("--src", help="migration dir whose manifest records AUTO_INCREMENT values")
    add_connection_arguments(parser)
    parser.add_argument("--check", action="store_true", help="plan only: print the setval calls")
    parser.add_argument("--allow-decrease", action="store_true",
                        help="also lower sequences that are ahead of the wanted value")
    parser.add_argument("--progress", action="store_true", help="progress on stderr even without a TTY")
    return document(parser)


def main(argv):
    args = build_parser().parse_args(argv)
    params = connection_params(args)
    progress = args.progress or sys.stderr.isatty()
    try:
        manifest = read_optional_manifest(args.src)
        conn = pg_connect(params)
        try:
            result = reset_sequences(conn, [s.strip() for s in args.schemas.split(",") if s.strip()],
                                     manifest, check_mode=args.check, allow_decrease=args.allow_decrease)
        finally:
            conn.close()
    except MigrationError as err:
        sys.stderr.write("pgshift sequences: %s\n" % err)
        return 1
    if progress:
        sys.stderr.write(result["diff"]["after"])
    result.pop("diff")
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
