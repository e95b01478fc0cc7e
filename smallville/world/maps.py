"""Tile maps: walls, the location hierarchy (world : sector : arena : object), spawns.

Two readers produce the same plain :class:`TileMap`: Tiled JSON (``.tmj``) and the compact
ASCII format for tiny test worlds. Conventions for both are in docs/MAPS.md.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from smallville.errors import ConfigError

REQUIRED_LAYERS = ("collision", "sectors", "arenas", "objects", "spawns")
GID_MASK = 0x0FFFFFFF  # Tiled keeps flip flags in the top bits

Tile = tuple[int, int]


@dataclass
class Arena:
    sector: str
    name: str
    kind: str
    tiles: list[Tile]

    @property
    def address(self) -> str:
        return f"{self.sector}:{self.name}"


# How many residents can use an object at once, by its name or the last word of its name
# ("cafe table" is a table); anything else holds one. A Tiled object property ``capacity``
# (an int) overrides it. See docs/MAPS.md.
CAPACITY = {"bed": 1, "sofa": 2, "couch": 2, "bench": 3, "table": 4, "chairs": 6, "pew": 4, "fountain": 4,
            "dartboard": 2, "shelf": 2, "piano": 1, "easel": 1}


def default_capacity(name: str) -> int:
    key = " ".join(name.lower().split())
    if key in CAPACITY:
        return CAPACITY[key]
    return CAPACITY.get(key.rsplit(" ", 1)[-1], 1)


@dataclass
class GameObject:
    arena: int  # index into TileMap.arenas
    name: str
    tiles: list[Tile]
    capacity: int = 0  # residents that can use it at once; 0: the default for its name (default_capacity)

    def __post_init__(self) -> None:
        if self.capacity <= 0:
            self.capacity = default_capacity(self.name)


@dataclass
class Tileset:
    image: str  # absolute path
    firstgid: int
    columns: int
    tile_width: int
    tile_height: int
    tilecount: int


@dataclass
class TileMap:
    """A map as plain data. Grids are indexed ``[y, x]``; -1 means none."""

    name: str
    width: int
    height: int
    tile_size: int
    walkable: np.ndarray
    ground: np.ndarray
    sectors: list[str]
    sector_grid: np.ndarray
    arenas: list[Arena]
    arena_grid: np.ndarray
    objects: list[GameObject]
    object_grid: np.ndarray
    spawns: dict[str, Tile]
    tilesets: list[Tileset] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        self._arena_index = {a.address: i for i, a in enumerate(self.arenas)}
        self._seats: dict[int, list[Tile]] = {}
        self._objects_of: dict[int, list[GameObject]] = {}  # arena -> its objects, in map order
        self._object_ids: dict[tuple[int, str], list[int]] = {}  # (arena, name) -> object indices, in map order
        for i, o in enumerate(self.objects):
            self._objects_of.setdefault(o.arena, []).append(o)
            self._object_ids.setdefault((o.arena, o.name), []).append(i)
        self._address: dict[tuple[int, int], str] = {}  # address_at's answers, filled as asked

    # -- lookups -------------------------------------------------------
    def arena_index(self, address: str) -> int | None:
        """Index of the arena at ``Sector:arena`` (an object suffix is ignored)."""
        parts = address.split(":")
        if len(parts) >= 2:
            return self._arena_index.get(f"{parts[0]}:{parts[1]}")
        return None

    def objects_in(self, arena: int, name: str | None = None) -> list[GameObject]:
        return [o for o in self._objects_of.get(arena, ()) if name is None or o.name == name]

    def object_indices(self, arena: int, name: str) -> list[int]:
        """Indices (into ``objects``) of the objects called ``name`` in ``arena``, in map order."""
        return list(self._object_ids.get((arena, name), ()))

    def seats(self, index: int) -> list[Tile]:
        """The tiles residents use object ``index`` from, as many as its capacity: its own tiles,
        then walkable tiles next to it in its arena that hold no other object (sides before
        corners, in a fixed order). A small object in a cramped corner may have fewer seats."""
        cache = self._seats
        if index not in cache:
            o = self.objects[index]
            seats = list(o.tiles[:o.capacity])
            if len(seats) < o.capacity:
                around = [(0, -1), (1, 0), (0, 1), (-1, 0), (-1, -1), (1, -1), (1, 1), (-1, 1)]
                for tx, ty in o.tiles:
                    for dx, dy in around:
                        x, y = tx + dx, ty + dy
                        if len(seats) >= o.capacity:
                            break
                        if (0 <= x < self.width and 0 <= y < self.height and self.walkable[y, x]
                                and int(self.arena_grid[y, x]) == o.arena and int(self.object_grid[y, x]) < 0
                                and (x, y) not in seats):
                            seats.append((x, y))
            cache[index] = seats
        return cache[index]

    def address_at(self, x: int, y: int) -> str:
        """The deepest address of a tile: ``Sector:arena:object``, ``Sector:arena``, ``Sector`` or ``""``."""
        found = self._address.get((x, y))
        if found is None:
            found = self._address[(x, y)] = self._address_at(x, y)
        return found

    def _address_at(self, x: int, y: int) -> str:
        a = int(self.arena_grid[y, x])
        if a >= 0:
            o = int(self.object_grid[y, x])
            base = self.arenas[a].address
            return f"{base}:{self.objects[o].name}" if o >= 0 else base
        s = int(self.sector_grid[y, x])
        return self.sectors[s] if s >= 0 else ""

    def is_walkable(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height and bool(self.walkable[y, x])

    # -- derived -------------------------------------------------------
    def components(self) -> np.ndarray:
        """Label of the connected walkable component of each tile (4-connected), -1 for walls."""
        labels = np.full((self.height, self.width), -1, dtype=np.int32)
        walk = self.walkable
        n = 0
        for y0, x0 in zip(*np.nonzero(walk)):
            if labels[y0, x0] >= 0:
                continue
            labels[y0, x0] = n
            queue = deque([(int(x0), int(y0))])
            while queue:
                x, y = queue.popleft()
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if 0 <= nx < self.width and 0 <= ny < self.height and walk[ny, nx] and labels[ny, nx] < 0:
                        labels[ny, nx] = n
                        queue.append((nx, ny))
            n += 1
        return labels

    def crop(self, x0: int, y0: int, w: int, h: int) -> "TileMap":
        """The part of the map inside a rectangle; locations left with no tiles are dropped."""
        x1, y1 = min(self.width, x0 + w), min(self.height, y0 + h)
        if x0 >= x1 or y0 >= y1:
            raise ValueError("region lies outside the map")

        def inside(t: Tile) -> bool:
            return x0 <= t[0] < x1 and y0 <= t[1] < y1

        def shift(ts: list[Tile]) -> list[Tile]:
            return [(x - x0, y - y0) for x, y in ts if inside((x, y))]

        sector_grid = self.sector_grid[y0:y1, x0:x1]
        kept_sectors = sorted({int(s) for s in np.unique(sector_grid) if s >= 0})
        sec_map = {old: new for new, old in enumerate(kept_sectors)}
        arenas, arena_map = [], {}
        for i, a in enumerate(self.arenas):
            tiles = shift(a.tiles)
            if tiles and a.sector in {self.sectors[s] for s in kept_sectors}:
                arena_map[i] = len(arenas)
                arenas.append(Arena(a.sector, a.name, a.kind, tiles))
        objects = []
        for o in self.objects:
            tiles = shift(o.tiles)
            if tiles and o.arena in arena_map:
                objects.append(GameObject(arena_map[o.arena], o.name, tiles, o.capacity))
        return build_map(
            name=self.name,
            width=x1 - x0,
            height=y1 - y0,
            tile_size=self.tile_size,
            walkable=self.walkable[y0:y1, x0:x1].copy(),
            ground=self.ground[y0:y1, x0:x1].copy(),
            sectors=[self.sectors[s] for s in kept_sectors],
            sector_grid=np.vectorize(lambda s: sec_map.get(int(s), -1), otypes=[np.int16])(sector_grid)
            if sector_grid.size
            else sector_grid.copy(),
            arenas=arenas,
            objects=objects,
            spawns={k: (x - x0, y - y0) for k, (x, y) in self.spawns.items() if inside((x, y))},
            tilesets=self.tilesets,
            source=self.source,
        )


def build_map(*, name, width, height, tile_size, walkable, ground, sectors, sector_grid, arenas, objects,
              spawns, tilesets=(), source="") -> TileMap:
    arena_grid = np.full((height, width), -1, dtype=np.int16)
    for i, a in enumerate(arenas):
        for x, y in a.tiles:
            arena_grid[y, x] = i
    object_grid = np.full((height, width), -1, dtype=np.int32)
    for i, o in enumerate(objects):
        for x, y in o.tiles:
            object_grid[y, x] = i
    return TileMap(name, width, height, tile_size, walkable, ground, list(sectors), sector_grid, list(arenas),
                   arena_grid, list(objects), object_grid, dict(spawns), list(tilesets), str(source))


def load_map(path: Path) -> TileMap:
    path = Path(path)
    try:
        found = path.is_file()
    except (OSError, ValueError):  # ValueError: a NUL in the name
        found = False
    if not found:
        raise ConfigError(path, "", "map file not found")
    if path.suffix in (".tmj", ".json"):
        return load_tiled(path)
    if path.suffix in (".yaml", ".yml"):
        return load_ascii(path)
    raise ConfigError(path, "", "unknown map format: expected a Tiled .tmj/.json file or an ASCII .yaml map")


# ================================================================= Tiled JSON


def _need(obj: Any, key: str, kind: type | tuple, path: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ConfigError(path, f"{where}.{key}" if where else key, "required key is missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(path, f"{where}.{key}" if where else key, f"expected {names}, got {type(value).__name__}")
    return value


def _tile_data(layer: dict, n: int, path: Path, where: str) -> np.ndarray:
    data = layer.get("data")
    encoding = layer.get("encoding", "csv")
    try:
        if encoding == "csv" and isinstance(data, list):
            arr = np.array(data, dtype=np.int64)
        elif encoding == "base64" and isinstance(data, str):
            raw = base64.b64decode(data)
            comp = layer.get("compression", "")
            if comp == "zlib":
                raw = zlib.decompress(raw)
            elif comp == "gzip":
                raw = gzip.decompress(raw)
            elif comp:
                raise ConfigError(path, f"{where}.compression", f"unsupported compression {comp!r}; use zlib, gzip or none")
            arr = np.frombuffer(raw, dtype="<u4").astype(np.int64)
        else:
            raise ConfigError(path, f"{where}.data", "expected a list of tile ids (or base64 with encoding: base64)")
    except (ValueError, TypeError, OverflowError, zlib.error, OSError, EOFError) as e:
        raise ConfigError(path, f"{where}.data", f"unreadable tile data: {e}") from None
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ConfigError(path, f"{where}.data", f"expected {n} tile ids (width × height), got {arr.size}")
    return arr & GID_MASK


def _rect_tiles(o: dict, tw: int, th: int, width: int, height: int, path: Path, where: str) -> list[Tile]:
    x = _num(o, "x", path, where)
    y = _num(o, "y", path, where)
    if o.get("point"):
        tx, ty = int(x // tw), int(y // th)
        return [(tx, ty)] if 0 <= tx < width and 0 <= ty < height else []
    w = _num(o, "width", path, where) if "width" in o else 0
    h = _num(o, "height", path, where) if "height" in o else 0
    if w <= 0 or h <= 0:  # a point saved without the flag
        tx, ty = int(x // tw), int(y // th)
        return [(tx, ty)] if 0 <= tx < width and 0 <= ty < height else []
    tiles = []
    for ty in range(max(0, int(y // th)), min(height, int((y + h) // th) + 1)):
        cy = (ty + 0.5) * th
        if not (y <= cy < y + h):
            continue
        for tx in range(max(0, int(x // tw)), min(width, int((x + w) // tw) + 1)):
            cx = (tx + 0.5) * tw
            if x <= cx < x + w:
                tiles.append((tx, ty))
    return tiles


def _capacity(o: dict, path: Path, where: str) -> int:
    """The object's Tiled property ``capacity`` (a positive int), or 0 for the default by name."""
    props = o.get("properties")
    if props is None:
        return 0
    if not isinstance(props, list):
        raise ConfigError(path, f"{where}.properties", "expected a list of {name, type, value}")
    for i, p in enumerate(props):
        if isinstance(p, dict) and p.get("name") == "capacity":
            v = p.get("value")
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(path, f"{where}.properties[{i}].value",
                                  f"capacity must be a positive whole number, got {v!r}")
            return v
    return 0


