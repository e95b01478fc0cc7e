"""A town under construction, painted tile by tile, and its Tiled JSON (``.tmj``).

:class:`Town` holds the ground tiles, sectors, arenas, game objects and spawn points of a
map being laid out; ``building`` draws a walled building split into rooms with doors,
``furnish`` places an arena's objects, ``decorate`` scatters grass, flowers and trees.
:func:`to_tmj` writes it in the layer convention of docs/MAPS.md. Used by
``tools/build_town.py`` and :mod:`smallville.world.newtown`.
"""
from __future__ import annotations

import json
import random
from collections import Counter

from smallville.world.tileset import CENTRE_OBJECTS, COLUMNS, FLOOR, GID, SOLID, STREET, T, TILES, object_tile


class Town:
    """``places``: {sector: {"arenas": {arena: {"kind": str, "objects": [..]}}}}; the map is
    ``width`` × ``height`` tiles of grass to start with."""

    def __init__(self, places: dict, width: int, height: int):
        self.places = places
        self.width, self.height = width, height
        self.ground = [["grass"] * width for _ in range(height)]
        self.sectors: list[tuple[str, tuple]] = []              # (name, rect)
        self.arenas: list[tuple[str, str, str, tuple]] = []     # (sector, arena, kind, rect)
        self.objects: list[tuple[str, str, str, int, int]] = []  # (sector, arena, name, x, y)
        self.spawns: list[tuple[str, int, int]] = []
        self.doors: set[tuple[int, int]] = set()
        self.exterior_doors: list[tuple[int, int, str]] = []    # (x, y, side)
        self.rooms: dict[tuple[str, str], tuple] = {}           # (sector, arena) -> rect

    # -- painting ------------------------------------------------------------------------
    def fill(self, rect, tile):
        x0, y0, x1, y1 = rect
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                self.ground[y][x] = tile

    def paint_if(self, rect, tile, over=("grass", "grass2", "flowers")):
        x0, y0, x1, y1 = rect
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                if self.ground[y][x] in over:
                    self.ground[y][x] = tile

    def solid(self, x, y) -> bool:
        return self.ground[y][x] in SOLID

    # -- buildings -----------------------------------------------------------------------
    def building(self, sector, x0, y0, rows, doors):
        """rows: [(height, [(arena, width), ...]), ...], rooms separated by 1-tile walls.
        doors: [(arena, side "N"/"S"/"E"/"W", offset|None)] for an outside door, or
        [(arena, other_arena, offset|None)] for a door in the wall between two rooms."""
        widths = {2 + sum(w for _, w in cells) + len(cells) - 1 for _, cells in rows}
        assert len(widths) == 1, (sector, widths)
        bw = widths.pop()
        bh = 2 + sum(h for h, _ in rows) + len(rows) - 1
        outer = (x0, y0, x0 + bw - 1, y0 + bh - 1)
        self.fill(outer, "wall")
        self.sectors.append((sector, outer))
        rects = {}
        y = y0 + 1
        for h, cells in rows:
            x = x0 + 1
            for name, w in cells:
                rects[name] = (x, y, x + w - 1, y + h - 1)
                x += w + 1
            y += h + 1
        for name, r in rects.items():
            self.add_arena(sector, name, r)
        for d in doors:
            a, b, off = d
            if b in ("N", "S", "E", "W"):
                x, y = door_outside(rects[a], b, off)
                ox0, oy0, ox1, oy1 = outer
                assert x in (ox0, ox1) or y in (oy0, oy1), (sector, d)
                self.exterior_doors.append((x, y, b))
            else:
                x, y = door_between(rects[a], rects[b], off)
            assert self.ground[y][x] == "wall", (sector, d)
            self.ground[y][x] = "door"
            self.doors.add((x, y))
        return rects

    def add_arena(self, sector, name, rect, paint=True):
        kind = self.places[sector]["arenas"][name]["kind"]
        if paint:
            self.fill(rect, FLOOR[kind])
        self.arenas.append((sector, name, kind, rect))
        self.rooms[(sector, name)] = rect

    # -- furniture -----------------------------------------------------------------------
    def put(self, sector, arena, name, x, y):
        x0, y0, x1, y1 = self.rooms[(sector, arena)]
        assert x0 <= x <= x1 and y0 <= y <= y1, (sector, arena, name, x, y)
        assert not self.solid(x, y)
        self.objects.append((sector, arena, name, x, y))
        self.ground[y][x] = object_tile(name, outdoor=FLOOR[self.kind(sector, arena)] == "grass")

    def kind(self, sector, arena):
        return self.places[sector]["arenas"][arena]["kind"]

    def furnish(self, sector, arena, names=None):
        """Place the arena's objects automatically: wall objects along the walls, tables and
        seats in the room, each as far as possible from the doors and from each other."""
        if names is None:
            names = self.places[sector]["arenas"][arena]["objects"]
        x0, y0, x1, y1 = self.rooms[(sector, arena)]
        room_doors = [d for d in self.doors if x0 - 1 <= d[0] <= x1 + 1 and y0 - 1 <= d[1] <= y1 + 1]
        near_door = {(dx + i, dy + j) for dx, dy in room_doors for i in (-1, 0, 1) for j in (-1, 0, 1)}
        taken = {(x, y) for s, a, _, x, y in self.objects if (s, a) == (sector, arena)}
        perimeter = ([(x, y0) for x in range(x0, x1 + 1)] + [(x1, y) for y in range(y0 + 1, y1 + 1)]
                     + [(x, y1) for x in range(x1 - 1, x0 - 1, -1)]
                     + [(x0, y) for y in range(y1 - 1, y0, -1)])
        inner = [(x, y) for y in range(y0 + 2, y1 - 1) for x in range(x0 + 2, x1 - 1)]
        counts = Counter(names)
        centre_of = {n: n in CENTRE_OBJECTS or (n == "desk" and counts[n] >= 3) for n in names}
        # wall furniture first (the blackboard before the desks), then the rest
        for name in sorted(names, key=lambda n: centre_of[n]):
            pool = inner if centre_of[name] and inner else perimeter
            cands = [p for p in pool if p not in near_door and p not in taken]
            if not cands:
                cands = [p for p in perimeter + inner if p not in near_door and p not in taken]
            repel = list(taken) + room_doors

            def score(p):
                return min((max(abs(p[0] - q[0]), abs(p[1] - q[1])) for q in repel), default=99)
            best = max(cands, key=score)  # max() keeps the first of equals: deterministic
            self.put(sector, arena, name, *best)
            taken.add(best)

    # -- spawns --------------------------------------------------------------------------
    def spawn_in(self, sector, arena):
        x0, y0, x1, y1 = self.rooms[(sector, arena)]
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        objs = {(x, y) for *_, x, y in self.objects}
        free = [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)
                if (x, y) not in objs and not self.solid(x, y)]
        x, y = min(free, key=lambda p: (abs(p[0] - cx) + abs(p[1] - cy), p[1], p[0]))
        self.spawns.append((arena, x, y))

    # -- outside -------------------------------------------------------------------------
    def walkways(self):
        """A paved path from each outside door straight out to the nearest street, when the
        way there is open grass."""
        step = {"N": (0, -1), "S": (0, 1), "E": (1, 0), "W": (-1, 0)}
        for x, y, side in self.exterior_doors:
            dx, dy = step[side]
            path = []
            cx, cy = x + dx, y + dy
            while 0 < cx < self.width - 1 and 0 < cy < self.height - 1 and len(path) < 8:
                g = self.ground[cy][cx]
                if g in STREET or g == "dirt":
                    for px, py in path:
                        self.ground[py][px] = "plaza"
                    break
                if g not in ("grass", "grass2", "flowers"):
                    break
                path.append((cx, cy))
                cx, cy = cx + dx, cy + dy

    def inside_any_rect(self, x, y, margin=0):
        for _, r in self.sectors:
            if r[0] - margin <= x <= r[2] + margin and r[1] - margin <= y <= r[3] + margin:
                return True
        return False

    def _sector_distance(self, cap: int) -> list[list[int]]:
        """Per tile, the Chebyshev distance to the nearest sector rectangle (0 inside one),
        capped at ``cap``: ``d <= m`` exactly when ``inside_any_rect(x, y, m)``."""
        d = [[cap] * self.width for _ in range(self.height)]
        for _, (x0, y0, x1, y1) in self.sectors:
            for y in range(max(0, y0 - cap), min(self.height, y1 + cap + 1)):
                dy = max(y0 - y, 0, y - y1)
                row = d[y]
                for x in range(max(0, x0 - cap), min(self.width, x1 + cap + 1)):
                    v = max(dy, x0 - x, x - x1)
                    if v < row[x]:
                        row[x] = v
        return d

    def decorate(self, seed=1, keep_clear=None, tree_rate=0.16):
        """Grass variety, scattered flowers and trees. A tree only goes where its 5x5
        surroundings are plain grass, so trees never touch each other or any wall and can
        never cut the walkable area in two. ``keep_clear(x, y)``: True where no tree may go."""
        rng = random.Random(seed)
        W, H = self.width, self.height
        near = self._sector_distance(3)
        for y in range(1, H - 1):
            for x in range(1, W - 1):
                if self.ground[y][x] != "grass" or near[y][x] <= 0:
                    continue
                r = rng.random()
                if r < 0.10:
                    self.ground[y][x] = "grass2"
                elif r < 0.13 and not near[y][x] <= 1:
                    self.ground[y][x] = "flowers"
        for y in range(3, H - 3):
            for x in range(3, W - 3):
                if rng.random() > tree_rate:
                    continue
                if near[y][x] <= 2:
                    continue
                if keep_clear is not None and keep_clear(x, y):
                    continue
                if all(self.ground[y + j][x + i] in ("grass", "grass2", "flowers")
                       for i in range(-2, 3) for j in range(-2, 3)):
                    self.ground[y][x] = "tree"


