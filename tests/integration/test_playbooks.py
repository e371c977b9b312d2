"""Rehearsal, cutover and rollback playbooks on the real lab, with the example Q&A app.

One module-scoped scenario (unique MySQL database, PostgreSQL database, work dir and app port),
run in order: --check changes nothing -> rehearsal leaves MySQL untouched -> cutover with an
injected failure after read-only leaves MySQL read-write and the app on MySQL -> cutover succeeds
(app on PostgreSQL, smoke tests green, record written) -> rows written through the app on
PostgreSQL -> rollback brings them back into MySQL with the app on MySQL.
"""
import json
import os
import re
import socket
import subprocess
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
APPCTL = os.path.join(ROOT, "examples", "qa_app", "qa_appctl.sh")
# The cutover's default path: the dump, transformed and loaded overlapping (pgshift.mysql.dump_load).
SOURCE = "dump"
DIMENSIONS = 32

pytestmark = pytest.mark.integration


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_playbook(scenario, names, *extra, check=False):
    """ansible-playbook on one or several playbooks (one process: one start-up); output kept in work/logs."""
    names = [names] if isinstance(names, str) else list(names)
    argv = [PLAYBOOK, "-i", os.path.join(ROOT, "inventories", "local"),
            *[os.path.join(ROOT, "playbooks", name) for name in names],
            "-e", "@" + scenario["vars_file"], *extra]
    if check:
        argv.append("--check")
    # Pipelining: one process per module run instead of temp files and several shells.
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PIPELINING="1", ANSIBLE_GATHERING="explicit")
    result = subprocess.run(argv, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    logs = scenario["work"] / "logs"
    logs.mkdir(exist_ok=True)
    label = "+".join(name[:-4] for name in names) + ("-check" if check else "")
    log = logs / ("%02d-%s.log" % (len(os.listdir(logs)), label))
    log.write_text(" ".join(argv) + "\n" + result.stdout + "\n--- stderr\n" + result.stderr)
    return result


def http(scenario, path, body=None):
    url = "http://127.0.0.1:%d%s" % (scenario["port"], path)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as resp:
        return json.loads(resp.read())


def mysql_state(mysql_connect, db):
    """Per-table CHECKSUM TABLE and count, and the global read_only flag."""
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        tables = sorted(r[0] for r in cur.fetchall())
        cur.execute("CHECKSUM TABLE %s EXTENDED" % ", ".join("`%s`" % t for t in tables))
        sums = {r[0]: r[1] for r in cur.fetchall()}
        cur.execute("SELECT @@GLOBAL.read_only")
        read_only = cur.fetchone()[0]
    conn.close()
    return {"checksums": sums, "read_only": read_only}


def pg_databases(pg_connect, prefix):
    """This run's PostgreSQL databases (other engineers' tests create theirs at the same time)."""
    conn = pg_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (prefix + "%",))
        names = [r[0] for r in cur.fetchall()]
    conn.close()
    return names


def _set_read_only(mysql_connect, value):
    conn = mysql_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL read_only = %s" % ("ON" if value else "OFF"))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def scenario(lab, mysql_connect, pg_connect, tmp_path_factory):
    """A seeded MySQL database, the app running on it, and the extra-vars file of this run. MariaDB
    is made writable first: `make demo` ends with a cutover, which leaves it read-only for a
    rollback as a real one does, and the tests start from a writable source (`make demo` then
    `make test` must pass). It is left writable: the lab is shared."""
    _set_read_only(mysql_connect, False)
    name = "pb_%s" % uuid.uuid4().hex[:8]
    work = tmp_path_factory.mktemp("pgshift")
    port = free_port()
    seed = os.path.join(ROOT, "examples", "qa_app", "seed.py")
    subprocess.run([os.path.join(ROOT, ".venv", "bin", "python"), seed,
                    "--defaults-file", os.path.join(ROOT, ".lab", "my.cnf"), "--database", name,
                    "--contents", "20", "--dimensions", str(DIMENSIONS)], check=True, capture_output=True)
    app_dir = work / "app"
    app_dir.mkdir()
    env_file = app_dir / "qa_app.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("DATABASE_URL=mysql://%s:%s@127.0.0.1:3306/%s\nQA_APP_LISTEN=127.0.0.1:%d\n"
                "QA_APP_STATE_DIR=%s\nQA_APP_BYPASS_TOKEN=pgshift-smoke\n"
                % (lab["mysql"]["user"], lab["mysql"]["password"], name, port, app_dir))
    vars_file = work / "vars.json"
    vars_file.write_text(json.dumps({
        "pgshift_work_dir": str(work), "pgshift_databases": [name], "pgshift_pg_database": name,
        "pgshift_app_port": port, "pgshift_dump_compress": "none",
        "rehearsal_source": SOURCE, "cutover_source": SOURCE,
        "pgshift_embeddings": [{"table": "content_embedding", "column": "embedding", "dimensions": DIMENSIONS,
                                "type": "vector", "format": "json_object",
                                "index": {"method": "hnsw", "opclass": "cosine"}}]}))
    appenv = dict(os.environ, QA_APP_PYTHON=os.path.join(ROOT, ".venv", "bin", "python"))
    subprocess.run([APPCTL, "start", str(env_file)], check=True, env=appenv, capture_output=True)
    try:
        yield {"db": name, "work": work, "port": port, "vars_file": str(vars_file), "env_file": str(env_file)}
    finally:
        subprocess.run([APPCTL, "stop", str(env_file)], check=False, env=appenv, capture_output=True)
        conn = mysql_connect()
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
        conn.close()
        _set_read_only(mysql_connect, False)   # never leave the shared lab read-only
        conn = pg_connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            for db in (name, name + "_rehearsal"):
                cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)
        conn.close()


