#!/usr/bin/env python3
"""Single huge values on the dump path: one 40 MB hex blob and one 100 MB text value.

    .venv/bin/python bench/huge_values.py [--work DIR]

Ordinary rows go through the transform at tens of MB/s; a single value of tens of MB used to be
re-matched by the row regexes after every read of the growing buffer (14 s for the blob, 18 s for
the text on the 2-core lab machine). Goal: the whole dump at >= GOAL_MB_S (one job), printed as
JSON; exit 1 when missed. Exactness is tests/unit/test_huge_values.py's job (same generator).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, ".collections"))

BLOB_BYTES = 20_000_000                  # 40 MB of hex in the dump
TEXT_BYTES = 100_000_000
GOAL_MB_S = 8.0                          # measured 19.6 MB/s after the fix (7.7 s), 3.7 before (40.8 s)
# one unit of the text as mysqldump escapes it, as raw bytes, and as COPY text (';' and '),' inside
# the string hide the INSERT's end from the cheap search, as real text does)
TEXT_UNIT_DUMP = "r\u00e9sum\u00e9 \\n it\\'s a \\\\ path\\tend; (x), ".encode()
TEXT_UNIT_RAW = "r\u00e9sum\u00e9 \n it's a \\ path\tend; (x), ".encode()
TEXT_UNIT_COPY = "r\u00e9sum\u00e9 \\n it's a \\\\ path\\tend; (x), ".encode()
BLOB_UNIT = bytes(range(256)) * 4        # 1 KB covering every byte value
HEAD = (b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n"
        b"/*!40101 SET NAMES utf8mb4 */;\n"
        b"CREATE TABLE `big` (\n  `id` int(11) NOT NULL,\n  `b` longblob,\n  `t` longtext,\n"
        b"  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n")


def write_dump(path):
    """The dump, one INSERT per row as mysqldump writes rows longer than net_buffer_length;
    returns the number of text units."""
    units = TEXT_BYTES // len(TEXT_UNIT_RAW)
    with open(path, "wb") as f:
        f.write(HEAD)
        f.write(b"INSERT INTO `big` VALUES (1,0x")
        f.write(BLOB_UNIT.hex().upper().encode() * (BLOB_BYTES // len(BLOB_UNIT)))
        f.write(b",'small');\nINSERT INTO `big` VALUES (2,NULL,'")
        f.write(TEXT_UNIT_DUMP * units)
        f.write(b"');\n-- Dump completed on 2026-11-22  3:24:23\n")
    return units


def expected_copy_parts(units):
    """The data file's bytes, in pieces, computed without the engine."""
    yield b"1\t\\\\x" + BLOB_UNIT.hex().encode() * (BLOB_BYTES // len(BLOB_UNIT)) + b"\tsmall\n"
    yield b"2\t\\N\t" + TEXT_UNIT_COPY * units + b"\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="directory for the dump and the output (default: a temp dir)")
    args = parser.parse_args(argv)
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
        TransformOptions,
        run_transform,
    )
    work = args.work or tempfile.mkdtemp(prefix="pgshift-huge-")
    try:
        dump = os.path.join(work, "huge.sql")
        write_dump(dump)
        started = time.monotonic()
        run_transform(TransformOptions(src=dump, dest=os.path.join(work, "out"), jobs=1, force=True))
        seconds = time.monotonic() - started
        mb_s = os.path.getsize(dump) / 1e6 / seconds
        print(json.dumps({"seconds": round(seconds, 2), "mb_per_s": round(mb_s, 1),
                          "goal_mb_per_s": GOAL_MB_S, "ok": mb_s >= GOAL_MB_S}))
        return 0 if mb_s >= GOAL_MB_S else 1
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
