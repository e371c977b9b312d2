"""Primary-key range chunks for live_copy's big tables (the plan; livecopy.py runs it).

    key = chunk_key(table)                       # "id", or None when the table cannot be split
    plan = ChunkPlan.from_min_max("id", 1, 3_000_000, chunks=3)
    plan.where(0) -> "`id` <= 1000000"; plan.where(2) -> "`id` > 2000000"

A plan is the key column and the inner boundaries b1 < b2 < ... < bk; chunk i covers (b_i, b_i+1]
with open outer ends, so the chunks cover every row whatever the key values are (rows written after
the MIN/MAX was read, NULLs aside: a primary key is never NULL), and no row is in two chunks. The
boundaries are stored with every chunk's resume record: a rerun reuses them, never recomputes them,
so its chunks are exactly the missing ones of the first run.
"""
import json

from .select import range_condition

DEFAULT_CHUNK_ROWS = 1_000_000
INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")


def chunk_key(table):
    """The single integer primary-key column, or the first column of an integer composite key."""
    if not table.primary_key:
        return None
    first = table.primary_key[0]
    col = next((c for c in table.columns if c.name == first), None)
    if col is None or col.base_type not in INTEGER_TYPES:
        return None
    return first


def chunk_count(est_rows, chunk_rows):
    """How many chunks a table of about est_rows rows gets (1: copied whole)."""
    if not chunk_rows or chunk_rows <= 0 or not est_rows or est_rows <= chunk_rows:
        return 1
    return -(-int(est_rows) // int(chunk_rows))


class ChunkPlan:
    def __init__(self, key_column, bounds):
        self.key_column = key_column
        self.bounds = [int(b) for b in bounds]

    @classmethod
    def from_min_max(cls, key_column, low, high, chunks):
        """Even key ranges between MIN and MAX (an empty table or one key value: one chunk)."""
        if low is None or high is None or chunks <= 1:
            return cls(key_column, [])
        low, high = int(low), int(high)
        if high <= low:
            return cls(key_column, [])
        step = max(1, (high - low + 1) // chunks)
        bounds = [low - 1 + step * i for i in range(1, chunks) if low - 1 + step * i < high]
        return cls(key_column, bounds)

    @classmethod
    def from_json(cls, key_column, text):
        return cls(key_column, json.loads(text))

    def to_json(self):
        return json.dumps(self.bounds)

    def __len__(self):
        return len(self.bounds) + 1

    def range(self, i):
        """(low, high] of chunk i; None is an open end."""
        edges = [None, *self.bounds, None]
        return edges[i], edges[i + 1]

    def where(self, i):
        if len(self) == 1:
            return None
        return range_condition(self.key_column, *self.range(i))
