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


@pytest.mark.parametrize("seed", [1, 4])
def test_stepping_ahead_is_the_lockstep_run_at_any_latency(seed):
    rng = random.Random(seed)
    lock, _, lm1, _ = town("lockstep", lambda: 0.0, 240, seed=seed)
    ahead, engine, lm2, spread = town("ahead", lambda: rng.uniform(0.0, 0.08), 240, seed=seed)
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


def open_row(walkable, length):
    """(x0, y) of ``length`` walkable tiles in a row (a street)."""
    for y in range(walkable.shape[0]):
        run = 0
        for x in range(walkable.shape[1]):
            run = run + 1 if walkable[y, x] else 0
            if run == length:
                return x - length + 1, y
    raise AssertionError("no open row")


def test_the_window_keeps_residents_in_sight_of_each_other_together():
    """Residents within the vision radius of one another at one tick step as one group; a resident
    behind keeps the others away by its radius plus what it could walk — not while it surely
    stays put (no one in its sight, its action going on)."""
    w = load_world(TOWN)
    engine = Engine(w, AgentPolicy.for_world(w), 1, stepping="ahead")
    r = engine.vision
    x0, y = open_row(engine.map.walkable, 2 * r + 12)
    fx, fy = open_row(engine.map.walkable[::-1], 1)  # far away, asleep: everyone else
    fy = engine.map.walkable.shape[0] - 1 - fy
    for x in engine.state.agents:
        x.x, x.y, x.path, x.asleep, x.action_end = fx, fy, [], True, 10_000
    a, b, c = engine.state.agents[:3]
    for x in (a, b, c):
        x.asleep = False
    c.x, c.y = x0, y
    a.x, a.y = x0 + r + 6, y  # six tiles beyond c's sight, along a street
    b.x, b.y = a.x + 2, y  # within sight of a
    groups = {tuple(sorted(g)) for g, _ in engine._ready(100, set())}
    assert (0, 1) in groups and (2,) in groups  # a and b together, c alone
    # c is 8 ticks behind and walking: it could be in their sight by then, so they wait for it
    engine._at = {n: 3 for n in engine._at}
    engine._at[c.name] = -5
    c.path = [(c.x + 1, c.y)]
    assert (0, 1) not in {tuple(sorted(g)) for g, _ in engine._ready(100, set())}
    # sitting with no one in its sight and its action going on, it stays put: they go on
    c.path = []
    assert (0, 1) in {tuple(sorted(g)) for g, _ in engine._ready(100, set())}
    # 3 ticks behind and walking, it could not reach their sight in time: they go on
    engine._at[c.name] = 0
    c.path = [(c.x + 1, c.y)]
    assert (0, 1) in {tuple(sorted(g)) for g, _ in engine._ready(100, set())}


def test_a_whisper_into_a_run_stepping_ahead_replays_tick_by_tick():
    """A command from outside (the inbox's whisper) while residents step ahead lands after the
    furthest resident's tick; run again tick by tick with the command at its recorded tick, the
    run is the same at every tick (so a resume or a branch applies it again as it was)."""
    cmd = {"agent": "Klaus Mueller", "kind": "whisper", "text": "You feel like a walk in the park.",
           "facts": None, "source": "test"}
    w = load_world(TOWN)
    rng = random.Random(5)
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    engine = Engine(w, AgentPolicy.for_world(w), 3, memory=mem, stepping="ahead",
                    decider=Decider(Structured(Plausible(lambda: rng.uniform(0, 0.05)))))
    digests, at = [], []

    def on_tick(rec):
        digests.append(rec.digest)
        if rec.tick == 20:
            at.append(engine.add_command(dict(cmd)))
            assert at[0] > max(engine.ticks.values())
        assert not rec.interventions or rec.tick == at[0]

    asyncio.run(engine.run(150, on_tick))
    assert at and at[0] <= 150

    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    again = Engine(w, AgentPolicy.for_world(w), 3, memory=mem, stepping="lockstep",
                   decider=Decider(Structured(Plausible(lambda: 0.0))))
    again.add_command(dict(cmd), tick=at[0])
    replayed = []
    asyncio.run(again.run(150, lambda rec: replayed.append(rec.digest)))
    assert replayed == digests
    with pytest.raises(ValueError):
        again.add_command(dict(cmd), tick=150)  # past: the run is there already
