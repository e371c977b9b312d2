"""The collection as a user gets it: built, installed from its tarball, run by playbook name.

`ansible-galaxy collection build`, then the tarball is checked (no cache, no local state, no
secret), installed into a temporary collections path, and its playbooks run by name
(`ansible-playbook pgshift.mysql.rehearsal` ...) from a temporary project that knows nothing of
this checkout. Its inventory has the three host groups (mysql_source, postgresql_target,
migration_runner; all local connections to the lab) and only documented variables, with
passwords (no option file, no passfile). In order: the runner is chosen from the groups ->
--check of rehearsal and cutover changes nothing in either database -> rehearsal (kept) ->
`--tags verify` runs the verification alone -> cutover -> module_defaults
group/pgshift.mysql.all with login_* aliases -> rollback. No run's output holds a password.
"""

import json
import os
import subprocess
import tarfile
import uuid

import pytest
from test_playbooks import APPCTL, DIMENSIONS, ROOT, free_port, http, mysql_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BIN = os.path.join(ROOT, ".venv", "bin")
# Never in the tarball: local state and caches (build_ignore in galaxy.yml).
FORBIDDEN_PARTS = {
    ".cache",
    ".hypothesis",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    ".venv",
    ".lab",
    ".collections",
    ".git",
    ".ci",
    "tmp",
}
FORBIDDEN_SUFFIXES = (".pyc", ".tar.gz", ".retry", ".env")


