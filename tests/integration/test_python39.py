"""The modules on the oldest Python of common managed hosts (3.9: RHEL 9): the engine imports there,
and dump_transform, pg_load and migration_verify run through ansible-playbook with that interpreter
(ansible_python_interpreter) and give byte for byte what they give on the controller's Python.
They used to fail with tracebacks (datetime.UTC, isinstance(x, A | B), zip(strict=), possessive
regular expressions)."""
import json
import os
import subprocess

import pytest
from test_pg_load_e2e import _dump

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY39 = os.path.join(ROOT, ".venv39", "bin", "python")

if not os.path.exists(PY39):
    pytest.skip("no .venv39 (make setup makes it where a Python 3.9 exists)", allow_module_level=True)

IMPORT_ALL = """
import importlib, os, sys
sys.path.insert(0, sys.argv[1])
base = "ansible_collections.pgshift.mysql.plugins.module_utils"
root = os.path.join(sys.argv[1], *base.split("."))
for dirpath, _dirs, files in os.walk(root):
    for name in sorted(files):
        if name.endswith(".py") and name != "__init__.py":
            rel = os.path.relpath(os.path.join(dirpath, name), root)[:-3].replace(os.sep, ".")
            importlib.import_module(base + "." + rel)
print(sys.version_info[:2])
"""

PLAYBOOK = """- name: The modules on {python}
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
  tasks:
    - name: Transform
      pgshift.mysql.dump_transform:
        src: {dump}
        dest: {dest}
        default_schema: {db}
        embeddings: [{{table: doc, column: embedding, dimensions: 3}}]
    - name: Load
      pgshift.mysql.pg_load:
        src: {dest}
        pg_host: {pg[host]}
        pg_port: {pg[port]}
        pg_user: {pg[user]}
        pg_passfile: {pg[passfile]}
        pg_database: {pg_db}
    - name: Verify
      pgshift.mysql.migration_verify:
        src: {dest}
        mode: checksums
        mysql_defaults_file: {my_cnf}
        pg_host: {pg[host]}
        pg_port: {pg[port]}
        pg_user: {pg[user]}
        pg_passfile: {pg[passfile]}
        pg_database: {pg_db}
"""


def test_the_engine_imports_on_python39():
    run = subprocess.run([PY39, "-c", IMPORT_ALL, os.path.join(ROOT, ".collections")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(3, 9)"


def _source(mysql_connect, db):
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE doc (id int PRIMARY KEY, title varchar(40), body blob, at datetime(3), "
                    "ok tinyint(1), embedding longtext)")
        cur.executemany("INSERT INTO doc VALUES (%s, %s, %s, %s, %s, %s)",
                        [(i, "t\t%d é" % i, bytes([i, 0, 255]), "2024-02-29 12:00:0%d.125" % i, i % 2,
                          json.dumps({"0": i / 7, "1": -0.5, "2": 1e-7 * i})) for i in range(1, 6)])
    conn.close()


def _run(lab, python, dump, dest, *, db, pg_db, tmp_path):
    book = tmp_path / ("%s.yml" % os.path.basename(os.path.dirname(os.path.dirname(python))))
    book.write_text(PLAYBOOK.format(python=python, dump=dump, dest=dest, db=db, pg=lab["postgresql"],
                                    pg_db=pg_db, my_cnf=lab["mysql"]["defaults_file"]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    run = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), str(book)], env=env,
                         capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr


def _files(dest):
    out = {}
    for dirpath, _dirs, files in os.walk(dest):
        for name in files:
            path = os.path.join(dirpath, name)
            if name not in ("manifest.json", "load-state.json"):
                with open(path, "rb") as f:
                    out[os.path.relpath(path, dest)] = f.read()
    return out


def test_modules_run_on_python39_and_write_the_same_bytes(lab, mysql_db, mysql_connect, pg_connect,  # noqa: PLR0917
                                                         pg_db, new_pg_database, tmp_path):
    _source(mysql_connect, mysql_db)
    dump = tmp_path / "d.sql"
    _dump(mysql_db, str(dump))
    _run(lab, PY39, dump, tmp_path / "m39", db=mysql_db, pg_db=pg_db, tmp_path=tmp_path)
    controller = os.path.join(ROOT, ".venv", "bin", "python")
    _run(lab, controller, dump, tmp_path / "m311", db=mysql_db, pg_db=new_pg_database(), tmp_path=tmp_path)
    assert _files(tmp_path / "m39") == _files(tmp_path / "m311")
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute('SELECT count(*), count(embedding) FROM "%s".doc' % mysql_db)
        assert cur.fetchone() == (5, 5)
    conn.close()
