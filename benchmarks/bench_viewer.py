#!/usr/bin/env python3
"""Replay viewer frame rate: the town with its 25 residents at 16×, headless (goal ≥ 60 fps).

    python benchmarks/bench_viewer.py [RUN_DIR] [--frames 600] [--size 1280x800]

Without RUN_DIR it records a 3-hour rules run of worlds/town.yaml in a temporary folder first.
Each frame is one ``update(1/60 s)`` (playhead, snapshot from the store, camera) plus one
``draw()`` (``render_frame``): what the window does per frame, without the display flip.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.viewer.app import App  # noqa: E402
from smallville.viewer.render import fit  # noqa: E402


def make_town_run(out: Path) -> Path:
    cmd = [sys.executable, "-m", "smallville", "run", "worlds/town.yaml", "--llm", "rules", "--hours", "3", "--embedder", "hashing",
           "--out", str(out), "--quiet"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return out


def measure(app: App, frames: int) -> float:
    for _ in range(30):  # warm the caches (map surface at this zoom, text, sprites)
        app.update(1 / 60)
        app.draw()
    t0 = time.perf_counter()
    for _ in range(frames):
        app.update(1 / 60)
        app.draw()
    return frames / (time.perf_counter() - t0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", nargs="?", help="a town run directory (default: record one)")
    p.add_argument("--frames", type=int, default=600)
    p.add_argument("--size", default="1280x800")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run) if args.run else make_town_run(Path(tmp) / "town")
        t0 = time.perf_counter()
        app = App(run, speed=16, size=(w, h), window=False, at=dt.datetime(2023, 2, 13, 8, 30))
        app.draw()
        first = time.perf_counter() - t0
        n = len(app.snap.agents)
        print(f"run {run}: {n} agents, ticks {app.source.first}..{app.source.last}, frame {w}x{h}")
        print(f"open + first frame: {first * 1000:.0f} ms")
        results = {"whole town (fit)": measure(app, args.frames)}
        app.follow("Isabella Rodriguez")
        results["following a resident (panel open)"] = measure(app, args.frames)
        app.follow(None)
        fit(app.scene, app.view)
        app.view.zoom *= 3
        results["zoomed in 3×"] = measure(app, args.frames)
        for name, fps in results.items():
            print(f"{name:36s} {fps:7.1f} fps at 16×  ({'ok' if fps >= 60 else 'BELOW'} goal 60)")
        app.reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
