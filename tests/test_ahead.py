"""Issue 22 part 1: residents step ahead of the town (out-of-order stepping).

A resident that no one else could affect runs ahead of the town's slowest tick; each tick is
recorded once everyone has passed it. The run must be the lock-step run: the same digests,
events and decisions at every tick, whatever the latency and the order answers arrive in.
The model here answers every decision as a capable one would (smallville.llm.plausible: plans,
steps, ratings, reactions, conversations that pass news on) after a random wait."""

import asyncio
import json
import random

import pytest

from conftest import ROOT
from smallville.cognition.agent import AgentPolicy
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.memory import MemoryStreams
from smallville.engine.engine import Engine
from smallville.llm.plausible import plausible
from smallville.llm.protocol import Response
from smallville.llm.wrappers import Structured
from smallville.world.world import load_world

TOWN = ROOT / "worlds" / "town.yaml"


class Plausible:
    """An in-process model answering like smallville.llm.plausible after ``delay()`` seconds."""

    backend, model = "plausible", "plausible"

    def __init__(self, delay):
        self.delay = delay
        self.sent = 0

    async def complete(self, request):
        self.sent += 1
        await asyncio.sleep(self.delay())
        body = {"messages": request.messages_json(), "seed": request.seed,
                "response_format": {"type": "json_schema", "json_schema": {"name": request.schema_name or
                                                                           request.decision,
                                                                           "schema": request.schema}}}
        text = json.dumps(plausible(body))
        return Response(text=text, tokens_in=10, tokens_out=10, backend=self.backend, model=self.model)


def town(stepping, delay, ticks, seed=1):
    w = load_world(TOWN)
    lm = Plausible(delay)
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    engine = Engine(w, AgentPolicy.for_world(w), seed, decider=Decider(Structured(lm)), memory=mem,
                    stepping=stepping)
    recs, spread = [], []

    def on_tick(rec):
        recs.append((rec.tick, rec.digest, json.dumps(rec.events, sort_keys=True),
                     json.dumps(rec.decisions, sort_keys=True), json.dumps(rec.agents, sort_keys=True)))
        t = engine.ticks.values()
        spread.append(max(t) - min(t))

    asyncio.run(engine.run(ticks, on_tick))
    return recs, engine, lm, spread


@pytest.fixture(scope="module")
def runs():
    rng = random.Random(7)
    lock = town("lockstep", lambda: 0.0, 240)
    ahead = town("ahead", lambda: rng.uniform(0.0, 0.08), 240)
    return lock, ahead


def test_stepping_ahead_is_the_lockstep_run_at_any_latency(runs):
    (lock, _, lm1, _), (ahead, engine, lm2, spread) = runs
    assert [r[0] for r in ahead] == list(range(1, 241))  # every tick recorded once, in order
    assert ahead == lock  # digests, events, decisions and rows of every tick
    assert lm1.sent == lm2.sent > 50
    talks = sum(r[2].count('"conversation_start"') for r in lock)
    assert talks >= 1  # conversations went on while others stepped
    # residents did run ahead of the tick recorded last, in groups
    assert engine.groups_stepped > 240 and max(spread) >= 10


def test_a_stop_lets_the_others_catch_up_and_the_snapshot_is_whole():
    """on_tick returning True stops the run where the furthest resident stands: everyone reaches
    that tick, it is recorded, and the state can be snapshot; going on lock-step from there gives
    the uninterrupted run."""
    w = load_world(TOWN)
    rng = random.Random(3)
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    engine = Engine(w, AgentPolicy.for_world(w), 2, decider=Decider(Structured(Plausible(lambda: rng.uniform(0, 0.05)))),
                    memory=mem, stepping="ahead")
    seen = []

    def on_tick(rec):
        seen.append(rec.tick)
        return rec.tick == 40

    asyncio.run(engine.run(200, on_tick))
    stop = engine.state.tick
    assert seen == list(range(1, stop + 1)) and stop >= 40
    assert set(engine.ticks.values()) == {stop} and not engine.in_tick
    engine.snapshot()  # whole: no half-applied tick

    full, *_ = town("lockstep", lambda: 0.0, stop, seed=2)
    assert full[-1][1] == engine.state.digest


def test_the_window_keeps_residents_in_sight_of_each_other_together():
    """Residents within the vision radius of one another at one tick step as one group; a resident
    behind keeps the others away by its radius plus what it could walk."""
    w = load_world(TOWN)
    engine = Engine(w, AgentPolicy.for_world(w), 1, stepping="ahead")
    a, b, c = engine.state.agents[:3]
    r = engine.vision
    for x in engine.state.agents:
        x.x, x.y, x.path, x.asleep, x.action_end = 5, 5, [], False, 10_000
    # three far apart, everyone else stacked on one tile far from all three
    a.x, a.y = 60, 40
    b.x, b.y = 60 + r, 40  # within sight of a
    c.x, c.y = 20, 60
    groups = {tuple(sorted(g)): t for g, t in engine._ready(100, set())}
    assert (0, 1) in groups  # a and b together
    assert (2,) in groups
    # c is behind: a and b may not step while c could walk into their sight by then
    engine._at[c.name] = -5
    engine._at[a.name] = engine._at[b.name] = 3
    near = abs(c.x - a.x) + abs(c.y - a.y)
    assert near > r
    c.x, c.y = a.x - r - 5, a.y  # 5 tiles beyond a's sight, 8 ticks behind: it could be there
    c.path = [(c.x + 1, c.y)]  # (walking)
    assert (0, 1) not in {tuple(sorted(g)) for g, _ in engine._ready(100, set())}
    c.path, c.action_end = [], 10_000  # sitting it out with no one in its sight: it stays put
    engine._at = {n: (-5 if n == c.name else 3) for n in engine._at}
    for x in engine.state.agents[3:]:
        x.x, x.y, x.asleep = 5, 5, True
    assert (0, 1) in {tuple(sorted(g)) for g, _ in engine._ready(100, set())}
