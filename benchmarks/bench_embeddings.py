"""Embeddings per second and the cache's hit rate.

1. all-MiniLM-L6-v2 throughput by batch size (torch threads as the embedder sets them:
   1 unless SMALLVILLE_EMBED_THREADS says otherwise): one text repeated, then a mix of
   lengths like a run's (short observations beside long plans), where the batch size decides
   how much padding each batch carries;
2. a rules run of the town with memory on (default one game day): wall time, texts embedded,
   model time, embeddings per second and cache hit rate, from the run's manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from smallville.cognition.embedding import MiniLMEmbedder
from smallville.runner import RunOptions, start_run


def model_throughput() -> None:
    e = MiniLMEmbedder()
    e.embed(["warm up"])
    print(f"all-MiniLM-L6-v2 loaded in {e.load_seconds:.1f} s, torch threads {e.threads}")
    for n in (1, 8, 64, 256):
        texts = [f"Isabella Rodriguez is making coffee and chatting with morning customers ({i})" for i in range(n)]
        reps = max(1, 64 // n)
        t0 = time.perf_counter()
        for _ in range(reps):
            e.embed(texts)
        el = (time.perf_counter() - t0) / reps
        print(f"  batch {n:>3}: {el * 1000:8.1f} ms  {n / el:7.1f} sentences/s")
    words = "walks over to the counter and orders a coffee before the morning rush begins at the cafe".split()
    mixed = [f"Resident {i} is " + " ".join(words[:3 + i % 6]) for i in range(200)]
    mixed += [f"Resident {i}'s plan for Monday: " + "; ".join(f"{7 + h:02d}:00 " + " ".join(words[h % 5:h % 5 + 6])
                                                           for h in range(8 + i % 5)) for i in range(56)]
    print(f"  {len(mixed)} texts of mixed lengths, one call:")
    saved = e.batch_size
    for bs in (16, 64):
        e.batch_size = bs
        e.embed(mixed[:32])
        t0 = time.perf_counter()
        e.embed(mixed)
        el = time.perf_counter() - t0
        print(f"    batch_size {bs:>2}{' (default)' if bs == saved else ''}: {len(mixed) / el:7.1f} sentences/s")
    e.batch_size = saved


def town_day(world: str, hours: float, embedder: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        start_run(RunOptions(world, hours=hours, llm="rules", out=str(out), quiet=True, embedder=embedder))
        wall = time.perf_counter() - t0
        m = json.loads((out / "manifest.json").read_text())["memory"]
    e = m["embeddings"]
    print(f"{world}, {hours:g} game hours, rules, embedder {embedder}: wall {wall:.1f} s")
    print(f"  memories {m['memories']} (reflection thoughts {m['thoughts']})")
    print(f"  texts asked {e['requests']}, cache hits {e['hits']} (hit rate {e['hit_rate']:.1%}), "
          f"embedded {e['embedded']} in {e['batches']} batches")
    print(f"  model time {e['model_seconds']:.1f} s (+ load {e['load_seconds']:.1f} s): "
          f"{e['embeddings_per_s']:.0f} embeddings/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", default="worlds/town.yaml")
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--embedder", default="minilm", choices=["minilm", "hashing"])
    ap.add_argument("--skip-model", action="store_true", help="only the town run")
    args = ap.parse_args()
    if not args.skip_model:
        model_throughput()
    town_day(args.world, args.hours, args.embedder)


if __name__ == "__main__":
    sys.exit(main())
