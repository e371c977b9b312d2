"""bin/pgshift runs from an installed collection (<root>/ansible_collections/pgshift/mysql/bin/pgshift),
with no PYTHONPATH and no checkout around it."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_pgshift_runs_from_an_installed_collection(tmp_path):
    installed = tmp_path / "collections" / "ansible_collections" / "pgshift" / "mysql"
    shutil.copytree(os.path.join(ROOT, "plugins"), installed / "plugins",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(os.path.join(ROOT, "bin"), installed / "bin")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PGSHIFT_NO_REEXEC"] = "1"
    result = subprocess.run([sys.executable, str(installed / "bin" / "pgshift"), "transform", "--help"],
                            capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert result.returncode == 0, result.stderr
    assert "mysqldump -> PostgreSQL migration dir" in result.stdout
