"""Perception (radius, bandwidth, retention, object states, sleep) and importance ratings."""

import asyncio
import datetime as dt
import random
import re

import pytest

from smallville.cognition import importance
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.interface import DecisionContext, Observation, Seen, SeenObject
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.perceive import attend, awake, events_in_view, object_sentence
from smallville.cognition.agent import AgentPolicy
from smallville.cognition.rules import RulesPolicy
from smallville.cognition.state import ResidentState
from smallville.engine.engine import Engine
from smallville.world.clock import Clock
from smallville.world.config import PerceptionSettings
from smallville.world.world import load_world

NOW = dt.datetime(2023, 2, 13, 9, 0)


def obs(tick=10, nearby=(), objects=(), action="reading"):
    return Observation("Ann", tick, NOW, 5, 5, "Home:room", action, tuple(nearby), tuple(objects))


def seen(name, d, action="walking"):
    return Seen(name, 5 + d, 5, action, d)


def test_events_are_own_action_other_agents_and_object_states():
    o = obs(nearby=[seen("Bob", 2, "cooking")], objects=[SeenObject("Cafe:kitchen:stove", "in use: cooking", 6, 5, 1)])
    got = [(e.subject, e.object, e.description, e.distance) for e in events_in_view(o)]
    assert got == [("Ann", "reading", "Ann is reading", 0), ("Bob", "cooking", "Bob is cooking", 2),
                   ("Cafe:kitchen:stove", "in use: cooking", "the stove in Cafe (kitchen) is in use: cooking", 1)]
    assert object_sentence("Home:bedroom:bed", "being slept in") == "the bed in Home (bedroom) is being slept in"


def test_vision_radius():
    s = PerceptionSettings(vision_radius=3, attention_bandwidth=10, retention_minutes=30)
    o = obs(nearby=[seen("Bob", 3), seen("Cid", 4)], objects=[SeenObject("A:b:desk", "in use", 9, 5, 4)])
    assert [e.subject for e in attend(o, {}, s, 10)] == ["Ann", "Bob"]


def test_attention_bandwidth_keeps_the_nearest():
    s = PerceptionSettings(vision_radius=20, attention_bandwidth=3, retention_minutes=30)
    o = obs(nearby=[seen("Dan", 6), seen("Bob", 2), seen("Eve", 2), seen("Cid", 9)])
    # Ann (0), then Bob and Eve at 2 (ties by description); Dan and Cid are left out
    assert [e.subject for e in attend(o, {}, s, 10)] == ["Ann", "Bob", "Eve"]


def test_retention_window():
    s = PerceptionSettings(vision_radius=8, attention_bandwidth=8, retention_minutes=30)  # 180 ticks
    recent: dict = {}
    assert len(attend(obs(tick=1, nearby=[seen("Bob", 1)]), recent, s, 10)) == 2
    # still in view: not recorded again, however long it lasts
    for t in range(2, 400):
        assert attend(obs(tick=t, nearby=[seen("Bob", 1)]), recent, s, 10) == []
    # Bob leaves; back 100 ticks later (inside the window): not recorded again
    assert attend(obs(tick=500, nearby=[seen("Bob", 1)]), recent, s, 10) == []
    # Ann alone for a whole window, then Bob again: recorded again
    for t in range(501, 700):
        attend(obs(tick=t), recent, s, 10)
    got = attend(obs(tick=700, nearby=[seen("Bob", 1)]), recent, s, 10)
    assert [e.description for e in got] == ["Bob is walking"]
    # a new action of the same agent is a new event
    assert [e.description for e in attend(obs(tick=701, nearby=[seen("Bob", 1, "eating")]), recent, s, 10)] == \
        ["Bob is eating"]
    assert "Bob is walking" in recent and all(isinstance(v, int) for v in recent.values())


def test_awake():
    assert not awake("sleeping") and not awake("Sleeping in") and awake("reading") and awake("")


