"""Every console verb, given broken inputs, ends in one line on stderr naming the input and the
reason, exit != 0, no traceback (issue 15); a full disk names the file and the bytes; `pgshift
embeddings` on a database without pgvector says so; the modules fail with the same one line.

A full disk is a tmpfs of a few hundred KB mounted (and removed) by the test itself (root only)."""
import contextlib
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid

import pytest
from test_pg_load_e2e import MY_CNF, ROOT, _dump, _sample_source

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(lab, shared_data, mysql_connect, tmp_path_factory):
    """{"db": MariaDB database holding world, "dump": its mariadb-dump, "work": a directory}."""
    my = mysql_connect()
    made = []
    try:
        db = _sample_source(my, shared_data, "world", made)
        work = tmp_path_factory.mktemp("errors")
        _dump(db, str(work / "world.sql"))
        yield {"db": db, "dump": str(work / "world.sql"), "work": work}
    finally:
        with my.cursor() as cur:
            for name in made:
                cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
        my.close()


@pytest.fixture
def pg_db_args(lab, pg_connect):
    """A fresh PostgreSQL database created from template0 (no pgvector), as --pg-* arguments."""
    name = "t_err_%s" % uuid.uuid4().hex[:10]
    admin = pg_connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s" TEMPLATE template0' % name)
    p = lab["postgresql"]
    yield ["--pg-host", p["host"], "--pg-port", str(p["port"]), "--pg-user", p["user"],
           "--pg-passfile", p["passfile"], "--pg-database", name]
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    admin.close()


@contextlib.contextmanager
def small_fs(size):
    """A tmpfs of `size` mounted on a fresh directory; unmounted and removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    where = tempfile.mkdtemp(prefix="pgshift-full-")
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", where],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        os.rmdir(where)
        pytest.skip("cannot mount a tmpfs here: %s" % run.stderr.strip())
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", where], check=False)
        os.rmdir(where)


def pgshift(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "bin", "pgshift"), *args], capture_output=True,
                          text=True, check=False)


def one_line_error(run, *names):
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    assert run.stderr.count("\n") == 1, run.stderr[-3000:]
    for name in names:
        assert name in run.stderr, (name, run.stderr)
    return run.stderr


# ---------------------------------------------------------------- a full disk

@pytest.mark.parametrize("verb", ["transform", "migrate-dump"])
def test_disk_full_names_the_file_and_the_bytes(world, pg_db_args, verb):
    with small_fs("128k") as fs:
        dest = os.path.join(fs, "mig")
        extra = pg_db_args if verb == "migrate-dump" else []
        err = one_line_error(pgshift(verb, world["dump"], dest, "--jobs", "1", *extra),
                             "write %s/data/" % dest, "No space left on device",
                             "bytes free on its file system")
        assert re.search(r"; writing \d+ bytes; \d+ bytes already in the file; ", err), err
        with open(os.path.join(dest, "manifest.json")) as f:
            assert json.load(f)["complete"] is False       # never marked whole


def test_disk_full_live_copy_names_the_file(world, lab, pg_db_args):
    with small_fs("64k") as fs:
        with open(os.path.join(fs, "filler"), "wb") as f, contextlib.suppress(OSError):
            f.write(b"x" * (60 << 10))                      # leave about 4 KB
        dest = os.path.join(fs, "live")
        one_line_error(pgshift("live-copy", "--databases", world["db"], "--dest", dest,
                               "--mysql-defaults-file", MY_CNF, "--snapshot", "none", *pg_db_args),
                       "write %s/" % dest, "No space left on device")


# ---------------------------------------------------------------- embeddings without pgvector

def test_embeddings_on_a_database_without_pgvector(pg_db_args, lab, pg_connect):
    name = pg_db_args[-1]
    conn = pg_connect(name)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id int PRIMARY KEY, e text); INSERT INTO t VALUES (1, '[1,2,3]')")
    conn.close()
    one_line_error(pgshift("embeddings", *pg_db_args, "--table", "public.t", "--column", "e",
                           "--dimensions", "3", "--format", "json_array"),
                   "public.t.e", "pgvector extension is not installed", name)


# ---------------------------------------------------------------- every verb, broken inputs

def _broken_dir(work, name, change):
    """A migration dir whose manifest.json is `change`d (incomplete, not JSON...)."""
    path = work / name
    path.mkdir(exist_ok=True)
    (path / "manifest.json").write_text(change)
    return str(path)


def _cut_dump(world):
    with open(world["dump"], "rb") as f:
        data = f.read()
    path = world["work"] / "cut.sql"
    path.write_bytes(data[:data.index(b"INSERT INTO `country`")])
    return str(path)


def _corrupt_gz(world):
    with open(world["dump"], "rb") as f:
        packed = gzip.compress(f.read())
    path = world["work"] / "bad.sql.gz"
    path.write_bytes(packed[:len(packed) // 2])
    return str(path)


INCOMPLETE = '{"format": 1, "complete": false, "tables": []}'
CASES = {
    "transform": lambda w, pg: (["transform", _corrupt_gz(w), str(w["work"] / "t1")],
                                ["bad.sql.gz", "truncated .gz file"]),
    "load": lambda w, pg: (["load", _broken_dir(w["work"], "l1", INCOMPLETE), *pg],
                           ["l1/manifest.json", "not marked complete"]),
    "migrate-dump": lambda w, pg: (["migrate-dump", _cut_dump(w), str(w["work"] / "m1"), *pg],
                                   ["cut.sql", "-- Dump completed", "--allow-incomplete-dump"]),
    "live-copy": lambda w, pg: (["live-copy", "--databases", "no_such_db_%s" % uuid.uuid4().hex[:6],
                                 "--dest", str(w["work"] / "lc"), "--mysql-defaults-file", MY_CNF, *pg],
                                ["no_such_db_", "does not exist"]),
    "embeddings": lambda w, pg: (["embeddings", "--table", "public.nope", "--column", "e", *pg],
                                 ["public.nope", "does not exist"]),
    "sequences": lambda w, pg: (["sequences", "--schemas", "x", "--src", _broken_dir(w["work"], "s1", "{bad"),
                                 *pg], ["s1", "not valid JSON"]),
    "verify": lambda w, pg: (["verify", "--src", _broken_dir(w["work"], "v1", INCOMPLETE),
                              "--mysql-defaults-file", MY_CNF, *pg], ["not marked complete"]),
}


@pytest.mark.parametrize("verb", sorted(CASES))
def test_every_verb_fails_in_one_line_without_a_traceback(world, pg_db_args, verb):
    args, names = CASES[verb](world, pg_db_args)
    one_line_error(pgshift(*args), *names)


def test_all_verbs_are_covered():
    with open(os.path.join(ROOT, "bin", "pgshift")) as f:
        verbs = re.search(r"^VERBS = \((.*)\)$", f.read(), re.M).group(1)
    assert set(re.findall(r'"([a-z-]+)"', verbs)) == set(CASES)