def assert_ok(result, what):
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (what, result.stdout[-6000:], result.stderr[-3000:])


def work_files(scenario):
    return sorted(name for name in os.listdir(scenario["work"]) if name != "logs")


def test_check_mode_changes_nothing(scenario, mysql_connect, pg_connect):
    """rehearsal.yml and cutover.yml --check in one ansible-playbook run (rollback.yml: the rollback test)."""
    before = (mysql_state(mysql_connect, scenario["db"]), pg_databases(pg_connect, scenario["db"]),
              work_files(scenario))
    result = run_playbook(scenario, ["rehearsal.yml", "cutover.yml"],
                          "-e", "cutover_max_rehearsal_age_hours=0", check=True)
    assert_ok(result, "rehearsal.yml + cutover.yml --check")
    assert "PLAY [Rehearse the migration into a scratch database]" in result.stdout
    assert "PLAY [Cut over from MySQL to PostgreSQL]" in result.stdout
    assert "Check mode: preflight passed; nothing was changed" in result.stdout
    after = (mysql_state(mysql_connect, scenario["db"]), pg_databases(pg_connect, scenario["db"]),
             work_files(scenario))
    assert after == before
    assert http(scenario, "/healthz")["backend"] == "mysql"


def assert_phases(report, names, loading_phase):
    """The report's phases in order, each timed, the rows counted by the phase that loads."""
    assert [p["phase"] for p in report["phases"]] == names
    assert all(p["seconds"] >= 0 for p in report["phases"])
    assert report["rows"] == next(p["rows"] for p in report["phases"] if p["phase"] == loading_phase) > 0
    assert report["estimated_downtime_seconds"] >= sum(p["seconds"] for p in report["phases"])


def test_rehearsal_leaves_mysql_untouched(scenario, mysql_connect, pg_connect):
    """The rehearsal takes the two-step path (migration_pipeline=false); the cutover the pipelined default."""
    before = mysql_state(mysql_connect, scenario["db"])
    result = run_playbook(scenario, "rehearsal.yml", "-e", "migration_pipeline=false")
    assert_ok(result, "rehearsal")
    assert mysql_state(mysql_connect, scenario["db"]) == before
    report = json.loads((scenario["work"] / "reports" / "rehearsal-latest.json").read_text())
    assert report["status"] == "passed"
    assert_phases(report, ["dump", "transform", "load", "embeddings", "index", "sequences", "verify"], "load")
    assert report["source"]["pipelined"] is False
    summary = (scenario["work"] / "reports" / "rehearsal-latest.md").read_text()
    assert summary.startswith("# pgshift rehearsal: PASSED")
    assert scenario["db"] + "_rehearsal" not in pg_databases(pg_connect, scenario["db"])  # scratch dropped


def test_cutover_failure_after_read_only_restores_mysql(scenario, mysql_connect):
    result = run_playbook(scenario, "cutover.yml", "-e", "cutover_fail_after=read_only")
    assert result.returncode != 0
    assert "CUTOVER ABORTED BEFORE THE SWITCH" in result.stdout
    assert mysql_state(mysql_connect, scenario["db"])["read_only"] == 0
    health = http(scenario, "/healthz")
    assert health == {"status": "ok", "backend": "mysql", "maintenance": False}
    assert not (scenario["work"] / "cutover-record.json").exists()


