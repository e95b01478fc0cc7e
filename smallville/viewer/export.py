"""Headless exports: one frame as PNG, a stretch of the run as an animated GIF."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING

from smallville.errors import SmallvilleError

if TYPE_CHECKING:
    from smallville.viewer.app import App

GIF_SECONDS = 12.0  # without --speed, a GIF plays the chosen stretch in about this long
MAX_GIF_FRAMES = 600


def _out_path(path: str | Path, flag: str) -> Path:
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise SmallvilleError(f"{flag} {p}: the folder {p.parent} does not exist")
    return p


def write_png(app: "App", path: str | Path) -> Path:
    import pygame

    p = _out_path(path, "--png")
    app.snap = app.source.snapshot(app.t, app.view.follow, app.live)
    app._track_camera()
    pygame.image.save(app.draw(), str(p))
    return p


def write_gif(app: "App", path: str | Path, t0: dt.datetime | None, t1: dt.datetime | None,
              fps: float = 10.0, speed: float | None = None) -> int:
    """Frames from ``t0`` to ``t1`` (default: the whole run); returns the number of frames."""
    try:
        from PIL import Image
    except ImportError:
        raise SmallvilleError("--gif needs Pillow: pip install pillow") from None
    import pygame

    p = _out_path(path, "--gif")
    src, scene = app.source, app.scene
    start = app._check_time(t0) if t0 is not None else float(src.first)
    end = app._check_time(t1) if t1 is not None else float(src.last)
    if end <= start:
        raise SmallvilleError("--from/--to: the end must come after the start")
    if not 0.5 <= fps <= 50:
        raise SmallvilleError(f"--fps: expected 0.5..50, got {fps:g}")
    span_s = (end - start) * scene.tick_seconds
    speed = speed or max(1.0, span_s / GIF_SECONDS)
    n = int(math.floor(span_s / speed * fps)) + 1
    if n > MAX_GIF_FRAMES:
        raise SmallvilleError(f"--gif: {n} frames at {speed:g}× and {fps:g} fps; at most {MAX_GIF_FRAMES} "
                              f"(raise --speed, lower --fps or shorten --from/--to)")
    app.view.speed, app.view.paused, app.live = speed, False, False
    step = speed / fps / scene.tick_seconds
    frames = []
    for i in range(n):
        app.t = min(end, start + i * step)
        app.snap = src.snapshot(app.t, app.view.follow, False)
        app._track_camera()
        surf = app.draw()
        img = Image.frombytes("RGB", surf.get_size(), pygame.image.tobytes(surf, "RGB"))
        frames.append(img.quantize(colors=255, method=Image.Quantize.FASTOCTREE))
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=int(round(1000 / fps)), loop=0)
    return n
