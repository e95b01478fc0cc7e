"""A* milliseconds per path: median over 200 random reachable pairs on the town map.

Goal (foundation issue): under 5 ms (the original's whole-grid wavefront: 58–115 ms).
Each pair is searched with the cache cleared, so the cache does not flatter the figure. The C
search (built at install) and the Python one are timed apart, and compared path for path.
``--world`` takes another world, e.g. a generated town (``python -m smallville new-town``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np

from smallville.world.pathfinding import Pathfinder, compiled_available
from smallville.world.world import load_world


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", default="worlds/town.yaml")
    args = ap.parse_args()
    m = load_world(args.world).map
    labels = m.components()
    tiles = [(int(x), int(y)) for y, x in zip(*np.nonzero(m.walkable))]
    rng = random.Random(0)
    pairs = []
    while len(pairs) < 200:
        a, b = rng.choice(tiles), rng.choice(tiles)
        if labels[a[1], a[0]] == labels[b[1], b[0]]:
            pairs.append((a, b))
    print(f"{args.world}: map {m.width}x{m.height}, {len(tiles)} walkable tiles")
    for compiled in ([True, False] if compiled_available() else [False]):
        pf, lengths = measure(m, pairs, compiled)
    if compiled_available():
        c, p = Pathfinder(m.walkable, compiled=True), Pathfinder(m.walkable, compiled=False)
        same = sum(c.path(a, b) == p.path(a, b) for a, b in pairs)
        print(f"C and Python give the same path on {same} of {len(pairs)} pairs")
    for a, b in pairs:
        pf.path(a, b)
    t = time.perf_counter()
    for a, b in pairs:
        pf.path(a, b)
    cached = (time.perf_counter() - t) * 1000 / len(pairs)
    print(f"mean path length {statistics.mean(lengths):.0f} tiles; cached lookup {cached * 1000:.1f} µs")


def measure(m, pairs, compiled: bool):
    t0 = time.perf_counter()
    pf = Pathfinder(m.walkable, compiled=compiled)
    build = (time.perf_counter() - t0) * 1000
    times, lengths = [], []
    for a, b in pairs:
        pf._cache.clear()
        t = time.perf_counter()
        p = pf.path(a, b)
        times.append((time.perf_counter() - t) * 1000)
        lengths.append(len(p))
    print(f"A* in {'C' if compiled else 'Python'} over {len(pairs)} random reachable pairs: median "
          f"{statistics.median(times):.3f} ms, p90 {sorted(times)[int(len(times) * 0.9) - 1]:.3f} ms, "
          f"max {max(times):.3f} ms (goal: median under 5 ms); graph built in {build:.1f} ms")
    return pf, lengths


if __name__ == "__main__":
    main()
