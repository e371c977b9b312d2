"""The engine's stages stay apart: a test over the import graph of plugins/module_utils.

base (top-level files) imports only errors; model only base; the readers (dump, live) never import
each other; load, embeddings, verify and finish import no reader; no engine part imports cli, the
Ansible modules or ansible itself. Imports are found with ast, at any depth (function-level too).
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.path.join(ROOT, "plugins", "module_utils")
PREFIX = "ansible_collections.pgshift.mysql.plugins."
READERS = {"dump", "live"}
BASE = "base"

# stage -> stages it may import (itself always allowed)
ALLOWED = {
    BASE: {BASE},
    "model": {BASE},
    "dump": {BASE, "model", "load"},
    "live": {BASE, "model", "load"},
    "load": {BASE, "model"},
    "embeddings": {BASE, "model"},
    "verify": {BASE, "model"},
    "finish": {BASE, "model"},
    "cli": {BASE, "model", "dump", "live", "load", "embeddings", "verify", "finish", "cli"},
}
# within base, only errors may be imported
BASE_IMPORTABLE_FROM_BASE = {"errors"}
# optional drivers and stdlib that may be imported inside a function (a missing one is reported cleanly)
LAZY_OK = {"psycopg2", "pymysql", "zstandard", "gzip", "numpy"}


def _stage(relpath):
    parts = relpath.split(os.sep)
    return BASE if len(parts) == 1 else parts[0]


def _engine_files():
    for base, _dirs, files in os.walk(ENGINE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(base, name)
                yield os.path.relpath(path, ENGINE), path


def _resolve(relpath, node):
    """Dotted name under plugins/ ('module_utils.model.types', 'modules.x') of an ImportFrom, or None."""
    if node.level == 0:
        mod = node.module or ""
        return mod[len(PREFIX):] if mod.startswith(PREFIX) else None
    package = ["module_utils"] + relpath.split(os.sep)[:-1]
    package = package[:len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _targets(relpath, node):
    """module_utils-relative targets of one ImportFrom: ['model/types.py'-like stage keys]."""
    dotted = _resolve(relpath, node)
    if dotted is None:
        return []
    parts = dotted.split(".")
    if parts[0] != "module_utils":
        return [("outside", dotted)]
    rest = parts[1:]
    if not rest:   # from .. import errors, manifest
        return [(BASE, a.name) for a in node.names]
    if len(rest) == 1 and rest[0] in ALLOWED:
        return [(rest[0], rest[0] + "." + a.name) for a in node.names]
    if len(rest) == 1:
        return [(BASE, rest[0])]
    return [(rest[0], ".".join(rest))]


def _nested_imports(tree):
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return {id(i) for f in functions for i in ast.walk(f) if isinstance(i, (ast.Import, ast.ImportFrom))}


def _plain_import(where, node, nested):
    for alias in node.names:
        if alias.name.split(".")[0] == "ansible" or alias.name.startswith(PREFIX):
            yield "%s imports %s" % (where, alias.name)
        elif nested and alias.name.split(".")[0] not in LAZY_OK:
            yield "%s imports %s inside a function" % (where, alias.name)


def _from_import(where, relpath, node, nested):
    stage, module = _stage(relpath), node.module or ""
    if module.split(".")[0] == "ansible":
        yield "%s imports %s (the engine never imports ansible)" % (where, module)
    if node.level == 0 and module.startswith(PREFIX):
        yield "%s uses an absolute import (the engine imports relatively)" % where
    targets = _targets(relpath, node)
    if nested and (targets or module.split(".")[0] not in LAZY_OK):
        yield "%s imports %s inside a function" % (where, module)
    for target_stage, name in targets:
        if target_stage == "outside":
            yield "%s imports %s (outside the engine)" % (where, name)
        elif target_stage not in ALLOWED[stage] and target_stage != stage:
            yield "%s: %s imports %s (%s may import only %s)" % (
                where, stage, name, stage, ", ".join(sorted(ALLOWED[stage])))
        elif stage == BASE and target_stage == BASE and name not in BASE_IMPORTABLE_FROM_BASE:
            yield "%s: base file imports %s (base imports only errors)" % (where, name)


def violations():
    found = []
    for relpath, path in _engine_files():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        nested = _nested_imports(tree)
        for node in ast.walk(tree):
            where = "%s:%d" % (relpath, getattr(node, "lineno", 0))
            if isinstance(node, ast.Import):
                found.extend(_plain_import(where, node, id(node) in nested))
            elif isinstance(node, ast.ImportFrom):
                found.extend(_from_import(where, relpath, node, id(node) in nested))
    return found


def test_stages_import_only_what_they_may():
    assert violations() == []


def test_every_engine_folder_is_a_known_stage():
    stages = {d for d in os.listdir(ENGINE) if os.path.isdir(os.path.join(ENGINE, d)) and d != "__pycache__"}
    assert stages <= set(ALLOWED)


@pytest.mark.parametrize("source, expected", [
    ("from ..dump.transform import run_transform\n", "live imports dump.transform"),
    ("from ..cli import common\n", "live imports cli.common"),
    ("def f():\n    from ..model import types\n", "inside a function"),
    ("from ansible.module_utils.basic import AnsibleModule\n", "never imports ansible"),
])
def test_a_forbidden_import_is_named(tmp_path, monkeypatch, source, expected):
    live = tmp_path / "live"
    live.mkdir()
    (live / "bad.py").write_text(source)
    monkeypatch.setattr(__import__(__name__), "ENGINE", str(tmp_path))
    assert any(expected in v for v in violations()), violations()


def test_error_classes_live_in_errors_py():
    """Every user-facing error class is declared once, in errors.py (private control-flow ones aside)."""
    elsewhere = []
    for relpath, path in _engine_files():
        if relpath == "errors.py":
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and any(
                    getattr(b, "id", "").endswith(("Error", "Exception", "Failed")) for b in node.bases):
                elsewhere.append("%s:%d %s" % (relpath, node.lineno, node.name))
    assert elsewhere == []
