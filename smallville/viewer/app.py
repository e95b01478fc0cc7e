"""``smallville replay RUN``: the window (event loop) and the headless exports.

The loop is: handle input events → ``update(dt)`` (playhead, live refresh, camera, snapshot)
→ ``draw()`` (``render_frame`` of that snapshot and view). Tests drive it by posting pygame
events and calling :meth:`App.step`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pygame

from smallville.errors import SmallvilleError
from smallville.store.runstore import RunReader
from smallville.viewer.hud import timeline_tick
from smallville.viewer.render import (MAX_ZOOM, MIN_ZOOM, View, agent_at, fit, fit_zoom, layout, render_frame,
                                      to_tile)
from smallville.viewer.scene import load_scene
from smallville.viewer.snapshot import SnapshotSource

SPEEDS = (1, 2, 4, 8, 16, 32, 64)
TIME_FORMAT = "%Y-%m-%d %H:%M"
FOLLOW_ZOOM = 32.0  # screen pixels per tile when following a resident
LIVE_REFRESH_S = 0.5


def _init_pygame(headless: bool):
    if headless and not pygame.display.get_init():
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # exports never need a real display

    try:
        pygame.display.init()
    except pygame.error as e:
        raise SmallvilleError(f"cannot start pygame's display ({e}); without a display use "
                              "--headless --png OUT.png or --gif OUT.gif") from None
    pygame.font.init()
    return pygame


class App:
    """The replay of one run: playback state, camera and the current snapshot."""

    def __init__(self, run_dir: str | Path, *, speed: float = 16.0, at: dt.datetime | None = None,
                 size: tuple[int, int] = (1280, 800), follow: str | None = None, window: bool = True):
        self.pg = _init_pygame(headless=not window)
        self.reader = RunReader(run_dir)
        self.scene = load_scene(self.reader)
        self.source = SnapshotSource(self.reader, self.scene)
        self.view = fit(self.scene, View(size[0], size[1], speed=speed))
        if at is not None:
            self.t = self._check_time(at)
        else:
            self.t = float(self.source.last if self.source.running else self.source.first)
        self.live = self.source.running and at is None
        self.running = True
        self.cam_follow = False
        self._drag: dict | None = None
        self._since_refresh = 0.0
        self.screen = None
        self.run_dir = Path(run_dir)
        self._asked: tuple[subprocess.Popen, str] | None = None  # an interview under way (key I)
        self.interview_cmd = interview_command
        if window:
            try:
                self.screen = self.pg.display.set_mode(size, self.pg.RESIZABLE)
            except self.pg.error as e:
                raise SmallvilleError(f"cannot open a window ({e}); without a display use "
                                      "--headless --png OUT.png or --gif OUT.gif") from None
            self.pg.display.set_caption(f"Smallville replay · {self.reader.manifest.get('run_id', run_dir)}")
        if follow:
            self.follow(follow)
        self.snap = self.source.snapshot(self.t, self.view.follow, self.live)
        self._track_camera()

    # -- playback ----------------------------------------------------------
    def _check_time(self, when: dt.datetime) -> float:
        first, last = self.scene.time_at(self.source.first), self.scene.time_at(self.source.last)
        if not first <= when <= last:
            raise SmallvilleError(f"--at {when:{TIME_FORMAT}}: outside the run "
                                  f"({first:{TIME_FORMAT}} to {last:{TIME_FORMAT}})")
        return self.source.tick_of(when)

    def seek(self, t: float) -> None:
        self.t = self.source.clamp(t)
        self.live = False

    def set_speed(self, direction: int) -> None:
        s = self.view.speed
        if direction > 0:
            self.view.speed = next((x for x in SPEEDS if x > s), SPEEDS[-1] if s < SPEEDS[-1] else s)
        else:
            self.view.speed = next((x for x in reversed(SPEEDS) if x < s), SPEEDS[0] if s > SPEEDS[0] else s)

    def toggle_pause(self) -> None:
        self.view.paused = not self.view.paused
        if self.view.paused:
            self.live = False

    def go_live(self) -> None:
        self.source.refresh()
        self.t = float(self.source.last)
        self.live = self.source.running
        self.view.paused = False

    def follow(self, name: str | None) -> None:
        if name is not None and name not in self.scene.names:
            raise SmallvilleError(f"--follow {name!r}: no such resident in this run "
                                  f"(residents: {', '.join(self.scene.names)})")
        self.view.follow = name
        self.cam_follow = name is not None
        if name is not None:
            self.view.zoom = max(self.view.zoom, min(FOLLOW_ZOOM, fit_zoom(self.scene, self.view) * 4))

    # -- input -------------------------------------------------------------
    def handle(self, ev) -> None:
        pg = self.pg
        lay = layout(self.view)
        if ev.type == pg.QUIT:
            self.running = False
        elif ev.type == pg.VIDEORESIZE:
            self.view.width, self.view.height = max(640, ev.w), max(480, ev.h)
        elif ev.type == pg.KEYDOWN and self.view.asking is not None:
            self._type(ev)
        elif ev.type == pg.KEYDOWN:
            k = ev.key
            if k == pg.K_i and self.view.follow:
                self.view.asking = ""
            elif k == pg.K_SPACE:
                self.toggle_pause()
            elif k in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS, pg.K_RIGHTBRACKET):
                self.set_speed(+1)
            elif k in (pg.K_MINUS, pg.K_KP_MINUS, pg.K_LEFTBRACKET):
                self.set_speed(-1)
            elif k in (pg.K_LEFT, pg.K_RIGHT, pg.K_UP, pg.K_DOWN):
                step = 120 / self.view.zoom
                dx = {pg.K_LEFT: -step, pg.K_RIGHT: step}.get(k, 0.0)
                dy = {pg.K_UP: -step, pg.K_DOWN: step}.get(k, 0.0)
                self._pan(dx, dy)
            elif k == pg.K_f:
                self.cam_follow = False
                fit(self.scene, self.view)
            elif k == pg.K_ESCAPE:
                if self.view.follow:
                    self.follow(None)
                else:
                    self.running = False
            elif k == pg.K_q:
                self.running = False
            elif k == pg.K_HOME:
                self.seek(self.source.first)
            elif k in (pg.K_END, pg.K_l):
                self.go_live() if self.source.running else self.seek(self.source.last)
            elif k in (pg.K_PERIOD, pg.K_COMMA):
                self.view.paused = True
                self.seek(round(self.t) + (1 if k == pg.K_PERIOD else -1))
        elif ev.type == pg.MOUSEWHEEL:
            self._zoom(1.2 ** ev.y, pg.mouse.get_pos())
        elif ev.type == pg.MOUSEBUTTONDOWN and ev.button == 1:
            if lay.track.inflate(0, 24).collidepoint(ev.pos):
                self._drag = {"mode": "scrub"}
                self.seek(timeline_tick(self.snap.timeline, lay.track, ev.pos[0]))
            elif lay.panel_close is not None and lay.panel_close.collidepoint(ev.pos):
                self.follow(None)
            elif lay.map.collidepoint(ev.pos):
                self._drag = {"mode": "pan", "start": ev.pos, "last": ev.pos, "moved": False}
        elif ev.type == pg.MOUSEMOTION and self._drag is not None:
            if self._drag["mode"] == "scrub":
                self.seek(timeline_tick(self.snap.timeline, lay.track, ev.pos[0]))
            else:
                sx, sy = self._drag["start"]
                if abs(ev.pos[0] - sx) + abs(ev.pos[1] - sy) > 4:
                    self._drag["moved"] = True
                if self._drag["moved"]:
                    lx, ly = self._drag["last"]
                    self._pan((lx - ev.pos[0]) / self.view.zoom, (ly - ev.pos[1]) / self.view.zoom)
                self._drag["last"] = ev.pos
        elif ev.type == pg.MOUSEBUTTONUP and ev.button == 1:
            drag, self._drag = self._drag, None
            if drag is not None and drag["mode"] == "pan" and not drag["moved"]:
                name = agent_at(self.snap, self.view, ev.pos)
                if name is not None:
                    self.follow(name)
                    self.snap = self.source.snapshot(self.t, name, self.live)

    # -- interviews (key I) ---------------------------------------------------
    def _type(self, ev) -> None:
        pg = self.pg
        if ev.key == pg.K_ESCAPE:
            self.view.asking = None
        elif ev.key in (pg.K_RETURN, pg.K_KP_ENTER):
            question, self.view.asking = (self.view.asking or "").strip(), None
            if question and self.view.follow:
                self.ask(self.view.follow, question)
        elif ev.key == pg.K_BACKSPACE:
            self.view.asking = self.view.asking[:-1]
        elif ev.unicode and ev.unicode.isprintable():
            self.view.asking += ev.unicode

    def ask(self, name: str, question: str) -> None:
        """Ask ``name`` at the moment shown, in a subprocess (``python -m smallville interview``:
        the viewer imports no cognition); the answer shows in the panel when it comes."""
        if self._asked is not None:
            self._asked[0].kill()
        at = None if self.live else self.snap.time.strftime(TIME_FORMAT)
        proc = subprocess.Popen(self.interview_cmd(self.run_dir, name, question, at), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self._asked = (proc, question)
        self.view.exchange = (question, "…")

    def _poll_answer(self) -> None:
        if self._asked is None or self._asked[0].poll() is None:
            return
        proc, question = self._asked
        self._asked = None
        out, err = proc.communicate()
        try:
            answer = json.loads(out)[0]["answer"] if proc.returncode == 0 else err.strip().splitlines()[-1]
        except (ValueError, KeyError, IndexError, TypeError):
            answer = "(no answer)"
        self.view.exchange = (question, answer)

    def _pan(self, dx: float, dy: float) -> None:
        self.cam_follow = False
        m = self.scene.map
        self.view.cx = min(max(self.view.cx + dx, 0.0), float(m.width))
        self.view.cy = min(max(self.view.cy + dy, 0.0), float(m.height))

    def _zoom(self, factor: float, pos: tuple[int, int]) -> None:
        area = layout(self.view).map
        before = to_tile(self.view, area, *pos)
        self.view.zoom = min(max(self.view.zoom * factor, MIN_ZOOM), MAX_ZOOM)
        if not self.cam_follow and area.collidepoint(pos):
            after = to_tile(self.view, area, *pos)  # keep the tile under the mouse in place
            self.view.cx += before[0] - after[0]
            self.view.cy += before[1] - after[1]

    # -- update / draw -----------------------------------------------------
    def update(self, dt_s: float) -> None:
        self._poll_answer()
        src = self.source
        self._since_refresh += dt_s
        if src.running and self._since_refresh >= LIVE_REFRESH_S:
            self._since_refresh = 0.0
            src.refresh()
        if self.live:
            self.t = float(src.last)
            self.live = src.running
        elif not self.view.paused:
            self.t += dt_s * self.view.speed / self.scene.tick_seconds
            if self.t >= src.last:
                self.t = float(src.last)
                if src.running:
                    self.live = True
                else:
                    self.view.paused = True  # the end of a finished run
        self.snap = src.snapshot(self.t, self.view.follow, self.live)
        self._track_camera()

    def _track_camera(self) -> None:
        if self.cam_follow and self.view.follow:
            a = self.snap.agent(self.view.follow)
            if a is not None:
                self.view.cx, self.view.cy = a.x + 0.5, a.y + 0.5

    def draw(self):
        frame = render_frame(self.snap, self.view)
        if self.screen is not None:
            if self.screen.get_size() != frame.get_size():
                self.screen = self.pg.display.get_surface()
            self.screen.blit(frame, (0, 0))
            self.pg.display.flip()
        return frame

    def step(self, dt_s: float):
        for ev in self.pg.event.get():
            self.handle(ev)
        self.update(dt_s)
        return self.draw()

    def run(self) -> None:
        clock = self.pg.time.Clock()
        while self.running:
            self.step(clock.tick(60) / 1000.0)
        self.pg.quit()


# ---------------------------------------------------------------- command line
def interview_command(run_dir: Path, name: str, question: str, at: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "smallville", "interview", str(run_dir), name, "--question", question, "--json"]
    return cmd + (["--at", at] if at else [])


def parse_time(text: str, day: dt.date | None = None, flag: str = "--at") -> dt.datetime:
    try:
        return dt.datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        pass
    try:
        if day is not None:
            return dt.datetime.combine(day, dt.datetime.strptime(text, "%H:%M").time())
    except ValueError:
        pass
    raise SmallvilleError(f'{flag}: expected "YYYY-MM-DD HH:MM" (or "HH:MM" on the run\'s first day), got {text!r}')


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SmallvilleError(f"--size: expected WIDTHxHEIGHT like 1280x800, got {text!r}") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise SmallvilleError(f"--size: {w}x{h} is outside 320x240 .. 8192x8192")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smallville replay", description="Watch a stored run (pygame).")
    p.add_argument("run", help="run directory")
    p.add_argument("--speed", type=float, help="game-time multiple (window default 16; steps 1..64 with +/-)")
    p.add_argument("--at", metavar='"YYYY-MM-DD HH:MM"', help="start at this game time")
    p.add_argument("--follow", metavar="NAME", help="follow a resident and open its panel")
    p.add_argument("--size", default=None, metavar="WxH", help="window/frame size (default 1280x800; GIF 960x600)")
    p.add_argument("--headless", action="store_true", help="no window: write --png or --gif and exit")
    p.add_argument("--png", metavar="OUT.png", help="write one frame")
    p.add_argument("--gif", metavar="OUT.gif", help="write an animation from --from to --to")
    p.add_argument("--from", dest="t_from", metavar='"YYYY-MM-DD HH:MM"', help="GIF start (default: run start)")
    p.add_argument("--to", dest="t_to", metavar='"YYYY-MM-DD HH:MM"', help="GIF end (default: last tick)")
    p.add_argument("--fps", type=float, default=10.0, help="GIF frames per second (default 10)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``smallville replay``; a :class:`SmallvilleError` is the CLI's to report."""
    return _main(build_parser().parse_args(argv))


