"""pg_load against the lab's real PostgreSQL, on migration dirs written by hand after docs/contracts.md.

Covers: the full order (pre-data, COPY, post-data, ANALYZE), resume records, idempotence, check mode,
if_exists, rejected rows (max_rejects 0 / 1 / property-based positions), a load killed with SIGKILL in
the middle of a COPY, and the module run through ansible-playbook.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PGSHIFT = os.path.join(ROOT, "bin", "pgshift")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


# ---------------------------------------------------------------- migration dirs written by hand

def _q(*names):
    return ".".join('"%s"' % n.replace('"', '""') for n in names)


def make_table(schema, name, columns, lines, *, post_data=(), rows=None):
    """A manifest table entry plus its data lines. columns: [(name, pg_type, nullable)]."""
    cols_sql = ", ".join("%s %s%s" % (_q(c), t, "" if nullable else " NOT NULL")
                         for c, t, nullable in columns)
    return {
        "schema": schema, "name": name, "source_schema": schema, "source_name": name,
        "columns": [{"name": c, "source_name": c, "source_type": "text", "pg_type": t, "nullable": nullable,
                     "identity": False, "default": None, "embedding": None} for c, t, nullable in columns],
        "primary_key": [], "auto_increment": None,
        "create_sql": "CREATE TABLE %s (%s);" % (_q(schema, name), cols_sql),
        "post_data": [{"kind": k, "name": n, "sql": s} for k, n, s in post_data],
        "data_file": "data/%s.%s.copy" % (schema, name), "rows": rows, "bytes": None, "rejected": 0,
        "warnings": [], "_lines": lines,
    }


def write_migration_dir(path, tables, schemas, *, types=(), views=(), complete=True):
    """manifest.json + pre-data.sql + data/*.copy + post-data.sql, exactly as the contract says."""
    os.makedirs(os.path.join(path, "data"), exist_ok=True)
    entries = []
    for table in tables:
        entry = dict(table)
        lines = entry.pop("_lines")
        data_path = os.path.join(path, entry["data_file"])
        count = 0
        with open(data_path, "wb") as f:
            for line in lines:
                f.write(line)
                count += 1
        entry["rows"] = count if entry["rows"] is None else entry["rows"]
        entry["bytes"] = os.path.getsize(data_path)
        entries.append(entry)
    pre = ["CREATE SCHEMA %s;" % _q(s) for s in schemas] + list(types) + [t["create_sql"] for t in entries]
    post = [p["sql"] for t in entries for p in t["post_data"]] + [v["sql"] for v in views]
    with open(os.path.join(path, "pre-data.sql"), "w") as f:
        f.write("\n".join(pre) + "\n")
    with open(os.path.join(path, "post-data.sql"), "w") as f:
        f.write("\n".join(post) + "\n")
    manifest = {"format": 1, "complete": complete, "created_at": "2026-11-22T05:00:00Z",
                "source": {"kind": "dump", "path": "/nowhere/dump.sql", "server_version": "10.11.6-MariaDB"},
                "options": {"identifier_case": "preserve", "schema_mode": "create"},
                "schemas": list(schemas), "tables": entries, "views": list(views), "routines": [],
                "warnings": []}
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return path


def people_lines(n, bad=()):
    """Rows with values COPY must keep exactly: escapes, unicode, NULLs. `bad` line numbers get a
    value integer cannot take."""
    for i in range(1, n + 1):
        if i in bad:
            yield b"%d\tbad row\tnot-a-number\n" % i
        elif i % 7 == 0:
            yield b"%d\t\\N\t%d\n" % (i, i % 90)
        else:
            yield ("%d\tn\u00e9e %d \U0001f30d tab\\there\\nline\t%d\n" % (i, i, i % 90)).encode()


def pets_lines(n, owners):
    for i in range(1, n + 1):
        yield b"%d\t%d\tpet %d\n" % (i, (i % owners) + 1, i)


PEOPLE = '"app"."people"'
PETS = '"app"."pets"'


def demo_dir(path, people=300, pets=1000, bad=()):
    people_t = make_table("app", "people", [("id", "integer", False), ("name", "text", True),
                                            ("age", "integer", True)], people_lines(people, bad), post_data=[
        ("primary_key", "people_pkey", 'ALTER TABLE %s ADD CONSTRAINT people_pkey PRIMARY KEY(id);' % PEOPLE),
        ("index", "people_age_idx", 'CREATE INDEX "people_age_idx" ON %s ("age");' % PEOPLE),
        ("comment", None, 'COMMENT ON TABLE %s IS \'humans; and "others"\';' % PEOPLE),
    ])
    pets_t = make_table("app", "pets", [("id", "integer", False), ("owner", "integer", True),
                                        ("label", "text", True)], pets_lines(pets, people), post_data=[
        ("primary_key", "pets_pkey", 'ALTER TABLE %s ADD CONSTRAINT "pets_pkey" PRIMARY KEY ("id");' % PETS),
        ("unique", "pets_label_key", 'ALTER TABLE %s ADD CONSTRAINT pets_label_key UNIQUE ("label");' % PETS),
        ("foreign_key", "pets_owner_fkey", 'ALTER TABLE %s ADD CONSTRAINT "pets_owner_fkey" FOREIGN KEY'
                                           ' (owner) REFERENCES %s (id) ON DELETE CASCADE;' % (PETS, PEOPLE)),
    ])
    views = [{"schema": "app", "name": "pet_count", "translated": True,
              "sql": 'CREATE VIEW "app"."pet_count" AS SELECT owner, count(*) AS n FROM %s GROUP BY owner;'
                     % PETS}]
    types = ["CREATE TYPE \"app\".\"mood\" AS ENUM ('calm', 'a;b', $$it's$$);"]
    return write_migration_dir(str(path), [people_t, pets_t], ["app"], types=types, views=views)


@pytest.fixture
def params(lab, pg_db):
    p = lab["postgresql"]
    return {"pg_host": p["host"], "pg_port": p["port"], "pg_user": p["user"], "pg_passfile": p["passfile"],
            "pg_database": pg_db, "pg_sslmode": "prefer"}


def query(pg_connect, db, sql, args=None):
    conn = pg_connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def dump_table(pg_connect, db, qualified, order="1"):
    """The table as COPY text, ordered: compared byte for byte with the data file."""
    import io
    conn = pg_connect(db)
    try:
        buf = io.BytesIO()
        with conn.cursor() as cur:
            cur.copy_expert("COPY (SELECT * FROM %s ORDER BY %s) TO STDOUT" % (qualified, order), buf)
        return buf.getvalue().splitlines(keepends=True)
    finally:
        conn.close()


def data_lines(src, key):
    with open(os.path.join(src, "data", key + ".copy"), "rb") as f:
        return f.readlines()


# ---------------------------------------------------------------- the full load

def test_full_load_then_rerun_changes_nothing(tmp_path, params, pg_connect, pg_db):
    src = demo_dir(tmp_path / "mig")
    result = load(params, src, jobs=2)

    assert result["changed"] is True
    assert set(result["tables"]) == {"app.people", "app.pets"}
    for key, rows in (("app.people", 300), ("app.pets", 1000)):
        figures = result["tables"][key]
        assert figures["rows"] == rows and figures["rejected"] == 0 and figures["action"] == "create"
        assert figures["seconds"] > 0 and figures["mb_per_s"] > 0
        assert dump_table(pg_connect, pg_db, '"app"."%s"' % key.split(".")[1]) == data_lines(src, key)
    # post-data: keys, index, FK validated, comment, view; pre-data type with a ';' in a label
    constraints = dict(query(pg_connect, pg_db, "SELECT conname, convalidated FROM pg_constraint"
                                                " WHERE connamespace = 'app'::regnamespace"))
    assert constraints == {"people_pkey": True, "pets_pkey": True, "pets_label_key": True,
                           "pets_owner_fkey": True}
    assert query(pg_connect, pg_db, "SELECT to_regclass('app.people_age_idx') IS NOT NULL,"
                                    " obj_description('app.people'::regclass),"
                                    " enum_range(NULL::app.mood)::text")[0] == (True, 'humans; and "others"',
                                                                                 "{calm,a;b,it's}")
    assert query(pg_connect, pg_db, "SELECT sum(n) FROM app.pet_count")[0][0] == 1000
    # ANALYZE ran on the loaded tables
    analyzed = query(pg_connect, pg_db, "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'app'"
                                        " AND last_analyze IS NOT NULL ORDER BY 1")
    assert [r[0] for r in analyzed] == ["people", "pets"]
    # the resume record, in the database and mirrored for humans
    recorded = query(pg_connect, pg_db, "SELECT schema_name || '.' || table_name, rows, rejected"
                                        " FROM pgshift_state.loaded_tables ORDER BY 1")
    assert recorded == [("app.people", 300, 0), ("app.pets", 1000, 0)]
    with open(os.path.join(src, "load-state.json")) as f:
        state = json.load(f)
    assert state["tables"]["app.pets"]["state"] == "done" and state["tables"]["app.pets"]["rows"] == 1000
    assert len(state["post_data_done"]) == 7

    again = load(params, src, jobs=2)
    assert again["changed"] is False
    assert {k: v["action"] for k, v in again["tables"].items()} == {"app.people": "skip", "app.pets": "skip"}
    assert again["rows"] == 1300 and again["post_data_steps"] == 0


def test_check_mode_reports_and_writes_nothing(tmp_path, params, pg_connect, pg_db):
    src = demo_dir(tmp_path / "mig")
    result = load(params, src, check_mode=True)

    assert result["changed"] is True
    assert {k: v["action"] for k, v in result["tables"].items()} == {"app.people": "create",
                                                                      "app.pets": "create"}
    assert result["tables"]["app.pets"]["rows"] == 1000
    assert any(q.startswith('CREATE TABLE "app"."pets"') for q in result["queries"])
    assert any("FREEZE" in q for q in result["queries"])
    assert query(pg_connect, pg_db, "SELECT count(*) FROM pg_namespace"
                                    " WHERE nspname IN ('app', 'pgshift_state')")[0][0] == 0
    assert not os.path.exists(os.path.join(src, "load-state.json"))

    load(params, src)
    assert load(params, src, check_mode=True)["changed"] is False


def test_refuses_incomplete_manifest(tmp_path, params):
    src = str(tmp_path / "mig")
    write_migration_dir(src, [make_table("app", "t", [("id", "integer", False)], [b"1\n"])], ["app"],
                        complete=False)
    with pytest.raises(MigrationError, match="not marked complete"):
        load(params, src)


def test_post_data_resumes_after_a_run_that_died_half_way(tmp_path, params, pg_connect, pg_db):
    """Objects a dead run already made are neither remade ('already exists') nor forgotten."""
    src = demo_dir(tmp_path / "mig")
    first = load(params, src, post_data=False)
    assert first["post_data_steps"] == 0
    assert query(pg_connect, pg_db, "SELECT count(*) FROM pg_constraint"
                                    " WHERE connamespace = 'app'::regnamespace")[0][0] == 0
    conn = pg_connect(pg_db)  # what the dead run got done: a key, and the FK added but not validated
    with conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE app.people ADD CONSTRAINT people_pkey PRIMARY KEY (id);"
                    "ALTER TABLE app.pets ADD CONSTRAINT pets_owner_fkey FOREIGN KEY (owner)"
                    " REFERENCES app.people (id) NOT VALID")
    conn.close()

    result = load(params, src)
    assert result["changed"] is True and result["post_data_steps"] == 6  # 7 steps, the key was there
    assert {k: v["action"] for k, v in result["tables"].items()} == {"app.people": "skip", "app.pets": "skip"}
    constraints = dict(query(pg_connect, pg_db, "SELECT conname, convalidated FROM pg_constraint"
                                                " WHERE connamespace = 'app'::regnamespace"))
    assert constraints == {"people_pkey": True, "pets_pkey": True, "pets_label_key": True,
                           "pets_owner_fkey": True}
    assert load(params, src)["changed"] is False


# ---------------------------------------------------------------- if_exists

def _existing_people(pg_connect, db):
    conn = pg_connect(db)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA app; CREATE TABLE app.people (id integer NOT NULL, name text, age integer,"
                    " extra text); CREATE INDEX people_name_idx ON app.people (name);"
                    " INSERT INTO app.people VALUES (-1, 'was here', 1, 'x')")
    conn.close()


@pytest.mark.parametrize("if_exists", ["fail", "truncate", "drop"])
def test_if_exists(tmp_path, params, pg_connect, pg_db, if_exists):
    _existing_people(pg_connect, pg_db)
    src = demo_dir(tmp_path / "mig", people=50, pets=0)
    columns = "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute" \
              " WHERE attrelid = 'app.people'::regclass AND attnum > 0 AND NOT attisdropped"

    if if_exists == "fail":
        with pytest.raises(MigrationError, match=r"app\.people.*already exist.*if_exists"):
            load(params, src, if_exists="fail")
        assert query(pg_connect, pg_db, "SELECT id FROM app.people") == [(-1,)]
        assert query(pg_connect, pg_db, "SELECT to_regclass('app.pets')")[0][0] is None
        return
    result = load(params, src, if_exists=if_exists)
    assert result["tables"]["app.people"]["action"] == if_exists
    assert query(pg_connect, pg_db, "SELECT count(*), min(id) FROM app.people")[0] == (50, 1)
    # truncate keeps the table as it was (COPY names its columns); drop recreates it from the manifest
    assert query(pg_connect, pg_db, columns)[0][0] == ("id,name,age,extra" if if_exists == "truncate"
                                                       else "id,name,age")
    kept_index = query(pg_connect, pg_db, "SELECT to_regclass('app.people_name_idx') IS NOT NULL")[0][0]
    assert kept_index is (if_exists == "truncate")


# ---------------------------------------------------------------- rejected rows

def test_bad_row_fails_with_table_line_and_error(tmp_path, params, pg_connect, pg_db):
    src = demo_dir(tmp_path / "mig", bad={123})
    with pytest.raises(MigrationError) as err:
        load(params, src, jobs=2)
    message = str(err.value)
    assert "app.people" in message and "data/app.people.copy line 123" in message
    assert "invalid input syntax for type integer" in message and "not-a-number" in message
    # nothing of the refused table is there, and it is not recorded
    assert query(pg_connect, pg_db, "SELECT to_regclass('app.people')")[0][0] is None
    assert query(pg_connect, pg_db, "SELECT count(*) FROM pgshift_state.loaded_tables"
                                    " WHERE table_name = 'people'")[0][0] == 0


def test_one_bad_row_allowed_goes_to_reject_file(tmp_path, params, pg_connect, pg_db):
    src = demo_dir(tmp_path / "mig", people=400, pets=0, bad={250})
    result = load(params, src, max_rejects=1, post_data=False)

    figures = result["tables"]["app.people"]
    assert (figures["rows"], figures["rejected"], result["rejected"]) == (399, 1, 1)
    with open(os.path.join(src, "rejects", "app.people.copy"), "rb") as f:
        assert f.read() == b"250\tbad row\tnot-a-number\n"
    with open(os.path.join(src, "rejects", "app.people.log")) as f:
        log = f.read()
    assert log.startswith("data/app.people.copy line 250: 22P02: invalid input syntax for type integer")
    assert "line 250, column age" in log
    assert any("app.people" in w and "rejects/app.people.copy" in w for w in result["warnings"])
    expected = [line for i, line in enumerate(data_lines(src, "app.people"), 1) if i != 250]
    assert dump_table(pg_connect, pg_db, "app.people") == expected
    assert query(pg_connect, pg_db, "SELECT rows, rejected FROM pgshift_state.loaded_tables"
                                    " WHERE table_name = %s", ("people",)) == [(399, 1)]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sets(st.integers(min_value=1, max_value=25000), min_size=1, max_size=6))
def test_isolation_finds_exactly_the_bad_rows(tmp_path_factory, params, pg_connect, bad):
    """Bad rows anywhere (batch edges included): exactly those rejected, every other row loaded once."""
    src = demo_dir(tmp_path_factory.mktemp("mig"), people=25000, pets=0, bad=bad)
    result = load(params, src, max_rejects=len(bad), post_data=False, if_exists="drop")

    assert result["tables"]["app.people"]["rejected"] == len(bad)
    with open(os.path.join(src, "rejects", "app.people.log")) as f:
        lines = [int(line.split(" line ")[1].split(":")[0]) for line in f]
    assert sorted(lines) == sorted(bad)
    assert query(pg_connect, params["pg_database"], "SELECT count(*), count(DISTINCT id) FROM app.people"
                 )[0] == (25000 - len(bad),) * 2
    conn = pg_connect(params["pg_database"])  # the next example reloads from a fresh state
    with conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA pgshift_state CASCADE")
    conn.close()


def test_too_many_rejects_fail_and_load_nothing(tmp_path, params, pg_connect, pg_db):
    src = demo_dir(tmp_path / "mig", people=100, pets=0, bad={10, 20})
    with pytest.raises(MigrationError, match=r"more than max_rejects=1 .*line 10"):
        load(params, src, max_rejects=1)
    assert query(pg_connect, pg_db, "SELECT to_regclass('app.people')")[0][0] is None


# ---------------------------------------------------------------- killed in the middle of a COPY

def _cli(params, src, *extra):
    argv = [os.path.join(VENV_BIN, "python"), PGSHIFT, "load", src, "--pg-host", params["pg_host"],
            "--pg-port", str(params["pg_port"]), "--pg-user", params["pg_user"],
            "--pg-passfile", params["pg_passfile"], "--pg-database", params["pg_database"], *extra]
    return argv


def _big_lines(n):
    chunk = 100000
    for start in range(1, n + 1, chunk):
        yield b"".join(b"%d\trow number %d with some padding text\t%d\n" % (i, i, i % 97)
                       for i in range(start, min(start + chunk, n + 1)))


def test_killed_mid_copy_then_rerun_loads_exactly_once(tmp_path, params, pg_connect, pg_db):
    n = 2_500_000
    big = make_table("app", "big", [("id", "bigint", False), ("label", "text", True), ("k", "integer", True)],
                     _big_lines(n), rows=n,
                     post_data=[("primary_key", "big_pkey", 'ALTER TABLE app.big ADD PRIMARY KEY ("id");')])
    small = make_table("app", "small", [("id", "integer", False)], (b"%d\n" % i for i in range(1, 101)))
    src = write_migration_dir(str(tmp_path / "mig"), [big, small], ["app"])

    proc = subprocess.Popen(_cli(params, src, "--jobs", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = pg_connect()
    watcher.autocommit = True
    try:
        deadline = time.monotonic() + 30
        copied = 0
        while copied < 5_000_000 and time.monotonic() < deadline and proc.poll() is None:
            with watcher.cursor() as cur:
                cur.execute("SELECT coalesce(max(bytes_processed), 0) FROM pg_stat_progress_copy p"
                            " JOIN pg_database d ON d.oid = p.datid WHERE d.datname = %s", (pg_db,))
                copied = cur.fetchone()[0]
            time.sleep(0.01)
        assert proc.poll() is None, "the load ended before it could be killed: make the table bigger"
        assert copied > 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        # the server notices the dead client and rolls the COPY back
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with watcher.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                            " AND pid <> pg_backend_pid()", (pg_db,))
                if cur.fetchone()[0] == 0:
                    break
            time.sleep(0.05)
    finally:
        watcher.close()
    assert query(pg_connect, pg_db, "SELECT to_regclass('app.big')")[0][0] is None  # rolled back whole
    assert query(pg_connect, pg_db, "SELECT schema_name || '.' || table_name FROM pgshift_state.loaded_tables"
                 ) == [("app.small",)]

    rerun = subprocess.run(_cli(params, src), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["tables"]["app.small"]["action"] == "skip"
    assert report["tables"]["app.big"]["rows"] == n
    assert query(pg_connect, pg_db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM app.big"
                 )[0] == (n, n, 1, n)
    assert query(pg_connect, pg_db, "SELECT count(*) FROM app.small")[0][0] == 100


# ---------------------------------------------------------------- as an Ansible module

PLAYBOOK = """
- name: Load a migration dir with pgshift.mysql.pg_load
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - secrets.yml
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Load
      pgshift.mysql.pg_load:
        src: "%(src)s"
        pg_host: "%(host)s"
        pg_port: %(port)d
        pg_user: "%(user)s"
        pg_password: "{{ lab_pg_password }}"
        pg_database: "%(db)s"
        jobs: 2
      register: first

    - name: Load again
      pgshift.mysql.pg_load:
        src: "%(src)s"
        pg_host: "%(host)s"
        pg_port: %(port)d
        pg_user: "%(user)s"
        pg_password: "{{ lab_pg_password }}"
        pg_database: "%(db)s"
      register: second

    - name: The first run loaded, the second changed nothing
      ansible.builtin.assert:
        that:
          - first is changed
          - first.tables['app.pets'].rows == 1000
          - first.tables['app.people'].rows == 300
          - second is not changed
"""


def test_runs_as_ansible_module_without_leaking_the_password(tmp_path, lab, pg_connect, pg_db):
    src = demo_dir(tmp_path / "mig")
    p = lab["postgresql"]
    (tmp_path / "secrets.yml").write_text("lab_pg_password: %s\n" % json.dumps(p["password"]))
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"src": src, "host": p["host"], "port": p["port"],
                                                   "user": p["user"], "db": pg_db})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    run = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-vvv", str(tmp_path / "play.yml")],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "ok=3" in output and "changed=1" in output
    assert p["password"] not in output
    assert query(pg_connect, pg_db, "SELECT count(*) FROM app.pets")[0][0] == 1000


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
