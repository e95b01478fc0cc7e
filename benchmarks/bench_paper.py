"""The town beside Park et al. 2023's table (issue 20): N seeds of a world, each run whole, then
``analyze --by-interview`` at the start and at the end; every figure's mean and 95 % bootstrap
interval over the seeds (``smallville.analysis.stats``), beside the paper's.

    python benchmarks/bench_paper.py --seeds 1,2,3,4,5                 # rules, hashing embedder
    python benchmarks/bench_paper.py --seeds 1,2,3 --world worlds/town_no_party.yaml
    python benchmarks/bench_paper.py --out /tmp/paper                 # keep the runs there

Prints a Markdown table. Nothing here is tuned to the paper's figures: they are set beside ours.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def one(world: str, seed: int, out: Path, llm: str, embedder: str) -> dict:
    from smallville.measure import analyze_by_interview

    run = out / f"seed-{seed}"
    if not (run / "run.db").exists():
        subprocess.run([sys.executable, "-m", "smallville", "run", world, "--seed", str(seed), "--llm", llm,
                        "--embedder", embedder, "--out", str(run), "--quiet"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    from smallville.store.runstore import RunReader

    r = RunReader(run)
    start = r.tick_info(r.first_tick())["time"][:16].replace("T", " ")
    r.close()
    return analyze_by_interview(str(run), [start])


def figures(res: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    first, last = res["by_interview"]["moments"][0], res["by_interview"]["moments"][-1]
    for name, d in res["diffusion"].items():
        out[f"{name} by memory, start"] = d["start"]
        out[f"{name} by memory, end"] = d["end"]
        out[f"{name} by interview, start"] = first["facts"][name]["count"]
        out[f"{name} by interview, end"] = last["facts"][name]["count"]
    nd = res["network_density"]
    out["density by memory, start"] = nd["start"]
    out["density by memory, end"] = nd["end"]
    for m, when in ((first, "start"), (last, "end")):
        out[f"density by interview (either), {when}"] = m["network"]["density_either"]
        out[f"density by interview (mutual), {when}"] = m["network"]["density_mutual"]
    evs = [e for e in res["events"] if e["heard_count"]] or res["events"]
    if evs:
        ev = evs[0]
        out["event: heard before it began"] = ev["heard_count"]
        out["event: came"] = ev["came_count"]
        out["event: came, by routine anyway"] = len(ev["came_by_routine"])
        out["event: aware by interview, end"] = next(e["count"] for e in last["events"] if e["key"] == ev["key"])
    else:
        out["event: heard before it began"] = out["event: came"] = 0
    return out


PAPER = {"party by interview, start": "1", "party by interview, end": "12–13", "election by interview, start": "1",
         "election by interview, end": "8", "density by interview (either), start": "0.167",
         "density by interview (either), end": "0.74", "event: heard before it began": "12", "event: came": "5"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", default="worlds/town.yaml")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--llm", default="rules")
    ap.add_argument("--embedder", default="hashing")
    ap.add_argument("--out", help="where the runs go (default: a temporary directory)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from smallville.analysis.stats import summarize

    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="paper-"))
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in a.seeds.split(",")]
    per: list[dict[str, float]] = []
    t0 = time.perf_counter()
    for s in seeds:
        per.append(figures(one(a.world, s, out, a.llm, a.embedder)))
        print(f"seed {s}: {json.dumps(per[-1])}", file=sys.stderr)
    names = list(per[0])
    rows = {n: summarize([p.get(n, 0) for p in per]) for n in names}
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{a.world}, seeds {a.seeds}, backend {a.llm}, embedder {a.embedder}, {time.perf_counter() - t0:.0f} s\n")
    print("| measure | mean | 95 % interval | per seed | Park et al. 2023 |")
    print("|---|---:|---|---|---|")
    for n in names:
        r = rows[n]
        vals = ", ".join(f"{v:g}" for v in r["values"])
        print(f"| {n} | {r['mean']:.3g} | {r['ci95'][0]:.3g}–{r['ci95'][1]:.3g} | {vals} | {PAPER.get(n, '—')} |")


if __name__ == "__main__":
    main()
