"""Wall time of a real-model run: the town against a loopback OpenAI-compatible server.

The town (``worlds/town.yaml``) for ``--hours`` game hours (2 by default) with ``--llm openai``
against :class:`~smallville.llm.testing.LoopbackServer` answering every request after
``--latency`` seconds (0.5 by default), ``--embedder hashing``. Prints the requests sent, the
wall time, the effective parallelism (requests × latency / wall; goal ≥ 8, one request at a time
is ≤ 1), tokens per resident per game day and decisions per resident per game day (goal ≤ 60),
and the run's digest (the same for every latency: see docs/THROUGHPUT.md).

    PYTHONPATH=$PWD python benchmarks/bench_llm_wall.py [--hours 2] [--latency 0.5] [--world worlds/town.yaml]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.llm.testing import LoopbackServer  # noqa: E402
from smallville.store.runstore import RunReader  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default=str(ROOT / "worlds/town.yaml"))
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--latency", type=float, default=0.5, help="server latency per request, seconds")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", help="write the run here (default: a temporary directory)")
    ap.add_argument("--answers", choices=("sample", "valid"), default="sample",
                    help="sample: the server answers in json_schema mode, where the strict schema it sees lacks "
                         "patterns and array bounds, so many answers fail validation and are retried with backoff; "
                         "valid: the server refuses json_schema (as llama.cpp's does), the schema travels in the "
                         "prompt and every answer is schema-valid (no retries: latency is the server's alone)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    out = Path(args.keep) if args.keep else Path(tmp.name) / "run"
    refuse = ("json_schema",) if args.answers == "valid" else ()
    with LoopbackServer(latency_s=args.latency, refuse=refuse) as srv:
        env = {**os.environ, "SMALLVILLE_LLM_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-loopback",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, "-m", "smallville", "run", args.world, "--llm", "openai", "--embedder", "hashing",
               "--hours", str(args.hours), "--out", str(out), "--quiet"]
        if args.seed is not None:
            cmd += ["--seed", str(args.seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return proc.returncode
        requests = len([r for r in srv.requests if r["fault"] != "refused"])
    reader = RunReader(out)
    try:
        last = reader.last_tick()
        digest = reader.tick_info(last)["digest"]
        usage = reader.llm_usage()
        residents = len(reader.con.execute("SELECT id FROM agents").fetchall())
        decisions = reader.con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        fallbacks = reader.con.execute("SELECT COUNT(*) FROM decisions WHERE fallback").fetchone()[0]
        try:
            cached = reader.con.execute("SELECT COALESCE(SUM(cached_tokens), 0) FROM llm_calls").fetchone()[0]
        except sqlite3.OperationalError:  # a store from before cached prompt tokens were recorded
            cached = None
    finally:
        reader.close()
    days = args.hours / 24
    tokens = usage["tokens_in"] + usage["tokens_out"]
    print(f"{Path(args.world).name}, {args.hours:g} game hours ({last} ticks), server latency {args.latency:g} s, "
          f"{args.answers} answers")
    print(f"requests {requests}, wall {wall:.1f} s, effective parallelism {requests * args.latency / wall:.2f} "
          f"(requests × latency / wall; goal ≥ 8)")
    print(f"tokens per resident per game day {tokens / residents / days:,.0f} "
          f"({usage['tokens_in']} in{'' if cached is None else f', {cached} of them cached'}, "
          f"{usage['tokens_out']} out)")
    print(f"decisions per resident per game day {decisions / residents / days:.1f} (goal ≤ 60; "
          f"{decisions} decisions, {fallbacks} fallbacks)")
    print(f"digest {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
