"""Issue 13: work for later (importance ratings, the next stretch's steps, a day's plan made in
the night) overlaps across ticks — the engine goes on while its answers are under way — and
the run never depends on when they arrive (see docs/THROUGHPUT.md)."""

import asyncio
import hashlib
import json
import random
import sqlite3

from conftest import ROOT, run_cli
from smallville.cognition.agent import AgentPolicy
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.memory import MemoryStreams
from smallville.engine.engine import Engine
from smallville.llm.fake import by_decision
from smallville.llm.wrappers import Structured
from smallville.world.world import load_world

SMALL = ROOT / "worlds" / "small.yaml"


def ratings(req):
    n = req.schema["properties"]["ratings"]["minItems"]
    return {"ratings": [1 + int(hashlib.md5(req.messages[-1].content.encode()).hexdigest(), 16) % 9] * n}


def steps(req):
    return {"steps": [{"action": "getting things ready", "minutes": 10}, {"action": "working through the list",
                                                                          "minutes": 20}]}


class Slow:
    """A model answering after ``delay()`` seconds (a real wait on the event loop)."""

    def __init__(self, inner, delay):
        self.inner, self.delay = inner, delay
        self.backend, self.model = inner.backend, inner.model

    async def complete(self, request):
        await asyncio.sleep(self.delay(request))
        return await self.inner.complete(request)


def simulate(delay, ticks=1440, world=SMALL):
    """The small world with a scripted model (ratings and steps answered, every other decision
    falls back to the rules) answering after ``delay()``; returns (digest, decisions, ticks at
    whose end an answer of work for later was still under way, kinds of work seen)."""
    w = load_world(world)
    lm = by_decision({"rate_importance": ratings, "decompose": steps})
    decider = Decider(Structured(Slow(lm, delay)))
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    engine = Engine(w, AgentPolicy.for_world(w), 5, decider=decider, memory=mem)
    overlapped, kinds, decisions = [], set(), []

    async def go(engine):
        while engine.state.tick < ticks:
            rec = await engine.step()
            decisions.extend((rec.tick, d["agent"], d["name"], d["fallback"]) for d in rec.decisions)
            kinds.update(j.kind for j in engine.later)
            if any(not j.task.done() for j in engine.later if j.task is not None):
                overlapped.append(rec.tick)

    asyncio.run(go(engine))
    return engine.state.digest, decisions, overlapped, kinds


def test_work_for_later_overlaps_ticks_and_never_depends_on_arrival():
    rng = random.Random(4)
    now = simulate(lambda req: 0.0)
    slow = simulate(lambda req: 0.03)
    jitter = simulate(lambda req: rng.uniform(0.0, 0.06))
    # plans slow, the rest at once, and the other way round: the work that concurrent calls start
    # is ordered by the calls, never by which answer came first
    skew = simulate(lambda req: 0.05 if req.decision == "plan_day" else 0.0)
    wiks = simulate(lambda req: 0.0 if req.decision == "plan_day" else 0.05)
    assert now[0] == slow[0] == jitter[0] == skew[0] == wiks[0]  # the digest covers every state and work under way
    assert now[1] == slow[1] == jitter[1] == skew[1] == wiks[1]  # the same decisions, recorded at the same ticks
    assert {"rating", "steps", "plan"} <= slow[3]
    assert len(slow[2]) >= 5 and len(jitter[2]) >= 5  # ticks went by while answers were under way
    assert not any(fallback for *_, name, fallback in slow[1] if name in ("rate_importance", "decompose"))


def test_the_order_answers_come_back_in_never_orders_the_work():
    """Residents awake at the town's first tick plan, decompose and start work for later after
    answers of their own: answers that come back in opposite orders start it in opposite orders,
    and the run is the same (work is ordered by the engine's calls)."""
    def by_name(flip):
        return lambda req: 0.04 * ((int(hashlib.md5(req.agent.encode()).hexdigest(), 16) + flip) % 2)

    one = simulate(by_name(0), ticks=60, world=ROOT / "worlds" / "town.yaml")
    other = simulate(by_name(1), ticks=60, world=ROOT / "worlds" / "town.yaml")
    assert one[0] == other[0] and one[1] == other[1]


def test_cli_run_a_resident_wakes_with_the_plan_made_in_the_night(tmp_path):
    """Residents asleep at 07:00 had their plan_day decided before waking (the decision is
    recorded when its outcome was taken), and adopt it when they wake; the next night's plan is
    made in that night, at the moment the plan day turns."""
    out = tmp_path / "run"
    r = run_cli("run", str(SMALL), "--llm", "rules", "--embedder", "hashing", "--hours", "26", "--out", str(out),
                "--quiet")
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(out / "run.db")
    names = dict(con.execute("SELECT id, name FROM agents"))
    planned = {}
    for tick, agent in con.execute("SELECT tick, agent FROM decisions WHERE name = 'plan_day' ORDER BY tick"):
        planned.setdefault(names[agent], []).append(tick)
    adopted = {}
    for tick, agent, data in con.execute("SELECT tick, agent, data FROM events WHERE kind = 'plan' ORDER BY tick"):
        if json.loads(data)["reason"] == "day":
            adopted.setdefault(names[agent], []).append(tick)
    assert set(adopted) == set(names.values())
    ahead = [(n, p, a) for n in adopted for p, a in zip(planned[n], adopted[n]) if p < a]
    assert len(ahead) >= len(names)  # at least the second day's plans of everyone were made in the night
    con.close()


def test_work_cancelled_while_a_stopping_run_waits_is_not_answered():
    """A second Ctrl-C while a stopping run awaits its work under way cancels that work when the
    event loop closes: the engine must then count it unanswered, so that no checkpoint is taken
    (a snapshot of cancelled work cannot be made; `run --resume` goes on from the last one)."""
    w = load_world(SMALL)
    lm = by_decision({"rate_importance": ratings, "decompose": steps})
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    engine = Engine(w, AgentPolicy.for_world(w), 5, decider=Decider(Structured(Slow(lm, lambda r: 0.2))), memory=mem)

    async def go():
        stopped = asyncio.Event()

        def on_tick(rec):
            if any(not j.task.done() for j in engine.later if j.task is not None):
                stopped.set()
                return True  # a first Ctrl-C: stop at this tick's end
            return False

        run = asyncio.ensure_future(engine.run(600, on_tick))
        await stopped.wait()
        await asyncio.sleep(0.01)  # the run now awaits its work under way
        assert not run.done() and not engine.answered
        run.cancel()  # the second Ctrl-C
        await asyncio.gather(run, return_exceptions=True)

    asyncio.run(go())  # closing the loop cancels the work still under way
    assert engine.later and all(j.task.done() for j in engine.later if j.task is not None)
    assert not engine.answered
