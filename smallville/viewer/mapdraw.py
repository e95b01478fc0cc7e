"""The static map surface, drawn once per scene at the map's native tile size.

With the stored tileset: the ground layer tile by tile. Without one (ASCII test maps, or a
missing image): flat colours by walkable / arena kind. Either way arenas are tinted and
outlined by kind, sectors (buildings) outlined, and game objects marked with small glyphs.
"""

from __future__ import annotations

import io

import numpy as np
import pygame

from smallville.viewer import palette
from smallville.viewer.scene import Scene
from smallville.viewer.text import Text


def tileset_surfaces(scene: Scene) -> list[tuple[int, int, pygame.Surface, int, int, int]]:
    """(firstgid, tilecount, image, columns, tile_w, tile_h) for each tileset whose image loads."""
    out = []
    for ts in scene.map.tilesets:
        data = scene.tileset_images.get(ts.image)
        if data is None:
            continue
        try:
            img = pygame.image.load(io.BytesIO(data), ts.image)
        except pygame.error:
            continue
        count = ts.tilecount or (img.get_width() // ts.tile_width) * (img.get_height() // ts.tile_height)
        out.append((ts.firstgid, count, img, max(1, ts.columns), ts.tile_width, ts.tile_height))
    return sorted(out, key=lambda t: t[0])


def draw_map(scene: Scene, text: Text) -> pygame.Surface:
    m = scene.map
    ts = m.tile_size
    surf = pygame.Surface((m.width * ts, m.height * ts))
    sets = tileset_surfaces(scene)
    drawn = np.zeros((m.height, m.width), dtype=bool)
    if sets:
        for y in range(m.height):
            for x in range(m.width):
                gid = int(m.ground[y, x])
                for first, count, img, cols, tw, th in reversed(sets):
                    if first <= gid < first + count:
                        i = gid - first
                        area = pygame.Rect((i % cols) * tw, (i // cols) * th, tw, th)
                        if (tw, th) == (ts, ts):
                            surf.blit(img, (x * ts, y * ts), area)
                        else:
                            surf.blit(pygame.transform.scale(img.subsurface(area), (ts, ts)), (x * ts, y * ts))
                        drawn[y, x] = True
                        break
    _flat(surf, scene, ~drawn, tinted=not sets)
    if sets:
        _tint_arenas(surf, scene)
    _outlines(surf, scene)
    _objects(surf, scene, text, glyphs=not sets)
    return surf


def _flat(surf: pygame.Surface, scene: Scene, mask: np.ndarray, tinted: bool) -> None:
    """Colour the tiles in ``mask`` by wall / street / arena kind."""
    m, ts = scene.map, scene.map.tile_size
    for y, x in zip(*np.nonzero(mask)):
        a = int(m.arena_grid[y, x])
        if not m.walkable[y, x]:
            c = palette.WALL
        elif a >= 0 and tinted:
            c = _blend(palette.FLOOR, palette.kind_colour(m.arenas[a].kind), 0.55)
        elif a >= 0:
            c = palette.FLOOR
        else:
            c = palette.FLOOR if m.sector_grid[y, x] < 0 else _blend(palette.FLOOR, (255, 255, 255), 0.3)
        rect = pygame.Rect(int(x) * ts, int(y) * ts, ts, ts)
        surf.fill(c, rect)
        if m.walkable[y, x]:  # a faint grid so steps can be counted on flat maps
            pygame.draw.rect(surf, palette.shade(c, 0.93), rect, 1)
        else:
            pygame.draw.line(surf, palette.shade(c, 1.25), rect.topleft, rect.topright, 2)


def _tint_arenas(surf: pygame.Surface, scene: Scene) -> None:
    m, ts = scene.map, scene.map.tile_size
    layer = pygame.Surface(surf.get_size(), pygame.SRCALPHA)
    for a in m.arenas:
        c = (*palette.kind_colour(a.kind), 46)
        for x, y in a.tiles:
            if m.walkable[y, x]:
                layer.fill(c, (x * ts, y * ts, ts, ts))
    surf.blit(layer, (0, 0))


def _edges(grid: np.ndarray):
    """Tile edges where ``grid`` changes value and one side is labelled: (x0, y0, x1, y1, value)."""
    h, w = grid.shape
    out = []
    diff = grid[:, 1:] != grid[:, :-1]
    for y, x in zip(*np.nonzero(diff)):
        for v in (int(grid[y, x]), int(grid[y, x + 1])):
            if v >= 0:
                out.append((int(x) + 1, int(y), int(x) + 1, int(y) + 1, v))
    diff = grid[1:, :] != grid[:-1, :]
    for y, x in zip(*np.nonzero(diff)):
        for v in (int(grid[y, x]), int(grid[y + 1, x])):
            if v >= 0:
                out.append((int(x), int(y) + 1, int(x) + 1, int(y) + 1, v))
    for x in range(w):  # the map border
        for y, v in ((0, int(grid[0, x])), (h, int(grid[h - 1, x]))):
            if v >= 0:
                out.append((x, y, x + 1, y, v))
    for y in range(h):
        for x, v in ((0, int(grid[y, 0])), (w, int(grid[y, w - 1]))):
            if v >= 0:
                out.append((x, y, x, y + 1, v))
    return out


def _outlines(surf: pygame.Surface, scene: Scene) -> None:
    m, ts = scene.map, scene.map.tile_size
    for x0, y0, x1, y1, v in _edges(m.arena_grid):
        c = palette.shade(palette.kind_colour(m.arenas[v].kind), 0.8)
        pygame.draw.line(surf, c, (x0 * ts, y0 * ts), (x1 * ts, y1 * ts), max(2, ts // 10))
    for x0, y0, x1, y1, _v in _edges(m.sector_grid):
        pygame.draw.line(surf, (30, 26, 24), (x0 * ts, y0 * ts), (x1 * ts, y1 * ts), max(2, ts // 12))


def _objects(surf: pygame.Surface, scene: Scene, text: Text, glyphs: bool) -> None:
    """Each object tile framed; on flat maps also a small box with the object's initial."""
    m, ts = scene.map, scene.map.tile_size
    for o in m.objects:
        kind = palette.kind_colour(m.arenas[o.arena].kind)
        for x, y in o.tiles:
            r = pygame.Rect(x * ts, y * ts, ts, ts).inflate(-ts // 5, -ts // 5)
            if glyphs:
                pygame.draw.rect(surf, palette.shade(kind, 0.55), r, border_radius=ts // 6)
                letter = text.render(o.name[:1].upper(), max(10, ts * 2 // 3), (250, 248, 240), bold=True)
                surf.blit(letter, letter.get_rect(center=r.center))
            else:
                pygame.draw.rect(surf, (250, 240, 200), r, max(1, ts // 16), border_radius=ts // 8)


def _blend(a, b, k: float):
    return tuple(int(a[i] + (b[i] - a[i]) * k) for i in range(3))
