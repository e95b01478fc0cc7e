"""The spatial index answers exactly what a brute-force scan of every resident would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from smallville.world.spatial import SpatialIndex

W, H = 40, 30


def brute(pos: dict[str, tuple[int, int]], x: int, y: int, r: int) -> list[tuple[int, str]]:
    return sorted((abs(px - x) + abs(py - y), n) for n, (px, py) in pos.items() if abs(px - x) + abs(py - y) <= r)


tile = st.tuples(st.integers(0, W - 1), st.integers(0, H - 1))
name = st.sampled_from([f"r{i}" for i in range(25)])
op = st.one_of(st.tuples(st.just("move"), name, tile), st.tuples(st.just("remove"), name, tile))
query = st.tuples(tile, st.integers(-1, 80))


@settings(max_examples=300, deadline=None)
@given(cell=st.integers(1, 12), ops=st.lists(op, max_size=80), queries=st.lists(query, min_size=1, max_size=10))
def test_queries_match_a_brute_force_scan(cell, ops, queries):
    index = SpatialIndex(W, H, cell)
    pos: dict[str, tuple[int, int]] = {}
    for kind, n, (x, y) in ops:
        if kind == "move":
            index.move(n, x, y)
            pos[n] = (x, y)
        else:
            index.remove(n)
            pos.pop(n, None)
        assert len(index) == len(pos)
    for (x, y), r in queries:
        want = brute(pos, x, y, r)
        assert index.within(x, y, r) == want
        assert index.near(x, y, r) == sorted(n for _, n in want)
        assert sorted(index.candidates(x, y, r)) == want
    for n, p in pos.items():
        assert index.position(n) == p and n in index


def test_moving_updates_the_answer():
    index = SpatialIndex.of(20, 20, 8, [("Ann", 0, 0), ("Bob", 3, 3)])
    assert index.near(0, 0, 6) == ["Ann", "Bob"]
    index.move("Bob", 19, 19)
    assert index.within(0, 0, 6) == [(0, "Ann")]
    assert index.within(18, 18, 2) == [(2, "Bob")]
    index.remove("Ann")
    assert index.near(0, 0, 40) == ["Bob"]


def test_a_tile_off_the_map_is_refused():
    index = SpatialIndex(10, 10, 4)
    with pytest.raises(ValueError, match="outside"):
        index.move("Ann", 10, 0)
