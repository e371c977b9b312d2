"""live_copy of big values (issue 15): no NULL past max_allowed_packet, no quadratic escaping, and a
failed copy leaves no query running on the server.

The max_allowed_packet cases run on a private MariaDB (mariadb-install-db + mariadbd on a free port,
16 MB packet, MariaDB's default), started and stopped by this module: the lab's server has a 1 GB
packet and is shared with other tests."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
from test_live_copy import params_for, run_live_copy

pytestmark = pytest.mark.integration

MB = 1 << 20
PRIVATE_PASSWORD = "pgshift-" + uuid.uuid4().hex[:12]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path_or_fn, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if path_or_fn():
                return
        time.sleep(0.2)
    pytest.fail("timed out waiting for %s" % what)


def _die_with_parent():
    """The private server goes when the test process goes, even killed (Linux PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


@pytest.fixture(scope="module")
def private_mariadb():
    """A MariaDB of our own with max_allowed_packet = 16 MB; yields mysql_* params and a connect()."""
    import pymysql

    base = tempfile.mkdtemp(prefix="pgshift-mdb-")   # short path: the socket name has a length limit
    datadir, sock, port = os.path.join(base, "data"), os.path.join(base, "s"), _free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + datadir, "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen(["mariadbd", "--no-defaults", "--datadir=" + datadir, "--socket=" + sock,
                             "--port=%d" % port, "--bind-address=127.0.0.1", "--user=root",
                             "--skip-name-resolve", "--max-allowed-packet=16M",
                             "--innodb-buffer-pool-size=64M", "--log-error=" + os.path.join(base, "err.log"),
                             "--pid-file=" + os.path.join(base, "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent)  # noqa: PLW1509 - started before any thread
    try:
        _wait_for(lambda: pymysql.connect(unix_socket=sock, user="root").close() is None, 60, "mariadbd")
        root = pymysql.connect(unix_socket=sock, user="root", autocommit=True)
        with root.cursor() as cur:
            cur.execute("CREATE USER 'pgshift'@'127.0.0.1' IDENTIFIED BY %s", (PRIVATE_PASSWORD,))
            cur.execute("GRANT ALL ON *.* TO 'pgshift'@'127.0.0.1'")
        root.close()
        cnf = os.path.join(base, "my.cnf")
        with os.fdopen(os.open(cnf, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("[client]\nhost=127.0.0.1\nport=%d\nuser=pgshift\npassword=%s\n"
                    % (port, PRIVATE_PASSWORD))

        def connect(db=None):
            return pymysql.connect(host="127.0.0.1", port=port, user="pgshift", password=PRIVATE_PASSWORD,
                                   database=db, autocommit=True)
        yield {"mysql_defaults_file": cnf}, connect
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


def _private_params(lab, private, pg_db):
    return params_for(lab, pg_db, **private)


ALL_BYTES = "".join("%02X" % i for i in range(256))


def test_blob_over_half_the_packet_is_copied_whole(lab, private_mariadb, pg_db, pg_connect, tmp_path):
    """A 10 MB LONGBLOB under a 16 MB packet: HEX() of it is NULL in MySQL (a mere warning); the copy
    must give the very bytes (and a 195 kB text with 45k escapes its exact text)."""
    private, connect = private_mariadb
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        assert cur.fetchone()[0] == 16 * MB
        cur.execute("CREATE DATABASE big_values")
        cur.execute("CREATE TABLE big_values.t (id int PRIMARY KEY, b longblob, t longtext, n int)")
        cur.execute("INSERT INTO big_values.t VALUES (1, REPEAT(UNHEX('%s'), 40960), NULL, 1),"
                    " (2, UNHEX('00FF'), 'small\\tone', NULL),"
                    " (3, NULL, REPEAT('line\\tof\\\\text\\n', 15000), 3)" % ALL_BYTES)
        cur.execute("SELECT id, MD5(b), MD5(t), LENGTH(b), LENGTH(t) FROM big_values.t ORDER BY id")
        source = cur.fetchall()
    assert source[0][3] == 10 * MB and source[2][4] == 195000
    try:
        result = run_live_copy(_private_params(lab, private, pg_db), ["big_values"], tmp_path / "d")
        assert result["rows"] == 3 and result["rejected"] == 0
        pg = pg_connect(pg_db)
        with pg.cursor() as cur:
            cur.execute("SELECT id, md5(b), md5(convert_to(t, 'UTF8')), length(b), octet_length(t)"
                        " FROM big_values.t ORDER BY id")
            assert cur.fetchall() == [tuple(r) for r in source]
        pg.close()
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE big_values")
        conn.close()


def test_expression_null_past_the_packet_names_the_row(lab, private_mariadb, pg_db, pg_connect, tmp_path):
    """A float32_blob embedding of 10 MB is read as HEX() (its Python converter wants hex): NULL in
    MySQL. That must fail naming the row, never become a NULL embedding."""
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    private, connect = private_mariadb
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE big_emb")
        cur.execute("CREATE TABLE big_emb.e (id int PRIMARY KEY, v longblob)")
        cur.execute("INSERT INTO big_emb.e VALUES (1, UNHEX('0000803F0000004000004040')),"
                    " (2, REPEAT(UNHEX('0000803F'), 2621440))")
    spec = {"table": "e", "column": "v", "dimensions": 3, "format": "float32_blob", "invalid": "null"}
    try:
        with pytest.raises(MigrationError) as err:
            run_live_copy(_private_params(lab, private, pg_db), ["big_emb"], tmp_path / "d",
                          embeddings=[spec])
        msg = str(err.value)
        assert "big_emb.e" in msg and "id=2" in msg and "max_allowed_packet" in msg and "\n" not in msg, msg
        pg = pg_connect(pg_db)
        with pg.cursor() as cur:
            cur.execute("SELECT to_regclass('big_emb.e')")
            assert cur.fetchone()[0] is None, "the table's transaction must be rolled back"
        pg.close()
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE big_emb")
        conn.close()


# ---------------------------------------------------------------- speed: 1 MB texts with 12k newlines

def _text_rows(cur, db, rows):
    """rows x 1 MB of text, 12k lines each, tabs and backslashes too (the quadratic case for REPLACE)."""
    cur.execute("CREATE TABLE `%s`.doc (id int PRIMARY KEY, title varchar(100), body longtext)" % db)
    line = "x" * 70 + "\\t" + "y" * 10 + "\\\\\\n"     # 85 bytes: 12.3k lines per MB
    for i in range(1, rows + 1):
        cur.execute("INSERT INTO `%s`.doc VALUES (%d, 'doc %d', REPEAT('%d%s', %d))"
                    % (db, i, i, i % 10, line, MB // 85))


@pytest.fixture
def text_source(mysql_connect):
    db = "lc_large_%s" % uuid.uuid4().hex[:8]
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        _text_rows(cur, db, 20)
    yield db, conn
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
    conn.close()


def _dump_path_seconds(lab, db, pg_db, tmp_path):
    """mysqldump + transform + load of the same table (the guide's path), timed."""
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
        TransformOptions,
        run_transform,
    )
    from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load

    started = time.monotonic()
    dump = tmp_path / "dump.sql"
    with open(dump, "wb") as f:
        subprocess.run(["mysqldump", "--defaults-extra-file=" + lab["mysql"]["defaults_file"],
                        "--single-transaction", "--hex-blob", db], stdout=f, check=True, timeout=300)
    run_transform(TransformOptions(src=str(dump), dest=str(tmp_path / "dd"), schema_map={db: "dumped"}))
    load(params_for(lab, pg_db), str(tmp_path / "dd"), jobs=2)
    return time.monotonic() - started


def test_big_texts_copy_within_3x_of_the_dump_path(lab, text_source, pg_db, pg_connect, tmp_path):
    db, _ = text_source
    dump_s = _dump_path_seconds(lab, db, pg_db, tmp_path)
    started = time.monotonic()
    result = run_live_copy(params_for(lab, pg_db), [db], tmp_path / "live")
    live_s = time.monotonic() - started
    assert result["rows"] == 20
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute('SELECT d.id, d.body = l.body AND d.title = l.title FROM dumped.doc d JOIN "%s".doc l'
                    " USING (id) ORDER BY 1" % db)
        assert cur.fetchall() == [(i, True) for i in range(1, 21)]
    pg.close()
    assert live_s <= 3 * dump_s, "live %.2f s vs dump path %.2f s" % (live_s, dump_s)


def _our_queries(mysql_connect, db):
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE %s AND ID <>"
                    " CONNECTION_ID()", ("%%`%s`%%" % db,))
        rows = cur.fetchall()
    conn.close()
    return rows


def test_failed_copy_leaves_no_query_running(lab, mysql_connect, pg_db, pg_connect, tmp_path):
    """The PostgreSQL side fails mid-copy (its COPY backend terminated): the error comes at once, in one
    line, and no SELECT of ours goes on in MySQL (KILL QUERY of every reader)."""
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError

    db = "lc_kill_%s" % uuid.uuid4().hex[:8]
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s`" % db)
        _text_rows(cur, db, 4)
        # a table that takes a few seconds to stream: 160 texts of 1 MB
        cur.execute("CREATE TABLE `%s`.many (id int PRIMARY KEY, body longtext)" % db)
        cur.execute("INSERT INTO `%s`.many SELECT a.seq * 10 + b.id, b.body FROM `%s`.seq_1_to_40 a,"
                    " `%s`.doc b" % (db, db, db))
    outcome = {}

    def copy():
        try:
            run_live_copy(params_for(lab, pg_db), [db], tmp_path / "d", include_tables=["many"])
        except MigrationError as err:
            outcome["error"] = str(err)
        outcome["at"] = time.monotonic()

    worker = threading.Thread(target=copy, daemon=True)
    pg = pg_connect()
    pg.autocommit = True
    try:
        worker.start()
        _wait_for(lambda: _copy_backends(pg, pg_db), 60, "the COPY to start")
        time.sleep(0.3)
        with pg.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                        " AND query LIKE 'COPY%%'", (pg_db,))
        killed_at = time.monotonic()
        worker.join(120)
        assert not worker.is_alive()
        assert "error" in outcome and "\n" not in outcome["error"], outcome
        assert outcome["at"] - killed_at < 15, "the failure took %.1f s" % (outcome["at"] - killed_at)
        _wait_for(lambda: _our_queries(mysql_connect, db) == (), 5, "the readers' queries to end")
    finally:
        pg.close()
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
        conn.close()


def _copy_backends(pg, pg_db):
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'COPY%%'"
                    " AND state = 'active'", (pg_db,))
        return cur.fetchone()[0] > 0
