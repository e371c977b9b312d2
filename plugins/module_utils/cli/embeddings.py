"""`bin/pgshift embeddings`: the embedding_convert module's engine from a shell.

    bin/pgshift embeddings --pg-service pgshift_lab --pg-database athena \
        --table public.content_embedding --column embedding --dimensions 1536 \
        --invalid reject --index hnsw --opclass cosine --check [--check-mode]

Final JSON report on stdout; errors as one line on stderr, exit 1.
"""
import argparse
import json
import sys

from ..connections import pg_connect
from ..embeddings.column_job import EmbeddingJob
from ..errors import MigrationError
from .common import add_connection_arguments, connection_params, document


def parse_args(argv):
    p = argparse.ArgumentParser(prog="pgshift embeddings", description=__doc__.splitlines()[0])
    add_connection_arguments(p)
    p.add_argument("--table", required=True, help="schema.table holding the embedding column")
    p.add_argument("--column", required=True, help="the column of JSON (or CSV) text to convert")
    p.add_argument("--key", help="the key column naming rows in errors (default: the primary key)")
    p.add_argument("--dimensions", type=int, help="values per embedding (default: from the first row)")
    p.add_argument("--type", default="vector", choices=["vector", "halfvec"],
                   help="pgvector type of the column")
    p.add_argument("--format", default="json_object", choices=["json_object", "json_array"],
                   help='the text\'s shape: {"0":v0,...} or [v0,...]')
    p.add_argument("--invalid", default="error", choices=["error", "null", "reject"],
                   help="a value that is no valid embedding: fail naming its key, NULL it, or set it aside")
    p.add_argument("--batch-rows", type=int, default=2000, help="rows converted per batch")
    p.add_argument("--engine", choices=["copy", "sql"], default="copy",
                   help="copy: COPY out, convert in Python, COPY back (default); sql: json_each UPDATE")
    p.add_argument("--index", choices=["hnsw", "ivfflat", "none"], default="hnsw",
                   help="vector index built after")
    p.add_argument("--opclass", choices=["cosine", "l2", "ip"], default="cosine",
                   help="distance of the index")
    p.add_argument("--m", type=int, default=16, help="HNSW m (links per node)")
    p.add_argument("--ef-construction", type=int, default=64, help="HNSW ef_construction")
    p.add_argument("--lists", type=int, help="IVFFlat lists (default: rows / 1000)")
    p.add_argument("--memory-share", type=float, default=0.25,
                   help="share of the server's RAM for maintenance_work_mem of the index build")
    p.add_argument("--memory-mb", type=int, help="maintenance_work_mem of the index build, in MB")
    p.add_argument("--check", action="store_true", help="report the plan, change nothing")
    p.add_argument("--expected-nulls", type=int, help="NULL embeddings the source had (checked after)")
    p.add_argument("--check-mode", action="store_true", help="report the plan, change nothing")
    p.add_argument("--progress", action="store_true")
    return document(p).parse_args(argv)


def main(argv):
    args = parse_args(argv)
    params = connection_params(args)
    index = None if args.index == "none" else {
        "method": args.index, "opclass": args.opclass, "m": args.m,
        "ef_construction": args.ef_construction, "lists": args.lists}
    try:
        conn = pg_connect(params)
        try:
            result = EmbeddingJob(
                conn, args.table, args.column, key=args.key, dimensions=args.dimensions, vtype=args.type,
                fmt=args.format, invalid=args.invalid, batch_rows=args.batch_rows, engine=args.engine,
                index=index,
                memory_share=args.memory_share, memory_mb=args.memory_mb, check=args.check,
                expected_nulls=args.expected_nulls,
                local_host=(params.get("pg_host") or "127.0.0.1") in ("127.0.0.1", "localhost", "::1"),
            ).run(check_mode=args.check_mode)
        finally:
            conn.close()
    except MigrationError as err:
        sys.stderr.write("pgshift embeddings: %s\n" % err)
        return 1
    except ImportError as err:
        sys.stderr.write("pgshift embeddings: %s (run with the project's .venv/bin/python)\n" % err)
        return 1
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0
