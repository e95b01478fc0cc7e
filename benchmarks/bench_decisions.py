"""Decisions per agent per game day, by type — the efficiency figure of issue 5.

Every cognitive decision would be one language-model call with a model behind it; the rules
baseline takes exactly the same decisions, so a rules run counts them for free. Goal: at most
60 per agent per game day (the original Smallville made about 54 per agent per game *hour*).

Also measured: conversations, lines per conversation, and what one call per *conversation*
(instead of one per turn, with speaker-side retrieval) would have cost; memories recorded, and
how many each ``rate_importance`` decision covers (routine observations are scored by the rules,
the others are rated in batches — see ``smallville/cognition/importance.py``).

    python benchmarks/bench_decisions.py                       # the town, one game day, rules
    python benchmarks/bench_decisions.py --ablate reflection   # any run option passes through
    python benchmarks/bench_decisions.py --world worlds/small.yaml --hours 2 --llm local
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from smallville.cognition import importance
from smallville.runner import RunOptions, start_run
from smallville.store.runstore import RunReader

GOAL = 60
GROUPS = {  # which faculty each decision belongs to
    "plan_day": "planning", "replan": "planning", "decompose": "planning", "next_action": "planning",
    "react": "reacting", "converse_turn": "conversing",
    "rate_importance": "memory", "reflect_questions": "reflection", "reflect_insights": "reflection",
}


def measure(reader: RunReader) -> dict:
    last = reader.last_tick()
    days = last * reader.meta["tick_seconds"] / 86400
    agents = len(reader.agents)
    counts = reader.decision_counts(last)
    fallbacks = dict(reader.con.execute("SELECT name, SUM(fallback) FROM decisions GROUP BY name").fetchall())
    convs = [e["data"] for e in reader.events(kind="conversation")]
    lines = sum(len(c["lines"]) for c in convs)
    per = {k: v / agents / days for k, v in counts.items()}
    memories = dict(reader.con.execute("SELECT kind, COUNT(*) FROM memories WHERE tick > 0 GROUP BY kind").fetchall())
    return {"agents": agents, "game_days": days, "decisions": sum(counts.values()), "by_type": counts,
            "per_agent_day": per, "total_per_agent_day": sum(per.values()), "fallbacks": fallbacks,
            "conversations": len(convs), "lines": lines, "memories": memories,
            "importance": {"batch_minutes": importance.BATCH_MINUTES, "grace_minutes": importance.GRACE_MINUTES}}


def report(m: dict, wall: float) -> str:
    out = [f"{m['agents']} agents, {m['game_days'] * 24:.1f} game hours, wall {wall:.1f} s",
           f"{'decision':<20}{'count':>8}{'per agent-day':>15}{'fallbacks':>11}   faculty"]
    for name, n in sorted(m["by_type"].items(), key=lambda kv: -kv[1]):
        fb = m["fallbacks"].get(name) or 0
        out.append(f"{name:<20}{n:>8}{m['per_agent_day'][name]:>15.1f}{fb:>11}   {GROUPS.get(name, '?')}")
    total = m["total_per_agent_day"]
    out.append(f"{'all':<20}{m['decisions']:>8}{total:>15.1f}{sum(v or 0 for v in m['fallbacks'].values()):>11}")
    groups: dict[str, float] = {}
    for name, v in m["per_agent_day"].items():
        groups[GROUPS.get(name, "?")] = groups.get(GROUPS.get(name, "?"), 0) + v
    out.append("by faculty (per agent-day): " + ", ".join(f"{g} {v:.1f}" for g, v in sorted(groups.items())))
    mine = sum(v for g, v in groups.items() if g in ("planning", "reacting", "conversing"))
    out.append(f"planning + reacting + conversing: {mine:.1f} per agent-day; everything: {total:.1f} "
               f"(goal: at most {GOAL}) -> {'met' if total <= GOAL else 'NOT met'}")
    if m["conversations"]:
        c, lines = m["conversations"], m["lines"]
        per_conv = c / m["agents"] / m["game_days"]
        out.append(f"conversations: {c}, {lines / c:.1f} lines each; one call per turn (chosen): "
                   f"{m['per_agent_day'].get('converse_turn', 0):.1f} per agent-day; one call per conversation "
                   f"would be {per_conv:.1f} (but one side's memory writes both sides' lines)")
    mems = sum(m["memories"].values())
    if mems:
        rated = m["by_type"].get("rate_importance", 0)
        out.append(f"memories recorded: {mems} ({mems / m['agents'] / m['game_days']:.0f} per agent-day: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(m["memories"].items(), key=lambda kv: -kv[1]))
                   + f"); rate_importance: {rated} decisions, one per {mems / max(1, rated):.1f} memories "
                   f"(routine observations by the rules; the rest rated in batches at most "
                   f"{m['importance']['batch_minutes']} game minutes apart, or before a retrieval or reflection)")
    if m["fallbacks"] and any(m["fallbacks"].values()):
        llm = sum(v or 0 for v in m["fallbacks"].values())
        out.append(f"answers that failed validation and fell back to rules: {llm} of {m['decisions']} "
                   f"({100 * llm / max(1, m['decisions']):.1f} %); by type: "
                   + ", ".join(f"{k} {v} of {m['by_type'].get(k, 0)}" for k, v in sorted(m["fallbacks"].items()) if v))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", default="worlds/town.yaml")
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--llm", default="rules")
    ap.add_argument("--ablate", action="append", default=[])
    ap.add_argument("--embedder", default="minilm", choices=["minilm", "hashing"])
    ap.add_argument("--keep", help="keep the run in this directory")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp) / "run"
        t0 = time.perf_counter()
        start_run(RunOptions(args.world, hours=args.hours, seed=args.seed, llm=args.llm, out=str(out), quiet=True,
                             ablate=tuple(args.ablate), embedder=args.embedder))
        wall = time.perf_counter() - t0
        reader = RunReader(out)
        try:
            m = measure(reader)
        finally:
            reader.close()
    print(json.dumps({**m, "wall_s": wall}, indent=2) if args.json else report(m, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
