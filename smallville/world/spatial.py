"""Who is near whom: a bucket grid of residents' tiles, kept up to date as they move.

    index = SpatialIndex(width, height, cell=8)   # cell: use the vision radius
    index.move("Ann", 3, 4)                       # add, or move to a new tile
    index.near(5, 5, 8)                           # -> ["Ann", ...] sorted by name
    index.within(5, 5, 8)                         # -> [(3, "Ann"), ...] by (distance, name)
    index.candidates(5, 5, 8)                     # -> the same pairs, unordered
    index.nearest(5, 5, 8, k=3)                   # -> the first 3 pairs of within(5, 5, 8)
    index.nearest(5, 5, 8, k=3, keep=lambda x, y: ...)  # -> the first 3 on tiles ``keep`` accepts
    index.remove("Ann")

Distances are Manhattan (|dx| + |dy|), the engine's sight; a query with radius ``r`` returns
exactly what a scan of every resident for ``distance <= r`` would, in a deterministic order,
including a resident standing on the queried tile itself (callers drop the one asking).

The map is cut into square buckets of ``cell`` tiles; a query looks only at the buckets its
radius reaches, so with ``cell`` equal to the vision radius it touches at most 3×3 buckets
and costs about the residents in them, not the whole town. :meth:`move` is O(1). Positions
are plain integers; the index holds no other state and is rebuilt from positions at will.

The nearest ``k`` (:meth:`nearest`, attention bounded at the query): where the buckets around
the tile hold few residents, they are filtered and sorted as above; in a crowd, the tiles within
the radius are visited ring by ring (distance 0, 1, 2, …) and the search stops at the first ring
that brings the count to ``k``, so its cost follows ``k`` and the radius, not the crowd. Both ways
give the first ``k`` of the full answer in (distance, name) order, ties at the k-th distance
broken by name, exactly as a sort of everyone would.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

# :meth:`SpatialIndex.nearest` visits tiles ring by ring once the buckets it would scan hold more
# than this many residents per one asked for (a crowd), and scans the buckets otherwise
RINGS_FROM = 4


class SpatialIndex:
    def __init__(self, width: int, height: int, cell: int = 8):
        if width < 1 or height < 1:
            raise ValueError(f"expected a map of at least 1x1 tiles, got {width}x{height}")
        self.width, self.height = width, height
        self.cell = max(1, int(cell))
        self._pos: dict[str, tuple[int, int]] = {}
        self._buckets: dict[tuple[int, int], dict[str, tuple[int, int]]] = {}  # bucket -> {name: tile}
        self._spans: dict[tuple[int, int, int, int], tuple[tuple[int, int], ...]] = {}  # see _keys
        self._tiles: dict[int, list[str]] = {}  # tile number (y * width + x) -> names on it
        self._rings: dict[int, tuple[tuple[int, int, int], ...]] = {}  # radius -> (distance, dx, dy) nearest first

    @classmethod
    def of(cls, width: int, height: int, cell: int, positions: Iterable[tuple[str, int, int]]) -> "SpatialIndex":
        """An index holding ``(name, x, y)`` for each resident."""
        index = cls(width, height, cell)
        for name, x, y in positions:
            index.move(name, x, y)
        return index

    def _bucket(self, x: int, y: int) -> tuple[int, int]:
        return x // self.cell, y // self.cell

    def move(self, name: str, x: int, y: int) -> None:
        """Put ``name`` on tile (x, y): adds it, or moves it from where it was."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError(f"{name}: tile ({x}, {y}) is outside the {self.width}x{self.height} map")
        old = self._pos.get(name)
        if old == (x, y):
            return
        key = self._bucket(x, y)
        if old is not None:
            okey = self._bucket(*old)
            if okey != key:
                bucket = self._buckets[okey]
                del bucket[name]
                if not bucket:
                    del self._buckets[okey]
            self._off_tile(name, old)
        self._buckets.setdefault(key, {})[name] = (x, y)
        self._tiles.setdefault(y * self.width + x, []).append(name)
        self._pos[name] = (x, y)

    def _off_tile(self, name: str, tile: tuple[int, int]) -> None:
        key = tile[1] * self.width + tile[0]
        on = self._tiles[key]
        if len(on) == 1:
            del self._tiles[key]
        else:
            on.remove(name)

    def remove(self, name: str) -> None:
        """Forget ``name`` (no error if it is not there)."""
        old = self._pos.pop(name, None)
        if old is not None:
            okey = self._bucket(*old)
            bucket = self._buckets[okey]
            del bucket[name]
            if not bucket:
                del self._buckets[okey]
            self._off_tile(name, old)

    def position(self, name: str) -> tuple[int, int] | None:
        return self._pos.get(name)

    def __len__(self) -> int:
        return len(self._pos)

    def __contains__(self, name: object) -> bool:
        return name in self._pos

    def _keys(self, x: int, y: int, r: int) -> tuple[tuple[int, int], ...]:
        """The buckets a query of radius ``r`` around (x, y) must look at (occupied or not; made
        once per span of buckets), or only the occupied ones for a radius reaching more buckets
        than there are occupied."""
        c = self.cell
        span = ((x - r) // c, (x + r) // c, (y - r) // c, (y + r) // c)
        keys = self._spans.get(span)
        if keys is None:
            bx0, bx1, by0, by1 = span
            if (bx1 - bx0 + 1) * (by1 - by0 + 1) > len(self._buckets):  # a huge radius
                return tuple(k for k in self._buckets if bx0 <= k[0] <= bx1 and by0 <= k[1] <= by1)
            keys = self._spans[span] = tuple((bx, by) for by in range(by0, by1 + 1) for bx in range(bx0, bx1 + 1))
        return keys

    def candidates(self, x: int, y: int, r: int) -> list[tuple[int, str]]:
        """(distance, name) of everyone within ``r`` of (x, y), in no particular order (for a
        caller that orders them its own way)."""
        if r < 0:
            return []
        get = self._buckets.get
        out = []
        for key in self._keys(x, y, r):
            bucket = get(key)
            if bucket:
                for name, (px, py) in bucket.items():
                    d = (px - x if px >= x else x - px) + (py - y if py >= y else y - py)
                    if d <= r:
                        out.append((d, name))
        return out

    def near(self, x: int, y: int, r: int) -> list[str]:
        """Names within Manhattan distance ``r`` of (x, y), sorted by name."""
        return sorted(name for _, name in self.candidates(x, y, r))

    def within(self, x: int, y: int, r: int) -> list[tuple[int, str]]:
        """(distance, name) of everyone within ``r`` of (x, y), nearest first, ties by name."""
        out = self.candidates(x, y, r)
        out.sort()
        return out

    def nearest(self, x: int, y: int, r: int, k: int, keep: Callable[[int, int], bool] | None = None,
                view: Sequence[tuple[int, int, int]] | None = None) -> list[tuple[int, str]]:
        """The first ``k`` of :meth:`within` (nearest first, ties by name) among the residents on
        tiles ``keep(tx, ty)`` accepts (all when None): attention bounded at the query. Its cost
        does not grow with the crowd around (x, y) (see the module doc).

        ``view``, when given, lists exactly the tiles within ``r`` that ``keep`` accepts, as
        (distance, dx, dy) nearest first (e.g. :meth:`Sight.in_view
        <smallville.world.sight.Sight.in_view>`): a crowd is then searched over those tiles only."""
        if r < 0 or k < 1:
            return []
        get = self._buckets.get
        crowd = 0
        for key in self._keys(x, y, r):
            bucket = get(key)
            if bucket:
                crowd += len(bucket)
        if crowd <= RINGS_FROM * k:
            out = self.candidates(x, y, r)
            if keep is not None:
                pos = self._pos
                out = [(d, n) for d, n in out if keep(*pos[n])]
            out.sort()
            return out[:k]
        if view is None:
            view = self._rings.get(r)
            if view is None:
                view = self._rings[r] = tuple((d, dx, dy) for d in range(r + 1) for dy in range(-d, d + 1)
                                              for dx in sorted({d - abs(dy), abs(dy) - d}))
        else:
            keep = None  # the view holds only tiles it accepts
        tiles = self._tiles.get
        w, h = self.width, self.height
        inside = x - r >= 0 and y - r >= 0 and x + r < w and y + r < h  # no tile number wraps round a row
        base = y * w + x
        out: list[tuple[int, str]] = []
        found: list[str] = []
        ring = 0
        for d, dx, dy in view:
            if d != ring:  # a ring done: take its residents by name
                if found:
                    found.sort()
                    out += [(ring, n) for n in found[:k - len(out)]]
                    if len(out) >= k:
                        return out
                    found = []
                if d > r:
                    break
                ring = d
            on = tiles(base + dy * w + dx)
            if on and (inside or (0 <= x + dx < w and 0 <= y + dy < h)) and (keep is None or keep(x + dx, y + dy)):
                found += on
        if found:
            found.sort()
            out += [(ring, n) for n in found[:k - len(out)]]
        return out
