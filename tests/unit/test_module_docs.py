"""Every module's documentation parses and is complete, as ansible-doc and Galaxy read it."""
import glob
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins/modules/*.py"))
                 if not p.endswith("__init__.py"))


def _block(source, name):
    match = re.search(r'^%s = r?"""(.*?)"""' % name, source, re.S | re.M)
    assert match, "%s missing" % name
    return match.group(1)


@pytest.mark.parametrize("module", MODULES)
def test_documentation_blocks_parse(module):
    with open(os.path.join(ROOT, "plugins/modules", module + ".py")) as f:
        source = f.read()
    doc = yaml.safe_load(_block(source, "DOCUMENTATION"))
    assert doc["module"] == module
    assert doc["short_description"] and doc["description"]
    assert set(doc["attributes"]) >= {"check_mode", "diff_mode"}, "attributes must be honest and present"
    for name, option in doc.get("options", {}).items():
        assert option.get("description"), "option %s has no description" % name
    assert isinstance(yaml.safe_load(_block(source, "EXAMPLES")), list)
    assert isinstance(yaml.safe_load(_block(source, "RETURN")), dict)


def test_ansible_doc_renders_every_module():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    names = ["pgshift.mysql." + m for m in MODULES]
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    result = subprocess.run([ansible_doc, "--json", *names], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "[WARNING]" not in result.stderr, result.stderr
    for name in names:
        assert '"%s"' % name in result.stdout, "%s not rendered" % name
