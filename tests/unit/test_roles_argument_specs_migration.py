"""roles/mysql_source and roles/migration: defaults and meta/argument_specs.yml agree."""
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ["mysql_source", "migration"]


def load(role, path):
    with open(os.path.join(ROOT, "roles", role, path)) as f:
        return yaml.safe_load(f)


def spec_options(role):
    """Every option of every entry point: name -> spec (entry points must agree on shared ones)."""
    options = {}
    for entry, spec in load(role, "meta/argument_specs.yml")["argument_specs"].items():
        for name, option in spec.get("options", {}).items():
            if name in options:
                assert options[name].get("default") == option.get("default"), (role, entry, name)
            options[name] = option
    return options


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_with_its_value(role):
    defaults = load(role, "defaults/main.yml")
    options = spec_options(role)
    assert sorted(set(defaults) - set(options)) == []
    for name, value in defaults.items():
        if "default" in options[name]:
            assert options[name]["default"] == value, name
        assert options[name].get("description"), name


@pytest.mark.parametrize("role", ROLES)
def test_every_documented_option_has_a_default_and_the_role_prefix(role):
    defaults = load(role, "defaults/main.yml")
    for name in spec_options(role):
        assert name.startswith(role + "_"), name
        assert name in defaults, name


@pytest.mark.parametrize("role", ROLES)
def test_passwords_are_no_log(role):
    for name, option in spec_options(role).items():
        if "password" in name or name.endswith("_database_url"):
            assert option.get("no_log") is True, name


@pytest.mark.parametrize("role", ROLES)
def test_task_files_use_fqcn_and_quoted_modes(role):
    tasks_dir = os.path.join(ROOT, "roles", role, "tasks")
    for name in os.listdir(tasks_dir):
        for task in load(role, os.path.join("tasks", name)) or []:
            for block in [task, *task.get("block", []), *task.get("rescue", []), *task.get("always", [])]:
                modules = [k for k in block if "." in k and not k.startswith("_")]
                for module in modules:
                    assert module.count(".") >= 2, (name, module)
                    mode = (block[module] or {}).get("mode") if isinstance(block[module], dict) else None
                    assert mode is None or isinstance(mode, str), (name, module, mode)
