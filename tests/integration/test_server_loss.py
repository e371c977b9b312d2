"""PostgreSQL stopped (pg_ctl -m fast) in the middle of a load's COPY: one line naming the table and
that the server closed the connection, no traceback (issue 15). Runs against a private PostgreSQL 15
the test starts itself with initdb / pg_ctl on a free port under a temporary directory: the lab's
server is never stopped."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_BIN = "/usr/lib/postgresql/15/bin"
ROWS = 1_500_000

pytestmark = pytest.mark.integration


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*argv):
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True,
                          check=False)


@pytest.fixture
def private_pg():
    """A throw-away PostgreSQL 15 (trust auth on 127.0.0.1): {"params", "stop"}; removed afterwards."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")) or os.geteuid() != 0:
        pytest.skip("needs root and PostgreSQL 15's initdb in %s" % PG_BIN)
    base = tempfile.mkdtemp(prefix="pgshift-pg-")
    shutil.chown(base, "postgres")
    data, port = os.path.join(base, "data"), _free_port()
    run = _as_postgres(os.path.join(PG_BIN, "initdb"), "-D", data, "-A", "trust", "-U", "pgshift",
                       "--no-sync")
    assert run.returncode == 0, run.stderr
    options = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (port, base)
    run = _as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-o", options, "-l",
                       os.path.join(base, "log"), "-w", "start")
    assert run.returncode == 0, run.stderr

    def stop(mode="fast"):
        return _as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", mode, "-w", "stop")
    try:
        yield {"params": {"pg_host": "127.0.0.1", "pg_port": port, "pg_user": "pgshift",
                          "pg_database": "postgres"}, "stop": stop}
    finally:
        stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


def _migration_dir(tmp_path):
    dump = tmp_path / "big.sql"
    with open(dump, "wb") as f:
        f.write(b"CREATE TABLE `t` (`id` int NOT NULL, `s` varchar(100), PRIMARY KEY (`id`));\n")
        for start in range(1, ROWS + 1, 10000):
            f.write(b"INSERT INTO `t` VALUES %s;\n" % b",".join(
                b"(%d,'row %d and some text')" % (i, i) for i in range(start, min(start + 10000, ROWS + 1))))
        f.write(b"-- Dump completed on 2026-11-22  3:24:23\n")
    run = _pgshift("transform", str(dump), str(tmp_path / "mig"))
    assert run.returncode == 0, run.stderr
    return str(tmp_path / "mig")


def _pgshift(*args, wait=True):
    argv = [sys.executable, os.path.join(ROOT, "bin", "pgshift"), *args]
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _copy_running(params):
    import psycopg2
    conn = psycopg2.connect(host=params["pg_host"], port=params["pg_port"], user=params["pg_user"],
                            dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity"
                        " WHERE query LIKE 'COPY %%' AND pid <> pg_backend_pid()")
            return cur.fetchone()[0] > 0
    finally:
        conn.close()


def test_fast_shutdown_during_a_load_is_one_line_naming_the_table(private_pg, tmp_path):
    src = _migration_dir(tmp_path)
    p = private_pg["params"]
    load = _pgshift("load", src, "--pg-host", p["pg_host"], "--pg-port", str(p["pg_port"]), "--pg-user",
                    p["pg_user"], "--pg-database", p["pg_database"], "--jobs", "1", wait=False)
    deadline = time.monotonic() + 60
    while not _copy_running(p):
        assert load.poll() is None and time.monotonic() < deadline, load.communicate()
        time.sleep(0.05)
    assert private_pg["stop"]("fast").returncode == 0
    out, err = load.communicate(timeout=60)
    assert load.returncode == 1, (out, err)
    assert "Traceback" not in out + err and "SystemError" not in out + err, err
    assert err.count("\n") == 1, err
    assert "load public.t (COPY from data/public.t.copy): the server closed the connection (terminating " \
           "connection due to administrator command" in err
