"""A* on the tile grid (4-connected, Manhattan heuristic, heapq), with a path cache.

The grid is flattened once into neighbour lists so a search touches only the tiles it
expands; results are cached by (start, goal) because agents walk the same routes daily.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

import numpy as np

Tile = tuple[int, int]


class NoPath(Exception):
    """No walkable route between two tiles (a validated world never raises this)."""


class Pathfinder:
    def __init__(self, walkable: np.ndarray, cache_size: int = 20000):
        self.height, self.width = walkable.shape
        w = self.width
        flat = walkable.ravel()
        self._walk = flat.tolist()
        n = flat.size
        self._nbrs: list[tuple[int, ...]] = [()] * n
        for i in np.flatnonzero(flat).tolist():
            x, y = i % w, i // w
            out = []
            if x + 1 < w and flat[i + 1]:
                out.append(i + 1)
            if x > 0 and flat[i - 1]:
                out.append(i - 1)
            if y + 1 < self.height and flat[i + w]:
                out.append(i + w)
            if y > 0 and flat[i - w]:
                out.append(i - w)
            self._nbrs[i] = tuple(out)
        self._cache: OrderedDict[tuple[int, int], tuple[Tile, ...]] = OrderedDict()
        self._cache_size = cache_size
        self.hits = 0
        self.misses = 0

    def path(self, start: Tile, goal: Tile) -> tuple[Tile, ...]:
        """Tiles from ``start`` (excluded) to ``goal`` (included); ``()`` if already there."""
        w = self.width
        s, g = start[1] * w + start[0], goal[1] * w + goal[0]
        key = (s, g)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return cached
        self.misses += 1
        result = tuple((i % w, i // w) for i in self._search(s, g))
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def _search(self, s: int, g: int) -> list[int]:
        if s == g:
            return []
        if not (0 <= s < len(self._walk) and 0 <= g < len(self._walk)) or not self._walk[s] or not self._walk[g]:
            raise NoPath(f"start or goal is not walkable: {s} -> {g}")
        w = self.width
        gx, gy = g % w, g // w
        nbrs = self._nbrs
        came: dict[int, int] = {s: -1}
        cost: dict[int, int] = {s: 0}
        # tie-break on larger g (deeper nodes first) via the counter-free (f, -g) key
        heap = [(abs(s % w - gx) + abs(s // w - gy), 0, s)]
        push, pop = heapq.heappush, heapq.heappop
        while heap:
            _, negc, cur = pop(heap)
            if cur == g:
                break
            c = -negc
            if c > cost[cur]:
                continue
            c1 = c + 1
            for nb in nbrs[cur]:
                if c1 < cost.get(nb, 1 << 30):
                    cost[nb] = c1
                    came[nb] = cur
                    push(heap, (c1 + abs(nb % w - gx) + abs(nb // w - gy), -c1, nb))
        else:
            raise NoPath(f"no route from {(s % w, s // w)} to {(gx, gy)}")
        out = []
        cur = g
        while cur != s:
            out.append(cur)
            cur = came[cur]
        out.reverse()
        return out