def door_outside(r, side, off):
    x0, y0, x1, y1 = r
    if side in ("N", "S"):
        x = (x0 + x1) // 2 if off is None else x0 + off
        return x, (y0 - 1 if side == "N" else y1 + 1)
    y = (y0 + y1) // 2 if off is None else y0 + off
    return (x0 - 1 if side == "W" else x1 + 1), y


def door_between(a, b, off):
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    if ay1 + 2 == by0 or by1 + 2 == ay0:           # one above the other
        lo, hi = max(ax0, bx0), min(ax1, bx1)
        assert lo <= hi, (a, b)
        x = (lo + hi) // 2 if off is None else lo + off
        return x, (ay1 + 1 if ay1 + 2 == by0 else by1 + 1)
    if ax1 + 2 == bx0 or bx1 + 2 == ax0:           # side by side
        lo, hi = max(ay0, by0), min(ay1, by1)
        assert lo <= hi, (a, b)
        y = (lo + hi) // 2 if off is None else lo + off
        return (ax1 + 1 if ax1 + 2 == bx0 else bx1 + 1), y
    raise AssertionError(f"rooms {a} and {b} do not share a wall")


# ---------------------------------------------------------------------------------------
# Tiled JSON
# ---------------------------------------------------------------------------------------
def to_tmj(t: Town) -> str:
    """The town as Tiled JSON text (one layer per line; the tileset ``tileset.png`` beside it)."""
    W, H = t.width, t.height
    ground = [GID[t.ground[y][x]] for y in range(H) for x in range(W)]
    collision = [GID[t.ground[y][x]] if t.ground[y][x] in SOLID else 0
                 for y in range(H) for x in range(W)]
    next_id = [1]

    def obj(name, typ, x0, y0, x1, y1):
        o = {"id": next_id[0], "name": name, "type": typ, "x": x0 * T, "y": y0 * T,
             "width": (x1 - x0 + 1) * T, "height": (y1 - y0 + 1) * T,
             "rotation": 0, "visible": True}
        next_id[0] += 1
        return o

    def tilelayer(lid, name, data):
        return {"id": lid, "name": name, "type": "tilelayer", "width": W, "height": H,
                "x": 0, "y": 0, "opacity": 1, "visible": True, "data": data}

    def objectlayer(lid, name, objs):
        return {"id": lid, "name": name, "type": "objectgroup", "draworder": "topdown",
                "x": 0, "y": 0, "opacity": 1, "visible": True, "objects": objs}

    sectors = [obj(name, "", *r) for name, r in t.sectors]
    arenas = [obj(name, kind, *r) for _, name, kind, r in t.arenas]
    objects = [obj(name, "", x, y, x, y) for _, _, name, x, y in t.objects]
    spawns = []
    for name, x, y in t.spawns:
        spawns.append({"id": next_id[0], "name": name, "type": "", "x": x * T + T // 2,
                       "y": y * T + T // 2, "width": 0, "height": 0, "rotation": 0,
                       "visible": True, "point": True})
        next_id[0] += 1
    layers = [tilelayer(1, "ground", ground), tilelayer(2, "collision", collision),
              objectlayer(3, "sectors", sectors), objectlayer(4, "arenas", arenas),
              objectlayer(5, "objects", objects), objectlayer(6, "spawns", spawns)]
    rows = (len(TILES) + COLUMNS - 1) // COLUMNS
    tileset = {"firstgid": 1, "name": "town", "image": "tileset.png",
               "imagewidth": COLUMNS * T, "imageheight": rows * T,
               "tilewidth": T, "tileheight": T, "tilecount": len(TILES), "columns": COLUMNS,
               "margin": 0, "spacing": 0,
               "tiles": [{"id": i, "type": name} for i, name in enumerate(TILES)]}
    head = {"type": "map", "version": "1.10", "tiledversion": "1.10.2",
            "orientation": "orthogonal", "renderorder": "right-down", "infinite": False,
            "compressionlevel": -1, "width": W, "height": H, "tilewidth": T, "tileheight": T,
            "nextlayerid": 7, "nextobjectid": next_id[0]}
    dump = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)  # noqa: E731
    lines = ["{"]
    lines += [f"{dump(k)}:{dump(v)}," for k, v in head.items()]
    lines.append('"layers":[')
    lines.append(",\n".join(dump(layer) for layer in layers))
    lines.append("],")
    lines.append(f'"tilesets":[{dump(tileset)}]')
    lines.append("}")
    return "\n".join(lines) + "\n"
