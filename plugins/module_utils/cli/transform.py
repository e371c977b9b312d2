"""`bin/pgshift transform`: the dump transform outside Ansible.

    bin/pgshift transform SRC DEST [--format dir|sql] [--zero-date error|null|VALUE]
                          [--invalid-utf8 error|replace] [--nul-bytes error|strip]
                          [--identifier-case preserve|lower] [--schema-map DB=SCHEMA]
                          [--include T] [--exclude T] [--strict-types] [--force] [--check] [--progress]
                          [--jobs N]   (processes converting INSERTs; default: the CPUs we may use, at most 4)
                          [--options-json FILE]   (type_rules, embeddings, ... as in the module)

Progress (bytes, rows, rate, table) goes to stderr when it is a terminal (or with --progress); the
final report is JSON on stdout; exit 1 with the message on a MigrationError.
"""
import argparse
import json
import sys

from ..dump.transform import TransformOptions, run_transform
from ..errors import MigrationError
from .common import document, json_argument, schema_map

# what --options-json may set: the options without a command-line flag of their own
JSON_OPTIONS = ("type_rules", "embeddings", "pg_params", "default_schema", "ignore_columns")


def _parser():
    p = argparse.ArgumentParser(prog="pgshift transform", description="mysqldump -> PostgreSQL migration dir")
    p.add_argument("src")
    p.add_argument("dest")
    p.add_argument("--format", default="dir", choices=["dir", "sql"])
    p.add_argument("--schema-mode", default="create", choices=["create", "existing"])
    p.add_argument("--zero-date", default="error",
                   help="error, null, or a replacement date / date and time such as '1970-01-01 00:00:00'")
    p.add_argument("--invalid-utf8", default="error", choices=["error", "replace"])
    p.add_argument("--nul-bytes", default="error", choices=["error", "strip"])
    p.add_argument("--identifier-case", default="preserve", choices=["preserve", "lower"])
    p.add_argument("--schema-map", action="append", default=[], metavar="DB=SCHEMA")
    p.add_argument("--include", action="extend", nargs="+", default=[])
    p.add_argument("--exclude", action="extend", nargs="+", default=[])
    p.add_argument("--strict-types", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("--allow-incomplete-dump", action="store_true",
                   help="accept a dump without mysqldump's last line '-- Dump completed' (knowingly partial)")
    p.add_argument("--check", action="store_true", help="parse and report, write nothing")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--jobs", type=int, default=None,
                   help="processes converting INSERTs (default: CPU count, at most 4)")
    p.add_argument("--options-json", help="JSON file with type_rules, embeddings, pg_params, ...")
    return document(p)


def _progress_printer(stream):
    def show(info):
        rate = info["bytes"] / 1e6 / info["seconds"] if info["seconds"] else 0.0
        stream.write("\r%8.1f MB  %10d rows  %6.1f MB/s  %-30s" % (info["bytes"] / 1e6, info["rows"], rate,
                                                                   (info.get("table") or "")[:30]))
        stream.flush()
    return show


def options_from_args(args, extra, progress):
    """TransformOptions from this parser's arguments (also used by `pgshift migrate-dump`)."""
    return TransformOptions(
        src=args.src, dest=args.dest, format=args.format, schema_mode=args.schema_mode,
        zero_date=args.zero_date, invalid_utf8=args.invalid_utf8, nul_bytes=args.nul_bytes,
        identifier_case=args.identifier_case, schema_map=schema_map(args.schema_map),
        include_tables=args.include, exclude_tables=args.exclude, strict_types=args.strict_types,
        force=args.force, check_mode=args.check, jobs=args.jobs,
        allow_incomplete_dump=args.allow_incomplete_dump,
        progress=progress, **extra)


def options_json(args):
    """The --options-json file's settings (type_rules, embeddings, pg_params, ...), or {}."""
    if not args.options_json:
        return {}
    option = "--options-json %s" % args.options_json
    try:
        with open(args.options_json, encoding="utf-8") as f:
            extra = json_argument(option, f.read())
    except OSError as err:
        raise MigrationError("%s: cannot read it (%s)" % (option, err.strerror or err)) from None
    unknown = sorted(k for k in extra if k not in JSON_OPTIONS)
    if unknown:
        raise MigrationError("%s: unknown option(s) %s (it may set %s; the others have their own flags)"
                             % (option, ", ".join(unknown), ", ".join(JSON_OPTIONS)))
    return extra


def main(argv):
    args = _parser().parse_args(argv)
    show = args.progress or sys.stderr.isatty()
    try:
        opts = options_from_args(args, options_json(args), _progress_printer(sys.stderr) if show else None)
        result = run_transform(opts)
    except MigrationError as err:
        if show:
            sys.stderr.write("\n")
        sys.stderr.write("pgshift transform: %s\n" % err)
        return 1
    if show:
        sys.stderr.write("\n")
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
