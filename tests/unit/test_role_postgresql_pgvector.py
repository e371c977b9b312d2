"""Role postgresql_pgvector: argument spec vs defaults, tuning filter, PGDG path by reading."""

import os

import jinja2
import pytest
import yaml
from ansible_collections.pgshift.mysql.plugins.filter import postgresql_tuning as tuning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "postgresql_pgvector")


def _load(*parts):
    with open(os.path.join(ROLE, *parts)) as f:
        return yaml.safe_load(f)


DEFAULTS = _load("defaults", "main.yml")
SPEC = _load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict}


def test_every_default_is_in_the_spec_and_back():
    assert sorted(DEFAULTS) == sorted(SPEC)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_spec_matches_default(name):
    spec = SPEC[name]
    assert spec.get("description"), name
    assert isinstance(DEFAULTS[name], TYPES[spec["type"]]), (name, spec["type"], DEFAULTS[name])
    assert spec["default"] == DEFAULTS[name], name
    if "choices" in spec:
        assert DEFAULTS[name] in spec["choices"], name


def test_every_default_is_commented():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("postgresql_pgvector_"):
            assert lines[i - 1].startswith("#"), line


def test_public_and_private_names():
    assert all(n.startswith("postgresql_pgvector_") for n in DEFAULTS)
    assert all(n.startswith("_postgresql_pgvector_") for n in _load("vars", "main.yml"))


def test_choices_agree_with_the_preflight_lists():
    private = _load("vars", "main.yml")
    for public, internal in (("version", "supported_versions"), ("install_method", "install_methods"),
                             ("pgvector_method", "pgvector_methods"), ("source_type", "source_types"),
                             ("profile", "profiles"), ("service_manager", "service_managers")):
        assert SPEC["postgresql_pgvector_" + public]["choices"] == private["_postgresql_pgvector_" + internal]


# --- tuning ----------------------------------------------------------------------------------

def _mb(value):
    units = {"kB": 1 / 1024, "MB": 1, "GB": 1024}
    for unit, factor in units.items():
        if value.endswith(unit):
            return int(value[: -len(unit)]) * factor
    raise AssertionError(value)


@pytest.mark.parametrize("memory,cores", [(256, 1), (2048, 2), (16384, 8), (65536, 32), (24105, 2)])
@pytest.mark.parametrize("profile", ["production", "bulk_load"])
def test_memory_figures_are_sane(memory, cores, profile):
    s = tuning.compute(memory, cores, profile)
    assert _mb(s["shared_buffers"]) == memory // 4
    assert _mb(s["effective_cache_size"]) == memory * 3 // 4
    assert _mb(s["work_mem"]) >= 4
    if profile == "production":  # 3 sorts per connection fit in what shared_buffers leaves
        assert _mb(s["work_mem"]) * 100 * 3 <= memory - memory // 4 or _mb(s["work_mem"]) == 4
    assert 64 <= _mb(s["maintenance_work_mem"]) <= 16384
    assert int(s["max_parallel_workers"]) == cores
    assert int(s["max_worker_processes"]) >= int(s["max_parallel_workers"])
    assert 1 <= int(s["max_parallel_maintenance_workers"]) <= int(s["max_worker_processes"])


def test_known_host():
    s = tuning.compute(16384, 8, "production")
    assert s["shared_buffers"] == "4096MB"
    assert s["effective_cache_size"] == "12288MB"
    assert s["maintenance_work_mem"] == "1024MB"
    assert s["work_mem"] == "10485kB"  # (16384 - 4096) MB / 300 / 4 workers per gather
    assert s["max_parallel_maintenance_workers"] == "4"
    assert s["max_wal_size"] == "4GB" and s["checkpoint_timeout"] == "15min"
    assert s["wal_compression"] == "on" and s["random_page_cost"] == "1.1"
    assert s["synchronous_commit"] == "on" and s["wal_level"] == "logical"
    assert s["max_replication_slots"] == "10"


def test_bulk_load_profile():
    prod = tuning.compute(16384, 8, "production")
    bulk = tuning.compute(16384, 8, "bulk_load")
    assert bulk["synchronous_commit"] == "off"
    assert _mb(bulk["max_wal_size"]) > _mb(prod["max_wal_size"])
    assert _mb(bulk["maintenance_work_mem"]) > _mb(prod["maintenance_work_mem"])
    assert bulk["wal_level"] == "logical" and bulk["max_wal_senders"] == "10"
    minimal = tuning.compute(16384, 8, "bulk_load", wal_minimal=True)
    assert minimal["wal_level"] == "minimal" and minimal["max_wal_senders"] == "0"
    # wal_minimal only applies to bulk_load
    assert tuning.compute(16384, 8, "production", wal_minimal=True)["wal_level"] == "logical"