def _first_day(run: str) -> dt.date | None:
    r = RunReader(run)
    try:
        start = r.meta.get("start")
        return dt.datetime.fromisoformat(start).date() if isinstance(start, str) else None
    finally:
        r.close()


def _main(args: argparse.Namespace) -> int:
    if args.speed is not None and not 0 < args.speed <= 100000:
        raise SmallvilleError(f"--speed: expected a positive multiple, got {args.speed:g}")
    if (args.png or args.gif) and not args.headless:
        args.headless = True  # an export never needs a window
    if args.headless and not (args.png or args.gif):
        raise SmallvilleError("--headless: name an output with --png OUT.png or --gif OUT.gif")
    day = _first_day(args.run)
    at = parse_time(args.at, day) if args.at else None
    if args.headless:
        from smallville.viewer.export import write_gif, write_png

        if args.png:
            size = parse_size(args.size or "1280x800")
            app = App(args.run, speed=args.speed or 16.0, at=at, size=size, follow=args.follow, window=False)
            if at is None and not args.gif:
                app.seek(app.source.last)
            write_png(app, args.png)
            print(args.png)
        if args.gif:
            size = parse_size(args.size or "960x600")
            app = App(args.run, speed=args.speed or 16.0, at=None, size=size, follow=args.follow, window=False)
            t0 = parse_time(args.t_from, day, "--from") if args.t_from else None
            t1 = parse_time(args.t_to, day, "--to") if args.t_to else None
            n = write_gif(app, args.gif, t0, t1, fps=args.fps, speed=args.speed)
            print(f"{args.gif} ({n} frames)")
        return 0
    size = parse_size(args.size or "1280x800")
    App(args.run, speed=args.speed or 16.0, at=at, size=size, follow=args.follow, window=True).run()
    return 0
