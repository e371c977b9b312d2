"""Incident drills: a failure injected after every step of the cutover and of the rollback.

Each run is checked for the state it leaves (maintenance, MySQL read_only, writers, the app's
backend) and for the status of its report. Before the switch the cutover must put everything
back (maintenance off, MySQL read-write, writers started, app on MySQL, report FAILED); after the
switch it must leave one known state (app on PostgreSQL, maintenance on, writers stopped, MySQL
read-only) with the record and a FAILED report naming the step. A failed rollback leaves
maintenance on, writers stopped and MySQL read-only, with a FAILED record and report; rerunning
it then succeeds. The writers are a flag file the hooks create (stop) and remove (start).
"""

import json
import os
import subprocess
import uuid

import pytest
from test_playbooks import APPCTL, DIMENSIONS, ROOT, free_port, http, run_playbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BEFORE_SWITCH = ["maintenance_on", "writers_stop", "read_only", "dump", "migration", "marks"]
# (cutover step that fails after the switch, rollback step that fails afterwards); the last
# three pairs start from a cutover that succeeded.
AFTER_SWITCH = [
    ("switch", "maintenance_on"),
    ("record", "writers_stop"),
    ("smoke", "switch"),
    ("writers_start", "read_write"),
    ("maintenance_off", "export"),
    ("", "smoke"),
    ("", "writers_start"),
    ("", "maintenance_off"),
]


@pytest.fixture(scope="module")
def drill(lab, mysql_connect, pg_connect, tmp_path_factory):
    name = "drill_%s" % uuid.uuid4().hex[:8]
    work = tmp_path_factory.mktemp("drill")
    port = free_port()
    subprocess.run(
        [
            os.path.join(ROOT, ".venv", "bin", "python"),
            os.path.join(ROOT, "examples", "qa_app", "seed.py"),
            "--defaults-file",
            os.path.join(ROOT, ".lab", "my.cnf"),
            "--database",
            name,
            "--contents",
            "5",
            "--dimensions",
            str(DIMENSIONS),
        ],
        check=True,
        capture_output=True,
    )
    app_dir = work / "app"
    app_dir.mkdir()
    env_file = app_dir / "qa_app.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            "DATABASE_URL=mysql://%s:%s@127.0.0.1:3306/%s\nQA_APP_LISTEN=127.0.0.1:%d\n"
            "QA_APP_STATE_DIR=%s\nQA_APP_BYPASS_TOKEN=pgshift-smoke\n"
            % (lab["mysql"]["user"], lab["mysql"]["password"], name, port, app_dir)
        )
    writers = str(work / "writers-stopped")
    vars_file = work / "vars.json"
    vars_file.write_text(
        json.dumps(
            {
                "pgshift_work_dir": str(work),
                "pgshift_databases": [name],
                "pgshift_pg_database": name,
                "pgshift_app_port": port,
                "pgshift_dump_compress": "none",
                "pgshift_hook_writers_stop": [{"command": ["touch", writers]}],
                "pgshift_hook_writers_start": [{"command": ["rm", "-f", writers]}],
                "cutover_max_rehearsal_age_hours": 0,
                "cutover_if_exists": "drop",
                "migration_verify_mode": "counts",
                "pgshift_embeddings": [
                    {
                        "table": "content_embedding",
                        "column": "embedding",
                        "dimensions": DIMENSIONS,
                        "type": "vector",
                        "format": "json_object",
                    }
                ],
            }
        )
    )
    appenv = dict(os.environ, QA_APP_PYTHON=os.path.join(ROOT, ".venv", "bin", "python"))
    subprocess.run([APPCTL, "start", str(env_file)], check=True, env=appenv, capture_output=True)
    try:
        yield {"db": name, "work": work, "port": port, "vars_file": str(vars_file), "writers": writers}
    finally:
        subprocess.run([APPCTL, "stop", str(env_file)], check=False, env=appenv, capture_output=True)
        conn = mysql_connect()
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL read_only = OFF")  # never leave the shared lab read-only
            cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
        conn.close()
        conn = pg_connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        conn.close()