def test_rules_importance_documented_terms():
    people = ["Ann", "Bob Example"]
    kw = dict(people=people, friends={"Bob Example": "neighbour"}, known=set())
    assert importance.rules_importance("Ann", "Bob Example is sleeping", **kw) == 1
    mundane = importance.rules_importance("Ann", "Ann is reading", subject="Ann", **kw)
    friend = importance.rules_importance("Ann", "Bob Example is reading", subject="Bob Example", **kw)
    party = importance.rules_importance("Ann", "Bob Example is planning a birthday party", subject="Bob Example", **kw)
    assert mundane < friend < party <= 10
    seen_before = importance.rules_importance("Ann", "Ann is reading", subject="Ann", people=people,
                                              known={"reading"})
    assert seen_before == mundane - 2
    assert importance.rules_importance("Ann", "Ann is at the example exam", **kw) == \
        importance.rules_importance("Ann", "Ann is at the example exam", people=people, known=set())
    # a name is not a keyword: "Bob Example" must not count as "exam"
    assert importance.rules_importance("Ann", "Bob Example is here", people=["Bob Example"], known={"here"}) == 3


def scan_importance(agent, description, kind="observation", *, people=(), friends=(), known=frozenset(),
                    subject=None):
    """rules_importance as first written: every name scanned, every name blanked in turn."""
    low = description.lower()
    if importance._DULL.search(low):
        return 1
    score = importance.KIND_BASE.get(kind, 2)
    if subject is not None and (subject == agent or subject not in people):
        score -= 1
    others = [p for p in people if p != agent and p in description]
    if others:
        score += 1
        if any(p in friends for p in others):
            score += 1
    for p in people:
        low = low.replace(p.lower(), " ")
    content = {w for w in importance._WORD.findall(low) if w not in importance._STOP}
    if content:
        score += round(2 * len(content - known) / len(content))
    if importance._STRONG.search(low):
        score += 3
    elif importance._MILD.search(low):
        score += 1
    return max(1, min(10, score))


def test_rules_importance_finds_names_as_a_scan_of_everyone_would():
    """The name index gives a scan's scores: names inside words ("Jo Ann" in "JoAnn"), names
    within names, short names, case, and a name that appears only once another is blanked
    ("ann" + "Q" + "lee" reads "ann lee" after "Q" is)."""
    r = random.Random(5)
    firsts = ["Ann", "Anna", "Jo", "Al", "Li", "Bob", "Lee", "Q", "Eve", "Mia", "Ed"]
    lasts = ["Lee", "Leeds", "Example", "Ann", "Xu", "Bo", "Stone", "Stoner"]
    people = list(dict.fromkeys(["Q", "Ann Lee", "Al", "Li Xu"] + [f"{r.choice(firsts)} {r.choice(lasts)}"
                                                                 for _ in range(40)]))
    for order in (people, people[::-1]):
        words = [w for p in order for w in p.split()] + ["is", "talking", "with", "birthday", "exam", "annQlee",
                                                          "JoAnn", "stonerlee", "the", "plan", "AL", "li"]
        for _ in range(400):
            text = " ".join(r.choice(words) for _ in range(r.randint(1, 9)))
            text = text if r.random() < 0.5 else text.replace(" ", r.choice(["", " ", "  "]), r.randint(0, 3))
            agent = r.choice(order)
            kw = dict(people=order, friends={order[3]: "friend"}, known={"is", "with", "plan"},
                      subject=r.choice([None, agent, order[0]]))
            assert importance.rules_importance(agent, text, **kw) == scan_importance(agent, text, **kw), text
    # blanking "Q" makes "xy zw" of "xyqzw"; then "Xy Zw" is blanked too
    kw = dict(people=["Q", "Xy Zw", "Bo Stone"], known={"here"})
    assert importance.rules_importance("Q", "Xyqzw is here", **kw) == scan_importance("Q", "Xyqzw is here", **kw) == 2
    assert importance.rules_importance("Q", "Bo Stoneqxy zw is here", **kw) == \
        scan_importance("Q", "Bo Stoneqxy zw is here", **kw)


def test_parse_ratings():
    assert importance.parse({"ratings": [1, 11, 4.4]}, 3) == [1, 10, 4]
    with pytest.raises(importance.InvalidAnswer):
        importance.parse({"ratings": [1]}, 2)


