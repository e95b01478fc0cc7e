"""The static part of a replay: the stored map (with its tileset images) and the run's clock.

Everything comes from the run store: the map file and tileset images were copied into it
under ``map/…`` when the run started, so a run stays viewable when the world changes.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from smallville.errors import ConfigError, RunStoreError
from smallville.store.runstore import RunReader
from smallville.world.maps import TileMap, load_map

Tile = tuple[int, int]


@dataclass(frozen=True)
class SectorLabel:
    name: str
    anchor: tuple[float, float]  # tile coordinates: top centre of the sector's bounding box
    bbox: tuple[int, int, int, int]  # x, y, w, h in tiles


@dataclass(frozen=True)
class ArenaLabel:
    name: str
    kind: str
    anchor: tuple[float, float]  # tile coordinates: bottom-left corner inside the arena


@dataclass(eq=False)  # identity-hashable: the renderer caches its map surface per scene
class Scene:
    """The map and the clock of a run: everything that does not change from tick to tick."""

    map: TileMap
    tileset_images: dict[str, bytes]  # Tileset.image path -> PNG bytes (from the store)
    start: dt.datetime
    tick_seconds: int
    names: list[str]
    personas: dict[str, dict] = field(default_factory=dict)
    sector_labels: list[SectorLabel] = field(default_factory=list)
    arena_labels: list[ArenaLabel] = field(default_factory=list)
    objects: list[tuple[str, str, Tile]] = field(default_factory=list)  # (address, name, first tile)

    def time_at(self, tick: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=tick * self.tick_seconds)

    def tick_at(self, when: dt.datetime) -> float:
        return (when - self.start).total_seconds() / self.tick_seconds


def _safe_member(name: str) -> PurePosixPath | None:
    """``map/…`` names keep their relative layout; anything climbing too far out is dropped."""
    p = PurePosixPath(name)
    if p.is_absolute() or p.parts.count("..") > 4:
        return None
    return p


def load_scene(reader: RunReader) -> Scene:
    """Parse the stored map (cropped to the world's region) and read the run's clock."""
    map_file = reader.meta.get("map_file")
    if not isinstance(map_file, str) or reader.file(map_file) is None:
        raise RunStoreError(f"{reader.dir}: the run stores no map file (meta map_file={map_file!r})")
    with tempfile.TemporaryDirectory(prefix="smallville-viewer-") as tmp:
        # nest the extraction so a tileset stored as map/../x.png still lands inside tmp
        root = Path(tmp, "a", "b", "c", "d", "e")
        for name in reader.files():
            if not name.startswith("map/"):
                continue
            rel = _safe_member(name)
            data = reader.file(name)
            if rel is None or data is None:
                continue
            dest = (root / rel).resolve()
            if not str(dest).startswith(str(Path(tmp).resolve())):
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        try:
            tile_map = load_map(root / map_file)
        except ConfigError as e:
            raise RunStoreError(f"{reader.dir}: the stored map cannot be read ({e})") from None
        images = {}
        for ts in tile_map.tilesets:
            p = Path(ts.image)
            if p.exists():
                images[ts.image] = p.read_bytes()
    region = reader.meta.get("region")
    if region:
        x, y, w, h = (int(v) for v in region)
        tile_map = tile_map.crop(x, y, w, h)
    start = dt.datetime.fromisoformat(str(reader.meta.get("start") or reader.tick_info(0)["time"]))
    tick_seconds = int(reader.meta.get("tick_seconds") or reader.manifest.get("tick_seconds") or 10)
    names = list(reader.agents.values())
    scene = Scene(tile_map, images, start, tick_seconds, names,
                  personas={n: reader.persona(n) for n in names})
    scene.sector_labels.extend(_sector_labels(tile_map))
    scene.arena_labels.extend(_arena_labels(tile_map))
    for o in tile_map.objects:
        a = tile_map.arenas[o.arena]
        scene.objects.append((f"{a.address}:{o.name}", o.name, o.tiles[0]))
    return scene


def _sector_labels(m: TileMap) -> list[SectorLabel]:
    out = []
    for i, name in enumerate(m.sectors):
        ys, xs = np.nonzero(m.sector_grid == i)
        if xs.size == 0:
            continue
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        out.append(SectorLabel(name, ((x0 + x1) / 2, float(y0)), (x0, y0, x1 - x0, y1 - y0)))
    return out


def _arena_labels(m: TileMap) -> list[ArenaLabel]:
    out = []
    for a in m.arenas:
        if not a.tiles:
            continue
        xs = [t[0] for t in a.tiles]
        ys = [t[1] for t in a.tiles]
        out.append(ArenaLabel(a.name, a.kind, (float(min(xs)), float(max(ys) + 1))))
    return out
