class ModuleDocFragment:
    """Options of the PostgreSQL load, shared by pg_load and dump_load."""

    DOCUMENTATION = r"""
options:
  if_exists:
    description:
      - What to do with a target table that exists and was not loaded from this migration (dir or dump).
      - V(fail) stops before writing anything; V(truncate) empties it in the load transaction (keeping its
        indexes and grants); V(drop) drops it (C(CASCADE)) and recreates it from the manifest.
    type: str
    default: fail
    choices: [fail, truncate, drop]
  max_rejects:
    description: Rows per table PostgreSQL may refuse before the task fails. Refused rows go to the reject
      file; 0 fails on the first one.
    type: int
    default: 0
  post_data:
    description: Create keys, indexes, foreign keys, triggers, comments and views after the data.
    type: bool
    default: true
  maintenance_work_mem:
    description: maintenance_work_mem of the load's sessions (index builds, FK validation).
    type: str
    default: 512MB
  views_on_error:
    description:
      - What a view PostgreSQL refuses does to the run. Every view is tried on its own (one that reads a
        view created after it is tried again), and each refused view is named with its error.
      - V(fail) fails the run once every view was tried (the data, keys and other views are in place; a
        rerun tries only what is missing); V(warn) lists the refused views in the warnings and succeeds.
    type: str
    default: fail
    choices: [fail, warn]
"""
