"""Wall time of a real-model run: the town against a loopback OpenAI-compatible server.

The town (``worlds/town.yaml``) for ``--hours`` game hours (2 by default) with ``--llm openai``
against :class:`~smallville.llm.testing.LoopbackServer` answering every request after
``--latency`` seconds (0.5 by default), ``--embedder hashing``. Prints the requests sent, the
wall time, the effective parallelism (requests × latency / wall; goal ≥ 8, one request at a time
is ≤ 1), tokens per resident per game day and decisions per resident per game day (goal ≤ 60),
the share of prompt tokens a server with automatic prefix caching would serve from its cache,
tokens (in + out) and requests by decision, decisions and fallbacks by decision, retries, and the
run's digest (the same for every latency: see docs/THROUGHPUT.md).

``--answers plausible`` (the default): the server answers like a model would
(:mod:`smallville.llm.plausible`: day plans that follow the usual day, a few steps per block,
ratings, conversations of 3–6 lines…), every answer valid — a town-like workload.

    PYTHONPATH=$PWD python benchmarks/bench_llm_wall.py [--hours 2] [--latency 0.5] [--world worlds/town.yaml]
                                                        [--answers plausible|sample|valid] [--keep DIR]
                                                        [--seeds 1,2,3] [--no-day] [--multiverse K]

``--multiverse K``: many runs, one server. One run (the first seed) is timed alone, then
``multiverse --runs K --workers K --llm openai`` (seeds from the first seed on) against one
loopback server: the aggregate effective parallelism (all runs' requests × latency / the
multiverse's wall, its analyses and worker start-up included) against K times one run's.

Decisions and tokens per resident per game day are counted twice: over the timed hours scaled to
a day (a morning is busier than a day's average), and over a whole game day at latency 0 (what a
day costs; answers and decisions do not depend on latency).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.llm.plausible import plausible  # noqa: E402
from smallville.llm.testing import LoopbackServer  # noqa: E402
from smallville.store.runstore import RunReader  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default=str(ROOT / "worlds/town.yaml"))
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--latency", type=float, default=0.5, help="server latency per request, seconds")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", help="write the run here (default: a temporary directory)")
    ap.add_argument("--answers", choices=("plausible", "sample", "valid"), default="plausible",
                    help="plausible: answers like a model's, all valid (smallville.llm.plausible); "
                         "sample: the server answers in json_schema mode with a schema-shaped sample, where the "
                         "strict schema it sees lacks patterns and array bounds, so many answers fail validation and "
                         "are retried with backoff; valid: the server refuses json_schema (as llama.cpp's does), "
                         "the schema travels in the prompt and every sample is schema-valid (but every plan is "
                         "one block at 09:00)")
    ap.add_argument("--seeds", default="", help="comma-separated seeds: one timed run each (default: the world's)")
    ap.add_argument("--no-day", action="store_true", help="skip the whole game day at latency 0 (decisions and "
                                                           "tokens per resident per game day)")
    ap.add_argument("--stepping", choices=("auto", "lockstep", "ahead"), default="auto",
                    help="the engine's stepping (auto: residents step ahead of the town with a model)")
    ap.add_argument("--multiverse", type=int, default=0, metavar="K",
                    help="only: one run alone, then K runs at once (multiverse --workers K) against one server")
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()] or [args.seed]
    if args.multiverse:
        return many_runs(args, seeds[0], args.multiverse)
    walls = []
    for seed in seeds:
        r = run_once(args, args.hours, args.latency, seed, args.keep if len(seeds) == 1 else None)
        if r is None:
            return 1
        walls.append(r)
        print(f"{Path(args.world).name}, {args.hours:g} game hours ({r['last']} ticks), seed "
              f"{'world' if seed is None else seed}, server latency {args.latency:g} s, {args.answers} answers, "
              f"stepping {args.stepping}")
        print(f"requests {r['requests']}, wall {r['wall']:.1f} s, effective parallelism "
              f"{r['requests'] * args.latency / r['wall']:.2f} (requests × latency / wall; goal ≥ 8); "
              f"{r['requests'] * args.latency / r['span']:.2f} over the {r['span']:.1f} s requests were under way "
              f"(first sent to last answered: no start-up)")
        print(f"  at most {r['requests'] / max(1, r['chain']):.1f} under any stepping that keeps each resident's own "
              f"decisions and its conversations in order ({r['chain']} requests in a row for the busiest resident; "
              f"see chain_of)")
        report(r, args.hours)
    if len(walls) > 1:
        par = [r["requests"] * args.latency / r["wall"] for r in walls]
        bound = [r["requests"] / max(1, r["chain"]) for r in walls]
        print(f"mean over {len(walls)} seeds: effective parallelism {sum(par) / len(par):.2f} "
              f"(min {min(par):.2f}, max {max(par):.2f}); wall {sum(r['wall'] for r in walls) / len(walls):.1f} s; "
              f"{sum(p / b for p, b in zip(par, bound)) / len(par):.0%} of the bound on average")
    if not args.no_day:  # a morning times the overlap; a whole day counts what a day costs
        r = run_once(args, 24.0, 0.0, seeds[0], None)
        if r is None:
            return 1
        print(f"a whole game day (24 game hours from the start, latency 0, {r['wall']:.1f} s):")
        report(r, 24.0)
    return 0


def many_runs(args, seed: int | None, k: int) -> int:
    """One run alone, then ``k`` runs at once as a multiverse, each against one loopback server."""
    one = run_once(args, args.hours, args.latency, seed, None)
    if one is None:
        return 1
    par1 = one["requests"] * args.latency / one["wall"]
    print(f"one run: {Path(args.world).name}, {args.hours:g} game hours, seed {'world' if seed is None else seed}, "
          f"latency {args.latency:g} s: requests {one['requests']}, wall {one['wall']:.1f} s, effective parallelism "
          f"{par1:.2f}", flush=True)
    refuse = ("json_schema",) if args.answers == "valid" else ()
    answer = plausible if args.answers == "plausible" else None
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(latency_s=args.latency, refuse=refuse, answer=answer,
                                                              prefix_cache=True) as srv:
        env = {**os.environ, "SMALLVILLE_LLM_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-loopback",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, "-m", "smallville", "multiverse", args.world, "--runs", str(k), "--workers", str(k),
               "--llm", "openai", "--embedder", "hashing", "--hours", str(args.hours), "--out", tmp, "--quiet"]
        if seed is not None:
            cmd += ["--seed-base", str(seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        requests = len([r for r in srv.requests if r["fault"] != "refused"])
        span = request_span(srv.requests, args.latency)
        runs = sorted(Path(tmp, "runs").iterdir())
        digests = []
        for run in runs:
            reader = RunReader(run)
            try:
                digests.append(reader.tick_info(reader.last_tick())["digest"])
            finally:
                reader.close()
    par = requests * args.latency / wall
    print(f"{k} runs at once (multiverse --workers {k}, one server): requests {requests}, wall {wall:.1f} s, "
          f"aggregate effective parallelism {par:.2f} against {k} x one run's = {k * par1:.2f} "
          f"({par / (k * par1):.0%}; on {os.cpu_count()} CPUs; the multiverse's wall includes starting its workers "
          f"and analysing each run)")
    spar1, spar = one["requests"] * args.latency / one["span"], requests * args.latency / span
    print(f"  over the time requests were under way (first sent to last answered): one run {spar1:.2f}, "
          f"{k} at once {spar:.2f} = {spar / (k * spar1):.0%} of {k} x one run's")
    first = digests[0] if digests else None
    print(f"  runs {len(runs)}; the first seed's digest {'equals' if first == one['digest'] else 'DIFFERS FROM'} "
          f"the run alone")
    return 0 if first == one["digest"] else 1


def run_once(args, hours: float, latency: float, seed: int | None, keep: str | None) -> dict | None:
    tmp = tempfile.TemporaryDirectory()
    out = Path(keep) if keep else Path(tmp.name) / "run"
    refuse = ("json_schema",) if args.answers == "valid" else ()
    answer = plausible if args.answers == "plausible" else None
    with LoopbackServer(latency_s=latency, refuse=refuse, answer=answer, prefix_cache=True) as srv:
        env = {**os.environ, "SMALLVILLE_LLM_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-loopback",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, "-m", "smallville", "run", args.world, "--llm", "openai", "--embedder", "hashing",
               "--hours", str(hours), "--out", str(out), "--quiet", "--stepping", args.stepping]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return None
        requests = len([r for r in srv.requests if r["fault"] != "refused"])
        span = request_span(srv.requests, latency)
    reader = RunReader(out)
    try:
        con = reader.con
        last = reader.last_tick()
        digest = reader.tick_info(last)["digest"]
        usage = reader.llm_usage()
        residents = len(con.execute("SELECT id FROM agents").fetchall())
        by_name = con.execute("SELECT name, COUNT(*), COALESCE(SUM(fallback), 0) FROM decisions GROUP BY name "
                              "ORDER BY COUNT(*) DESC, name").fetchall()
        retries = con.execute("SELECT COUNT(*) FROM llm_calls WHERE attempt > 0").fetchone()[0]
        failed = con.execute("SELECT COALESCE(error_kind, '?'), COUNT(*) FROM llm_calls WHERE error IS NOT NULL "
                             "GROUP BY error_kind ORDER BY COUNT(*) DESC").fetchall()
        try:
            cached = con.execute("SELECT COALESCE(SUM(cached_tokens), 0) FROM llm_calls").fetchone()[0]
        except sqlite3.OperationalError:  # a store from before cached prompt tokens were recorded
            cached = None
        tokens_by = con.execute("SELECT decision, COUNT(*), COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0) "
                                "FROM llm_calls WHERE cached = 0 GROUP BY decision "
                                "ORDER BY SUM(tokens_in + tokens_out) DESC, decision").fetchall()
        chain = chain_of(con)
    finally:
        reader.close()
    return {"chain": chain, "wall": wall, "span": span, "requests": requests, "last": last, "digest": digest, "usage": usage,
            "residents": residents, "by_name": by_name, "tokens_by": tokens_by, "retries": retries, "failed": failed,
            "cached": cached}


def request_span(requests: list[dict], latency: float) -> float:
    """Seconds from the first request's arrival to the last one's answer (at ``latency``)."""
    at = [r["at"] for r in requests if "at" in r]
    return max(at) + latency - min(at) if at else float("nan")


FOREGROUND = ("react", "converse_turn", "extract_facts", "reflect_questions", "reflect_insights", "next_action")


def chain_of(con) -> int:
    """The longest run of requests that must follow one another, whatever the stepping: each
    resident's own foreground decisions in order, and a conversation's turns one after another,
    starting once both residents are free. Work for later (plans, steps, ratings) counts as free,
    and residents never wait on what they see of each other: an optimistic bound, so requests over
    it bounds the effective parallelism from above (tick-by-tick stepping is much further below)."""
    names = {name: i for i, name in con.execute("SELECT id, name FROM agents")}
    calls = con.execute("SELECT id, tick, agent, decision FROM llm_calls WHERE attempt = 0 ORDER BY id").fetchall()
    turns: dict[int, list[tuple[int, int]]] = {}
    items = []
    for cid, tick, agent, decision in calls:
        if decision == "converse_turn":
            turns.setdefault(agent, []).append((tick, cid))
        elif decision in FOREGROUND:
            items.append((tick, 1, agent))
    used: set[int] = set()
    for tick, data in con.execute("SELECT tick, data FROM events WHERE kind = 'conversation' ORDER BY tick, id"):
        people = [names[p] for p in json.loads(data)["participants"] if p in names]
        n = 0
        for p in people:
            for t, cid in turns.get(p, ()):
                if t <= tick and cid not in used:
                    used.add(cid)
                    n += 1
        items.append((tick, 0, (tuple(people), n)))
    done: dict[int, int] = {}
    for _, kind, what in sorted(items, key=lambda x: (x[0], x[1])):
        if kind == 1:
            done[what] = done.get(what, 0) + 1
        else:
            people, n = what
            start = max((done.get(p, 0) for p in people), default=0)
            for p in people:
                done[p] = start + n
    return max(done.values(), default=0)


def report(r: dict, hours: float) -> None:
    usage, residents, by_name, cached = r["usage"], r["residents"], r["by_name"], r["cached"]
    days = hours / 24
    tokens = usage["tokens_in"] + usage["tokens_out"]
    decisions = sum(n for _, n, _ in by_name)
    fallbacks = sum(f for _, _, f in by_name)
    share = f", {cached / usage['tokens_in']:.1%} of them cached" if cached is not None and usage["tokens_in"] else ""
    print(f"  tokens per resident per game day {tokens / residents / days:,.0f} "
          f"({usage['tokens_in']} in{share}, {usage['tokens_out']} out; prefix cache of 16-token blocks)")
    per = residents * days
    print("  tokens per resident per game day by decision (in + out; requests): " + ", ".join(
        f"{n} {(i + o) / per:,.0f} ({i / per:,.0f} + {o / per:,.0f}; {c})" for n, c, i, o in r["tokens_by"]))
    print(f"  decisions per resident per game day {decisions / residents / days:.1f} (goal ≤ 60; "
          f"{decisions} decisions, {fallbacks} fallbacks)")
    print("  by decision (decisions, fallbacks): " + ", ".join(f"{n} {c} ({f})" for n, c, f in by_name))
    print(f"  retries {r['retries']}; failed attempts: " + (", ".join(f"{k} {n}" for k, n in r["failed"]) or "none"))
    print(f"  digest {r['digest']}")


if __name__ == "__main__":
    sys.exit(main())
