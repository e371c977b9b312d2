"""The user's embedding columns, matched to source columns the same way by every reader.

A spec is {table, column, dimensions, type: vector|halfvec, format, invalid}; `table` is the MySQL
table's name or `db.table`, matched without regard to case, like `column`. A spec that matches no
column of the migrated tables is an error (a typo would otherwise leave the column as text).

Usage:
    specs = EmbeddingSpecs(opts["embeddings"])
    specs.apply(table, col, plan)     # for every planned column
    specs.check_all_matched()         # once every table is planned
"""
from ..errors import MigrationError
from .types import column_ddl

TYPES = ("vector", "halfvec")


class EmbeddingSpecs:
    def __init__(self, specs):
        self.specs = [dict(s) for s in specs or []]
        self.matched = set()
        for spec in self.specs:
            _validate(spec)

    def find(self, db, table, column):
        names = {table.lower(), ("%s.%s" % (db, table)).lower()}
        for n, spec in enumerate(self.specs):
            if str(spec["table"]).lower() in names and str(spec["column"]).lower() == column.lower():
                self.matched.add(n)
                return spec
        return None

    def apply(self, table, col, plan):
        """Make `plan` an embedding column when a spec names it (pg type, converter, manifest entry)."""
        spec = self.find(table.schema, table.name, col.name)
        if spec is None:
            return
        vtype, dims = spec.get("type") or "vector", int(spec["dimensions"])
        plan.pg_type = "%s(%d)" % (vtype, dims)
        plan.converter = "embedding"
        plan.embedding = {"type": vtype, "dimensions": dims,
                          "format": spec.get("format") or "json_object",
                          "invalid": spec.get("invalid") or "error",
                          "converted": 0, "nulled": 0, "rejected": 0}
        plan.checks = []
        plan.default_sql = None
        plan.ddl = column_ddl(plan, table.auto_increment)

    def check_all_matched(self):
        missing = ["%s.%s" % (s["table"], s["column"])
                   for n, s in enumerate(self.specs) if n not in self.matched]
        if missing:
            raise MigrationError("embeddings: no column %s among the migrated tables (check the table and "
                                 "column names of the embeddings option)" % ", ".join(missing))


def _validate(spec):
    for key in ("table", "column", "dimensions"):
        if not spec.get(key):
            raise MigrationError("embeddings: %r needs %r" % (spec, key))
    try:
        dims = int(spec["dimensions"])
    except (TypeError, ValueError):
        raise MigrationError("embeddings: %s.%s dimensions %r is not a number"
                             % (spec["table"], spec["column"], spec["dimensions"])) from None
    if not 1 <= dims <= 16000:
        raise MigrationError("embeddings: %s.%s dimensions %d outside 1..16000 (pgvector's limit)"
                             % (spec["table"], spec["column"], dims))
    if (spec.get("type") or "vector") not in TYPES:
        raise MigrationError("embeddings: %s.%s type %r is not vector or halfvec"
                             % (spec["table"], spec["column"], spec.get("type")))
