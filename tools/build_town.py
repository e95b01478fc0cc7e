#!/usr/bin/env python3
"""Build the town map: worlds/town.tmj (Tiled JSON) and worlds/tileset.png.

Stdlib only and deterministic: running it twice gives byte-identical files.
The places (sectors, arenas with their kind, game objects) come from
tools/town_places.yaml; the layout (where each building stands, how its rooms are
split, where the doors are) is written down in `layout()` below. The layer convention
is described in docs/MAPS.md.

    python tools/build_town.py            # write the map and the tileset, then check them
    python tools/build_town.py --check    # only check the existing worlds/town.tmj
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import struct
import sys
import zlib
from collections import Counter, deque

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLACES = os.path.join(ROOT, "tools", "town_places.yaml")
OUT_MAP = os.path.join(ROOT, "worlds", "town.tmj")
OUT_TILESET = os.path.join(ROOT, "worlds", "tileset.png")

W, H, T = 120, 80, 32            # map size in tiles, tile size in pixels
SMALL = (0, 0, 59, 44)           # x0, y0, x1, y1 (inclusive) of the "small" crop

# ---------------------------------------------------------------------------------------
# Tiles (order = position in tileset.png, gid = index + 1)
# ---------------------------------------------------------------------------------------
TILES = [
    "grass", "grass2", "road", "dirt", "plaza", "wood", "tiles",
    "carpet", "carpet_blue", "concrete", "wall", "door", "hedge", "tree",
    "water", "flowers", "bed", "table", "counter", "stove", "shelf",
    "desk", "seat", "fountain", "gadget", "crate", "flower_bed", "bench",
]
GID = {name: i + 1 for i, name in enumerate(TILES)}
COLUMNS = 7
SOLID = {"wall", "hedge", "tree", "water"}
STREET = {"road", "plaza"}

FLOOR = {  # arena kind -> floor tile
    "cafe": "wood", "bar": "wood", "classroom": "wood", "living": "wood", "studio": "wood",
    "kitchen": "tiles", "shop": "tiles", "dining": "tiles", "hall": "tiles",
    "bedroom": "carpet", "library": "carpet_blue", "office": "carpet_blue",
    "storage": "concrete", "park": "grass", "garden": "grass",
}


def object_tile(name: str, outdoor: bool = False) -> str:
    if name == "bed":
        return "bed"
    if name == "fountain":
        return "fountain"
    if name == "flower bed":
        return "flower_bed"
    if name == "bench":
        return "bench" if outdoor else "seat"
    if name == "crate":
        return "crate"
    if name.endswith("counter"):
        return "counter"
    if name.endswith("table"):
        return "table"
    if name.endswith("desk") or name == "podium":
        return "desk"
    if name.endswith("shelf") or name in ("filing cabinet", "mailboxes"):
        return "shelf"
    if name in ("sofa", "armchair", "chairs"):
        return "seat"
    if name in ("stove", "refrigerator", "sink", "coffee machine"):
        return "stove"
    return "gadget"  # piano, television, gaming computer, dartboard, blackboard, easel


# objects that stand in the middle of a room (the rest go along the walls)
CENTRE_OBJECTS = {"cafe table", "pub table", "dining table", "kitchen table", "study desk",
                  "reading desk", "sofa", "armchair", "chairs"}


# ---------------------------------------------------------------------------------------
# town_places.yaml (a tiny parser for its fixed shape, so that no YAML library is needed)
# ---------------------------------------------------------------------------------------
def load_places(path: str = PLACES) -> dict:
    """-> {sector: {"region": str|None, "arenas": {arena: {"kind": str, "objects": [..]}}}}"""
    sectors: dict = {}
    cur = None
    arena_re = re.compile(r"^(.+?):\s*\{\s*kind:\s*([^,}]+?)\s*,\s*objects:\s*\[(.*)\]\s*\}\s*$")
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(" "))
            text = line.strip()
            if indent == 0:
                if text != "sectors:":
                    raise ValueError(f"unexpected top-level line: {text!r}")
            elif indent == 2:
                cur = text.rstrip(":")
                sectors[cur] = {"region": None, "arenas": {}}
            elif indent == 4:
                key, _, val = text.partition(":")
                if key == "region":
                    sectors[cur]["region"] = val.strip()
                elif key != "arenas":
                    raise ValueError(f"unexpected key in {cur}: {key!r}")
            elif indent == 6:
                m = arena_re.match(text)
                if not m:
                    raise ValueError(f"cannot parse arena line: {text!r}")
                objs = [o.strip() for o in m.group(3).split(",") if o.strip()]
                sectors[cur]["arenas"][m.group(1).strip()] = {"kind": m.group(2).strip(),
                                                              "objects": objs}
            else:
                raise ValueError(f"unexpected indentation: {raw!r}")
    return sectors


# ---------------------------------------------------------------------------------------
# The town under construction
# ---------------------------------------------------------------------------------------
class Town:
    def __init__(self, places: dict):
        self.places = places
        self.ground = [["grass"] * W for _ in range(H)]
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
        near_door = {(dx + i, dy + j) for dx, dy in self.doors for i in (-1, 0, 1) for j in (-1, 0, 1)}
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
            repel = list(taken) + [d for d in self.doors
                                   if x0 - 1 <= d[0] <= x1 + 1 and y0 - 1 <= d[1] <= y1 + 1]

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
            while 0 < cx < W - 1 and 0 < cy < H - 1 and len(path) < 8:
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

    def decorate(self, seed=1):
        """Grass variety, scattered flowers and trees. A tree only goes where its 5x5
        surroundings are plain grass, so trees never touch each other or any wall and can
        never cut the walkable area in two."""
        rng = random.Random(seed)
        for y in range(1, H - 1):
            for x in range(1, W - 1):
                if self.ground[y][x] != "grass" or self.inside_any_rect(x, y):
                    continue
                r = rng.random()
                if r < 0.10:
                    self.ground[y][x] = "grass2"
                elif r < 0.13 and not self.inside_any_rect(x, y, 1):
                    self.ground[y][x] = "flowers"
        for y in range(3, H - 3):
            for x in range(3, W - 3):
                if rng.random() > 0.16:
                    continue
                if self.inside_any_rect(x, y, 2):
                    continue
                if SMALL[2] - 2 <= x <= SMALL[2] + 2 and y <= SMALL[3] + 2:
                    continue  # keep the edge of the small crop clear
                if SMALL[3] - 2 <= y <= SMALL[3] + 2 and x <= SMALL[2] + 2:
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
# The layout
# ---------------------------------------------------------------------------------------
def layout(places: dict) -> Town:
    t = Town(places)

    # streets ------------------------------------------------------------------------
    t.fill((1, 22, W - 2, 24), "road")       # Main Street
    t.fill((1, 46, W - 2, 48), "road")       # Elm Street
    t.fill((60, 1, 62, H - 2), "road")       # Oak Avenue
    t.fill((90, 1, 92, H - 2), "road")       # Maple Avenue
    t.fill((4, 21, 25, 25), "plaza")         # the town square, between Hobbs Cafe and the park

    # --- the small region (x 0..59, y 0..44) -------------------------------------------
    S = "Willows Market and Pharmacy"
    t.building(S, 2, 2, [(5, [("grocery store", 10), ("pharmacy", 5)])],
               [("grocery store", "S", None), ("pharmacy", "S", None),
                ("grocery store", "pharmacy", None)])
    S = "Hobbs Cafe"
    t.building(S, 2, 11, [(8, [("cafe", 11), ("cafe kitchen", 4)])],
               [("cafe", "S", None), ("cafe", "cafe kitchen", 2), ("cafe kitchen", "N", 1)])
    t.fill((1, 9, 21, 10), "plaza")          # the lane behind the cafe
    t.fill((20, 9, 21, 21), "plaza")
    S = "Oak Hill College"
    t.building(S, 22, 7, [(6, [("classroom", 8), ("college library", 7)]),
                          (5, [("cafeteria", 11), ("professor's office", 4)])],
               [("cafeteria", "S", None), ("classroom", "cafeteria", None),
                ("college library", "cafeteria", 0), ("professor's office", "cafeteria", None),
                ("classroom", "college library", None)])
    S = "Oak Hill College Dorm"
    t.building(S, 42, 3, [(5, [("Klaus Mueller's room", 4), ("Maria Lopez's room", 4),
                               ("Ayesha Khan's room", 4)]),
                          (4, [("dorm common room", 14)]),
                          (5, [("Wolfgang Schulz's room", 4), ("dorm kitchen", 9)])],
               [("dorm common room", "W", None), ("dorm common room", "E", None),
                ("dorm kitchen", "S", None),
                ("Klaus Mueller's room", "dorm common room", None),
                ("Maria Lopez's room", "dorm common room", None),
                ("Ayesha Khan's room", "dorm common room", None),
                ("Wolfgang Schulz's room", "dorm common room", None),
                ("dorm kitchen", "dorm common room", None)])
    t.fill((40, 11, 41, 21), "plaza")
    S = "Oak Hill Apartments"
    t.building(S, 40, 26, [(5, [("Isabella Rodriguez's apartment", 5),
                                ("Arthur Burton's apartment", 5), ("Ryan Park's apartment", 5)]),
                           (4, [("apartment lobby", 17)]),
                           (4, [("Giorgio Rossi's apartment", 8), ("Carlos Gomez's apartment", 8)])],
               [("apartment lobby", "W", 1),
                ("Isabella Rodriguez's apartment", "apartment lobby", None),
                ("Arthur Burton's apartment", "apartment lobby", None),
                ("Ryan Park's apartment", "apartment lobby", None),
                ("Giorgio Rossi's apartment", "apartment lobby", None),
                ("Carlos Gomez's apartment", "apartment lobby", None)])
    t.fill((38, 25, 39, 34), "plaza")

    # Johnson Park: hedge all round with gates, the park and the garden split by a hedge
    S = "Johnson Park"
    outer = (2, 26, 37, 42)
    t.fill(outer, "hedge")
    t.sectors.append((S, outer))
    t.add_arena(S, "park", (3, 27, 24, 41))
    t.add_arena(S, "garden", (26, 27, 36, 41))
    t.fill((3, 34, 36, 34), "dirt")          # east-west path
    t.fill((13, 26, 14, 42), "dirt")         # north-south path, main gate to back gate
    for gx, gy in [(13, 26), (14, 26), (31, 26), (2, 34), (37, 34), (13, 42), (14, 42),
                   (31, 42), (25, 34), (25, 29)]:
        t.ground[gy][gx] = "dirt"             # gates in the hedge
    t.fill((31, 27, 31, 41), "dirt")          # garden path
    t.fill((25, 29, 30, 29), "dirt")
    t.fill((37, 34, 37, 34), "dirt")
    for y in range(31, 38):                   # a round paved place around the fountain
        for x in range(10, 18):
            if (x - 13.5) ** 2 + (y - 34) ** 2 <= 10:
                t.ground[y][x] = "plaza"
    for y in range(28, 41):                   # the garden's flower rows
        if y in (29, 34):
            continue
        for x in range(27, 36):
            if x != 31 and y % 2 == 0:
                t.ground[y][x] = "flowers"
    t.put(S, "park", "fountain", 13, 34)
    t.put(S, "park", "bench", 10, 31)
    t.put(S, "park", "bench", 17, 31)
    t.put(S, "park", "bench", 10, 37)
    t.put(S, "garden", "flower bed", 28, 31)
    t.put(S, "garden", "flower bed", 34, 37)

    # --- the rest of the town ------------------------------------------------------------
    S = "The Rose and Crown Pub"
    t.building(S, 66, 10, [(9, [("bar", 12), ("pub kitchen", 5)])],
               [("bar", "S", None), ("bar", "pub kitchen", None), ("pub kitchen", "N", None)])
    S = "Town Hall"
    t.building(S, 95, 11, [(8, [("town hall meeting room", 12), ("town hall office", 6)])],
               [("town hall meeting room", "S", 5), ("town hall meeting room", "S", 6),
                ("town hall office", "S", None),
                ("town hall meeting room", "town hall office", None)])
    t.fill((96, 21, 114, 21), "plaza")
    S = "Harvey Oak Supply Store"
    t.building(S, 66, 26, [(7, [("supply store", 10), ("storeroom", 5)])],
               [("supply store", "N", None), ("supply store", "storeroom", None),
                ("storeroom", "E", None)])
    S = "Ville Library"
    t.building(S, 66, 36, [(7, [("reading room", 10), ("stacks", 6)])],
               [("reading room", "S", None), ("reading room", "stacks", None)])
    S = "Artist's Co-living Space"
    t.building(S, 96, 26, [(5, [("Latoya Williams's room", 5), ("Rajiv Patel's room", 5),
                                ("Abigail Chen's room", 5)]),
                           (4, [("co-living common room", 17)]),
                           (5, [("Francisco Lopez's room", 5), ("Hailey Johnson's room", 5),
                                ("co-living kitchen", 5)])],
               [("co-living common room", "W", None), ("co-living common room", "E", None),
                ("co-living kitchen", "S", None)]
               + [(r, "co-living common room", None) for r in
                  ("Latoya Williams's room", "Rajiv Patel's room", "Abigail Chen's room",
                   "Francisco Lopez's room", "Hailey Johnson's room", "co-living kitchen")])
    t.fill((93, 34, 95, 34), "plaza")
    t.fill((115, 34, W - 2, 34), "plaza")

    # houses south of Elm Street, front doors to the north
    def house4(sector, x0, living, kitchen, back_left, back_right):
        t.building(sector, x0, 50, [(5, [(living, 7), (kitchen, 6)]),
                                    (5, [(back_left, 7), (back_right, 6)])],
                   [(living, "N", None), (living, kitchen, None), (living, back_left, None),
                    (kitchen, back_right, None)])

    def house3(sector, x0, front, back_left, back_right):
        t.building(sector, x0, 50, [(5, [(front, 14)]), (5, [(back_left, 7), (back_right, 6)])],
                   [(front, "N", 3), (front, back_left, None), (front, back_right, None)])

    house4("Lin Family's House", 4, "Lin living room", "Lin kitchen",
           "John and Mei Lin's bedroom", "Eddy Lin's bedroom")
    house4("Moore Family's House", 23, "Moore living room", "Moore kitchen",
           "Moore bedroom", "Jennifer Moore's studio")
    house3("Moreno Family's House", 42, "Moreno living room", "Moreno bedroom", "Moreno kitchen")
    house3("Yamamoto and Smith House", 67, "Yamamoto and Smith kitchen",
           "Yamamoto and Smith bedroom", "study")
    house3("Taylor and Ortiz House", 97, "Taylor and Ortiz kitchen",
           "Tamara Taylor's room", "Carmen Ortiz's room")

    # a pond and a trail in the meadow south of the houses
    for y in range(66, 76):
        for x in range(16, 40):
            if ((x - 27.5) / 10.5) ** 2 + ((y - 70.5) / 4.2) ** 2 <= 1:
                t.ground[y][x] = "water"
    t.paint_if((1, 65, W - 2, 65), "dirt")
    t.paint_if((44, 66, 44, 78), "dirt")

    t.walkways()

    # furniture ---------------------------------------------------------------------------
    placed = {(s, a) for s, a, *_ in t.objects}
    for sector, name, kind, rect in t.arenas:
        if (sector, name) not in placed:
            t.furnish(sector, name)

    # spawns ------------------------------------------------------------------------------
    for sector, name, kind, rect in t.arenas:
        if kind == "bedroom":
            t.spawn_in(sector, name)
    t.spawns.append(("town square", 15, 23))

    t.decorate()
    # the map's edge
    for x in range(W):
        t.ground[0][x] = t.ground[H - 1][x] = "tree"
    for y in range(H):
        t.ground[y][0] = t.ground[y][W - 1] = "tree"
    return t


# ---------------------------------------------------------------------------------------
# Tiled JSON
# ---------------------------------------------------------------------------------------
def to_tmj(t: Town) -> str:
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


# ---------------------------------------------------------------------------------------
# Tileset image
# ---------------------------------------------------------------------------------------
def _clamp(c):
    return tuple(max(0, min(255, int(v))) for v in c)


def _shade(c, d):
    return _clamp((c[0] + d, c[1] + d, c[2] + d))


def draw_tiles() -> dict:
    rng = random.Random(2024)
    tiles = {}

    def new(c):
        return [[c] * T for _ in range(T)]

    def rect(t, x0, y0, x1, y1, c):
        for y in range(max(0, y0), min(T - 1, y1) + 1):
            for x in range(max(0, x0), min(T - 1, x1) + 1):
                t[y][x] = c

    def disc(t, cx, cy, r, c):
        for y in range(T):
            for x in range(T):
                if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r:
                    t[y][x] = c

    def speckle(t, c, n, lo, hi):
        for _ in range(n):
            x, y = rng.randrange(T), rng.randrange(T)
            t[y][x] = _shade(c, rng.randint(lo, hi))

    def grass():
        g = new((98, 166, 74))
        speckle(g, (98, 166, 74), 140, -22, 18)
        for _ in range(6):  # blades
            x, y = rng.randrange(1, T - 1), rng.randrange(2, T)
            g[y][x] = (70, 134, 56)
            g[y - 1][x] = (70, 134, 56)
        return g

    tiles["grass"] = grass()
    g2 = grass()
    for _ in range(5):  # tufts
        x, y = rng.randrange(3, T - 3), rng.randrange(3, T - 2)
        for d in (-2, -1, 0, 1, 2):
            g2[y - (2 - abs(d))][x + d] = (62, 124, 50)
    tiles["grass2"] = g2

    road = new((112, 110, 106))          # cobbles: mortar, then stones
    for row in range(4):
        off = 4 if row % 2 else 0
        for col in range(-1, 4):
            x0 = col * 8 + off + 1
            c = _shade((160, 158, 152), rng.randint(-12, 12))
            rect(road, x0, row * 8 + 1, x0 + 6, row * 8 + 6, c)
            rect(road, x0, row * 8 + 1, x0 + 6, row * 8 + 1, _shade(c, 18))
    tiles["road"] = road

    dirt = new((192, 152, 102))
    speckle(dirt, (192, 152, 102), 120, -28, 16)
    tiles["dirt"] = dirt

    plaza = new((176, 162, 136))
    for sy in range(2):
        for sx in range(2):
            c = _shade((218, 204, 172), rng.randint(-8, 8))
            rect(plaza, sx * 16 + 1, sy * 16 + 1, sx * 16 + 15, sy * 16 + 15, c)
    speckle(plaza, (214, 200, 170), 30, -16, 6)
    tiles["plaza"] = plaza

    wood = new((176, 122, 70))
    for p in range(4):
        c = _shade((178, 124, 72), rng.randint(-14, 14))
        rect(wood, 0, p * 8, T - 1, p * 8 + 6, c)
        rect(wood, 0, p * 8 + 7, T - 1, p * 8 + 7, (118, 78, 44))
        j = (p * 11 + 5) % T
        rect(wood, j, p * 8, j, p * 8 + 6, (128, 86, 48))
        for _ in range(6):
            x = rng.randrange(T)
            wood[p * 8 + rng.randrange(1, 6)][x] = _shade(c, -14)
    tiles["wood"] = wood

    tl = new((170, 176, 180))
    for sy in range(4):
        for sx in range(4):
            c = (236, 232, 222) if (sx + sy) % 2 == 0 else (188, 204, 214)
            rect(tl, sx * 8 + 1, sy * 8 + 1, sx * 8 + 7, sy * 8 + 7, c)
    tiles["tiles"] = tl

    def carpet(base, dot):
        c = new(base)
        speckle(c, base, 60, -10, 10)
        for y in range(4, T, 8):
            for x in range(4, T, 8):
                rect(c, x - 1, y, x + 1, y, dot)
                rect(c, x, y - 1, x, y + 1, dot)
        return c
    tiles["carpet"] = carpet((160, 62, 72), (198, 110, 104))
    tiles["carpet_blue"] = carpet((64, 92, 152), (112, 138, 194))

    conc = new((166, 166, 158))
    speckle(conc, (166, 166, 158), 120, -20, 14)
    rect(conc, 0, 15, T - 1, 15, (146, 146, 140))
    rect(conc, 15, 0, 15, T - 1, (146, 146, 140))
    tiles["concrete"] = conc

    wall = new((52, 42, 40))              # dark brick, seen from above
    for row in range(4):
        off = 6 if row % 2 else 0
        for col in range(-1, 3):
            x0 = col * 12 + off + 1
            c = _shade((92, 72, 64), rng.randint(-10, 10))
            rect(wall, x0, row * 8 + 1, x0 + 10, row * 8 + 6, c)
    tiles["wall"] = wall

    door = new((208, 170, 108))
    rect(door, 0, 0, T - 1, 2, (110, 74, 40))
    rect(door, 0, T - 3, T - 1, T - 1, (110, 74, 40))
    rect(door, 0, 0, 2, T - 1, (110, 74, 40))
    rect(door, T - 3, 0, T - 1, T - 1, (110, 74, 40))
    rect(door, 6, 6, T - 7, T - 7, (224, 190, 130))
    tiles["door"] = door

    hedge = new((38, 96, 44))
    for cy in range(4, T, 9):
        for cx in range(4, T, 9):
            disc(hedge, cx + rng.randint(-1, 1), cy + rng.randint(-1, 1), 5, (52, 122, 56))
            disc(hedge, cx - 1, cy - 1, 2, (76, 148, 70))
    tiles["hedge"] = hedge

    tree = grass()
    disc(tree, 17, 18, 13, (50, 120, 60))   # shadow
    disc(tree, 15, 15, 13, (30, 92, 40))
    disc(tree, 15, 15, 11, (44, 116, 50))
    disc(tree, 12, 12, 6, (74, 150, 70))
    disc(tree, 11, 11, 2, (110, 180, 96))
    tiles["tree"] = tree

    water = new((62, 128, 200))
    speckle(water, (62, 128, 200), 60, -10, 10)
    for _ in range(9):
        x, y = rng.randrange(0, T - 6), rng.randrange(1, T - 1)
        rect(water, x, y, x + 5, y, (140, 190, 236))
    tiles["water"] = water

    flowers = grass()
    for _ in range(12):
        x, y = rng.randrange(1, T - 2), rng.randrange(1, T - 2)
        c = rng.choice([(230, 70, 80), (250, 220, 80), (245, 245, 245), (170, 100, 220)])
        rect(flowers, x, y, x + 1, y + 1, c)
    tiles["flowers"] = flowers

    floor = (214, 198, 168)   # furniture stands on a neutral floor

    bed = new(floor)
    rect(bed, 5, 2, 26, 29, (112, 74, 46))
    rect(bed, 7, 4, 24, 27, (242, 240, 232))
    rect(bed, 9, 5, 22, 10, (252, 252, 252))
    rect(bed, 7, 13, 24, 27, (76, 108, 188))
    rect(bed, 7, 13, 24, 14, (110, 140, 210))
    tiles["bed"] = bed

    table = new(floor)
    rect(table, 4, 6, 27, 25, (120, 80, 44))
    rect(table, 5, 7, 26, 24, (168, 116, 64))
    disc(table, 11, 12, 3, (250, 250, 250))
    disc(table, 21, 19, 3, (250, 250, 250))
    tiles["table"] = table

    counter = new(floor)
    rect(counter, 0, 5, T - 1, 26, (96, 62, 36))
    rect(counter, 0, 5, T - 1, 19, (212, 210, 204))
    rect(counter, 0, 5, T - 1, 6, (236, 236, 232))
    tiles["counter"] = counter

    stove = new(floor)
    rect(stove, 3, 3, 28, 28, (150, 150, 156))
    rect(stove, 4, 4, 27, 27, (208, 210, 214))
    for cx, cy in ((10, 10), (21, 10), (10, 21), (21, 21)):
        disc(stove, cx, cy, 4, (40, 40, 44))
        disc(stove, cx, cy, 1.5, (200, 60, 40))
    tiles["stove"] = stove

    shelf = new(floor)
    rect(shelf, 2, 2, 29, 29, (100, 64, 36))
    for s in range(3):
        y0 = 4 + s * 8
        x = 4
        while x < 27:
            w = rng.randint(1, 3)
            c = rng.choice([(190, 50, 50), (50, 90, 170), (60, 140, 80), (220, 180, 60),
                            (140, 70, 150), (230, 230, 220)])
            rect(shelf, x, y0 + rng.randint(0, 1), min(27, x + w - 1), y0 + 6, c)
            x += w + (1 if rng.random() < 0.2 else 0)
    tiles["shelf"] = shelf

    desk = new(floor)
    rect(desk, 2, 7, 29, 25, (110, 72, 40))
    rect(desk, 3, 8, 28, 24, (150, 104, 60))
    rect(desk, 6, 11, 14, 21, (246, 246, 240))
    rect(desk, 18, 10, 26, 15, (40, 44, 52))
    tiles["desk"] = desk

    seat = new(floor)
    rect(seat, 3, 5, 28, 27, (120, 46, 50))
    rect(seat, 5, 11, 26, 25, (176, 74, 78))
    rect(seat, 3, 5, 28, 10, (140, 56, 60))
    rect(seat, 15, 12, 15, 25, (140, 56, 60))
    tiles["seat"] = seat

    fountain = [row[:] for row in tiles["plaza"]]
    disc(fountain, 16, 16, 15, (150, 150, 158))
    disc(fountain, 16, 16, 12, (70, 140, 210))
    for _ in range(8):
        x, y = rng.randrange(8, 22), rng.randrange(8, 24)
        rect(fountain, x, y, x + 2, y, (150, 200, 240))
    disc(fountain, 16, 16, 4, (200, 200, 206))
    disc(fountain, 16, 16, 2, (240, 250, 255))
    tiles["fountain"] = fountain

    gadget = new(floor)
    rect(gadget, 3, 5, 28, 26, (34, 34, 40))
    rect(gadget, 5, 7, 26, 17, (90, 140, 190))
    rect(gadget, 5, 20, 26, 24, (236, 236, 236))
    for x in range(7, 26, 3):
        rect(gadget, x, 20, x, 22, (34, 34, 40))
    tiles["gadget"] = gadget

    crate = new(floor)
    rect(crate, 3, 3, 28, 28, (120, 80, 40))
    rect(crate, 5, 5, 26, 26, (176, 126, 66))
    for i in range(5, 27):
        rect(crate, i, i, i + 1, i, (120, 80, 40))
        rect(crate, 31 - i - 1, i, 31 - i, i, (120, 80, 40))
    tiles["crate"] = crate

    fb = grass()
    rect(fb, 3, 3, 28, 28, (96, 62, 38))
    rect(fb, 4, 4, 27, 27, (124, 84, 52))
    for y in range(7, 27, 5):
        for x in range(7, 27, 5):
            c = rng.choice([(232, 70, 86), (250, 214, 70), (246, 246, 246), (180, 100, 226)])
            disc(fb, x, y, 2, c)
    tiles["flower_bed"] = fb

    bench = grass()
    rect(bench, 4, 8, 27, 10, (132, 88, 50))
    rect(bench, 4, 13, 27, 15, (150, 102, 58))
    rect(bench, 4, 18, 27, 20, (150, 102, 58))
    rect(bench, 5, 21, 6, 24, (60, 60, 60))
    rect(bench, 25, 21, 26, 24, (60, 60, 60))
    tiles["bench"] = bench
    assert set(tiles) == set(TILES), set(TILES) ^ set(tiles)
    return tiles


def write_png(path: str, width: int, height: int, pixels) -> None:
    """pixels: list of rows, each a list of (r, g, b)."""
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in pixels)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def tileset_pixels():
    tiles = draw_tiles()
    rows = (len(TILES) + COLUMNS - 1) // COLUMNS
    img = [[(0, 0, 0)] * (COLUMNS * T) for _ in range(rows * T)]
    for i, name in enumerate(TILES):
        ox, oy = (i % COLUMNS) * T, (i // COLUMNS) * T
        for y in range(T):
            img[oy + y][ox:ox + T] = tiles[name][y]
    return COLUMNS * T, rows * T, img


# ---------------------------------------------------------------------------------------
# Check (reads the written .tmj as Smallville would)
# ---------------------------------------------------------------------------------------
def check(path: str = OUT_MAP, places: dict | None = None) -> list[str]:
    places = places or load_places()
    errors: list[str] = []
    with open(path, encoding="utf-8") as f:
        m = json.load(f)
    w, h, tw = m["width"], m["height"], m["tilewidth"]
    layers = {layer["name"]: layer for layer in m["layers"]}
    for name in ("ground", "collision", "sectors", "arenas", "objects", "spawns"):
        if name not in layers:
            errors.append(f"layer {name!r} missing")
    if errors:
        return errors
    ts = m["tilesets"][0]
    names_by_gid = {ts["firstgid"] + t_["id"]: t_["type"] for t_ in ts.get("tiles", [])}
    ground = layers["ground"]["data"]
    coll = layers["collision"]["data"]
    walk = [[coll[y * w + x] == 0 for x in range(w)] for y in range(h)]

    def tiles_of(o):
        x0 = int((o["x"]) // tw)
        y0 = int((o["y"]) // tw)
        out = []
        for y in range(max(0, y0 - 1), min(h, y0 + int(o["height"] // tw) + 2)):
            for x in range(max(0, x0 - 1), min(w, x0 + int(o["width"] // tw) + 2)):
                cx, cy = x * tw + tw / 2, y * tw + tw / 2
                if o["x"] <= cx < o["x"] + o["width"] and o["y"] <= cy < o["y"] + o["height"]:
                    out.append((x, y))
        return out

    def contains(o, px, py):
        return o["x"] <= px < o["x"] + o["width"] and o["y"] <= py < o["y"] + o["height"]

    def centre(o):
        return o["x"] + o["width"] / 2, o["y"] + o["height"] / 2

    ids = [o["id"] for L in m["layers"] if L["type"] == "objectgroup" for o in L["objects"]]
    if len(ids) != len(set(ids)):
        errors.append("object ids are not unique")
    if m["nextobjectid"] <= max(ids):
        errors.append("nextobjectid too small")

    sectors = layers["sectors"]["objects"]
    sector_tiles: dict[str, set] = {}
    for o in sectors:
        sector_tiles.setdefault(o["name"], set()).update(tiles_of(o))
    if set(sector_tiles) != set(places):
        errors.append(f"sectors differ: extra {set(sector_tiles) - set(places)}, "
                      f"missing {set(places) - set(sector_tiles)}")
    seen_tiles: dict = {}
    for s, tl in sector_tiles.items():
        for p in tl:
            if p in seen_tiles and seen_tiles[p] != s:
                errors.append(f"sectors {s} and {seen_tiles[p]} overlap at {p}")
            seen_tiles[p] = s

    def sector_of(px, py):
        hits = {o["name"] for o in sectors if contains(o, px, py)}
        return hits.pop() if len(hits) == 1 else None

    arenas = layers["arenas"]["objects"]
    arena_parent = {}
    found: dict[str, dict] = {}
    arena_tiles: dict[tuple, list] = {}
    covered = {}
    for a in arenas:
        s = sector_of(*centre(a))
        if s is None:
            errors.append(f"arena {a['name']!r} is in no sector")
            continue
        key = (s, a["name"])
        if key in arena_tiles:
            errors.append(f"arena {key} appears twice")
        arena_tiles[key] = tiles_of(a)
        arena_parent[a["id"]] = key
        found.setdefault(s, {})[a["name"]] = {"kind": a["type"], "objects": []}
        for p in arena_tiles[key]:
            if p in covered:
                errors.append(f"arenas {key} and {covered[p]} overlap at {p}")
            covered[p] = key
            if not walk[p[1]][p[0]]:
                errors.append(f"arena {key} covers a wall at {p}")
            if p not in sector_tiles.get(s, ()):
                errors.append(f"arena {key} sticks out of its sector at {p}")
        xs = {p[0] for p in arena_tiles[key]}
        ys = {p[1] for p in arena_tiles[key]}
        if len(xs) < 4 or len(ys) < 4:
            errors.append(f"arena {key} is smaller than 4x4 ({len(xs)}x{len(ys)})")

    # door tiles: walkable, inside a sector, in no arena
    doors = {(x, y) for (x, y), s in seen_tiles.items() if walk[y][x] and (x, y) not in covered}
    for o in layers["objects"]["objects"]:
        cx, cy = centre(o)
        hits = [k for a in arenas if contains(a, cx, cy) for k in [arena_parent.get(a["id"])] if k]
        if len(hits) != 1:
            errors.append(f"object {o['name']!r} at {cx, cy} is in {len(hits)} arenas")
            continue
        found[hits[0][0]][hits[0][1]]["objects"].append(o["name"])
        for (x, y) in tiles_of(o):
            if not walk[y][x]:
                errors.append(f"object {o['name']!r} on a wall at {(x, y)}")
            if any((x + i, y + j) in doors for i in (-1, 0, 1) for j in (-1, 0, 1)):
                errors.append(f"object {o['name']!r} of {hits[0]} next to a doorway at {(x, y)}")
    for s, sp in places.items():
        for a, ap in sp["arenas"].items():
            got = found.get(s, {}).get(a)
            if got is None:
                errors.append(f"arena {s}:{a} missing")
                continue
            if got["kind"] != ap["kind"]:
                errors.append(f"arena {s}:{a} kind {got['kind']!r} != {ap['kind']!r}")
            if Counter(got["objects"]) != Counter(ap["objects"]):
                errors.append(f"objects of {s}:{a}: {sorted(got['objects'])} "
                              f"!= {sorted(ap['objects'])}")
        extra = set(found.get(s, {})) - set(sp["arenas"])
        if extra:
            errors.append(f"unexpected arenas in {s}: {extra}")

    # connectivity
    def bfs(start, ok):
        seen = {start}
        q = deque([start])
        while q:
            x, y = q.popleft()
            for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if (nx, ny) not in seen and 0 <= nx < w and 0 <= ny < h and ok(nx, ny):
                    seen.add((nx, ny))
                    q.append((nx, ny))
        return seen

    walkable = {(x, y) for y in range(h) for x in range(w) if walk[y][x]}
    start = next(iter(sorted(walkable)))
    comp = bfs(start, lambda x, y: walk[y][x])
    if comp != walkable:
        lost = sorted(walkable - comp)
        errors.append(f"{len(lost)} walkable tiles are cut off, e.g. {lost[:5]}")
    for x in range(w):
        for y in (0, h - 1):
            if walk[y][x]:
                errors.append(f"map edge open at {(x, y)}")
    for y in range(h):
        for x in (0, w - 1):
            if walk[y][x]:
                errors.append(f"map edge open at {(x, y)}")

    sx0, sy0, sx1, sy1 = SMALL
    small = [s for s, sp in places.items() if sp.get("region") == "small"]
    in_crop = lambda x, y: sx0 <= x <= sx1 and sy0 <= y <= sy1 and walk[y][x]  # noqa: E731
    small_walk = set()
    for s in small:
        for (x, y) in sector_tiles.get(s, ()):
            if not (sx0 <= x <= sx1 and sy0 <= y <= sy1):
                errors.append(f"small sector {s} sticks out of the crop at {(x, y)}")
                break
            if walk[y][x]:
                small_walk.add((x, y))
    for s, tl in sector_tiles.items():
        if s not in small and any(sx0 <= x <= sx1 and sy0 <= y <= sy1 for x, y in tl):
            errors.append(f"sector {s} is not in the small region but reaches into its crop")
    if small_walk:
        comp = bfs(min(small_walk), in_crop)
        if not small_walk <= comp:
            errors.append(f"small sectors not connected inside the crop: {len(small_walk - comp)} "
                          f"tiles cut off, e.g. {sorted(small_walk - comp)[:5]}")
        crop_walk = {(x, y) for (x, y) in walkable if in_crop(x, y)}
        if comp != crop_walk:
            errors.append(f"{len(crop_walk - comp)} walkable tiles of the crop are cut off "
                          "from the small sectors inside it")

    # spawns
    spawns = layers["spawns"]["objects"]
    names = Counter(o["name"] for o in spawns)
    for n, c in names.items():
        if c > 1:
            errors.append(f"spawn {n!r} appears {c} times")
    by_name = {o["name"]: o for o in spawns}
    want = [(s, a) for s, sp in places.items() for a, ap in sp["arenas"].items()
            if ap["kind"] == "bedroom"]
    for s, a in want:
        o = by_name.get(a)
        if o is None:
            errors.append(f"no spawn for {a!r}")
            continue
        x, y = int(o["x"] // tw), int(o["y"] // tw)
        if not walk[y][x] or (x, y) not in arena_tiles.get((s, a), ()):
            errors.append(f"spawn {a!r} not on a floor tile of {s}:{a}")
    o = by_name.get("town square")
    if o is None:
        errors.append("no 'town square' spawn")
    else:
        x, y = int(o["x"] // tw), int(o["y"] // tw)
        if not walk[y][x] or names_by_gid.get(ground[y * w + x]) not in STREET:
            errors.append("'town square' spawn is not on a street")
        if not (sx0 <= x <= sx1 and sy0 <= y <= sy1):
            errors.append("'town square' spawn is outside the small crop")
    extra = set(by_name) - {a for _, a in want} - {"town square"}
    if extra:
        errors.append(f"unexpected spawns {extra}")

    n_obj = len(layers["objects"]["objects"])
    print(f"{os.path.relpath(path, ROOT)}: {w}x{h} tiles, {len(sector_tiles)} sectors, "
          f"{len(arena_tiles)} arenas, {n_obj} objects, {len(spawns)} spawns, "
          f"{len(walkable)} walkable tiles ({len(comp if small_walk else [])} in the small crop)")
    return errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check the existing map")
    args = ap.parse_args(argv)
    places = load_places()
    if not args.check:
        town = layout(places)
        os.makedirs(os.path.dirname(OUT_MAP), exist_ok=True)
        with open(OUT_MAP, "w", encoding="utf-8") as f:
            f.write(to_tmj(town))
        write_png(OUT_TILESET, *tileset_pixels())
        print(f"wrote {os.path.relpath(OUT_MAP, ROOT)} and {os.path.relpath(OUT_TILESET, ROOT)}")
    errors = check(OUT_MAP, places)
    for e in errors:
        print("ERROR:", e)
    print("check:", "FAILED" if errors else "ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
