"""Drawing a frame: a pure function of a :class:`Snapshot` and a :class:`View`.

``render_frame(snapshot, view)`` returns a new ``pygame.Surface``; ``frame_array`` returns the
same frame as an ``(height, width, 3)`` uint8 array for tests and exports. The only state kept
between calls is caches (the static map surface per scene and zoom, rendered text, sprites):
drawing the same snapshot and view twice gives the same pixels.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pygame

from smallville.viewer import hud, palette
from smallville.viewer.icons import Icons
from smallville.viewer.mapdraw import draw_map
from smallville.viewer.scene import Scene
from smallville.viewer.snapshot import AgentView, Snapshot
from smallville.viewer.text import Text

PANEL_W = 340
TIMELINE_H = 78
CLOCK_W = 250  # the clock sits at the left of the bottom bar
MIN_ZOOM, MAX_ZOOM = 2.0, 96.0  # screen pixels per tile
FULL_SCALE_LIMIT = 12_000_000  # scaled map surfaces bigger than this are scaled per frame instead


@dataclass
class View:
    """How the run is looked at: window size, camera, followed agent, playback state."""

    width: int = 1280
    height: int = 800
    cx: float = 0.0  # camera centre, in tiles
    cy: float = 0.0
    zoom: float = 16.0  # screen pixels per tile
    follow: str | None = None  # followed agent: the camera tracks it and the side panel is open
    paused: bool = False
    speed: float = 16.0
    hover: str | None = None
    asking: str | None = None  # the question being typed in the followed resident's panel (key I)
    exchange: tuple[str, str] | None = None  # the last question asked there and its answer ("…" while waiting)


@dataclass(frozen=True)
class Layout:
    map: pygame.Rect
    timeline: pygame.Rect
    track: pygame.Rect  # the clickable bar inside the timeline
    panel: pygame.Rect | None
    panel_close: pygame.Rect | None


def layout(view: View) -> Layout:
    w, h = view.width, view.height
    timeline = pygame.Rect(0, h - TIMELINE_H, w, TIMELINE_H)
    panel = pygame.Rect(w - PANEL_W, 0, PANEL_W, h - TIMELINE_H) if view.follow else None
    map_rect = pygame.Rect(0, 0, w - (PANEL_W if panel else 0), h - TIMELINE_H)
    track = pygame.Rect(timeline.x + CLOCK_W + 16, timeline.y + 30, max(50, timeline.w - CLOCK_W - 40), 12)
    close = pygame.Rect(panel.right - 34, panel.y + 8, 26, 26) if panel else None
    return Layout(map_rect, timeline, track, panel, close)


def fit_zoom(scene: Scene, view: View) -> float:
    area = layout(view).map
    return max(MIN_ZOOM, min(area.w / scene.map.width, area.h / scene.map.height))


def fit(scene: Scene, view: View) -> View:
    """The camera that shows the whole map."""
    view.zoom = fit_zoom(scene, view)
    view.cx, view.cy = scene.map.width / 2, scene.map.height / 2
    return view


def to_screen(view: View, area: pygame.Rect, x: float, y: float) -> tuple[float, float]:
    """Screen position of the centre of tile coordinate (x, y)."""
    return (area.x + area.w / 2 + (x + 0.5 - view.cx) * view.zoom,
            area.y + area.h / 2 + (y + 0.5 - view.cy) * view.zoom)


def to_tile(view: View, area: pygame.Rect, sx: float, sy: float) -> tuple[float, float]:
    return ((sx - area.x - area.w / 2) / view.zoom + view.cx - 0.5,
            (sy - area.y - area.h / 2) / view.zoom + view.cy - 0.5)


def sprite_radius(view: View) -> int:
    return int(max(9, min(20, view.zoom * 0.4)))


def agent_positions(snapshot: Snapshot, view: View) -> dict[str, tuple[int, int]]:
    """Screen centre of each agent's sprite; agents sharing a tile are spread around it."""
    area = layout(view).map
    r = sprite_radius(view)
    groups: dict[tuple[int, int], list[AgentView]] = {}
    for a in snapshot.agents:
        groups.setdefault((round(a.x), round(a.y)), []).append(a)
    out = {}
    for members in groups.values():
        n = len(members)
        for i, a in enumerate(members):
            sx, sy = to_screen(view, area, a.x, a.y)
            if n > 1:
                ang = 2 * math.pi * i / n - math.pi / 2
                spread = r * (0.9 if n == 2 else 1.1)
                sx, sy = sx + math.cos(ang) * spread, sy + math.sin(ang) * spread
            out[a.name] = (int(round(sx)), int(round(sy)))
    return out