def test_rate_is_one_decision_for_all_new_descriptions_and_caches():
    mem = MemoryStreams(EmbeddingCache(HashingEmbedder()), Clock(NOW, 10), people=["Ann", "Bob"])
    seen_decisions = []
    decider = Decider(record=lambda **d: seen_decisions.append(d))
    persona = load_world("tests/data/tiny/world.yaml").residents[0].persona

    def ctx(tick):
        return DecisionContext(state=ResidentState(), rng=random.Random(0), stream=mem.view("Ann", tick),
                               decide=lambda name, **kw: decider.decide(name, agent="Ann", tick=tick, **kw))

    items = [("Ann is reading", "observation", "Ann"), ("Bob is cooking", "observation", "Bob"),
             ("Ann is reading", "observation", "Ann")]
    scores = asyncio.run(importance.rate(persona, items, ctx(1)))
    assert len(seen_decisions) == 1 and seen_decisions[0]["name"] == "rate_importance"
    assert scores[0] == scores[2]
    for (d, _, _), s in zip(items[:2], scores):
        mem.add("Ann", 1, "observation", d, s)
    again = asyncio.run(importance.rate(persona, items[:2], ctx(2)))
    assert again == scores[:2] and len(seen_decisions) == 1  # all cached: no decision


# ---------------------------------------------------------------- in the engine


def make_engine(seed=3, reflect=True):
    w = load_world("tests/data/tiny/world.yaml")
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder()), reflect=reflect)
    return Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), seed, memory=mem), mem


def run(engine, n):
    async def go():
        return [await engine.step() for _ in range(n)]
    return asyncio.run(go())


def test_perception_reuses_an_unchanged_view_and_the_run_is_the_same():
    """An observation is reused while the resident's tile, action and the cells around it are
    unchanged, and attended to again without building its events when it was attended to the
    tick before; with reuse off (every cell rebuilt as a new object) every digest is the same."""
    def digests(reuse):
        w = load_world("worlds/small.yaml")
        mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
        e = Engine(w, AgentPolicy.for_world(w), 5, memory=mem)
        if not reuse:
            cells = e._cells
            e._cells = lambda: {k: tuple(list(v)) for k, v in cells().items()}  # equal, never the same object
        out = [r.digest for r in run(e, 900)]
        return out, e.seen_reused, e.attended_again

    with_reuse, reused, again = digests(True)
    without, none, never = digests(False)
    assert with_reuse == without
    assert reused > 500 and none == 0
    assert again > 400 and never == 0  # most reused views were attended to without building their events


def test_engine_fills_object_states_within_vision():
    e, _ = make_engine()
    run(e, 6 * 60 * 2)  # 06:50 -> 08:50: Ann at the counter, Bob at the table
    ann = e.state.agent("Ann Example")
    o = e.observe(ann, e.state.tick, e.now)
    addrs = [x.address for x in o.object_states]
    assert "Cafe:cafe:counter" in addrs and "Cafe:cafe:table" in addrs
    assert all(x.distance <= e.vision for x in o.object_states)
    assert [x.distance for x in o.object_states] == sorted(x.distance for x in o.object_states)
    far = Engine(e.world, e.policy, 3)
    far.state = e.state
    far.vision = 0
    assert [x.address for x in far.observe(ann, e.state.tick, e.now).object_states] == ["Cafe:cafe:counter"]


def test_engine_perception_records_memories_and_one_rating_per_agent_per_tick():
    e, mem = make_engine()
    recs = run(e, 6 * 60 * 2)
    ann = [n.description for n in mem.stream("Ann Example").nodes]
    assert ann[0] == "Ann Example likes mornings."
    assert "Bob Example is having coffee" in ann and "Ann Example is serving coffee" in ann
    assert "the table in Cafe (cafe) is in use: having coffee" in ann
    for r in recs:
        per_agent = [d["agent"] for d in r.decisions if d["name"] == "rate_importance"]
        assert len(per_agent) == len(set(per_agent))
    # memories reach the store through the tick records, each exactly once
    rows = [m for r in recs if r.memory for m in r.memory.memories]
    assert len(rows) + 1 == sum(len(s) for s in mem.streams.values())  # the seed went with tick 0


def test_asleep_agents_do_not_perceive():
    e, mem = make_engine(seed=1)
    run(e, 30)  # 06:50 -> 06:55: both asleep (with seed 1 neither wakes early)
    assert all(a.asleep for a in e.state.agents)
    assert [n.kind for s in mem.streams.values() for n in s.nodes] == ["thought"]  # only Ann's first memory


