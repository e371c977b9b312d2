"""The Ansible modules, given broken inputs, fail with one line in `msg` naming the input and the
reason, never a traceback (issue 15). Each module runs as Ansible runs it: a Python process reading
its arguments from a JSON file."""
import gzip
import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORLD = os.path.join(ROOT, os.pardir, "shared", "data", "world", "world-mariadb-mysqldump.sql")


def run_module(name, args, tmp_path):
    path = tmp_path / ("%s-args.json" % name)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".collections"))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "plugins", "modules", name + ".py"), str(path)],
                          capture_output=True, text=True, check=False, env=env)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inputs(tmp_path):
    with open(WORLD, "rb") as f:
        data = f.read()
    (tmp_path / "bad.sql.gz").write_bytes(gzip.compress(data)[:20000])
    (tmp_path / "cut.sql").write_bytes(data[:data.index(b"INSERT INTO `country`")])
    (tmp_path / "incomplete").mkdir()
    (tmp_path / "incomplete" / "manifest.json").write_text('{"format": 1, "complete": false, "tables": []}')
    return tmp_path


CASES = [
    ("dump_transform", {"src": "{d}/bad.sql.gz", "dest": "{d}/o1"}, ["bad.sql.gz", "truncated .gz file"]),
    ("dump_transform", {"src": "{d}/cut.sql", "dest": "{d}/o2"}, ["cut.sql", "allow_incomplete_dump"]),
    ("dump_transform", {"src": "{d}/cut.sql", "dest": "{d}/o3", "zero_date": "'; DROP TABLE y; --"},
     ["zero_date", "DROP TABLE y"]),
    ("dump_load", {"src": "{d}/cut.sql", "dest": "{d}/o4", "zero_date": "2021-02-30"},
     ["zero_date", "2021-02-30", "day is out of range"]),
    ("pg_load", {"src": "{d}/incomplete", "pg_port": "{port}"},
     ["incomplete/manifest.json", "not marked complete"]),
    ("migration_verify", {"src": "{d}/incomplete", "pg_port": "{port}", "mysql_port": "{port}"},
     ["not marked complete"]),
    ("embedding_convert", {"table": "public.t", "column": "e", "pg_port": "{port}"},
     ["cannot connect to PostgreSQL", "{port}"]),
]


@pytest.mark.parametrize("module, args, names", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_module_fails_with_one_line(inputs, module, args, names):
    port = _closed_port()
    fill = {"d": inputs, "port": port}
    args = {k: (int(v.format(**fill)) if v == "{port}" else v.format(**fill)) if isinstance(v, str) else v
            for k, v in args.items()}
    result = run_module(module, args, inputs)
    assert result.get("failed") is True, result
    assert "\n" not in result["msg"] and "exception" not in result, result
    for name in names:
        assert name.format(**fill) in result["msg"], (name, result["msg"])