def test_cutover_switches_app_to_postgresql(scenario, mysql_connect, pg_connect):
    result = run_playbook(scenario, "cutover.yml")
    assert_ok(result, "cutover")
    assert http(scenario, "/healthz") == {"status": "ok", "backend": "postgresql", "maintenance": False}
    assert http(scenario, "/qa/history?limit=1")["backend"] == "postgresql"
    record = json.loads((scenario["work"] / "cutover-record.json").read_text())
    assert record["status"] == "complete"
    assert record["mysql"]["binlog"]["file"]
    assert record["postgresql"]["high_water_marks"]["%s.content" % scenario["db"]]["max_key"] == 20
    assert os.path.exists(record["report_path"])
    with open(record["report_path"]) as f:
        report = json.load(f)
    assert report["status"] == "passed" and report["source"]["pipelined"] is True
    assert_phases(report, ["dump", "transform_load", "embeddings", "index", "sequences", "verify"],
                  "transform_load")
    transform_load = report["phases"][1]
    assert transform_load["tables"] == 4 and transform_load["rejected"] == 0
    assert transform_load["transform_seconds"] >= 0 and transform_load["load_seconds"] >= 0
    assert len(record["smoke_tests"]) == 3
    assert mysql_state(mysql_connect, scenario["db"])["read_only"] == 1  # kept for a rollback
    conn = pg_connect(scenario["db"])
    with conn.cursor() as cur:
        cur.execute('SELECT count(*) FROM "%s".content_embedding' % scenario["db"])
        assert cur.fetchone()[0] == 60
    conn.close()


def test_rollback_brings_rows_written_on_postgresql_back(scenario, mysql_connect, pg_connect):
    asked = http(scenario, "/qa/ask", {"question": "written on PostgreSQL %s" % scenario["db"]})
    created = http(scenario, "/content", {"title": "made on PostgreSQL", "body": "one\n\ntwo"})
    assert asked["backend"] == created["backend"] == "postgresql"
    before = mysql_state(mysql_connect, scenario["db"])
    result = run_playbook(scenario, "rollback.yml", check=True)
    assert_ok(result, "rollback --check")
    assert "Check mode: nothing was changed" in result.stdout
    planned = re.search(r"A rollback would write back (\d+) rows", result.stdout)
    assert planned, result.stdout[-3000:]
    assert mysql_state(mysql_connect, scenario["db"]) == before
    assert http(scenario, "/healthz")["backend"] == "postgresql"

    result = run_playbook(scenario, "rollback.yml")
    assert_ok(result, "rollback")
    assert http(scenario, "/healthz") == {"status": "ok", "backend": "mysql", "maintenance": False}
    conn = mysql_connect(scenario["db"])
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM qa_history WHERE question = %s", (asked["question"],))
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT id FROM content WHERE title = 'made on PostgreSQL'")
        assert cur.fetchone()[0] == created["id"]
        cur.execute("SELECT embedding FROM content_embedding WHERE `contentId` = %s ORDER BY `chunkIndex`",
                    (created["id"],))
        embeddings = [json.loads(r[0]) for r in cur.fetchall()]
        cur.execute("SELECT @@GLOBAL.read_only")
        assert cur.fetchone()[0] == 0
    conn.close()
    assert len(embeddings) == 2
    assert all(sorted(e, key=int) == [str(i) for i in range(DIMENSIONS)] for e in embeddings)
    record = json.loads((scenario["work"] / "rollback-record.json").read_text())
    assert int(record["rows"]) == int(planned.group(1)) >= 4  # what --check announced was written
    assert record["unverifiable"] == ["%s.app_setting" % scenario["db"]]
    assert http(scenario, "/qa/ask", {"question": "back on MySQL"})["backend"] == "mysql"


def demo_rollback(work, port):
    env = dict(os.environ, PGSHIFT_DEMO_WORK=str(work), PGSHIFT_DEMO_PORT=str(port))
    return subprocess.run(["bash", os.path.join(ROOT, "scripts", "demo-rollback.sh")], check=False, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("state, reason", [
    ({}, "no cutover record"),
    ({"cutover-record.json": {"status": "switched"}}, "status 'switched', not 'complete'"),
    ({"cutover-record.json": {"status": "complete"}, "rollback-record.json": {"rows": 0}},
     "already rolled back"),
    ({"cutover-record.json": {"status": "complete"}}, "does not answer"),
])
def test_demo_rollback_says_it_needs_a_prior_demo(tmp_path, state, reason):
    for i, (name, content) in enumerate(state.items()):
        (tmp_path / name).write_text(json.dumps(content))
        os.utime(tmp_path / name, (1000 + i, 1000 + i))  # the rollback record is the newer one
    result = demo_rollback(tmp_path, free_port())
    assert result.returncode == 1
    assert "needs a prior `make demo`" in result.stderr and reason in result.stderr
    assert "Run `make demo` first" in result.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(state)  # nothing written
