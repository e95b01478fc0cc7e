"""Attention bounded at the query (issue 22): a resident attends to the nearest
``attention_bandwidth`` residents in sight — perception, reactions and so conversation starts —
and where fewer are in sight, nothing changes: the same observations, the same run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from smallville.cognition.agent import AgentPolicy
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.memory import MemoryStreams
from smallville.engine.engine import Engine
from smallville.world.world import load_world

ROOT = Path(__file__).resolve().parent.parent
TOWN = ROOT / "worlds" / "town.yaml"


def crowd_world(n: int, out: Path) -> Path:
    """The town's map and settings with ``n`` residents: its 25 personas, then copies of them
    ("NAME 2", ...) who share their homes and routines (as ``bench_scale.py --crowd``)."""
    config = yaml.safe_load(TOWN.read_text())
    originals = [(TOWN.parent / r["persona"]).resolve() for r in config["residents"]]
    residents = []
    for i in range(n):
        src, copy = originals[i % len(originals)], i // len(originals) + 1
        if copy > 1:
            persona = yaml.safe_load(src.read_text())
            persona["name"] = f"{persona['name']} {copy}"
            src = out / f"{src.stem}_{copy}.yaml"
            src.write_text(yaml.safe_dump(persona, sort_keys=False))
        residents.append({"persona": str(src)})
    config.update(residents=residents, map=str((TOWN.parent / config["map"]).resolve()))
    world = out / "world.yaml"
    world.write_text(yaml.safe_dump(config, sort_keys=False))
    return world


CONFIG = object()  # the world's attention_bandwidth


def engine(world_file: Path, attention=CONFIG, seed: int = 1) -> Engine:
    w = load_world(world_file)
    memory = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    e = Engine(w, AgentPolicy.for_world(w), seed, memory=memory)
    if attention is not CONFIG:
        e.attention = attention
    return e


def run(e: Engine, ticks: int) -> list[str]:
    async def go():
        return [(await e.step()).digest for _ in range(ticks)]
    return asyncio.run(go())


def most_in_sight(e: Engine) -> list[int]:
    """Spy on ``observe``: the most residents in sight of anyone (everyone in sight, unbounded)."""
    most = [0]
    observe = type(e)._observe

    def spy(a, s):
        bound, e.attention = e.attention, None
        most[0] = max(most[0], len(observe(e, a, s).nearby))
        e.attention = bound
        return observe(e, a, s)

    e._observe = spy
    return most


def test_where_fewer_than_k_are_in_sight_the_run_is_the_same():
    """The town for two game hours (hashing embedder): the bounded query (the world's
    attention_bandwidth, 8) and everyone in sight (before issue 22) give the same digests, tick
    after tick — and with a bound of 1, which some observer exceeds, they do not."""
    bounded = engine(TOWN)
    assert bounded.attention == bounded.world.config.perception.attention_bandwidth == 8
    most = most_in_sight(bounded)
    ticks = 2 * 360
    new = run(bounded, ticks)
    assert 2 <= most[0] < 8  # residents did see each other, never 8 at once
    assert run(engine(TOWN, None), ticks) == new
    assert run(engine(TOWN, 1), ticks) != new  # the comparison can fail


def test_in_a_crowd_the_nearest_k_are_attended(tmp_path):
    """75 residents on the town's map (copies of its personas share homes and routines): each
    observation holds the first k of everyone in sight (nearest first, ties by name) and the
    objects in use by the observer and by them; where k or fewer are in sight it is the whole
    unbounded observation. Reactions consider the same k (those awake)."""
    e = engine(crowd_world(75, tmp_path), attention=3)  # the copies share homes: three to a room
    k = e.attention
    observe = type(e)._observe
    counts = {"crowded": 0, "few": 0, "reactions": 0}

    def full(a, s):
        bound, e.attention = e.attention, None
        try:
            return observe(e, a, s)
        finally:
            e.attention = bound

    def spy(a, s):
        o, everyone = observe(e, a, s), full(a, s)
        if len(everyone.nearby) <= k:
            assert o == everyone
            counts["few"] += 1
        else:
            counts["crowded"] += 1
            assert o.nearby == everyone.nearby[:k]
            by_user = s.users
            mine = sorted((d, *by_user[n]) for d, n in [(0, a.name)] + [(s.distance, s.name) for s in o.nearby]
                          if n in by_user)
            assert [(x.address, x.distance) for x in o.object_states] == [(m[1], m[0]) for m in mine]
        return o

    e._observe = spy
    names = {id(s): n for n, s in e.residents.items()}
    may_react = e.policy.may_react

    def react_spy(state, now, nearby):
        me = e.state.agent(names[id(state)])
        everyone = full(me, e._lockstep(e.state.tick + 1, now))
        assert nearby == [s.name for s in everyone.nearby[:k] if not e.state.agent(s.name).asleep]
        counts["reactions"] += 1
        return may_react(state, now, nearby)

    e.policy.may_react = react_spy
    run(e, 90 * 6)  # 07:00-08:30: breakfast at home, three or more to a home
    assert counts["crowded"] > 100 and counts["few"] > 100 and counts["reactions"] > 100
