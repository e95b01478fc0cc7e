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
import re
import sys
from collections import Counter, deque

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the package of this checkout (drawing code shared with smallville new-town)

from smallville.world.tileset import STREET, tileset_pixels, write_png  # noqa: E402
from smallville.world.townmap import Town as _Town, to_tmj  # noqa: E402

PLACES = os.path.join(ROOT, "tools", "town_places.yaml")
OUT_MAP = os.path.join(ROOT, "worlds", "town.tmj")
OUT_TILESET = os.path.join(ROOT, "worlds", "tileset.png")

W, H = 120, 80                   # map size in tiles
SMALL = (0, 0, 59, 44)           # x0, y0, x1, y1 (inclusive) of the "small" crop


def Town(places: dict) -> _Town:
    return _Town(places, W, H)


def keep_small_edge_clear(x: int, y: int) -> bool:
    """No trees on the edge of the small crop."""
    return (SMALL[2] - 2 <= x <= SMALL[2] + 2 and y <= SMALL[3] + 2) or \
        (SMALL[3] - 2 <= y <= SMALL[3] + 2 and x <= SMALL[2] + 2)


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

    t.decorate(keep_clear=keep_small_edge_clear)
    # the map's edge
    for x in range(W):
        t.ground[0][x] = t.ground[H - 1][x] = "tree"
    for y in range(H):
        t.ground[y][0] = t.ground[y][W - 1] = "tree"
    return t


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
