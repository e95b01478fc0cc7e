"""Analysis speed (issue 12): ``analyze`` of a two-day town run (goal under 10 s), and a
multiverse of 8 town runs with 2 workers against 8 × the time of one run.

    python benchmarks/bench_analysis.py                       # both parts (the town runs take minutes)
    python benchmarks/bench_analysis.py --run replays/RUN     # analyze an existing run instead of making one
    python benchmarks/bench_analysis.py --hours 24 --runs 8 --workers 2   # the multiverse part's size
    python benchmarks/bench_analysis.py --skip-multiverse
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's smallville, not another installed one
GOAL_S = 10.0


def cli(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "smallville", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def bench_analyze(run: Path, tmp: Path) -> dict:
    from smallville.analysis.analyze import analyze
    from smallville.store.runstore import RunReader

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = analyze(run)
        times.append(time.perf_counter() - t0)
    r = RunReader(run)
    rows = {"ticks": r.last_tick(), "agent_rows": r.con.execute("SELECT COUNT(*) FROM agent_states").fetchone()[0],
            "events": r.con.execute("SELECT COUNT(*) FROM events").fetchone()[0],
            "memories": r.con.execute("SELECT COUNT(*) FROM memories").fetchone()[0]}
    r.close()
    return {"run": str(run), "span": f"{result['start']} → {result['end']}", **rows,
            "analyze_s_min": round(min(times), 2), "analyze_s_median": round(statistics.median(times), 2),
            "cli_analyze_json_s": round(cli("analyze", str(run), "--json"), 2),
            "cli_analyze_report_s": round(cli("analyze", str(run), "--report", str(tmp / "report")), 2),
            "goal_s": GOAL_S}


def bench_multiverse(world: str, hours: float, runs: int, workers: int, tmp: Path) -> dict:
    one = cli("run", world, "--llm", "rules", "--hours", str(hours), "--out", str(tmp / "one"), "--quiet")
    wall = cli("multiverse", world, "--runs", str(runs), "--hours", str(hours), "--llm", "rules",
               "--workers", str(workers), "--out", str(tmp / "mv"), "--quiet")
    return {"world": world, "hours_per_run": hours, "runs": runs, "workers": workers,
            "one_run_s": round(one, 1), "sequential_estimate_s": round(runs * one, 1),
            "multiverse_wall_s": round(wall, 1), "speedup": round(runs * one / wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="an existing run to analyze (default: run the town for two days first)")
    ap.add_argument("--world", default="worlds/town.yaml")
    ap.add_argument("--hours", type=float, default=24.0, help="game hours of each multiverse run (default 24)")
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-multiverse", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        run = Path(args.run) if args.run else None
        if run is None:
            run = tmp / "town"
            t = cli("run", args.world, "--llm", "rules", "--out", str(run), "--quiet")
            print(f"made a two-day run of {args.world} in {t:.1f} s", file=sys.stderr)
        out = {"analyze": bench_analyze(run, tmp)}
        print(json.dumps(out["analyze"], indent=2, ensure_ascii=False))
        if not args.skip_multiverse:
            out["multiverse"] = bench_multiverse(args.world, args.hours, args.runs, args.workers, tmp)
            print(json.dumps(out["multiverse"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
