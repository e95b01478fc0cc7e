import random
from collections import deque

import numpy as np
import pytest

from smallville.world import pathfinding
from smallville.world.pathfinding import NoPath, Pathfinder


@pytest.fixture(params=["c", "python"])
def compiled(request):
    """Each search test runs on the C search and on the Python one."""
    if request.param == "c" and pathfinding._astar is None:
        pytest.skip("the C search was not built (no C compiler at install)")
    return request.param == "c"


def test_the_c_search_is_built_where_a_compiler_is():
    import shutil

    if shutil.which("cc") or shutil.which("gcc"):
        assert pathfinding._astar is not None, "setup.py's extension did not build: pip install -e . again"
        assert Pathfinder(np.ones((3, 3), bool)).compiled == pathfinding.compiled_available()


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


def test_paths_are_shortest_and_connected(compiled):
    rng = np.random.default_rng(0)
    walk = rng.random((30, 40)) > 0.3
    pf = Pathfinder(walk, compiled=compiled)
    assert pf.compiled == compiled
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


def test_cache_returns_same_path(compiled):
    walk = np.ones((10, 10), bool)
    pf = Pathfinder(walk, compiled=compiled)
    a = pf.path((0, 0), (9, 9))
    assert pf.path((0, 0), (9, 9)) is a and pf.hits == 1
    assert pf.path((3, 3), (3, 3)) == ()


def reference_astar(walk, s, g):
    """The A* the town was first run with (tuple keys (f, -g, tile), dicts): the paths the
    packed-key search must give back tile for tile."""
    import heapq

    h, w = walk.shape
    si, gi = s[1] * w + s[0], g[1] * w + g[0]
    gx, gy = g
    came, cost = {si: -1}, {si: 0}
    heap = [(abs(s[0] - gx) + abs(s[1] - gy), 0, si)]
    while heap:
        _, negc, cur = heapq.heappop(heap)
        if cur == gi:
            break
        c = -negc
        if c > cost[cur]:
            continue
        x, y = cur % w, cur // w
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            nb = ny * w + nx
            if 0 <= nx < w and 0 <= ny < h and walk[ny, nx] and c + 1 < cost.get(nb, 1 << 30):
                cost[nb], came[nb] = c + 1, cur
                heapq.heappush(heap, (c + 1 + abs(nx - gx) + abs(ny - gy), -c - 1, nb))
    else:
        return None
    out, cur = [], gi
    while cur != si:
        out.append((cur % w, cur // w))
        cur = came[cur]
    return tuple(reversed(out))


@pytest.mark.parametrize("density", [0.1, 0.3, 0.4])
def test_the_same_paths_as_the_reference_search(density, compiled):
    rng = np.random.default_rng(int(density * 100))
    walk = rng.random((40, 60)) > density
    pf = Pathfinder(walk, compiled=compiled)
    tiles = [(int(x), int(y)) for y, x in zip(*np.nonzero(walk))]
    r = random.Random(2)
    found = 0
    for _ in range(300):
        s, g = r.choice(tiles), r.choice(tiles)
        expected = reference_astar(walk, s, g)
        if expected is None:
            with pytest.raises(NoPath):
                pf.path(s, g)
            continue
        assert pf.path(s, g) == expected  # tile for tile, ties broken the same way
        found += 1
    assert found > 20


def test_the_same_paths_as_the_reference_search_on_the_town(compiled):
    from smallville.world.world import load_world

    m = load_world("worlds/town.yaml").map
    pf = Pathfinder(m.walkable, compiled=compiled)
    labels = m.components()
    tiles = [(int(x), int(y)) for y, x in zip(*np.nonzero(m.walkable))]
    r = random.Random(3)
    for _ in range(150):
        s, g = r.choice(tiles), r.choice(tiles)
        if labels[s[1], s[0]] == labels[g[1], g[0]]:
            assert pf.path(s, g) == reference_astar(m.walkable, s, g)
