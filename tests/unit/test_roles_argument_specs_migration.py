"""roles/mysql_source and roles/migration: defaults and meta/argument_specs.yml agree."""
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ["mysql_source", "migration", "pgshift", "rehearsal", "cutover", "rollback"]


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
def test_descriptions_say_more_than_the_name(role):
    for name, option in spec_options(role).items():
        description = option["description"]
        text = " ".join(description) if isinstance(description, list) else description
        assert text.strip() != name, name


def uncommented_defaults(lines):
    """Top-level keys not under a comment: a comment starts a block, a blank line ends it."""
    missing, commented = [], False
    for line in lines:
        if line.startswith("#"):
            commented = True
        elif not line.strip():
            commented = False
        elif line[0] not in " -" and ":" in line and line != "---" and not commented:
            missing.append(line.split(":", 1)[0])
    return missing


@pytest.mark.parametrize("lines, missing", [
    (["# why", "a: 1", "b: 2"], []),
    (["# why", "a: 1", "", "b: 2"], ["b"]),
    (["a: [1,", "  2]", "# why", "b: 2"], ["a"]),
])
def test_uncommented_defaults_finds_keys_without_a_comment(lines, missing):
    assert uncommented_defaults(lines) == missing


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_commented(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as f:
        assert uncommented_defaults(f.read().splitlines()) == []


def test_migration_pipeline_is_the_default_and_its_phase_counts_as_downtime():
    defaults = load("migration", "defaults/main.yml")
    assert defaults["migration_pipeline"] is True
    assert {"transform_load", "transform", "load", "live_copy"} <= set(defaults["migration_downtime_phases"])
    main = load("migration", "tasks/main.yml")
    phases = main[1]["block"]
    pipelined = [t for t in phases if t.get("ansible.builtin.import_tasks") == "transform_load.yml"]
    assert pipelined and "migration_pipeline | bool" in pipelined[0]["when"]
    two_step = [t for t in phases if "transform.yml" in str(t.get("ansible.builtin.include_tasks"))
                or t.get("ansible.builtin.import_tasks") == "load.yml"]
    assert len(two_step) == 2 and all("not migration_pipeline | bool" in t["when"] for t in two_step)


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
