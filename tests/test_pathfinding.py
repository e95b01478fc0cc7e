import random
from collections import deque

import numpy as np
import pytest

from smallville.world.pathfinding import NoPath, Pathfinder


def bfs_len(walk, s, g):
    h, w = walk.shape
    dist = {s: 0}
    q = deque([s])
    while q:
        x, y = q.popleft()
        if (x, y) == g:
            return dist[g]
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= nx < w and 0 <= ny < h and walk[ny, nx] and (nx, ny) not in dist:
                dist[(nx, ny)] = dist[(x, y)] + 1
                q.append((nx, ny))
    return None


def test_paths_are_shortest_and_connected():
    rng = np.random.default_rng(0)
    walk = rng.random((30, 40)) > 0.3
    pf = Pathfinder(walk)
    tiles = [(int(x), int(y)) for y, x in zip(*np.nonzero(walk))]
    r = random.Random(1)
    checked = 0
    for _ in range(300):
        s, g = r.choice(tiles), r.choice(tiles)
        expected = bfs_len(walk, s, g)
        if expected is None:
            with pytest.raises(NoPath):
                pf.path(s, g)
            continue
        p = pf.path(s, g)
        assert len(p) == expected
        prev = s
        for t in p:
            assert abs(t[0] - prev[0]) + abs(t[1] - prev[1]) == 1 and walk[t[1], t[0]]
            prev = t
        assert prev == g
        checked += 1
    assert checked > 100


def test_cache_returns_same_path():
    walk = np.ones((10, 10), bool)
    pf = Pathfinder(walk)
    a = pf.path((0, 0), (9, 9))
    assert pf.path((0, 0), (9, 9)) is a and pf.hits == 1
    assert pf.path((3, 3), (3, 3)) == ()
