"""Verify the default scenario: server, tuning, pgvector + HNSW, pg_hba, check mode."""

import os
import subprocess
import sys

import pytest

HOST = "pgshift-pgvector-default"
testinfra_hosts = ["podman://" + HOST]

ROLE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REPO = os.path.abspath(os.path.join(ROLE_DIR, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "plugins", "filter"))

from postgresql_tuning import compute  # noqa: E402


def psql(host, sql, db="postgres"):
    cmd = host.run("su postgres -c %s", "psql -X -At -d %s -c %s" % (db, _quote(sql)))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def _quote(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def test_service_running_and_listening(host):
    assert host.service("postgresql@15-main").is_running
    assert host.service("postgresql@15-main").is_enabled
    # minbase has neither ss nor netstat: ask the server, then connect over TCP.
    assert psql(host, "SHOW listen_addresses") == "*"
    assert host.run("pg_isready -q -h 127.0.0.1 -p 5432").rc == 0


def test_memory_settings_match_the_computed_values(host):
    mem_kb = int(host.check_output("awk '/^MemTotal:/ {print $2}' /proc/meminfo"))
    cores = int(host.check_output("nproc --all"))
    want = compute(mem_kb // 1024, cores, "production")
    # Ansible's memtotal_mb is MemTotal // 1024; both sides go through pg_size_bytes.
    for name in ("shared_buffers", "work_mem"):
        sql = "SELECT pg_size_bytes(current_setting('%s')) = pg_size_bytes('%s')" % (name, want[name])
        same = psql(host, sql)
        assert same == "t", "%s: server %s, computed %s" % (name, psql(host, "SHOW " + name), want[name])


def test_extension_version_and_hnsw_index_used(host):
    version = psql(host, "SELECT extversion FROM pg_extension WHERE extname = 'vector'", db="appdb")
    assert tuple(int(x) for x in version.split(".")[:2]) >= (0, 5), version
    sql = (
        "CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, embedding vector(3));"
        "INSERT INTO items SELECT i, ARRAY[random(), random(), random()]::vector(3)"
        " FROM generate_series(1, 2000) i ON CONFLICT DO NOTHING;"
        "CREATE INDEX IF NOT EXISTS items_hnsw ON items USING hnsw (embedding vector_l2_ops);"
        "ANALYZE items;"
        "SET enable_seqscan = off;"
        "EXPLAIN SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 5;"
    )
    plan = psql(host, sql, db="appdb")
    assert "items_hnsw" in plan, plan


def _connect(host, user, password, db):
    return host.run(
        "PGPASSWORD=%s psql -X -At -h 127.0.0.1 -U %s -d %s -c 'SELECT current_user'", password, user, db)


def test_listed_pair_accepted(host):
    cmd = _connect(host, "app", "app-secret-1", "appdb")
    assert cmd.rc == 0 and cmd.stdout.strip() == "app", cmd.stderr


def test_unlisted_pair_rejected(host):
    cmd = _connect(host, "app", "app-secret-1", "otherdb")
    assert cmd.rc != 0
    assert "no pg_hba.conf entry" in cmd.stderr, cmd.stderr


def test_passwords_are_scram(host):
    assert psql(host, "SELECT count(*) FROM pg_authid WHERE rolname IN ('app', 'other')"
                      " AND rolpassword LIKE 'SCRAM-SHA-256$%'") == "2"


@pytest.mark.skipif("MOLECULE_INVENTORY_FILE" not in os.environ, reason="needs Molecule's inventory")
def test_check_mode_on_converged_host_reports_no_change():
    playbook = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
         os.environ["MOLECULE_INVENTORY_FILE"], "--check", playbook],
        capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "changed=0" in run.stdout and "failed=0" in run.stdout, run.stdout[-3000:]