def test_memory_does_not_change_the_rules_run():
    """Perception draws nothing from the run's RNG: the rules baseline's digest is the same with memory."""
    w = load_world("tests/data/tiny/world.yaml")
    plain = Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), 3)
    e, _ = make_engine()
    a, b = run(plain, 800), run(e, 800)
    # the same world, tick by tick (the digests differ: they cover the memory streams too)
    assert [(r.agents, r.object_changes) for r in a] == [(r.agents, r.object_changes) for r in b]
    assert plain.state.digest != e.state.digest


# ---------------------------------------------------------------- batched ratings


class Rater:
    """Ann's memory with a decider (rules, or a fake model) and her cognition state."""

    def __init__(self, llm=None):
        from smallville.llm.wrappers import Structured

        self.persona = load_world("tests/data/tiny/world.yaml").residents[0].persona  # Ann Example
        self.mem = MemoryStreams(EmbeddingCache(HashingEmbedder()), Clock(NOW, 10), people=[self.persona.name, "Bob"])
        self.decisions = []
        self.decider = Decider(Structured(llm) if llm is not None else None, record=lambda **d: self.decisions.append(d))
        self.cognition = ResidentState()

    def ctx(self, tick):
        name = self.persona.name
        return DecisionContext(state=self.cognition, rng=random.Random(tick), stream=self.mem.view(name, tick),
                               decide=lambda decision, **kw: self.decider.decide(decision, agent=name, tick=tick, **kw))

    def add(self, tick, *memories):
        return importance.add(self.persona, self.ctx(tick), [importance.New(*m) for m in memories])

    def settle(self, tick, **kw):
        return asyncio.run(importance.settle(self.persona, self.ctx(tick), **kw))


def test_routine_memories_never_wait_and_the_rest_wait_with_the_rules_score():
    r = Rater()
    nodes = r.add(1, ("observation", "Ann Example is reading", "Ann Example"),  # her own action
                  ("observation", "the stove in Home (kitchen) is in use: cooking", "Home:kitchen:stove"),  # an object
                  ("observation", "Bob is sleeping", "Bob"),  # dull
                  ("observation", "Bob is cooking", "Bob"), ("chat", "Bob said: \"there is a birthday dinner\""))
    assert importance.waiting(r.ctx(1)) == [nodes[3].id, nodes[4].id]
    assert not r.decisions  # nothing is rated until it is due or needed
    rules = [importance.rules_importance(r.persona.name, n.description, n.kind, people=r.mem.people,
                                         friends=r.persona.relationships, known=set(), subject=s)
             for n, s in zip(nodes, ["Ann Example", "Home:kitchen:stove", "Bob", "Bob", None])]
    assert [n.importance for n in nodes] == rules  # the rules' scores, final or provisional
    assert r.settle(2) and [d["name"] for d in r.decisions] == ["rate_importance"]
    assert importance.waiting(r.ctx(2)) == [] and not r.settle(3)  # nothing waits: no decision


def test_waiting_memories_are_rated_together_once_due_and_at_most_once_a_tick():
    r = Rater()
    r.add(1, ("observation", "Bob is cooking", "Bob"))
    r.add(2, ("observation", "Bob is eating", "Bob"), ("observation", "Bob is cooking", "Bob"))  # a repeat waits too
    assert len(importance.waiting(r.ctx(2))) == 3 and not importance.due(r.ctx(2))
    assert importance.due(r.ctx(1 + importance.BATCH_MINUTES * 6))
    assert r.settle(5, grace=0) and len(r.decisions) == 1
    r.add(5, ("observation", "Bob is washing up", "Bob"))
    assert not r.settle(5, grace=0)  # one decision per agent per tick: it joins the next one
    assert not r.settle(6)  # a retrieval soon after a rating does not ask again (grace)
    assert r.settle(6 + importance.GRACE_MINUTES * 6) and len(r.decisions) == 2


