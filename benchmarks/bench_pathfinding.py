"""A* milliseconds per path: median over 200 random reachable pairs on the town map.

Goal (foundation issue): under 5 ms (the original's whole-grid wavefront: 58–115 ms).
Each pair is searched on a fresh Pathfinder, so the cache does not flatter the figure.
``--world`` takes another world, e.g. a generated town (``python -m smallville new-town``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np

from smallville.world.pathfinding import Pathfinder
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
    t0 = time.perf_counter()
    pf = Pathfinder(m.walkable)
    build = (time.perf_counter() - t0) * 1000
    times, lengths = [], []
    for a, b in pairs:
        pf._cache.clear()
        t = time.perf_counter()
        p = pf.path(a, b)
        times.append((time.perf_counter() - t) * 1000)
        lengths.append(len(p))
    for a, b in pairs:
        pf.path(a, b)
    t = time.perf_counter()
    for a, b in pairs:
        pf.path(a, b)
    cached = (time.perf_counter() - t) * 1000 / len(pairs)
    print(f"{args.world}: map {m.width}x{m.height}, {len(tiles)} walkable tiles; graph built in {build:.1f} ms")
    print(f"A* over 200 random reachable pairs: median {statistics.median(times):.2f} ms, "
          f"p90 {sorted(times)[179]:.2f} ms, max {max(times):.2f} ms (goal: median under 5 ms)")
    print(f"mean path length {statistics.mean(lengths):.0f} tiles; cached lookup {cached * 1000:.1f} µs")


if __name__ == "__main__":
    main()