def _num(o: dict, key: str, path: Path, where: str) -> float:
    v = o.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise ConfigError(path, f"{where}.{key}", f"expected a number, got {v!r}")
    return float(v)


def load_tiled(path: Path) -> TileMap:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(path, "", f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:  # ValueError: a NUL in the name
        raise ConfigError(path, "", f"cannot read: {e}") from None
    except RecursionError:
        raise ConfigError(path, "", "malformed JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise ConfigError(path, "", "expected a Tiled map object at the top")
    if doc.get("orientation", "orthogonal") != "orthogonal":
        raise ConfigError(path, "orientation", f"expected orthogonal, got {doc.get('orientation')!r}")
    if doc.get("infinite"):
        raise ConfigError(path, "infinite", "infinite maps are not supported; save with a fixed size")
    width = _need(doc, "width", int, path, "")
    height = _need(doc, "height", int, path, "")
    tw = _need(doc, "tilewidth", int, path, "")
    th = _need(doc, "tileheight", int, path, "")
    for key, v in (("width", width), ("height", height), ("tilewidth", tw), ("tileheight", th)):
        if not 1 <= v <= 4096:
            raise ConfigError(path, key, f"expected 1..4096, got {v}")
    layers = _need(doc, "layers", list, path, "")
    by_name: dict[str, tuple[int, dict]] = {}

    def walk(items: list, prefix: str) -> None:
        for i, layer in enumerate(items):
            where = f"{prefix}[{i}]"
            if not isinstance(layer, dict):
                raise ConfigError(path, where, "expected a layer object")
            if layer.get("type") == "group":
                walk(_need(layer, "layers", list, path, where), f"{where}.layers")
                continue
            name = layer.get("name")
            if isinstance(name, str):
                by_name.setdefault(name, (where, layer))

    walk(layers, "layers")
    for name in REQUIRED_LAYERS:
        if name not in by_name:
            raise ConfigError(path, "layers", f"missing layer {name!r} (required: {', '.join(REQUIRED_LAYERS)})")

    n = width * height

    def tile_layer(name: str) -> np.ndarray:
        where, layer = by_name[name]
        if layer.get("type") != "tilelayer":
            raise ConfigError(path, f"{where}.type", f"layer {name!r} must be a tile layer")
        return _tile_data(layer, n, path, where).reshape(height, width)

    def objects(name: str) -> list[tuple[str, dict]]:
        where, layer = by_name[name]
        if layer.get("type") != "objectgroup":
            raise ConfigError(path, f"{where}.type", f"layer {name!r} must be an object layer")
        objs = _need(layer, "objects", list, path, where)
        out = []
        for j, o in enumerate(objs):
            w = f"{where}.objects[{j}]"
            if not isinstance(o, dict):
                raise ConfigError(path, w, "expected an object")
            nm = o.get("name")
            if not isinstance(nm, str) or not nm.strip():
                raise ConfigError(path, f"{w}.name", "expected a non-empty name")
            if ":" in nm:
                raise ConfigError(path, f"{w}.name", f"names may not contain ':' (got {nm!r})")
            out.append((w, o))
        return out

    walkable = tile_layer("collision") == 0
    ground = tile_layer("ground").astype(np.int32) if "ground" in by_name else np.zeros((height, width), np.int32)

    sectors: list[str] = []
    sector_grid = np.full((height, width), -1, dtype=np.int16)
    for w, o in objects("sectors"):
        name = o["name"].strip()
        if name not in sectors:
            sectors.append(name)
        for x, y in _rect_tiles(o, tw, th, width, height, path, w):
            sector_grid[y, x] = sectors.index(name)

    arenas: list[Arena] = []
    seen: dict[str, int] = {}
    for w, o in objects("arenas"):
        tiles = _rect_tiles(o, tw, th, width, height, path, w)
        if not tiles:
            raise ConfigError(path, w, f"arena {o['name']!r} covers no tile")
        cx, cy = tiles[len(tiles) // 2]
        s = int(sector_grid[cy, cx])
        if s < 0:
            raise ConfigError(path, w, f"arena {o['name']!r} lies in no sector")
        kind = o.get("type") or o.get("class") or "room"
        addr = f"{sectors[s]}:{o['name'].strip()}"
        if addr in seen:
            arenas[seen[addr]].tiles.extend(tiles)
        else:
            seen[addr] = len(arenas)
            arenas.append(Arena(sectors[s], o["name"].strip(), str(kind), tiles))
    m = build_map(name=Path(path).stem, width=width, height=height, tile_size=tw, walkable=walkable,
                  ground=ground, sectors=sectors, sector_grid=sector_grid, arenas=arenas, objects=[], spawns={})
    objs = []
    for w, o in objects("objects"):
        tiles = _rect_tiles(o, tw, th, width, height, path, w)
        if not tiles:
            raise ConfigError(path, w, f"object {o['name']!r} covers no tile")
        x, y = tiles[0]
        a = int(m.arena_grid[y, x])
        if a < 0:
            raise ConfigError(path, w, f"object {o['name']!r} at tile ({x}, {y}) lies in no arena")
        if not all(walkable[ty, tx] for tx, ty in tiles):
            raise ConfigError(path, w, f"object {o['name']!r} at tile ({x}, {y}) is on a wall (object tiles must be walkable)")
        objs.append(GameObject(a, o["name"].strip(), tiles, _capacity(o, path, w)))
    spawns = {}
    for w, o in objects("spawns"):
        tiles = _rect_tiles(o, tw, th, width, height, path, w)
        if not tiles:
            raise ConfigError(path, w, f"spawn {o['name']!r} lies outside the map")
        x, y = tiles[0]
        if not walkable[y, x]:
            raise ConfigError(path, w, f"spawn {o['name']!r} at tile ({x}, {y}) is on a wall")
        spawns[o["name"].strip()] = (x, y)
    tilesets = []
    raw_tilesets = doc.get("tilesets") or []
    if not isinstance(raw_tilesets, list):
        raise ConfigError(path, "tilesets", f"expected a list of tilesets, got {type(raw_tilesets).__name__}")
    for i, ts in enumerate(raw_tilesets):
        if isinstance(ts, dict) and isinstance(ts.get("image"), str) and isinstance(ts.get("firstgid"), int):
            try:
                tilesets.append(Tileset(str((Path(path).parent / ts["image"]).resolve()), ts["firstgid"],
                                        int(ts.get("columns") or 1), int(ts.get("tilewidth") or tw),
                                        int(ts.get("tileheight") or th), int(ts.get("tilecount") or 0)))
            except (TypeError, ValueError, OverflowError):
                raise ConfigError(path, f"tilesets[{i}]", "malformed tileset") from None
    return build_map(name=Path(path).stem, width=width, height=height, tile_size=tw, walkable=walkable,
                     ground=ground, sectors=sectors, sector_grid=sector_grid, arenas=arenas, objects=objs,
                     spawns=spawns, tilesets=tilesets, source=str(path))


# ================================================================= ASCII maps


def load_ascii(path: Path) -> TileMap:
    from smallville.world.config import read_yaml

    doc = read_yaml(path)
    allowed = {"ascii_map", "tiles", "arenas", "arena_legend", "objects", "spawns", "name"}
    for k in doc:
        if k not in allowed:
            raise ConfigError(path, str(k), f"unknown key; expected one of: {', '.join(sorted(allowed))}")
    if doc.get("ascii_map") != 1:
        raise ConfigError(path, "ascii_map", "expected 1 (the format version)")

    def grid(key: str) -> list[str]:
        v = doc.get(key)
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(path, key, "expected a block of text lines (use `key: |`)")
        return [line for line in v.rstrip("\n").split("\n")]

    tiles, arena_rows = grid("tiles"), grid("arenas")
    height, width = len(tiles), max(len(r) for r in tiles)
    if len(arena_rows) != height or any(len(r) != len(t) for r, t in zip(arena_rows, tiles)):
        raise ConfigError(path, "arenas", "must have exactly the shape of `tiles`")
    legend = doc.get("arena_legend") or {}
    if not isinstance(legend, dict):
        raise ConfigError(path, "arena_legend", "expected a mapping letter -> {sector, arena, kind}")
    obj_legend = doc.get("objects") or {}
    if not isinstance(obj_legend, dict):
        raise ConfigError(path, "objects", "expected a mapping letter -> object name")
    for k, v in obj_legend.items():
        if not isinstance(k, str) or len(k) != 1 or k == "#" or not isinstance(v, str) or not v:
            raise ConfigError(path, f"objects.{k}", "expected a single character (not '#') -> object name")
    walkable = np.zeros((height, width), dtype=bool)
    for y, row in enumerate(tiles):
        for x, ch in enumerate(row):
            walkable[y, x] = ch not in "# "
    sectors: list[str] = []
    sector_grid = np.full((height, width), -1, dtype=np.int16)
    arenas: list[Arena] = []
    letter_arena: dict[str, int] = {}
    for k, v in legend.items():
        where = f"arena_legend.{k}"
        if not isinstance(k, str) or len(k) != 1:
            raise ConfigError(path, where, "keys must be single characters")
        if not isinstance(v, dict) or set(v) - {"sector", "arena", "kind"} or not all(
                isinstance(v.get(f), str) and v.get(f) for f in ("sector", "arena")):
            raise ConfigError(path, where, "expected {sector: NAME, arena: NAME, kind: KIND}")
        if v["sector"] not in sectors:
            sectors.append(v["sector"])
        letter_arena[k] = len(arenas)
        arenas.append(Arena(v["sector"], v["arena"], str(v.get("kind", "room")), []))
    for y, row in enumerate(arena_rows):
        for x, ch in enumerate(row):
            if ch in letter_arena:
                a = arenas[letter_arena[ch]]
                a.tiles.append((x, y))
                sector_grid[y, x] = sectors.index(a.sector)
    tmp = build_map(name="", width=width, height=height, tile_size=32, walkable=walkable,
                    ground=np.zeros((height, width), np.int32), sectors=sectors, sector_grid=sector_grid,
                    arenas=arenas, objects=[], spawns={})
    objects = []
    for y, row in enumerate(tiles):
        for x, ch in enumerate(row):
            if ch in obj_legend:
                a = int(tmp.arena_grid[y, x])
                if a < 0:
                    raise ConfigError(path, f"objects.{ch}", f"object at tile ({x}, {y}) lies in no arena")
                objects.append(GameObject(a, obj_legend[ch], [(x, y)]))
    spawns = {}
    raw_spawns = doc.get("spawns") or {}
    if not isinstance(raw_spawns, dict):
        raise ConfigError(path, "spawns", "expected a mapping name -> [x, y]")
    for k, v in raw_spawns.items():
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(c, int) and not isinstance(c, bool) for c in v)):
            raise ConfigError(path, f"spawns.{k}", "expected [x, y]")
        if not (0 <= v[0] < width and 0 <= v[1] < height and walkable[v[1], v[0]]):
            raise ConfigError(path, f"spawns.{k}", f"({v[0]}, {v[1]}) is not a walkable tile of the map")
        spawns[str(k)] = (v[0], v[1])
    ground = np.where(walkable, 1, 2).astype(np.int32)
    return build_map(name=str(doc.get("name") or Path(path).stem), width=width, height=height, tile_size=32,
                     walkable=walkable, ground=ground, sectors=sectors, sector_grid=sector_grid, arenas=arenas,
                     objects=objects, spawns=spawns, source=str(path))
