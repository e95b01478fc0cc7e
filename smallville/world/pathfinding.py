"""A* on the tile grid (4-connected, Manhattan heuristic, heapq), with a path cache.

The grid is flattened once into neighbour lists so a search touches only the tiles it
expands; results are cached by (start, goal) because agents walk the same routes daily.

The search runs in C (``_astar.c``, built at install when a C compiler is there) and else in
Python (:meth:`Pathfinder._search`, the reference): both pop tiles in the same order and return
the same path. ``SMALLVILLE_PURE_PYTHON=1`` makes every Pathfinder use the Python search.
"""

from __future__ import annotations

import heapq
import os
from collections import OrderedDict

import numpy as np

try:
    from smallville.world import _astar
except ImportError:  # no compiler at install: the Python search
    _astar = None

Tile = tuple[int, int]


_INF = 1 << 62  # an unreached tile's cost


class NoPath(Exception):
    """No walkable route between two tiles (a validated world never raises this)."""


def compiled_available() -> bool:
    """Whether the C search is built and not switched off by ``SMALLVILLE_PURE_PYTHON``."""
    return _astar is not None and os.environ.get("SMALLVILLE_PURE_PYTHON", "") in ("", "0")


class Pathfinder:
    def __init__(self, walkable: np.ndarray, cache_size: int = 20000, compiled: bool | None = None):
        """``compiled``: search in C (default: when :func:`compiled_available`)."""
        self.height, self.width = walkable.shape
        w = self.width
        flat = walkable.ravel()
        self._walk = flat.tolist()
        n = flat.size
        self._flat = flat
        self._nbrs: list[tuple[int, ...]] | None = None  # the Python search's, made on its first search
        self._cache: OrderedDict[tuple[int, int], tuple[Tile, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._bits = max(1, n.bit_length())  # bits of a tile index or a path cost in a heap key
        self._cost: list[int] | None = None  # per-search scratch, made on the first search
        self._came: list[int] = []
        self._xs: list[int] = []
        self._ys: list[int] = []
        self.hits = 0
        self.misses = 0
        self.compiled = compiled_available() if compiled is None else (compiled and _astar is not None)
        self._graph = _astar.graph(np.ascontiguousarray(walkable, dtype=np.uint8).tobytes(), w,
                                   self.height) if self.compiled else None

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
        n = len(self._walk)
        if not (0 <= s < n and 0 <= g < n) or not self._walk[s] or not self._walk[g]:
            raise NoPath(f"start or goal is not walkable: {s} -> {g}")
        if self._graph is None:
            return self._search_python(s, g)
        out = _astar.search(self._graph, s, g)
        if out is None:
            raise NoPath(f"no route from {(s % self.width, s // self.width)} to {(g % self.width, g // self.width)}")
        return out

    def _neighbours(self) -> list[tuple[int, ...]]:
        w, flat = self.width, self._flat
        nbrs: list[tuple[int, ...]] = [()] * flat.size
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
            nbrs[i] = tuple(out)
        return nbrs

    def _search_python(self, s: int, g: int) -> list[int]:
        """A* from ``s`` to ``g`` (flat tile indices): pops by (f, -g, tile) — lowest f, then the
        deepest, then the lowest index — and keeps the first parent found at a node's best cost.

        The key is packed into one int, ``f << 2B | (cmax - g) << B | tile`` (``B`` bits hold
        any tile index or cost), which orders exactly as the tuple ``(f, -g, tile)`` and compares
        much faster; costs and parents are flat lists reused across searches (only the tiles a
        search touched are reset). The smallest key of an expansion is held out of the heap when
        it is the smallest of all (the deepest step toward the goal usually is), which saves a
        push and a pop. The pop order, hence the path, is the tuple version's. ``s`` and ``g``
        are distinct walkable tiles (checked by :meth:`_search`)."""
        n = len(self._walk)
        w = self.width
        gx, gy = g % w, g // w
        if self._cost is None:
            self._nbrs = self._neighbours()
            self._cost = [_INF] * n
            self._came = [-1] * n
            self._xs = [i % w for i in range(n)]
            self._ys = [i // w for i in range(n)]
        bits = self._bits
        s2 = 2 * bits
        cmax = (1 << bits) - 1
        mask = cmax
        # h(tile) << 2B, split by coordinate: hx[x] + hy[y]
        hx = [abs(x - gx) << s2 for x in range(w)]
        hy = [abs(y - gy) << s2 for y in range(self.height)]
        xs, ys = self._xs, self._ys
        nbrs, cost, came = self._nbrs, self._cost, self._came
        touched = [s]
        cost[s] = 0
        heap = [hx[xs[s]] + hy[ys[s]] + (cmax << bits) + s]
        push, pop, pushpop = heapq.heappush, heapq.heappop, heapq.heappushpop
        held = -1  # the smallest key pushed by the last expansion when no key in the heap is smaller
        try:
            while True:
                if held >= 0:
                    k, held = held, -1
                elif heap:
                    k = pop(heap)
                else:
                    raise NoPath(f"no route from {(s % w, s // w)} to {(gx, gy)}")
                cur = k & mask
                if cur == g:
                    break
                c = cmax - ((k >> bits) & cmax)
                if c > cost[cur]:
                    continue
                c1 = c + 1
                base = (c1 << s2) + ((cmax - c1) << bits)
                for nb in nbrs[cur]:
                    old = cost[nb]
                    if c1 < old:
                        if old == _INF:
                            touched.append(nb)
                        cost[nb] = c1
                        came[nb] = cur
                        key = base + hx[xs[nb]] + hy[ys[nb]] + nb
                        if held < 0:
                            held = key
                        elif key < held:
                            push(heap, held)
                            held = key
                        else:
                            push(heap, key)
                if held >= 0 and heap:
                    held = pushpop(heap, held)  # the next key is the smallest of all: held, or the heap's
            out = []
            cur = g
            while cur != s:
                out.append(cur)
                cur = came[cur]
            out.reverse()
            return out
        finally:
            for i in touched:
                cost[i] = _INF