def state(drill, mysql_connect):
    health = http(drill, "/healthz")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.read_only")
        read_only = bool(cur.fetchone()[0])
    conn.close()
    return {
        "backend": health["backend"],
        "maintenance": health["maintenance"],
        "read_only": read_only,
        "writers": "stopped" if os.path.exists(drill["writers"]) else "started",
    }


def report(drill, name):
    with open(drill["work"] / "reports" / ("%s-latest.json" % name)) as f:
        return json.load(f)


def remove(drill, *names):
    for name in names:
        path = drill["work"] / name
        if path.exists() or path.is_symlink():
            path.unlink()


STARTED = {"backend": "mysql", "maintenance": False, "read_only": False, "writers": "started"}
SWITCHED_SAFE = {"backend": "postgresql", "maintenance": True, "read_only": True, "writers": "stopped"}


@pytest.mark.parametrize("step", BEFORE_SWITCH)
def test_cutover_failure_before_the_switch_puts_everything_back(drill, mysql_connect, step):
    assert state(drill, mysql_connect) == STARTED
    remove(drill, "reports/cutover-latest.json")
    result = run_playbook(drill, "cutover.yml", "-e", "cutover_fail_after=%s" % step)
    assert result.returncode != 0
    assert "CUTOVER ABORTED BEFORE THE SWITCH at step %s" % step in result.stdout, result.stdout[-3000:]
    assert state(drill, mysql_connect) == STARTED
    failed = report(drill, "cutover")
    assert failed["status"] == "failed" and "step %s" % step in failed["error"]
    assert "Nothing was switched" in failed["action"]
    assert not (drill["work"] / "cutover-record.json").exists()


@pytest.mark.parametrize("cutover_step, rollback_step", AFTER_SWITCH)
def test_failure_after_the_switch_and_in_the_rollback_leave_a_known_state(
    drill, mysql_connect, cutover_step, rollback_step
):
    assert state(drill, mysql_connect) == STARTED
    remove(drill, "cutover-record.json", "rollback-record.json")
    result = run_playbook(drill, "cutover.yml", "-e", "cutover_fail_after=%s" % cutover_step)
    record = json.loads((drill["work"] / "cutover-record.json").read_text())
    if cutover_step:
        assert result.returncode != 0
        assert "CUTOVER FAILED AFTER THE SWITCH at step %s" % cutover_step in result.stdout, result.stdout[
            -3000:
        ]
        assert state(drill, mysql_connect) == SWITCHED_SAFE
        failed = report(drill, "cutover")
        assert (
            failed["status"] == "failed" and "after the switch, at step %s" % cutover_step in failed["error"]
        )
        assert "playbooks/rollback.yml" in failed["action"]
        md = (drill["work"] / "reports" / "cutover-latest.md").read_text()
        assert md.startswith("# pgshift cutover: FAILED") and "What to do" in md
        assert record["status"] == "failed" and record["failed_step"] == cutover_step
        assert record["marks"]["tables"]
    else:
        assert result.returncode == 0, result.stdout[-3000:]
        assert state(drill, mysql_connect) == {
            "backend": "postgresql",
            "maintenance": False,
            "read_only": True,
            "writers": "started",
        }
        assert record["status"] == "complete" and report(drill, "cutover")["status"] == "passed"

    result = run_playbook(drill, "rollback.yml", "-e", "rollback_fail_after=%s" % rollback_step)
    assert result.returncode != 0
    assert "ROLLBACK FAILED at step %s" % rollback_step in result.stdout, result.stdout[-3000:]
    switched_back = rollback_step not in ("maintenance_on", "writers_stop")
    assert state(drill, mysql_connect) == {
        "backend": "mysql" if switched_back else "postgresql",
        "maintenance": True,
        "read_only": True,
        "writers": "stopped",
    }
    failed = json.loads((drill["work"] / "rollback-record.json").read_text())
    assert failed["status"] == "failed" and failed["failed_step"] == rollback_step
    assert report(drill, "rollback")["status"] == "failed"
    assert (
        (drill["work"] / "reports" / "rollback-latest.md")
        .read_text()
        .startswith("# pgshift rollback: FAILED")
    )

    result = run_playbook(drill, "rollback.yml")  # what the report says to do: rerun it
    assert result.returncode == 0, result.stdout[-3000:]
    assert state(drill, mysql_connect) == STARTED
    assert report(drill, "rollback")["status"] == "passed"
