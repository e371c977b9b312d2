"""A referencing column gets the type of the column it references.

MySQL requires both sides of an integer foreign key to have the same type and signedness, but the
type rules map them apart: `bigint unsigned AUTO_INCREMENT` becomes `bigint` (an identity needs
it) while a plain `bigint unsigned` becomes `numeric(20)` (every value fits). Laravel's default
schema (`child.parent_id bigint unsigned REFERENCES parent(id)`) then fails in PostgreSQL: "foreign
key constraint cannot be implemented (numeric and bigint)".

    from ansible_collections.pgshift.mysql.plugins.module_utils.model.foreign_keys import (
        align_referencing_types)

    align_referencing_types(manifest)   # once every table is planned, before the post-data runs

A reader may create a child table before it has seen its parent (a dump lists tables by name), so
the alignment is a post-data step, `column_type`, run before the keys and foreign keys: `ALTER
TABLE child ALTER COLUMN c TYPE bigint`, with a warning naming both columns. Its values are
references to the parent's, so they fit; one that does not (an orphan loaded with
FOREIGN_KEY_CHECKS=0) makes the step fail with PostgreSQL's "out of range", naming the step.
Only integer types are aligned; any other mismatch is left to PostgreSQL's own message.
"""
import re

from ..quoting import qualified, quote_ident

KIND = "column_type"
_INTEGER = re.compile(r"^(smallint|integer|bigint|numeric\(\d+\)|numeric\(\d+,\s*0\))$")


def align_referencing_types(manifest):
    """Add a column_type step per mismatched referencing column; the manifest's pg_type follows."""
    by_name = {(t["schema"], t["name"]): t for t in manifest["tables"]}
    for child in manifest["tables"]:
        for fk in [e for e in child["post_data"] if e["kind"] == "foreign_key" and e.get("ref_table")]:
            parent = by_name.get((fk["ref_schema"], fk["ref_table"]))
            if parent is None:
                continue  # a table outside this run: PostgreSQL's message names it
            for col, ref in zip(fk["columns"], fk["ref_columns"]):
                _align(manifest, fk, (child, col), (parent, ref))


def _align(manifest, fk, referencing, referenced):
    (child, col), (parent, ref) = referencing, referenced
    column = _column(child, col)
    wanted = _column(parent, ref)
    if column is None or wanted is None or column["pg_type"] == wanted["pg_type"]:
        return
    if not (_INTEGER.match(column["pg_type"]) and _INTEGER.match(wanted["pg_type"])):
        return
    qt = qualified(child["schema"], child["name"])
    step = {"kind": KIND, "name": None,
            "sql": "ALTER TABLE %s ALTER COLUMN %s TYPE %s;" % (qt, quote_ident(col), wanted["pg_type"])}
    if step not in child["post_data"]:
        child["post_data"].insert(0, step)
    warning = ("%s.%s.%s: %s -> %s, the type of the column it references (%s.%s.%s, foreign key %s)"
               % (child["schema"], child["name"], col, column["pg_type"], wanted["pg_type"],
                  parent["schema"], parent["name"], ref, fk["name"]))
    column["pg_type"] = wanted["pg_type"]
    for warnings in (child["warnings"], manifest.setdefault("warnings", [])):
        if warning not in warnings:
            warnings.append(warning)


def _column(table, name):
    return next((c for c in table["columns"] if c["name"] == name), None)