def test_a_model_rating_replaces_the_provisional_score_everywhere():
    from smallville.llm.fake import FakeLLM

    fake = FakeLLM(default=lambda req: {"ratings": [9] * req.schema["properties"]["ratings"]["maxItems"]})
    r = Rater(fake)
    stream = r.mem.stream(r.persona.name)
    before = stream.since_reflection
    nodes = r.add(1, ("observation", "Bob is cooking", "Bob"), ("observation", "Bob is eating", "Bob"),
                  ("observation", "Bob is cooking", "Bob"), ("observation", "Ann Example is reading", "Ann Example"))
    provisional = [n.importance for n in nodes]
    r.mem.drain()
    assert r.settle(2)
    req = fake.requests[0]
    ratings = req.schema["properties"]["ratings"]
    assert ratings["minItems"] == ratings["maxItems"] == 2  # two distinct descriptions wait: exactly two ratings
    assert ratings["items"]["enum"] == list(range(1, 11)) and req.max_tokens == importance.max_tokens_for(2)
    assert "1. Bob is cooking\n2. Bob is eating" in req.messages[-1].content and "Ann Example is reading" not in \
        req.messages[-1].content  # the routine one is not asked about
    assert [n.importance for n in nodes] == [9, 9, 9, provisional[3]]
    assert list(stream.importance[[n.id for n in nodes]]) == [9, 9, 9, provisional[3]]
    assert r.mem.view(r.persona.name, 3).cached_importance("Bob is eating") == 9
    assert stream.since_reflection == before + 27 + provisional[3]
    delta = r.mem.drain()
    assert sorted(delta.rescored) == [(r.persona.name, n.id, 9) for n in nodes[:3]]  # the run store follows


def test_a_rating_that_fails_keeps_the_provisional_scores():
    from smallville.llm.fake import FakeLLM

    r = Rater(FakeLLM(default={"ratings": [1, 2, 3]}))  # wrong count: invalid, falls back to the rules
    nodes = r.add(1, ("observation", "Bob is cooking", "Bob"), ("observation", "Bob is eating", "Bob"))
    provisional = [n.importance for n in nodes]
    assert r.settle(2) and r.decisions[0]["fallback"]
    assert [n.importance for n in nodes] == provisional and importance.waiting(r.ctx(3)) == []


def test_decider_schema_override():
    from smallville.cognition.decisions import render

    vars_ = importance.variables(load_world("tests/data/tiny/world.yaml").residents[0].persona, ["a", "b", "c"])
    _, plain = render("rate_importance", vars_)
    _, bound = render("rate_importance", vars_, schema=importance.schema_for(3))
    assert "maxItems" not in plain["properties"]["ratings"]
    assert bound["properties"]["ratings"]["minItems"] == bound["properties"]["ratings"]["maxItems"] == 3
    msgs, _ = render("rate_importance", vars_)
    assert "each of the 3 memories" in msgs[-1].content and '{"ratings": [r1, r2, r3]}' in msgs[-1].content
    assert not re.search(r"\d", re.sub(r"\br\d+\b|memory \d", "", msgs[-1].content.rsplit("JSON:", 1)[-1]))  # nothing to copy
    # narrowing a string to an agent's places drops the free-text length limit
    _, plan = render("plan_day", {k: "x" for k in ("date", "example", "memories", "name", "persona", "places",
                                                     "routine", "sleep", "wake", "yesterday")},
                     enums={"blocks.place": ["A very long place name " * 10]})
    place = plan["properties"]["blocks"]["items"]["properties"]["place"]
    assert place["enum"] == ["A very long place name " * 10] and "maxLength" not in place


def test_the_perceived_digest_text_is_canonical_json():
    """The retention record is digested from each description's JSON made once: the very bytes
    of :func:`canonical` (quotes, backslashes, control characters, non-ASCII, key order)."""
    from smallville.engine.engine import canonical

    w = load_world("worlds/small.yaml")
    e = Engine(w, AgentPolicy.for_world(w), 5)
    recent = {'Zoë is "baking" \\ bread': 12, "ann is idle": 3, "Ann is idle\n\t": 0, "€ café": 99999, "": 7,
              "b\u2028c": 1}
    assert e._perceived_json(recent) == canonical(recent)
    assert e._perceived_json(recent) == canonical(recent)  # from the made JSON this time
    assert e._perceived_json({}) == canonical({})
    for _ in range(2):  # a resident's sorted descriptions are kept while they are the same ones
        assert e._perceived_json(recent, "Ann") == canonical(recent)
    recent["a new one"] = 5
    recent[""] = 8
    assert e._perceived_json(recent, "Ann") == canonical(recent)
    del recent["ann is idle"]
    assert e._perceived_json(recent, "Ann") == canonical(recent)
