"""Wall time and ticks/s of one full game day of the town on the rules baseline.

Goal (foundation issue): under 120 s for a game day on 2 cores. Records into a real run
store, as `python -m smallville run` does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from smallville.runner import RunOptions, start_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default="worlds/town.yaml")
    ap.add_argument("--hours", type=float, default=24)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        start_run(RunOptions(args.world, hours=args.hours, llm="rules", out=str(out), quiet=True))
        wall = time.perf_counter() - t0
        ticks = int(args.hours * 3600 / 10)
        size = sum(p.stat().st_size for p in out.iterdir())
    print(f"world {args.world}: {args.hours:g} game hours = {ticks} ticks")
    print(f"wall time {wall:.1f} s  ({ticks / wall:.0f} ticks/s; goal: a game day under 120 s)")
    print(f"run directory size {size / 1e6:.1f} MB")


if __name__ == "__main__":
    sys.exit(main())