def yaml_dump(data):
    return json.dumps(data, indent=2) + "\n"  # JSON is YAML


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def user_env(**settings):
    """The environment of a user who has none of this checkout's Ansible settings.

    `make test` exports ANSIBLE_CONFIG (the checkout's ansible.cfg, whose collections path holds
    the working tree as pgshift.mysql): ansible-galaxy would then find the collection "already
    installed" and install nothing into the temporary path.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(settings)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built tarball and the collections path it was installed into."""
    out = tmp_path_factory.mktemp("build")
    collections = tmp_path_factory.mktemp("collections")
    env = user_env(ANSIBLE_COLLECTIONS_PATH=str(collections))
    subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    [tarball] = [out / name for name in os.listdir(out) if name.endswith(".tar.gz")]
    subprocess.run(
        [
            os.path.join(BIN, "ansible-galaxy"),
            "collection",
            "install",
            "--no-deps",
            "-p",
            str(collections),
            str(tarball),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(out),
        env=env,
    )
    installed_playbook = collections / "ansible_collections/pgshift/mysql/playbooks/cutover.yml"
    assert installed_playbook.is_file(), "ansible-galaxy installed nothing into %s" % collections
    return {"tarball": tarball, "collections": collections}


def test_tarball_holds_no_local_state_and_no_secret(installed, lab):
    secrets = [lab["mysql"]["password"].encode(), lab["postgresql"]["password"].encode()]
    with tarfile.open(installed["tarball"]) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        for member in members:
            parts = set(member.name.split("/"))
            assert not parts & FORBIDDEN_PARTS, member.name
            assert not member.name.endswith(FORBIDDEN_SUFFIXES), member.name
            assert not member.name.startswith("bench/work"), member.name
            if member.isfile():
                data = tar.extractfile(member).read()
                assert not any(s in data for s in secrets), member.name
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    for name in [
        "LICENSE",
        "meta/runtime.yml",
        "playbooks/cutover.yml",
        "roles/cutover/tasks/main.yml",
        "changelogs/config.yaml",
        "plugins/modules/pg_load.py",
    ]:
        assert name in names, name
    info = manifest["collection_info"]
    assert info["license"] == ["GPL-3.0-or-later"] and "example.invalid" not in info["repository"]
    assert info["repository"].startswith("https://")


@pytest.fixture(scope="module")
def project(installed, lab, mysql_connect, pg_connect, tmp_path_factory):
    """A seeded MySQL database, the example app on it, and a project with a three-host inventory."""
    name = "inst_%s" % uuid.uuid4().hex[:8]
    work = tmp_path_factory.mktemp("work")
    proj = tmp_path_factory.mktemp("project")
    port = free_port()
    subprocess.run(
        [
            os.path.join(BIN, "python"),
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
    m, p = lab["mysql"], lab["postgresql"]
    env_file = work / "app" / "qa_app.env"
    env_file.parent.mkdir()
    write_private(
        env_file,
        "DATABASE_URL=mysql://%s:%s@127.0.0.1:3306/%s\nQA_APP_LISTEN=127.0.0.1:%d\n"
        "QA_APP_STATE_DIR=%s\nQA_APP_BYPASS_TOKEN=smoke\n"
        % (m["user"], m["password"], name, port, env_file.parent),
    )
    python = os.path.join(BIN, "python")
    local = {"ansible_connection": "local", "ansible_python_interpreter": python}
    appctl_env = {"QA_APP_PYTHON": python}
    hosts = {
        "all": {
            "children": {
                "mysql_source": {"hosts": {"mysql-1": local}},
                "postgresql_target": {"hosts": {"pg-1": local}},
                "migration_runner": {"hosts": {"runner-1": local}},
                "app": {"hosts": {"app-1": local}},
            }
        }
    }
    settings = {
        "pgshift_work_dir": str(work),
        "pgshift_databases": [name],
        "pgshift_pg_database": name,
        "pgshift_schema_map": {},
        "pgshift_dump_compress": "gzip",
        "pgshift_embeddings": [
            {
                "table": "content_embedding",
                "column": "embedding",
                "dimensions": DIMENSIONS,
                "type": "vector",
                "format": "json_object",
            }
        ],
        "pgshift_mysql_host": "127.0.0.1",
        "pgshift_mysql_port": m["port"],
        "pgshift_mysql_user": m["user"],
        "pgshift_mysql_password": m["password"],
        "pgshift_pg_host": "127.0.0.1",
        "pgshift_pg_port": p["port"],
        "pgshift_pg_user": p["user"],
        "pgshift_pg_password": p["password"],
        "pgshift_app_env_file": str(env_file),
        "pgshift_app_port": port,
        "pgshift_app_mysql_url": "mysql://%s:%s@127.0.0.1:3306/%s" % (m["user"], m["password"], name),
        "pgshift_app_postgresql_url": "postgresql://%s:%s@127.0.0.1:%d/%s?schema=%s"
        % (p["user"], p["password"], p["port"], name, name),
        "pgshift_hook_maintenance_on": [{"command": [APPCTL, "maintenance", "on", str(env_file)]}],
        "pgshift_hook_maintenance_off": [{"command": [APPCTL, "maintenance", "off", str(env_file)]}],
        "pgshift_hook_app_restart": [
            {"command": [APPCTL, "restart", str(env_file)], "environment": appctl_env}
        ],
        "pgshift_smoke_headers": {"X-Maintenance-Bypass": "smoke"},
        "pgshift_smoke_tests": [
            {
                "name": "history",
                "url": "http://127.0.0.1:%d/qa/history?limit=5" % port,
                "contains": '"history"',
            }
        ],
        "cutover_backend_check_url": "http://127.0.0.1:%d/healthz" % port,
        "rollback_backend_check_url": "http://127.0.0.1:%d/healthz" % port,
        "migration_verify_mode": "checksums",
    }
    (proj / "inventory" / "group_vars").mkdir(parents=True)
    (proj / "inventory" / "hosts.yml").write_text(yaml_dump(hosts))
    write_private(proj / "inventory" / "group_vars" / "all.yml", yaml_dump(settings))
    two = json.loads(json.dumps(hosts))
    two["all"]["children"]["migration_runner"] = {"hosts": {}}
    (proj / "inventory-no-runner").mkdir()
    (proj / "inventory-no-runner" / "hosts.yml").write_text(yaml_dump(two))
    (proj / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = %s\nstdout_callback = default\n"
        "interpreter_python = auto_silent\nretry_files_enabled = false\n" % installed["collections"]
    )
    (proj / "sequences.yml").write_text(
        yaml_dump(
            [
                {
                    "name": "module_defaults of the action group, with the community.postgresql option names",
                    "hosts": "migration_runner",
                    "gather_facts": False,
                    "module_defaults": {
                        "group/pgshift.mysql.all": {
                            "login_host": "127.0.0.1",
                            "login_port": p["port"],
                            "login_user": p["user"],
                            "login_password": "{{ pgshift_pg_password }}",
                            "login_db": name,
                        }
                    },
                    "tasks": [
                        {
                            "name": "Plan the sequence reset",
                            "pgshift.mysql.sequence_reset": {"schemas": [name]},
                            "check_mode": True,
                            "register": "planned",
                        },
                        {
                            "name": "Planned",
                            "ansible.builtin.assert": {"that": ["planned.tables | length > 0"]},
                        },
                    ],
                }
            ]
        )
    )
    appenv = dict(os.environ, QA_APP_PYTHON=python)
    subprocess.run([APPCTL, "start", str(env_file)], check=True, env=appenv, capture_output=True)
    try:
        yield {
            "db": name,
            "dir": proj,
            "work": work,
            "port": port,
            "secrets": [m["password"], p["password"]],
            "collections": str(installed["collections"]),
        }
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
            for db in (name, name + "_rehearsal"):
                cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)
        conn.close()


def run(project, *argv, inventory="inventory"):
    """ansible-playbook from the project dir: only the installed collection is on its path."""
    env = user_env(
        ANSIBLE_CONFIG=str(project["dir"] / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_COLLECTIONS_PATH=project["collections"],
        ANSIBLE_PIPELINING="1",
    )
    result = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", inventory, *argv],
        check=False,
        cwd=project["dir"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    logs = project["work"] / "logs"
    logs.mkdir(exist_ok=True)
    (logs / ("%02d.log" % len(os.listdir(logs)))).write_text(
        " ".join(argv) + "\n" + result.stdout + result.stderr
    )
    for secret in project["secrets"]:
        assert secret not in result.stdout + result.stderr, "a password in the output of %s" % (argv,)
    return result


def ok(result, what):
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (what, result.stdout[-6000:], result.stderr[-3000:])
    return result.stdout


def pg_state(pg_connect, db):
    """This run's PostgreSQL databases, and an MD5 of every table of the target database."""
    conn = pg_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (db + "%",))
        names = [r[0] for r in cur.fetchall()]
    conn.close()
    sums = {}
    if db in names:
        conn = pg_connect(db)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
            for (table,) in cur.fetchall():
                cur.execute("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM %s t" % table)
                sums[table] = cur.fetchone()[0]
        conn.close()
    return names, sums


def test_runner_is_migration_runner_else_the_mysql_host(project):
    out = ok(run(project, "pgshift.mysql.cutover", "--list-hosts"), "list-hosts")
    assert "play #2 (migration_runner[0])" in out and "runner-1" in out.split("play #2")[1]
    out = ok(
        run(project, "pgshift.mysql.rehearsal", "--list-hosts", inventory="inventory-no-runner"), "list-hosts"
    )
    assert "mysql_source[0]" in out and "mysql-1" in out and "runner-1" not in out


def test_check_mode_with_passwords_changes_nothing(project, mysql_connect, pg_connect):
    # read_only is global: other tests of the shared lab flip it, so only this database's checksums count.
    before = mysql_state(mysql_connect, project["db"])["checksums"], pg_state(pg_connect, project["db"])
    # A misspelled role variable is named by the preflight (it would be ignored otherwise).
    out = ok(
        run(
            project,
            "pgshift.mysql.rehearsal",
            "pgshift.mysql.cutover",
            "--check",
            "-e",
            "cutover_max_rehearsal_age_hours=0",
            "-e",
            "migration_verfy_mode=counts",
        ),
        "--check",
    )
    assert "Check mode: preflight passed; nothing was changed" in out
    assert "WARNING: unknown variables" in out and "migration_verfy_mode" in out
    assert "ok: [runner-1]" in out and "ok: [mysql-1]" not in out
    assert (
        mysql_state(mysql_connect, project["db"])["checksums"],
        pg_state(pg_connect, project["db"]),
    ) == before
    assert not os.path.exists(project["work"] / "rehearsal")
    assert http(project, "/healthz")["backend"] == "mysql"


def test_rehearsal_then_one_phase_by_its_tag(project, mysql_connect, pg_connect):
    before = mysql_state(mysql_connect, project["db"])["checksums"]
    ok(run(project, "pgshift.mysql.rehearsal", "-e", "rehearsal_keep=true"), "rehearsal")
    assert mysql_state(mysql_connect, project["db"])["checksums"] == before
    report = json.loads((project["work"] / "reports" / "rehearsal-latest.json").read_text())
    assert report["status"] == "passed" and report["source"]["dump_path"].endswith(".sql.gz")
    assert [p["phase"] for p in report["phases"]][:2] == ["dump", "transform_load"]
    out = ok(run(project, "pgshift.mysql.rehearsal", "--tags", "verify"), "rehearsal --tags verify")
    assert "Verify | Compare MySQL and PostgreSQL (checksums)" in out
    assert "Transform and load" not in out and "Dump | Run the dump" not in out
    report = json.loads((project["work"] / "reports" / "rehearsal-latest.json").read_text())
    assert report["status"] == "passed" and [p["phase"] for p in report["phases"]] == ["verify"]
    assert pg_state(pg_connect, project["db"])[0] == []  # scratch database dropped (rehearsal_keep false)


def test_cutover_action_group_and_rollback(project, mysql_connect):
    ok(run(project, "pgshift.mysql.cutover"), "cutover")
    assert http(project, "/healthz") == {"status": "ok", "backend": "postgresql", "maintenance": False}
    record = json.loads((project["work"] / "cutover-record.json").read_text())
    assert record["status"] == "complete"
    assert oct(os.stat(project["work"] / "cutover-record.json").st_mode & 0o777) == "0o600"
    ok(run(project, "sequences.yml"), "module_defaults group/pgshift.mysql.all")
    ok(run(project, "pgshift.mysql.rollback"), "rollback")
    assert http(project, "/healthz") == {"status": "ok", "backend": "mysql", "maintenance": False}
    assert mysql_state(mysql_connect, project["db"])["read_only"] == 0
    assert (
        json.loads((project["work"] / "reports" / "rollback-latest.json").read_text())["status"] == "passed"
    )