def test_logical_decoding_off_keeps_replica():
    s = tuning.compute(16384, 8, "production", logical_decoding=False)
    assert s["wal_level"] == "replica"


def test_profiles_differ_in_postmaster_settings_only_through_wal_minimal():
    prod = tuning.compute(8192, 4, "production")
    for wal_minimal, expected in ((False, []), (True, ["max_wal_senders", "wal_level"])):
        bulk = tuning.compute(8192, 4, "bulk_load", wal_minimal=wal_minimal)
        changed = [k for k in prod if prod[k] != bulk[k]]
        assert tuning.postgresql_restart_settings(changed) == expected


def test_overrides_win_and_empty_ones_are_ignored():
    s = tuning.compute(8192, 4, overrides={"shared_buffers": "1GB", "work_mem": "", "jit": "off"})
    assert s["shared_buffers"] == "1GB"
    assert s["work_mem"] == tuning.compute(8192, 4)["work_mem"]
    assert s["jit"] == "off"


def test_hdd_storage():
    s = tuning.compute(8192, 4, storage="hdd")
    assert s["random_page_cost"] == "4" and s["effective_io_concurrency"] == "2"


@pytest.mark.parametrize("kwargs", [
    {"memory_mb": 100, "cores": 2}, {"memory_mb": 4096, "cores": 0},
    {"memory_mb": 4096, "cores": 2, "profile": "fast"}, {"memory_mb": 4096, "cores": 2, "storage": "tape"},
    {"memory_mb": 4096, "cores": 2, "max_connections": 0},
])
def test_bad_input_is_refused(kwargs):
    with pytest.raises(ValueError):
        tuning.compute(**kwargs)


def test_filter_raises_ansible_error():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="memory_mb"):
        tuning.postgresql_tuning(10, 1)
    assert set(tuning.FilterModule().filters()) == {"postgresql_tuning", "postgresql_restart_settings"}


# --- the PGDG path, which cannot run here (no access to apt.postgresql.org) -------------------

def _env(**kwargs):
    from ansible.plugins.filter.core import FilterModule

    env = jinja2.Environment(**kwargs)
    env.filters.update(FilterModule().filters())
    return env


