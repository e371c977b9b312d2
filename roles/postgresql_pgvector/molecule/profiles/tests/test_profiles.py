"""Verify the profiles scenario: production settings in force, restarts only when needed."""

HOST = "pgshift-pgvector-profiles"
testinfra_hosts = ["podman://" + HOST]
LOG = "/var/log/postgresql/postgresql-15-main.log"


def show(host, name):
    return host.check_output("su postgres -c \"psql -XAt -c 'SHOW %s'\"" % name)


def test_production_settings_in_force(host):
    assert show(host, "wal_level") == "logical"
    assert show(host, "max_wal_senders") == "10"
    assert show(host, "synchronous_commit") == "on"
    assert show(host, "max_wal_size") == "4GB"
    assert show(host, "work_mem") == "32MB"
    # 2048 MB, 2 cores given to the role: shared_buffers 512MB, maintenance_work_mem 128MB
    assert show(host, "shared_buffers") == "512MB"
    assert show(host, "maintenance_work_mem") == "128MB"
    assert show(host, "max_parallel_maintenance_workers") == "1"


def test_no_restart_pending(host):
    assert host.check_output(
        "su postgres -c \"psql -XAt -c 'SELECT count(*) FROM pg_settings WHERE pending_restart'\"") == "0"


def test_server_started_exactly_three_times(host):
    # 1: boot (the image's cluster was created by the package but never started, its log is
    # empty); 2: converge (bulk_load with wal_level minimal, shared_buffers); 3: the switch to
    # production (wal_level logical). Idempotence and the three reload-only switches after it
    # must not restart.
    log = host.file(LOG).content_string
    assert log.count("database system is ready to accept connections") == 3, log[-3000:]
    assert log.count("received SIGHUP, reloading configuration files") >= 3


def test_extension_in_database(host):
    sql = "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
    out = host.check_output("su postgres -c %s", "psql -XAt -d vectors -c \"%s\"" % sql)
    assert tuple(int(x) for x in out.split(".")[:2]) >= (0, 5)
