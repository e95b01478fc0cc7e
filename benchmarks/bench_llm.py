"""LLM layer figures.

1. Parallel speed-up: 25 agents' next_action decisions through the full stack (Decider →
   retry, budget, record, accounting, validation, limit → openai backend) against a
   loopback OpenAI-compatible server answering after 200 ms — all at once (with the default
   limit of 16 in flight, and with 25) vs one at a time. Goal: ≥ 8× (the original
   Smallville calls strictly one at a time).
2. The local model (SmolLM2-135M in-process through llama.cpp): tokens/s generating freely
   and under a JSON-schema grammar.

    python benchmarks/bench_llm.py [--skip-local] [--requests 8]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.cognition import next_action  # noqa: E402
from smallville.cognition.decisions import Decider, render  # noqa: E402
from smallville.cognition.interface import Action  # noqa: E402
from smallville.llm.factory import choose, wrap  # noqa: E402
from smallville.llm.protocol import Message, Request  # noqa: E402
from smallville.llm.testing import LoopbackServer  # noqa: E402
from smallville.world.config import LLMSettings, load_persona  # noqa: E402

AGENTS = 25
NOW = dt.datetime(2023, 2, 13, 9, 0)


def decisions(base_url: str, concurrency: int, parallel: bool) -> tuple[float, int]:
    persona = load_persona(ROOT / "personas/isabella_rodriguez.yaml")
    routine = Action("serving coffee", persona.workplace or persona.home, NOW + dt.timedelta(hours=2))
    settings = LLMSettings(concurrency=concurrency, timeout_s=10)
    stack = wrap(choose("openai", settings, env={"SMALLVILLE_LLM_BASE_URL": base_url}), settings)
    decider = Decider(stack.lm)

    async def one(i: int) -> Action:
        return await decider.decide(
            "next_action", agent=f"agent {i}", tick=1, variables=next_action.variables(persona, NOW, "", routine),
            rules=lambda: routine, parse=lambda v: next_action.parse(v, persona, NOW, routine),
            rng=random.Random(i), enums={"place": next_action.places_of(persona)})

    async def run() -> float:
        await one(-1)  # warm the connection and the structured-output negotiation
        t0 = time.perf_counter()
        if parallel:
            await asyncio.gather(*(one(i) for i in range(AGENTS)))
        else:
            for i in range(AGENTS):
                await one(i)
        wall = time.perf_counter() - t0
        await stack.aclose()
        return wall

    wall = asyncio.run(run())
    return wall, stack.usage.calls - 1


def local_figures(requests: int) -> None:
    from smallville.llm.local import LocalBackend

    persona = load_persona(ROOT / "personas/isabella_rodriguez.yaml")
    routine = Action("serving coffee", persona.workplace or persona.home, NOW + dt.timedelta(hours=2))
    messages, schema = render("next_action", next_action.variables(persona, NOW, "", routine),
                              {"place": next_action.places_of(persona)})
    free_messages = (messages[0], Message("user", "Describe, in a few sentences, a morning at a small-town cafe."))
    backend = LocalBackend()
    try:
        backend.generate(Request(messages=free_messages, max_tokens=8, seed=0))  # load and warm up
        for label, msgs, sch, max_tokens in (("free", free_messages, None, 96),
                                             ("JSON-schema constrained", messages, schema, 96)):
            tokens = prompt = gen_n = 0
            wall = gen_ms = 0.0
            for i in range(requests):
                r = backend.generate(Request(messages=msgs, schema=sch, max_tokens=max_tokens, seed=i,
                                             temperature=0.7))
                tokens += r.tokens_out
                prompt += r.tokens_in
                wall += r.latency_s
                if "prompt_ms" in r.extra:  # after the prompt: decoding and (constrained) sampling
                    gen_ms += r.latency_s * 1000 - r.extra["prompt_ms"]
                    gen_n += r.tokens_out
            gen = f"{gen_n / gen_ms * 1000:.1f} tokens/s generating, " if gen_ms else ""
            print(f"local {backend.model}, {label}: {gen}{tokens / wall:.1f} tokens out/s end to end "
                  f"({requests} answers, {tokens} tokens out, {prompt} in, {wall / requests:.2f} s per answer, "
                  f"{backend.n_threads} thread(s))")
    finally:
        backend.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.2, help="server latency in seconds")
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--requests", type=int, default=8, help="local model answers per mode")
    args = ap.parse_args()
    with LoopbackServer(latency_s=args.latency) as srv:
        serial, n = decisions(srv.base_url, 16, parallel=False)
        print(f"{AGENTS} decisions one at a time: {serial:.2f} s ({n} calls, {serial / AGENTS * 1000:.0f} ms each; "
              f"server latency {args.latency * 1000:.0f} ms)")
        for limit in (16, 25):
            par, n = decisions(srv.base_url, limit, parallel=True)
            print(f"{AGENTS} decisions concurrently, limit {limit} in flight: {par:.2f} s ({n} calls) — "
                  f"speed-up {serial / par:.1f}× (goal ≥ 8×)")
    if not args.skip_local:
        local_figures(args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
