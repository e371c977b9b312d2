"""live_chunks: primary-key range plans cover every key exactly once, and survive a JSON round trip."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.live.chunks import (
    ChunkPlan,
    chunk_count,
    chunk_key,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.model.schema import Column
from hypothesis import given
from hypothesis import strategies as st


def _in_chunk(plan, i, value):
    low, high = plan.range(i)
    return (low is None or value > low) and (high is None or value <= high)


@given(low=st.integers(-10**12, 10**12), span=st.integers(0, 10**9), chunks=st.integers(1, 64),
       values=st.lists(st.integers(-2 * 10**12, 2 * 10**12), max_size=50))
def test_every_key_in_exactly_one_chunk(low, span, chunks, values):
    plan = ChunkPlan.from_min_max("id", low, low + span, chunks)
    assert len(plan) <= chunks
    assert plan.bounds == sorted(set(plan.bounds))
    for v in [*values, low, low + span]:
        assert sum(_in_chunk(plan, i, v) for i in range(len(plan))) == 1


@pytest.mark.parametrize(("low", "high", "chunks", "expected"), [
    (1, 3_000_000, 3, [1_000_000, 2_000_000]),
    (None, None, 5, []),          # empty table
    (7, 7, 5, []),                # one key value
    (1, 10, 1, []),
])
def test_even_bounds(low, high, chunks, expected):
    plan = ChunkPlan.from_min_max("id", low, high, chunks)
    assert plan.bounds == expected
    assert ChunkPlan.from_json("id", plan.to_json()).bounds == expected


def test_where_clauses():
    plan = ChunkPlan("id", [10, 20])
    assert [plan.where(i) for i in range(3)] == ["`id` <= 10", "`id` > 10 AND `id` <= 20", "`id` > 20"]
    assert ChunkPlan("id", []).where(0) is None


@pytest.mark.parametrize(("est", "chunk_rows", "expected"), [
    (3_000_000, 1_000_000, 3), (3_000_001, 1_000_000, 4), (999, 1000, 1), (10**6, 0, 1), (10**6, None, 1),
])
def test_chunk_count(est, chunk_rows, expected):
    assert chunk_count(est, chunk_rows) == expected




@pytest.mark.parametrize(("types", "pk", "expected"), [
    ([("id", "int")], ["id"], "id"),
    ([("a", "bigint"), ("b", "varchar")], ["a", "b"], "a"),
    ([("code", "varchar")], ["code"], None),
    ([("id", "int")], [], None),
])
def test_chunk_key(types, pk, expected):
    class T:
        columns = [Column(name=n, base_type=t, column_type=t) for n, t in types]
        primary_key = pk
    assert chunk_key(T) == expected


def test_bounds_from_client_text():
    """MIN/MAX come back from the client as text: compared as numbers, not strings."""
    assert ChunkPlan.from_min_max("id", "3", "1200000", 4).bounds == [300001, 600000, 899999]
