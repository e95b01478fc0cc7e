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


crowded = st.lists(st.tuples(st.sampled_from([f"r{i}" for i in range(60)]), st.tuples(st.integers(0, 11),
                                                                                      st.integers(0, 9))),
                   max_size=120)


@settings(max_examples=300, deadline=None)
@given(cell=st.integers(1, 12), moves=crowded,
       queries=st.lists(st.tuples(st.tuples(st.integers(0, 14), st.integers(0, 12)), st.integers(-1, 20),
                                  st.integers(0, 12)), min_size=1, max_size=10),
       walls=st.sets(st.tuples(st.integers(0, W - 1), st.integers(0, H - 1)), max_size=60))
def test_the_nearest_k_are_the_first_k_of_a_brute_force_scan(cell, moves, queries, walls):
    """Crowded (up to 60 residents on 12x10 tiles, several on a tile) or not, with tiles hidden or
    not: the nearest k are the first k in (distance, name) order, ties at the k-th distance by
    name, whichever way the index finds them (buckets or rings)."""
    index = SpatialIndex(W, H, cell)
    pos: dict[str, tuple[int, int]] = {}
    for n, (x, y) in moves:
        index.move(n, x, y)
        pos[n] = (x, y)
    keep = lambda x, y: (x, y) not in walls  # noqa: E731
    for (x, y), r, k in queries:
        want = brute(pos, x, y, r)
        assert index.nearest(x, y, r, k) == want[:k]
        seen = [(d, n) for d, n in want if pos[n] not in walls]
        assert index.nearest(x, y, r, k, keep=keep) == seen[:k]
        view = sorted((abs(dx) + abs(dy), dx, dy) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
                      if abs(dx) + abs(dy) <= r and 0 <= x + dx < W and 0 <= y + dy < H and keep(x + dx, y + dy))
        assert index.nearest(x, y, r, k, keep=keep, view=view) == seen[:k]


def test_the_nearest_k_in_a_crowd_break_ties_by_name():
    # 30 on one tile and 30 next to it: the crowd is searched ring by ring
    index = SpatialIndex.of(10, 10, 8, [(f"a{i:02d}", 5, 5) for i in range(30)]
                            + [(f"b{i:02d}", 5, 6) for i in range(30)])
    assert index.nearest(5, 5, 8, 3) == [(0, "a00"), (0, "a01"), (0, "a02")]
    assert index.nearest(5, 6, 8, 3) == [(0, "b00"), (0, "b01"), (0, "b02")]
    assert index.nearest(5, 7, 8, 4) == [(1, "b00"), (1, "b01"), (1, "b02"), (1, "b03")]
    assert index.nearest(5, 7, 8, 4, keep=lambda x, y: y != 6) == [(2, "a00"), (2, "a01"), (2, "a02"), (2, "a03")]
    view = [(0, 0, 0), (2, 0, -2), (3, 1, -3)]  # only these tiles are in sight
    assert index.nearest(5, 7, 8, 3, keep=lambda x, y: (x - 5, y - 7) in [(0, 0), (0, -2), (1, -3)],
                         view=view) == [(2, "a00"), (2, "a01"), (2, "a02")]
    index.move("b00", 0, 0)
    index.remove("b01")
    assert index.nearest(5, 7, 8, 2) == [(1, "b02"), (1, "b03")]


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
