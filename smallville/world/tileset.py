"""The town's tileset: tile names (gid = index + 1), which are solid, floors by arena kind,
furniture tiles by object name, and the tileset image itself, drawn in code (stdlib only,
deterministic) and written as a PNG.

Shared by ``tools/build_town.py`` (the hand-laid town) and :mod:`smallville.world.newtown`
(generated towns), so every map uses the same conventions (see docs/MAPS.md).
"""
from __future__ import annotations

import random
import struct
import zlib

T = 32  # tile size in pixels

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
