"""pgshift.mysql.postgresql_tuning: PostgreSQL settings derived from a host's memory and cores.

Used by the postgresql_pgvector role (and unit-tested on its own). Pure Python, no side effects:
given memory in MB, the number of cores and a profile, return the settings as PostgreSQL strings.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: postgresql_tuning
short_description: PostgreSQL settings from host memory and cores
version_added: 0.1.0
description:
  - Returns a dict of PostgreSQL settings (values as strings with units) computed from the memory
    and cores given, for the profile C(production) (steady state) or C(bulk_load) (migration window).
  - Values in O(overrides) that are not empty replace the computed ones.
positional: memory_mb, cores, profile
options:
  _input:
    description: Memory of the host in MB.
    type: int
    required: true
  cores:
    description: Number of CPU cores.
    type: int
    required: true
  profile:
    description: C(production) or C(bulk_load).
    type: str
    default: production
  max_connections:
    description: max_connections, used to size work_mem.
    type: int
    default: 100
  storage:
    description: C(ssd) or C(hdd); sets random_page_cost and effective_io_concurrency.
    type: str
    default: ssd
  wal_minimal:
    description: In the bulk_load profile, use wal_level minimal and max_wal_senders 0.
    type: bool
    default: false
  logical_decoding:
    description:
      - wal_level logical, for the reverse sync of a rollback (a
        logical replication slot on the target). Off, wal_level is replica. wal_minimal wins in
        the bulk_load profile.
    type: bool
    default: true
  overrides:
    description: Setting name to value; empty values are ignored.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Settings for a 16 GB, 8-core host
  ansible.builtin.debug:
    msg: "{{ 16384 | pgshift.mysql.postgresql_tuning(8, 'bulk_load', wal_minimal=true) }}"
"""

RETURN = r"""
_value:
  description: Setting name to value (strings such as C(4096MB), C(15min), C(on)).
  type: dict
"""

PROFILES = ("production", "bulk_load")
STORAGE = ("ssd", "hdd")
# Settings whose change needs a server restart (pg_settings.context = 'postmaster'), among those
# this role writes. The role still asks the server (pending_restart) after a reload.
POSTMASTER_SETTINGS = frozenset({
    "shared_buffers", "max_connections", "max_worker_processes", "wal_level", "max_wal_senders",
    "listen_addresses", "port", "huge_pages", "shared_preload_libraries", "max_replication_slots",
})


def _mb(value: int) -> str:
    return "%dMB" % value


def compute(memory_mb, cores, profile="production", *, max_connections=100, storage="ssd",
            wal_minimal=False, logical_decoding=True, overrides=None):
    """The settings for a host, as an ordered dict of name -> PostgreSQL value string."""
    memory_mb, cores, max_connections = int(memory_mb), int(cores), int(max_connections)
    if memory_mb < 256:
        raise ValueError("memory_mb must be at least 256, got %r" % memory_mb)
    if cores < 1:
        raise ValueError("cores must be at least 1, got %r" % cores)
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1, got %r" % max_connections)
    if profile not in PROFILES:
        raise ValueError("profile must be one of %s, got %r" % (", ".join(PROFILES), profile))
    if storage not in STORAGE:
        raise ValueError("storage must be one of %s, got %r" % (", ".join(STORAGE), storage))
    bulk = profile == "bulk_load"

    shared_buffers = memory_mb // 4
    per_gather = max(1, min(4, cores // 2))
    # pgtune's rule: what shared_buffers leaves, over 3 sorts per connection and per worker.
    work_mem_kb = max(4096, (memory_mb - shared_buffers) * 1024 // (max_connections * 3) // per_gather)
    if bulk:
        work_mem_kb *= 2
        maintenance = max(64, min(memory_mb // 4, 16384))
        maintenance_workers = max(1, min(8, cores))
    else:
        maintenance = max(64, min(memory_mb // 16, 2048))
        maintenance_workers = max(1, min(4, cores // 2))

    settings = {
        "shared_buffers": _mb(shared_buffers),
        "effective_cache_size": _mb(memory_mb * 3 // 4),
        "work_mem": "%dkB" % work_mem_kb,
        "maintenance_work_mem": _mb(maintenance),
        "max_worker_processes": str(max(8, cores)),
        "max_parallel_workers": str(cores),
        "max_parallel_workers_per_gather": str(per_gather),
        "max_parallel_maintenance_workers": str(maintenance_workers),
        "max_wal_size": "16GB" if bulk else "4GB",
        "min_wal_size": "1GB",
        "checkpoint_timeout": "30min" if bulk else "15min",
        "checkpoint_completion_target": "0.9",
        "wal_compression": "on",
        "random_page_cost": "1.1" if storage == "ssd" else "4",
        "effective_io_concurrency": "200" if storage == "ssd" else "2",
        "synchronous_commit": "off" if bulk else "on",
        "max_replication_slots": "10",
    }
    if bulk and wal_minimal:
        settings.update(wal_level="minimal", max_wal_senders="0")
    elif logical_decoding:
        settings.update(wal_level="logical", max_wal_senders="10")
    else:
        settings.update(wal_level="replica", max_wal_senders="10")
    for name, value in (overrides or {}).items():
        if value is not None and str(value) != "":
            settings[name] = str(value)
    return settings


def postgresql_tuning(memory_mb, cores, profile="production", *, max_connections=100, storage="ssd",
                      wal_minimal=False, logical_decoding=True, overrides=None):
    """Filter entry point: ``memory_mb | pgshift.mysql.postgresql_tuning(cores, profile, ...)``."""
    try:
        return compute(memory_mb, cores, profile, max_connections=max_connections, storage=storage,
                       wal_minimal=wal_minimal, logical_decoding=logical_decoding,
                       overrides=overrides)
    except (TypeError, ValueError) as exc:
        from ansible.errors import AnsibleFilterError

        raise AnsibleFilterError("postgresql_tuning: %s" % exc) from exc


def postgresql_restart_settings(names):
    """The names, among those given, that need a restart when changed (postmaster context)."""
    return sorted(n for n in names if n in POSTMASTER_SETTINGS)


class FilterModule:
    def filters(self):
        return {
            "postgresql_tuning": postgresql_tuning,
            "postgresql_restart_settings": postgresql_restart_settings,
        }
