"""`bin/pgshift migrate-dump`: a mysqldump file straight into PostgreSQL, transform and load overlapping.

    bin/pgshift migrate-dump DUMP DIR --pg-service pgshift_lab --pg-database app [--jobs N]
                             [--load-jobs N] [--if-exists truncate] [--max-rejects N] [--no-post-data]
                             [transform options as for `pgshift transform`] [--check] [--progress]

Each table is loaded (CREATE + COPY FREEZE + resume record, one transaction) as soon as the transform
has written its last row, while the next tables are converted; keys, indexes and FKs at the end. DIR
ends as the same migration dir `pgshift transform` writes. A rerun after a failure or a kill skips
tables already loaded from the same dump with the same options. The password never goes on the
command line (--pg-passfile, --pg-service or libpq's environment). Progress on stderr (TTY or
--progress); the final JSON report on stdout; exit 1 on a failure (message on stderr and as "msg").
"""

from ..dump.pipeline import migrate_dump
from ..load.loader import IF_EXISTS
from .common import add_connection_arguments, connection_params, document, progress_printer, report
from .transform import _parser as transform_parser
from .transform import options_from_args, options_json


def build_parser():
    parser = transform_parser()
    parser.prog = "pgshift migrate-dump"
    parser.description = __doc__.split("\n\n")[0]
    add_connection_arguments(parser)
    parser.add_argument("--load-jobs", type=int, default=1,
                        help="tables loaded at once (default 1: the transform keeps the other core busy)")
    parser.add_argument("--if-exists", choices=IF_EXISTS, default="fail")
    parser.add_argument("--max-rejects", type=int, default=0)
    parser.add_argument("--no-post-data", dest="post_data", action="store_false")
    parser.add_argument("--maintenance-work-mem", default="512MB")
    parser.add_argument("--views-on-error", choices=("fail", "warn"), default="fail")
    return document(parser)


def main(argv):
    args = build_parser().parse_args(argv)

    def run():
        opts = options_from_args(args, options_json(args), None)
        return migrate_dump(
            connection_params(args), opts, load_jobs=args.load_jobs, if_exists=args.if_exists,
            max_rejects=args.max_rejects, post_data=args.post_data, views_on_error=args.views_on_error,
            maintenance_work_mem=args.maintenance_work_mem, progress=progress_printer(args.progress))
    return report("migrate-dump", run)
