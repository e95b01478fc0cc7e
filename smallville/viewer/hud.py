"""The parts of a frame drawn over the map: place names, clock, timeline, the side panel."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pygame

from smallville.viewer import palette
from smallville.viewer.snapshot import Snapshot, Timeline
from smallville.world.clock import month, weekday

if TYPE_CHECKING:
    from smallville.viewer.render import Layout, Renderer, View

MARKER_COLOURS = {"conversation": (250, 165, 60), "gathering": (200, 120, 255)}
GREY = (160, 165, 178)
PANEL_BG = (30, 33, 41)
HINT = "space play/pause · +/− speed · drag/arrows pan · wheel zoom · click a resident to follow · F fit · Esc"


def draw_places(out: pygame.Surface, R: "Renderer", snap: Snapshot, view: "View",
                area: pygame.Rect) -> list[pygame.Rect]:
    """Objects in use, arena and sector names; returns the rectangles of the sector signs."""
    from smallville.viewer.render import to_screen

    scene = snap.scene
    out.set_clip(area)
    z = view.zoom
    if z >= 8 and snap.objects:  # objects in use: an amber dot in the tile's corner
        d = max(3, int(z * 0.14))
        for addr, _name, (x, y) in scene.objects:
            if addr in snap.objects:
                sx, sy = to_screen(view, area, x + 0.3, y - 0.3)
                pygame.draw.circle(out, (30, 30, 30), (int(sx), int(sy)), d + 1)
                pygame.draw.circle(out, (255, 196, 40), (int(sx), int(sy)), d)
    if z >= 22:
        size = int(min(16, z * 0.4))
        for a in scene.arena_labels:
            sx, sy = to_screen(view, area, a.anchor[0] - 0.5, a.anchor[1] - 0.5)
            b = R.text.box(a.name, size, (30, 30, 34), (255, 255, 255, 170), pad=(3, 1), radius=0)
            out.blit(b, b.get_rect(bottomleft=(int(sx) + 1, int(sy) - 2)))
    size = int(max(13, min(20, z * 0.5)))
    signs = []
    # the larger sectors first; a sign that would cover one already drawn is left out until a
    # closer zoom makes room (a town of hundreds of houses seen whole would be a wall of signs)
    for s in sorted(scene.sector_labels, key=lambda s: -s.bbox[2] * s.bbox[3]):
        sx, sy = to_screen(view, area, s.anchor[0] - 0.5, s.anchor[1] - 0.5)
        b = R.text.box(s.name, size, (255, 255, 255), (20, 22, 28, 200), bold=True)
        r = b.get_rect(center=(int(sx), int(sy)))
        if not r.colliderect(area) or r.collidelist(signs) >= 0:  # off screen, or in the way of one drawn
            continue
        out.blit(b, r)
        signs.append(r)
    out.set_clip(None)
    return signs


def _play_icon(out: pygame.Surface, x: int, y: int, paused: bool, c=(255, 255, 255)) -> None:
    if paused:
        pygame.draw.rect(out, c, (x, y, 4, 14))
        pygame.draw.rect(out, c, (x + 8, y, 4, 14))
    else:
        pygame.draw.polygon(out, c, [(x, y), (x, y + 14), (x + 12, y + 7)])


def short_time(t) -> str:
    """'Mon 07:30' (English day names whatever the locale)."""
    return f"{weekday(t)[:3]} {t:%H:%M}"


def draw_clock(out: pygame.Surface, R: "Renderer", snap: Snapshot, view: "View", box: pygame.Rect) -> None:
    """Time, date and playback state, at the left of the bottom bar."""
    from smallville.viewer.render import CLOCK_W

    t = snap.time
    area = pygame.Rect(box.x, box.y, CLOCK_W, box.h)
    out.fill((16, 18, 23), area)
    pygame.draw.line(out, (60, 64, 76), area.topright, area.bottomright, 1)
    big = R.text.render(t.strftime("%H:%M"), 46, (255, 255, 255), bold=True)
    out.blit(big, (area.x + 14, area.y + 8))
    date = R.text.render(f"{weekday(t)[:3]} {t.day:02d} {month(t)[:3]} {t.year}", 18, (200, 204, 214))
    out.blit(date, (area.x + 14, area.y + 12 + big.get_height()))
    x = area.x + 24 + big.get_width()
    _play_icon(out, x, area.y + 14, view.paused)
    out.blit(R.text.render(f"{view.speed:g}×", 20, (220, 222, 230), bold=True), (x + 18, area.y + 12))
    if snap.live or snap.status == "running":
        tag = R.text.render("LIVE" if snap.live else "REC", 15, (255, 255, 255), bold=True)
        r = tag.get_rect(topright=(area.right - 14, area.y + 14)).inflate(10, 4)
        pygame.draw.rect(out, (210, 40, 50) if snap.live else (120, 60, 60), r, border_radius=5)
        out.blit(tag, tag.get_rect(center=r.center))


def timeline_x(tl: Timeline, track: pygame.Rect, t: float) -> int:
    span = max(1, tl.last - tl.first)
    return int(round(track.x + (min(max(t, tl.first), tl.last) - tl.first) / span * track.w))


def timeline_tick(tl: Timeline, track: pygame.Rect, x: int) -> float:
    k = min(max((x - track.x) / max(1, track.w), 0.0), 1.0)
    return tl.first + k * (tl.last - tl.first)


def _timeline_static(R: "Renderer", snap: Snapshot, box: pygame.Rect, track: pygame.Rect) -> pygame.Surface:
    """What does not move on the timeline: labels, hour ticks, day names, conversation lanes."""
    tl, scene = snap.timeline, snap.scene
    surf = pygame.Surface(box.size)
    surf.fill((22, 24, 30))
    pygame.draw.line(surf, (60, 64, 76), (0, 0), (box.w, 0), 1)
    tr = track.move(-box.x, -box.y)
    start = R.text.render(short_time(scene.time_at(tl.first)), 14, GREY)
    end = R.text.render(short_time(scene.time_at(tl.last)), 14, GREY)
    surf.blit(start, start.get_rect(topleft=(tr.x, tr.bottom + 8)))
    surf.blit(end, end.get_rect(topright=(tr.right, tr.bottom + 8)))
    hint = R.text.render(R.text.fit(HINT, 14, tr.w - 2 * start.get_width() - 40), 14, (120, 126, 140))
    surf.blit(hint, hint.get_rect(midtop=(tr.centerx, tr.bottom + 8)))
    hours = (tl.last - tl.first) * scene.tick_seconds / 3600
    every = 1 if hours <= 72 else 6
    first_hour = scene.time_at(tl.first).replace(minute=0, second=0, microsecond=0)
    h = 1
    while True:
        tick = scene.tick_at(first_hour + dt.timedelta(hours=h * every))
        if tick > tl.last:
            break
        x = timeline_x(tl, tr, tick)
        pygame.draw.line(surf, (110, 116, 132), (x, tr.bottom + 1), (x, tr.bottom + 4), 1)
        h += 1
    for tick, label in tl.days:
        x = timeline_x(tl, tr, tick)
        t = R.text.render(label, 14, (200, 204, 214))
        surf.blit(t, t.get_rect(bottomleft=(x + 3, tr.y - 16)))
        pygame.draw.line(surf, (200, 204, 214), (x, tr.y - 20), (x, tr.y), 2)
    lanes = {"conversation": tr.y - 9, "gathering": tr.y - 15}  # marker lanes above the bar
    for m in tl.markers:
        x = timeline_x(tl, tr, m.tick)
        x1 = timeline_x(tl, tr, m.end) if m.end is not None else x
        c = MARKER_COLOURS.get(m.kind, (240, 240, 240))
        y = lanes.get(m.kind, tr.y - 9)
        pygame.draw.rect(surf, c, (x - 1, y, max(3, x1 - x + 2), 5))
        pygame.draw.line(surf, c, (x, y), (x, tr.y - 1), 1)
    return surf


def draw_timeline(out: pygame.Surface, R: "Renderer", snap: Snapshot, view: "View", lay: "Layout") -> None:
    tl, box, track = snap.timeline, lay.timeline, lay.track
    key = ("timeline", id(tl), tl.first, tl.last, len(tl.markers), tuple(box), tuple(track))
    static = R.cache.get(key)
    if static is None:
        R.cache = {k: v for k, v in R.cache.items() if k[0] != "timeline"}
        static = R.cache[key] = _timeline_static(R, snap, box, track)
    out.blit(static, box)
    pygame.draw.rect(out, (58, 62, 74), track, border_radius=6)
    px = timeline_x(tl, track, snap.t)
    pygame.draw.rect(out, (70, 120, 200), (track.x, track.y, max(0, px - track.x), track.h), border_radius=6)
    for tick, _label in tl.days:
        x = timeline_x(tl, track, tick)
        pygame.draw.line(out, (200, 204, 214), (x, track.y), (x, track.bottom + 6), 2)
    pygame.draw.circle(out, (255, 255, 255), (px, track.centery), 9)
    pygame.draw.circle(out, (70, 120, 200), (px, track.centery), 5)


def draw_panel(out: pygame.Surface, R: "Renderer", snap: Snapshot, view: "View", lay: "Layout") -> None:
    panel = lay.panel
    if panel is None or lay.panel_close is None:
        return
    out.fill(PANEL_BG, panel)
    name = view.follow or ""
    colour = palette.agent_colour(name)
    pygame.draw.rect(out, colour, (panel.x, panel.y, 4, panel.h))
    c = lay.panel_close
    pygame.draw.rect(out, (60, 64, 76), c, border_radius=6)
    pygame.draw.line(out, (230, 230, 235), c.inflate(-12, -12).topleft, c.inflate(-12, -12).bottomright, 2)
    pygame.draw.line(out, (230, 230, 235), c.inflate(-12, -12).topright, c.inflate(-12, -12).bottomleft, 2)
    x, y, w = panel.x + 18, panel.y + 14, panel.w - 36
    sp = R.sprite(name, 20, False)
    out.blit(sp, (x - 4, y - 2))
    out.blit(R.text.render(R.text.fit(name, 24, w - 90, bold=True), 24, (255, 255, 255), bold=True), (x + 48, y + 2))
    d = snap.detail
    if d is not None and d.summary:
        out.blit(R.text.render(R.text.fit(d.summary, 17, w - 50), 17, GREY), (x + 48, y + 26))
    y += 62
    bottom = panel.bottom - 12

    def heading(text: str) -> None:
        nonlocal y
        y += 6
        out.blit(R.text.render(text, 14, (130, 136, 150), bold=True), (x, y))
        pygame.draw.line(out, (60, 64, 76), (x + R.text.width(text, 14, True) + 8, y + 6), (x + w, y + 6), 1)
        y += 18

    def lines(text: str, size: int = 17, colour=(235, 236, 240), indent: int = 0, max_lines: int = 3) -> None:
        nonlocal y
        for line in R.text.wrap(text, size, w - indent, max_lines=max_lines):
            if y > bottom - size:
                return
            out.blit(R.text.render(line, size, colour), (x + indent, y))
            y += size + 1

    if view.asking is not None or view.exchange is not None:
        heading("INTERVIEW")
        if view.asking is not None:
            lines(f"Ask {name.split()[0]}: {view.asking}_", 16, (255, 236, 170), max_lines=3)
            lines("Enter asks, Esc cancels", 13, GREY)
        if view.exchange is not None:
            q, a = view.exchange
            lines(f"Q: {q}", 15, GREY, max_lines=2)
            lines(a, 16, max_lines=6)
    if d is None:
        lines(f"No recorded state for {name} at this moment.", colour=GREY)
        return
    heading("NOW")
    icon = R.icons.icon(d.emoji or "🙂", 26)
    out.blit(icon, (x, y))
    save = y
    lines(d.action or "(no action yet)", 19, indent=34)
    y = max(y, save + 30)
    if d.place:
        lines(f"at {d.place.replace(':', ' › ')}", 16, GREY)
    if d.target and not d.place.startswith(d.target):
        lines(f"heading to {d.target.replace(':', ' › ')}", 16, GREY)
    if d.utterance:
        lines(f"“{d.utterance}”", 17, (255, 236, 170), max_lines=4)
    if d.plan:
        heading("TODAY'S PLAN")
        now = snap.time.strftime("%H:%M")
        current = max((i for i, p in enumerate(d.plan) if p[0] <= now), default=0)
        first = max(0, min(current - 2, len(d.plan) - 7))
        for i, (start, end, activity) in enumerate(d.plan[first:first + 7], first):
            if y > bottom - 16:
                break
            hot = i == current
            if hot:
                pygame.draw.rect(out, (52, 58, 74), (x - 4, y - 1, w + 8, 17), border_radius=4)
            out.blit(R.text.render(f"{start}–{end}", 15, (150, 180, 230), bold=hot), (x, y))
            lines(activity, 15, (255, 255, 255) if hot else (200, 202, 210), indent=92, max_lines=1)
    heading("TODAY SO FAR")
    today = list(d.today)
    if not today:
        lines("nothing recorded yet today", 15, GREY)
    shown = today[-(6 if d.plan else 10):]
    if len(today) > len(shown):
        lines(f"… {len(today) - len(shown)} earlier", 14, GREY)
    for hhmm, desc, _place in shown:
        if y > bottom - 16:
            break
        out.blit(R.text.render(hhmm, 15, (150, 180, 230), bold=True), (x, y))
        lines(desc, 15, indent=50, max_lines=1)
    for title, items in (("REFLECTIONS", d.reflections), ("RECENT MEMORIES", d.memories)):
        if items is None or (title == "REFLECTIONS" and not items):
            continue
        heading(title)
        if not items:
            lines("none recorded yet", 15, GREY)
        for hhmm, _kind, text in items:
            if y > bottom - 16:
                break
            out.blit(R.text.render(hhmm, 14, (150, 180, 230), bold=True), (x, y))
            lines(text, 15, indent=50, max_lines=2)
    if d.memories is None:
        heading("MEMORIES")
        lines("This run stores no memories.", 15, GREY)
