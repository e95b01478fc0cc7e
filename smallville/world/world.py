"""A loaded, validated world: its config, map and residents' personas.

:func:`load_world` is the edge: it raises only :class:`ConfigError`, naming the file and
key. After it returns, every place a persona names exists and every sector can be
walked to from every spawn and every resident's start — so a path always exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smallville.errors import ConfigError
from smallville.world.config import Persona, WorldConfig, load_persona, load_world_config
from smallville.world.maps import TileMap, load_map


@dataclass
class Resident:
    persona: Persona
    persona_file: Path
    start: tuple[int, int]


@dataclass
class World:
    path: Path
    config: WorldConfig
    map: TileMap
    residents: list[Resident]
    file_hash: str  # blake2b of the world file and every file it names

    @property
    def name(self) -> str:
        return self.config.name


def file_digest(paths: list[Path]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in paths:
        h.update(Path(p).name.encode() + b"\0")
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def load_world(path: str | Path, seed: int | None = None) -> World:
    path = Path(path)
    config = load_world_config(path)
    base = path.parent
    map_path = (base / config.map).resolve()
    tile_map = load_map(map_path)
    if config.region is not None:
        x, y, w, h = config.region
        if x + w > tile_map.width or y + h > tile_map.height:
            raise ConfigError(path, "region", f"[{x}, {y}, {w}, {h}] does not fit in the {tile_map.width}×{tile_map.height} map")
        tile_map = tile_map.crop(x, y, w, h)
    if not tile_map.sectors:
        raise ConfigError(map_path, "layers", "the map has no sectors")

    residents: list[Resident] = []
    names: dict[str, int] = {}
    files = [path, map_path]
    for i, r in enumerate(config.residents):
        pfile = (base / r.persona).resolve()
        try:
            persona = load_persona(pfile)
        except ConfigError as e:
            if e.detail == "file not found":
                raise ConfigError(path, f"residents[{i}].persona", f"persona file not found: {pfile}") from None
            raise
        if persona.name in names:
            raise ConfigError(path, f"residents[{i}].persona",
                              f"{persona.name!r} is already resident (residents[{names[persona.name]}])")
        names[persona.name] = i
        _check_places(persona, pfile, tile_map)
        if r.spawn is not None:
            if r.spawn not in tile_map.spawns:
                known = ", ".join(sorted(tile_map.spawns)) or "none"
                raise ConfigError(path, f"residents[{i}].spawn", f"no spawn point {r.spawn!r} in the map (known: {known})")
            start = tile_map.spawns[r.spawn]
        else:
            start = _home_tile(tile_map, persona)
        residents.append(Resident(persona, pfile, start))
        files.append(pfile)
    _check_reachable(path, map_path, tile_map, residents)
    return World(path=path, config=config, map=tile_map, residents=residents, file_hash=file_digest(files))


def _check_places(persona: Persona, pfile: Path, tile_map: TileMap) -> None:
    for key, address in persona.known_places():
        a = tile_map.arena_index(address)
        if a is None:
            hint = ""
            sector = address.split(":")[0]
            arenas = [x.name for x in tile_map.arenas if x.sector == sector]
            if arenas:
                hint = f"; arenas of {sector!r}: {', '.join(arenas)}"
            raise ConfigError(pfile, key, f"unknown place {address!r}: expected 'Sector:arena' from the map{hint}")
    for i, block in enumerate(persona.lifestyle.routine):
        if block.object is not None:
            a = tile_map.arena_index(block.place)
            if not tile_map.objects_in(a, block.object):
                raise ConfigError(pfile, f"lifestyle.routine[{i}].object",
                                  f"no object {block.object!r} in {block.place!r}")


def _home_tile(tile_map: TileMap, persona: Persona) -> tuple[int, int]:
    a = tile_map.arena_index(persona.home)
    beds = tile_map.objects_in(a, "bed")
    if beds:
        return beds[0].tiles[0]
    for t in tile_map.arenas[a].tiles:
        if tile_map.walkable[t[1], t[0]]:
            return t
    raise ConfigError(persona.name, "home", f"home {persona.home!r} has no walkable tile")  # unreachable after map checks


def _check_reachable(world_file: Path, map_file: Path, tile_map: TileMap, residents: list[Resident]) -> None:
    labels = tile_map.components()
    sector_comps: dict[int, set[int]] = {}
    for s in range(len(tile_map.sectors)):
        mask = (tile_map.sector_grid == s) & tile_map.walkable
        sector_comps[s] = set(np.unique(labels[mask]).tolist())

    def unreachable(x: int, y: int) -> str | None:
        comp = int(labels[y, x])
        for s, comps in sector_comps.items():
            if comp not in comps:
                return tile_map.sectors[s]
        return None

    for name, (x, y) in tile_map.spawns.items():
        missing = unreachable(x, y)
        if missing:
            raise ConfigError(map_file, f"spawns.{name}",
                              f"sector {missing!r} cannot be reached from spawn {name!r} at ({x}, {y})")
    for i, r in enumerate(residents):
        x, y = r.start
        if not tile_map.walkable[y, x]:
            raise ConfigError(world_file, f"residents[{i}]", f"{r.persona.name} starts on a wall at ({x}, {y})")
        missing = unreachable(x, y)
        if missing:
            raise ConfigError(world_file, f"residents[{i}]",
                              f"sector {missing!r} cannot be reached from {r.persona.name}'s start at ({x}, {y})")
        for key, address in r.persona.known_places():
            a = tile_map.arena_index(address)
            comps = {int(labels[ty, tx]) for tx, ty in tile_map.arenas[a].tiles if tile_map.walkable[ty, tx]}
            if int(labels[y, x]) not in comps:
                raise ConfigError(r.persona_file, key, f"{address!r} cannot be reached from {r.persona.name}'s start")
