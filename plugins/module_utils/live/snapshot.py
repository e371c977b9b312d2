"""One snapshot for every reader, and the binlog position of that snapshot.

    readers, binlog, warnings = open_snapshot(control, option_file, n, mode="lock", flavor="mariadb",
                                              raw_connect=connect)   # reader.raw: same snapshot

Modes:
  lock      FLUSH TABLES WITH READ LOCK on the control session (PyMySQL), then each reader runs
            START TRANSACTION WITH CONSISTENT SNAPSHOT; the binlog position is read under the lock,
            then UNLOCK TABLES. Writers wait only for the few milliseconds the readers need to start.
  read_only MySQL is already read-only (cutover): checked, no lock.
  none      no lock: each reader has its own snapshot, taken a few milliseconds apart (warned).

raw_connect (a PyMySQL connect function): each reader gets a second session, reader.raw (live.large's
RawReader), whose snapshot starts together with the reader's, for the rows of big values.
Each reader knows its MySQL connection id (reader.connection_id): a failed copy KILLs its queries.
"""
import time

from ..errors import SnapshotError
from .large import RawReader
from .select import SESSION_SETUP_SQL
from .session import ReaderSession, ResultStream

MODES = ("lock", "read_only", "none")
LOCK_WAIT_SECONDS = 60


def _one_row(cur, sql):
    cur.execute(sql)
    return cur.fetchone()


def binlog_position(cur, flavor):
    """{'file', 'position', 'gtid'} of the server now, or None when the binary log is off."""
    row = None
    for sql in ("SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"):
        try:
            row = _one_row(cur, sql)
            break
        except Exception:  # noqa: BLE001 - MySQL 8.4 renamed the statement; try the other
            continue
    if not row:
        return None
    gtid = None
    try:
        var = "@@global.gtid_binlog_pos" if flavor == "mariadb" else "@@global.gtid_executed"
        gtid = _one_row(cur, "SELECT %s" % var)[0] or None
    except Exception:  # noqa: BLE001 - GTIDs are optional
        gtid = None
    return {"file": row[0], "position": int(row[1]), "gtid": gtid}


def _start_readers(option_file, n, client):
    readers = []
    try:
        for i in range(n):
            readers.append(ReaderSession(option_file, name="reader-%d" % (i + 1), client=client))
        setup = ";\n".join(SESSION_SETUP_SQL + ("SELECT CONNECTION_ID()",))
        for r in readers:
            r.send(setup)
        for r in readers:
            r.connection_id = int(ResultStream(r).read_all().split()[-1])
    except BaseException:
        for r in readers:
            r.kill()
        raise
    return readers


def _wait(reader):
    """Read (and discard) the output of the statement last sent."""
    ResultStream(reader).read_all()


def _start_raw(readers, raw_connect):
    """A PyMySQL session per reader, set up like the reader (its snapshot starts with theirs)."""
    for r in readers:
        conn = raw_connect()
        r.raw = RawReader(conn, r.name + "-raw")
        with conn.cursor() as cur:
            for sql in SESSION_SETUP_SQL:
                cur.execute(sql)


def _begin_snapshots(readers):
    """START TRANSACTION WITH CONSISTENT SNAPSHOT on every reader (and its raw session), sent to all
    before waiting."""
    start = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
    for r in readers:
        r.send(start)
    for r in readers:
        if r.raw is not None:
            with r.raw.conn.cursor() as cur:
                cur.execute(start)
    for r in readers:
        _wait(r)


def _lock(control):
    import pymysql

    with control.cursor() as cur:
        cur.execute("SET SESSION lock_wait_timeout = %d" % LOCK_WAIT_SECONDS)
        try:
            cur.execute("FLUSH TABLES WITH READ LOCK")
        except pymysql.err.MySQLError as err:
            code = err.args[0] if err.args else None
            hint = (" (the MySQL user needs the RELOAD privilege; or set MySQL read-only and use "
                    "snapshot: read_only)" if code in (1227, 1045, 1044) else
                    " (long-running statements hold table locks; retry or use snapshot: read_only)"
                    if code == 1205 else "")
            raise SnapshotError("snapshot lock: FLUSH TABLES WITH READ LOCK failed: %s%s"
                                % (err.args[-1], hint)) from None


def _check_read_only(control):
    with control.cursor() as cur:
        ro = _one_row(cur, "SELECT @@global.read_only")[0]
    if not int(ro or 0):
        raise SnapshotError("snapshot read_only: MySQL is not read-only (@@global.read_only = 0); set it "
                            "read-only first (cutover) or use snapshot: lock")


def open_snapshot(control, option_file, n, *, mode="lock", flavor="mariadb", client=None,
                  after_snapshot=None, raw_connect=None):
    """Start n reader sessions inside one snapshot. Returns (readers, binlog, warnings, lock_seconds)."""
    if mode not in MODES:
        raise SnapshotError("snapshot must be one of %s, not %r" % (", ".join(MODES), mode))
    warnings = []
    if mode == "read_only":
        _check_read_only(control)
    readers = _start_readers(option_file, n, client)
    lock_seconds = 0.0
    try:
        if raw_connect is not None:
            _start_raw(readers, raw_connect)
        if mode == "lock":
            started = time.monotonic()
            _lock(control)
            try:
                _begin_snapshots(readers)
                with control.cursor() as cur:
                    binlog = binlog_position(cur, flavor)
            finally:
                with control.cursor() as cur:
                    cur.execute("UNLOCK TABLES")
                lock_seconds = time.monotonic() - started
        else:
            _begin_snapshots(readers)
            with control.cursor() as cur:
                binlog = binlog_position(cur, flavor)
            if mode == "none":
                warnings.append("snapshot none: readers took separate snapshots without a lock; tables "
                                "written during the copy may be mutually inconsistent")
        if flavor == "mariadb" and binlog is not None:
            binlog = _mariadb_snapshot_position(readers[0], binlog)
    except BaseException:
        for r in readers:
            r.kill()
        raise
    if binlog is None:
        warnings.append("the MySQL binary log is off: no position recorded for a later catch-up")
    if after_snapshot is not None:
        after_snapshot(binlog)
    return readers, binlog, warnings, lock_seconds


def _mariadb_snapshot_position(reader, binlog):
    """MariaDB tells each snapshot's own binlog position: the most exact record there is."""
    rows = reader.query_rows("SHOW STATUS LIKE 'binlog_snapshot%'")
    status = {r[0].lower(): r[1] for r in rows if len(r) == 2}
    if status.get("binlog_snapshot_file"):
        binlog = dict(binlog, file=status["binlog_snapshot_file"],
                      position=int(status["binlog_snapshot_position"]))
    return binlog