def agent_at(snapshot: Snapshot, view: View, pos: tuple[int, int]) -> str | None:
    """The agent whose sprite is under a screen position (the nearest, if several)."""
    if not layout(view).map.collidepoint(pos):
        return None
    r = sprite_radius(view) + 3
    best, best_d = None, float(r * r)
    for name, (sx, sy) in agent_positions(snapshot, view).items():
        d = (sx - pos[0]) ** 2 + (sy - pos[1]) ** 2
        if d <= best_d:
            best, best_d = name, d
    return best


class Renderer:
    """Caches for one scene: the map surface (native and per zoom), sprites, labels."""

    def __init__(self, scene: Scene, icons: Icons | None = None):
        self.scene = scene
        self.text = Text()
        self.icons = icons or shared_icons()
        self.base = draw_map(scene, self.text)
        self._scaled: OrderedDict[int, pygame.Surface] = OrderedDict()
        self._sprites: dict[tuple, pygame.Surface] = {}
        self._labels: dict[tuple, pygame.Surface] = {}
        self._label_room = 1000  # labels kept before the cache starts again (grows with the crowd)
        self._bubbles: dict[tuple, pygame.Surface] = {}
        self.cache: dict[tuple, pygame.Surface] = {}  # other drawn parts (the timeline's static layer)

    # -- the map -----------------------------------------------------------
    def _map_at(self, zoom: float) -> pygame.Surface | None:
        key = int(round(zoom * 100))
        if key in self._scaled:
            self._scaled.move_to_end(key)
            return self._scaled[key]
        m = self.scene.map
        w, h = max(1, round(m.width * zoom)), max(1, round(m.height * zoom))
        if w * h > FULL_SCALE_LIMIT:
            return None
        ts = m.tile_size
        s = (pygame.transform.smoothscale(self.base, (w, h)) if zoom < ts
             else pygame.transform.scale(self.base, (w, h)))
        self._scaled[key] = s
        if len(self._scaled) > 3:
            self._scaled.popitem(last=False)
        return s

    def draw_map(self, out: pygame.Surface, view: View, area: pygame.Rect) -> None:
        m = self.scene.map
        ox, oy = to_screen(view, area, -0.5, -0.5)  # screen position of the map's top-left corner
        scaled = self._map_at(view.zoom)
        out.set_clip(area)
        if scaled is not None:
            out.blit(scaled, (round(ox), round(oy)))
        else:  # zoomed far in: scale only the visible part of the native surface
            ts = m.tile_size
            x0, y0 = to_tile(view, area, area.x, area.y)
            x1, y1 = to_tile(view, area, area.right, area.bottom)
            tx0, ty0 = max(0, int(math.floor(x0 + 0.5))), max(0, int(math.floor(y0 + 0.5)))
            tx1, ty1 = min(m.width, int(math.ceil(x1 + 0.5))), min(m.height, int(math.ceil(y1 + 0.5)))
            if tx1 > tx0 and ty1 > ty0:
                src = self.base.subsurface((tx0 * ts, ty0 * ts, (tx1 - tx0) * ts, (ty1 - ty0) * ts))
                size = (round((tx1 - tx0) * view.zoom), round((ty1 - ty0) * view.zoom))
                out.blit(pygame.transform.scale(src, size),
                         (round(ox + tx0 * view.zoom), round(oy + ty0 * view.zoom)))
        out.set_clip(None)

    # -- agents ----------------------------------------------------------
    def sprite(self, name: str, r: int, followed: bool) -> pygame.Surface:
        key = (name, r, followed)
        s = self._sprites.get(key)
        if s is None:
            pad = 5
            size = 2 * (r + pad)
            s = pygame.Surface((size, size + 4), pygame.SRCALPHA)
            c = palette.agent_colour(name)
            mid = size // 2
            pygame.draw.ellipse(s, (0, 0, 0, 90), (mid - r, mid + r - 3, 2 * r, 8))  # shadow
            if followed:
                pygame.draw.circle(s, (255, 255, 255), (mid, mid), r + 4)
                pygame.draw.circle(s, (20, 20, 24), (mid, mid), r + 2)
            pygame.draw.circle(s, (20, 20, 24), (mid, mid), r + 1)
            pygame.draw.circle(s, palette.agent_accent(name), (mid, mid), r)
            pygame.draw.circle(s, c, (mid, mid), r - max(2, r // 4))
            label = self.text.render(palette.initials(name), max(11, int(r * 1.1)), palette.text_on(c), bold=True)
            s.blit(label, label.get_rect(center=(mid, mid + 1)))
            self._sprites[key] = s
        return s

    def label(self, a: AgentView, size: int, max_w: int) -> pygame.Surface:
        """The pill above an agent: its colour, an icon, first name and action."""
        key = (a.name, a.action, a.emoji, size, max_w)
        s = self._labels.get(key)
        if s is None:
            if len(self._labels) > self._label_room:
                self._labels.clear()
            icon = self.icons.icon(a.emoji or "🙂", size + 3)
            c = palette.agent_colour(a.name)
            name = self.text.render(palette.first_name(a.name), size, palette.shade(c, 1.45), bold=True)
            room = max_w - icon.get_width() - name.get_width() - 18
            act = self.text.render(self.text.fit(a.action or "…", size, max(20, room)), size, (240, 240, 240))
            h = max(icon.get_height(), name.get_height()) + 6
            w = icon.get_width() + name.get_width() + act.get_width() + 18
            s = pygame.Surface((w, h), pygame.SRCALPHA)
            pygame.draw.rect(s, (24, 26, 32, 225), s.get_rect(), border_radius=h // 2)
            pygame.draw.rect(s, (*palette.agent_colour(a.name), 255), s.get_rect(), 1, border_radius=h // 2)
            x = 6
            s.blit(icon, (x, (h - icon.get_height()) // 2))
            x += icon.get_width() + 4
            s.blit(name, (x, (h - name.get_height()) // 2 + 1))
            x += name.get_width() + 4
            s.blit(act, (x, (h - act.get_height()) // 2 + 1))
            self._labels[key] = s
        return s

    def bubble(self, text: str, size: int) -> pygame.Surface:
        key = (text, size)
        s = self._bubbles.get(key)
        if s is None:
            if len(self._bubbles) > 200:
                self._bubbles.clear()
            s = self._bubbles[key] = self._bubble(text, size)
        return s

    def _bubble(self, text: str, size: int) -> pygame.Surface:
        lines = self.text.wrap(text, size, 230, max_lines=3)
        surfs = [self.text.render(line, size, (25, 25, 30)) for line in lines]
        w = max(s.get_width() for s in surfs) + 16
        lh = surfs[0].get_height()
        h = lh * len(surfs) + 10
        s = pygame.Surface((w, h), pygame.SRCALPHA)
        pygame.draw.rect(s, (255, 255, 255, 245), (0, 0, w, h), border_radius=8)
        pygame.draw.rect(s, (60, 60, 70), (0, 0, w, h), 1, border_radius=8)
        for i, line in enumerate(surfs):
            s.blit(line, (8, 5 + i * lh))
        return s

    def draw_agents(self, out: pygame.Surface, snap: Snapshot, view: View, area: pygame.Rect,
                    avoid: list[pygame.Rect] = ()) -> None:
        r = sprite_radius(view)
        pos = agent_positions(snap, view)
        out.set_clip(area)
        order = sorted(snap.agents, key=lambda a: (a.name == view.follow, pos[a.name][1]))
        for a in order:
            sp = self.sprite(a.name, r, a.name == view.follow)
            sx, sy = pos[a.name]
            out.blit(sp, (sx - sp.get_width() // 2, sy - (sp.get_height() - 4) // 2))
        # labels and speech bubbles, placed greedily so they do not cover each other; in a crowd a
        # label with no spot at most a quarter covered is left out (the followed resident's never),
        # so a town of hundreds seen whole shows its map and a readable sample; zooming in shows more
        size = int(max(13, min(17, view.zoom * 0.45)))
        max_w = 200 if view.zoom < 20 else 260
        placed = [pygame.Rect(x - r, y - r, 2 * r, 2 * r) for x, y in pos.values()] + list(avoid)
        seen = area.inflate(2 * r, 2 * r)  # no labels for people off screen
        first = sorted((a for a in snap.agents if seen.collidepoint(pos[a.name])),
                       key=lambda a: (a.name != view.follow, a.utterance is None, pos[a.name][1]))
        self._label_room = max(self._label_room, 4 * len(snap.agents))
        labels = {a.name: self.label(a, size, max_w) for a in first}
        budget = area.w * area.h // LABEL_SHARE
        if sum(s.get_width() * s.get_height() for s in labels.values()) > budget:
            # more labels than a readable share of the map: a sample spread over it (by a hash of
            # the name, the same from frame to frame), after the followed resident and the speakers
            used, keep = 0, set()
            by_priority = sorted(first, key=lambda a: (a.name != view.follow, a.utterance is None,
                                                       palette.digest(a.name)))
            for a in by_priority:  # the followed resident comes first, so it is always kept
                if used > budget:
                    break
                keep.add(a.name)
                used += labels[a.name].get_width() * labels[a.name].get_height()
            first = [a for a in first if a.name in keep]
        for a in first:
            sx, sy = pos[a.name]
            must = a.name == view.follow
            lab = labels[a.name]
            rect, free = self._place(lab.get_size(), sx, sy, r, placed, area)
            if not (free or must):
                continue
            placed.append(rect)
            near = (min(max(sx, rect.left + 8), rect.right - 8), min(max(sy, rect.top), rect.bottom))
            if (near[0] - sx) ** 2 + (near[1] - sy) ** 2 > (r + 10) ** 2:  # a label pushed away: a leader line
                pygame.draw.line(out, palette.agent_colour(a.name), (sx, sy), near, 1)
            out.blit(lab, rect)
            if a.utterance:
                b = self.bubble(a.utterance, size)
                br, free = self._place(b.get_size(), rect.centerx, rect.centery + 4, rect.h // 2 + 2, placed, area)
                if free or must:
                    placed.append(br)
                    out.blit(b, br)
                    _tail(out, br, rect)
        out.set_clip(None)

    @staticmethod
    def _place(wh, sx, sy, r, taken: list[pygame.Rect], area: pygame.Rect) -> tuple[pygame.Rect, bool]:
        """The free spot nearest the sprite for a label (above first), else the least covered one;
        with whether it is clear enough to draw (at most a quarter of it covered)."""
        w, h = wh
        above = pygame.Rect(0, 0, w, h)
        above.midbottom = (sx, sy - r - 3)
        below = pygame.Rect(0, 0, w, h)
        below.midtop = (sx, sy + r + 5)
        right = pygame.Rect(0, 0, w, h)
        right.midleft = (sx + r + 4, sy)
        left = pygame.Rect(0, 0, w, h)
        left.midright = (sx - r - 4, sy)
        cands = [above, below, right, left]
        for k in range(1, 5):
            dy = k * (h + 2)
            cands += [above.move(0, -dy), below.move(0, dy), right.move(0, -dy), right.move(0, dy),
                      left.move(0, -dy), left.move(0, dy), above.move(w // 2 * k // 2, -dy // 2),
                      above.move(-w // 2 * k // 2, -dy // 2)]
        inside = area.collidepoint(sx, sy)
        best, best_cost, best_overlap = above, None, 0
        for i, c in enumerate(cands):
            if inside:
                c = c.clamp(area)
            overlap = sum(_overlap(c, taken[j]) for j in c.collidelistall(taken))
            if overlap == 0:
                return c, True
            cost = overlap + i * 40
            if best_cost is None or cost < best_cost:
                best, best_cost, best_overlap = c, cost, overlap
        return best, best_overlap * 4 <= w * h

    # -- the frame -------------------------------------------------------
    def frame(self, snap: Snapshot, view: View) -> pygame.Surface:
        out = pygame.Surface((view.width, view.height))
        out.fill(palette.BACKGROUND)
        lay = layout(view)
        self.draw_map(out, view, lay.map)
        signs = hud.draw_places(out, self, snap, view, lay.map)
        self.draw_agents(out, snap, view, lay.map, signs)
        hud.draw_timeline(out, self, snap, view, lay)
        hud.draw_clock(out, self, snap, view, lay.timeline)
        if lay.panel is not None:
            hud.draw_panel(out, self, snap, view, lay)
        return out


def _tail(out: pygame.Surface, bubble: pygame.Rect, to: pygame.Rect) -> None:
    """A speech bubble's pointer, from its edge nearest the speaker's label towards it."""
    x = min(max(to.centerx, bubble.left + 10), bubble.right - 10)
    y = min(max(to.centery, bubble.top + 8), bubble.bottom - 8)
    if bubble.bottom <= to.top:
        base, tip = ((x - 6, bubble.bottom - 1), (x + 6, bubble.bottom - 1)), (x, bubble.bottom + 6)
    elif bubble.top >= to.bottom:
        base, tip = ((x - 6, bubble.top), (x + 6, bubble.top)), (x, bubble.top - 7)
    elif bubble.left >= to.right:
        base, tip = ((bubble.left, y - 5), (bubble.left, y + 5)), (bubble.left - 7, y)
    else:
        base, tip = ((bubble.right - 1, y - 5), (bubble.right - 1, y + 5)), (bubble.right + 6, y)
    pygame.draw.polygon(out, (255, 255, 255), [base[0], base[1], tip])


LABEL_SHARE = 3  # residents' labels may cover up to a third of the map's area


def _overlap(a: pygame.Rect, b: pygame.Rect) -> int:
    c = a.clip(b)
    return c.w * c.h


_ICONS: list[Icons] = []
_RENDERERS: "weakref.WeakKeyDictionary[Scene, Renderer]" = weakref.WeakKeyDictionary()


def shared_icons() -> Icons:
    if not _ICONS:
        if not pygame.font.get_init():
            pygame.font.init()
        _ICONS.append(Icons())
    return _ICONS[0]


def renderer_for(scene: Scene) -> Renderer:
    r = _RENDERERS.get(scene)
    if r is None:
        r = _RENDERERS[scene] = Renderer(scene)
    return r


def render_frame(snapshot: Snapshot, view: View) -> pygame.Surface:
    """The frame for a snapshot seen through a view (a new surface of ``view.width × view.height``)."""
    return renderer_for(snapshot.scene).frame(snapshot, view)


def frame_array(snapshot: Snapshot, view: View) -> np.ndarray:
    """The frame as an ``(height, width, 3)`` uint8 array (headless mode)."""
    return surface_array(render_frame(snapshot, view))


def surface_array(surf: pygame.Surface) -> np.ndarray:
    return np.ascontiguousarray(pygame.surfarray.array3d(surf).transpose(1, 0, 2))