def _render(template, **variables):
    env = _env(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(template).render(ansible_managed="managed", **variables)


def _pgdg_vars(**extra):
    v = {k: v for k, v in DEFAULTS.items()}
    v["ansible_facts"] = {"distribution_release": "bookworm"}
    v.update(extra)
    return v


def test_pgdg_source_defaults():
    text = _render("pgdg.sources.j2", **_pgdg_vars())
    lines = [line for line in text.splitlines() if ": " in line and not line.startswith("#")]
    fields = dict(line.split(": ", 1) for line in lines)
    assert fields == {
        "Types": "deb",
        "URIs": "https://apt.postgresql.org/pub/repos/apt",
        "Suites": "bookworm-pgdg",
        "Components": "main",
        "Signed-By": "/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc",
    }


def test_pgdg_source_with_a_mirror():
    text = _render("pgdg.sources.j2", **_pgdg_vars(
        postgresql_pgvector_pgdg_repo_url="http://mirror.example/pgdg",
        postgresql_pgvector_pgdg_suite="bookworm-pgdg-testing",
        postgresql_pgvector_pgdg_key_path="/etc/apt/keyrings/pgdg.asc"))
    assert "URIs: http://mirror.example/pgdg\n" in text
    assert "Suites: bookworm-pgdg-testing\n" in text
    assert "Signed-By: /etc/apt/keyrings/pgdg.asc\n" in text


def _tasks(name):
    return _load("tasks", name)


def test_pgdg_tasks_fetch_the_configured_key_and_source():
    tasks = _tasks("install_pgdg.yml")
    by_module = {next(k for k in t if k.startswith("ansible.builtin.")): t for t in tasks}
    get_url = by_module["ansible.builtin.get_url"]["ansible.builtin.get_url"]
    assert get_url["url"] == "{{ postgresql_pgvector_pgdg_key_url }}"
    assert get_url["dest"] == "{{ postgresql_pgvector_pgdg_key_path }}"
    template = by_module["ansible.builtin.template"]["ansible.builtin.template"]
    assert template["src"] == "pgdg.sources.j2"
    assert template["dest"].startswith("/etc/apt/sources.list.d/")
    update = by_module["ansible.builtin.apt"]
    assert update["ansible.builtin.apt"]["update_cache"] is True
    assert "is changed" in update["when"]


def test_pgdg_is_used_only_for_the_pgdg_method_and_installs_the_pgvector_package():
    install = _tasks("install.yml")
    pgdg = next(t for t in install if t.get("ansible.builtin.import_tasks") == "install_pgdg.yml")
    assert pgdg["when"] == "postgresql_pgvector_install_method == 'pgdg'"
    expr = _load("vars", "main.yml")["_postgresql_pgvector_packages"]
    env = _env()
    base = ["ca-certificates", "acl", "python3-psycopg2"]
    for method, expected in (
        ("package", ["postgresql-16", "postgresql-client-16", "postgresql-16-pgvector"]),
        ("none", ["postgresql-16", "postgresql-client-16"]),
        ("source", ["postgresql-16", "postgresql-client-16", "postgresql-server-dev-16"]),
    ):
        value = env.from_string(expr.strip()).render(
            postgresql_pgvector_version=16, postgresql_pgvector_pgvector_method=method,
            _postgresql_pgvector_base_packages=base,
            _postgresql_pgvector_build_packages=["postgresql-server-dev-16"])
        assert yaml.safe_load(value) == base + expected


def test_conf_template_quotes_values():
    text = _render(
        "postgresql.conf.j2", postgresql_pgvector_profile="production", _postgresql_pgvector_memory_mb=8192,
        _postgresql_pgvector_cores=4, _postgresql_pgvector_settings=tuning.compute(8192, 4),
        postgresql_pgvector_listen_addresses="*", postgresql_pgvector_port=5433,
        postgresql_pgvector_max_connections=50,
        postgresql_pgvector_extra_settings={"application_name": "it's"})
    assert "port = '5433'\n" in text
    assert "listen_addresses = '*'\n" in text
    assert "password_encryption = 'scram-sha-256'\n" in text
    assert "application_name = 'it''s'\n" in text
    assert "shared_buffers = '2048MB'\n" in text


# --- the Molecule images ---------------------------------------------------------------------

def _role_packages(version, pgvector_method):
    """The list the role's install tasks work from, rendered like Ansible would."""
    private = _load("vars", "main.yml")
    env = _env()
    context = {"postgresql_pgvector_version": version, "postgresql_pgvector_pgvector_method": pgvector_method,
               "_postgresql_pgvector_base_packages": private["_postgresql_pgvector_base_packages"]}
    context["_postgresql_pgvector_build_packages"] = [
        env.from_string(p).render(**context) for p in private["_postgresql_pgvector_build_packages"]]
    return yaml.safe_load(env.from_string(private["_postgresql_pgvector_packages"].strip()).render(**context))


def _script_words(path, name):
    """The words of a shell variable assigned NAME="..." (possibly over several lines)."""
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    start = text.index(name + '="') + len(name) + 2
    return text[start:text.index('"', start)].split()


def test_profiles_image_preinstalls_every_package_the_profiles_scenario_needs():
    # Scenario `profiles` starts from the image with PostgreSQL preinstalled so that its converge
    # skips apt; a package missing from the image would silently bring apt (minutes) back.
    scenario = _load("molecule", "profiles", "vars", "main.yml")
    assert scenario["postgresql_pgvector_install_method"] == "distro"
    wanted = _role_packages(scenario["postgresql_pgvector_version"],
                            scenario["postgresql_pgvector_pgvector_method"])
    assert "postgresql-server-dev-15" in wanted
    assert sorted(_script_words("scripts/molecule-image.sh", "PG_PACKAGES")) == sorted(wanted)


@pytest.mark.parametrize("scenario, image", [("default", "systemd"), ("profiles", "pg15")])
def test_scenarios_use_the_images_the_script_builds(scenario, image):
    # `default` must keep the bare image: it is the scenario that proves the full install.
    with open(os.path.join(ROOT, "scripts", "molecule-image.sh")) as f:
        script = f.read()
    recipe = script.split("\nRECIPE=", 1)[1].split()[0]
    pg_recipe = script.split("\nPG_RECIPE=", 1)[1].split()[0]
    tag = {"systemd": "r" + recipe, "pg15": "r%s-p%s" % (recipe, pg_recipe)}[image]
    platform = _load("molecule", scenario, "molecule.yml")["platforms"][0]
    assert platform["image"] == "localhost/pgshift-debian12-%s:%s" % (image, tag)
