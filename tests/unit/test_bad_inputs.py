"""Broken inputs end in one line naming the input and the reason (issue 15): corrupt or truncated
.gz / .zst dumps, garbage between statements, bad console options, and, for the console verbs, no
traceback whatever the input. The verbs that need the lab are in
tests/integration/test_console_errors.py."""
import gzip
import os
import subprocess
import sys

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import DumpReadError, MigrationError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORLD = os.path.join(ROOT, os.pardir, "shared", "data", "world", "world-mariadb-mysqldump.sql")


def _world():
    with open(WORLD, "rb") as f:
        return f.read()


def _flip(data, at):
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


def _zstd(data):
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor().compress(data)


CORRUPT = {
    "truncated.sql.gz": (lambda d: gzip.compress(d)[:len(gzip.compress(d)) // 2],
                         r"truncated \.gz file \(Compressed file ended"),
    "crc.sql.gz": (lambda d: _flip(gzip.compress(d), -6), r"the gzip data is corrupt \(CRC check failed"),
    "flipped.sql.gz": (lambda d: _flip(gzip.compress(d), len(gzip.compress(d)) // 2),
                       r"the gzip data is corrupt"),
    "truncated.sql.zst": (lambda d: _zstd(d)[:len(_zstd(d)) // 2],
                          r"truncated \.zst file \(the stream ends inside a zstd frame\)"),
    "flipped.sql.zst": (lambda d: _flip(_zstd(d), len(_zstd(d)) // 2), r"the zstd data is corrupt"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_or_truncated_compressed_dump(tmp_path, name):
    make, reason = CORRUPT[name]
    src = tmp_path / name
    src.write_bytes(make(_world()))
    with pytest.raises(DumpReadError, match=r"^dump '.*%s': %s.*after \d+ bytes of SQL"
                                            % (name, reason)) as err:
        run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "out")))
    assert "\n" not in str(err.value)


def test_flipped_byte_is_reported_as_the_gzip_crc_error_not_as_bad_data(tmp_path):
    """In a stored (level 0) gzip member a flipped byte changes exactly one byte of SQL, here a
    letter of a city name into NUL: the row is refused first, but the cause is the corruption, which
    gzip's CRC at the member's end shows; the error names that."""
    data = _world() + b"-- " + b"x" * (5 << 20) + b"\n"     # more than one 4 MB read: rows come first
    packed = bytearray(gzip.compress(data, compresslevel=0))
    at = packed.index(b"'Kabul'") + 1
    packed[at] = 0                                          # 'Kabul' -> '\0abul': a NUL in row 1
    src = tmp_path / "flip.sql.gz"
    src.write_bytes(bytes(packed))
    with pytest.raises(DumpReadError, match=r"flip\.sql\.gz': the gzip data is corrupt \(CRC check failed.*"
                                            r"the corrupt bytes are the likely cause of the error "
                                            r"seen first, near byte offset \d+: .*NUL byte"):
        run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "out"), jobs=1))
    plain = tmp_path / "plain.sql"                          # the same bytes, uncompressed: the NUL is data
    plain.write_bytes(data.replace(b"'Kabul'", b"'\x00abul'", 1))
    with pytest.raises(MigrationError, match=r"row 1 .*NUL byte"):
        run_transform(TransformOptions(src=str(plain), dest=str(tmp_path / "out2"), jobs=1))


GARBAGE = {
    "unbalanced quote": b"junk 'never closed\n",
    "backtick": b"junk `x\n",
    "binary": bytes(range(1, 256)) + b"\n",
    "words": b"hello world\n",
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_between_statements_is_named_at_its_offset(tmp_path, kind):
    data = _world()
    at = data.index(b"DROP TABLE IF EXISTS `country`")
    src = tmp_path / "g.sql"
    src.write_bytes(data[:at] + GARBAGE[kind] + data[at:])
    with pytest.raises(MigrationError, match=r"at byte offset %d\b" % at) as err:
        run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "out")))
    assert str(err.value).index("offset %d" % at) < 40       # the garbage's offset comes first


def _pgshift(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "bin", "pgshift"), *args], capture_output=True,
                          text=True, check=False, env=dict(os.environ, PGSHIFT_NO_REEXEC="1"))


def _one_line_error(run, *names):
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert run.stderr.count("\n") == 1, run.stderr
    for name in names:
        assert name in run.stderr, (name, run.stderr)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "bad.json").write_text("{bad")
    (tmp_path / "list.json").write_text("[1]")
    (tmp_path / "unknown.json").write_text('{"nope": 1}')
    (tmp_path / "w.sql").write_bytes(_world())
    return tmp_path


OPTION_CASES = [
    (["--options-json", "{d}/missing.json"], ["missing.json", "cannot read it"]),
    (["--options-json", "{d}/bad.json"], ["bad.json", "not valid JSON"]),
    (["--options-json", "{d}/list.json"], ["list.json", "expected a JSON object"]),
    (["--options-json", "{d}/unknown.json"], ["unknown.json", "unknown option(s) nope"]),
    (["--schema-map", "x"], ["--schema-map", "'x'"]),
    (["--zero-date", "'; DROP TABLE y; --"], ["--zero-date", "DROP TABLE y"]),
]


@pytest.mark.parametrize("verb", ["transform", "migrate-dump"])
@pytest.mark.parametrize("extra, names", OPTION_CASES)
def test_bad_console_options_name_the_option(files, verb, extra, names):
    run = _pgshift(verb, str(files / "w.sql"), str(files / "out"), *[e.format(d=files) for e in extra])
    _one_line_error(run, *names)


def test_missing_mysql_defaults_file_is_named(files):
    run = _pgshift("live-copy", "--databases", "x", "--dest", str(files / "out"),
                   "--mysql-defaults-file", str(files / "no.cnf"))
    _one_line_error(run, "no.cnf", "--mysql-defaults-file", "No such file")


def _modes(root):
    """{relative path: mode} of every directory and file under root (root itself as '.')."""
    out = {".": os.stat(root).st_mode & 0o777}
    for base, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(base, name)
            out[os.path.relpath(path, root)] = os.stat(path).st_mode & 0o777
    return out


def test_console_migration_dir_is_private(tmp_path):
    """dirs 0700, data files, manifest, SQL files and rejects 0600, whatever the umask (022 here),
    as the role creates them: the dir holds the whole database."""
    src = tmp_path / "e.sql"
    src.write_bytes(b"CREATE TABLE `ce` (`id` int NOT NULL, `embedding` longtext, PRIMARY KEY (`id`));\n"
                    b"INSERT INTO `ce` VALUES (1,'[1,2,3]'),(2,'[1]');\n-- Dump completed\n")
    (tmp_path / "opts.json").write_text('{"default_schema": "db", "embeddings": [{"table": "ce", "column":'
                                        ' "embedding", "dimensions": 3, "format": "json_array",'
                                        ' "invalid": "reject"}]}')
    dest = tmp_path / "new" / "run1"                                # its parent is created too
    old = os.umask(0o022)
    try:
        run = _pgshift("transform", str(src), str(dest), "--options-json", str(tmp_path / "opts.json"))
    finally:
        os.umask(old)
    assert run.returncode == 0, run.stderr
    modes = _modes(tmp_path / "new")
    assert {"run1/data/db.ce.copy", "run1/rejects/db.ce.copy", "run1/rejects/db.ce.log",
            "run1/manifest.json", "run1/pre-data.sql"} <= set(modes)
    wrong = {p: oct(m) for p, m in modes.items()
             if m != (0o700 if os.path.isdir(os.path.join(tmp_path, "new", p)) else 0o600)}
    assert not wrong, wrong
