"""Conversations: the rules turns, the engine's mechanics (meet, turns, utterances, end, cooldown),
what both sides remember, and how a heard invitation changes the listener's plan."""

import asyncio
import datetime as dt
import json
import random
import shutil

import pytest
import yaml

from conftest import DATA
from smallville.cognition import converse, react
from smallville.cognition import plan as P
from smallville.cognition.agent import AgentPolicy
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.interface import ConversationView, Line, Observation, Seen
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.state import ReactMemo
from smallville.engine.engine import Engine
from smallville.world.config import Persona
from smallville.world.world import load_world

NOW = dt.datetime(2023, 2, 13, 8, 30)
EVENT = {"name": "reading night", "place": "Cafe:cafe", "start": "2023-02-13 11:00", "end": "2023-02-13 12:00",
         "invite": "everyone", "host": "Ann Example"}


def persona(name, sociability=0.8, relationships=None):
    return Persona.model_validate({
        "name": name, "age": 30, "traits": ["x"], "sociability": sociability, "background": "b", "occupation": "o",
        "home": "Home:room", "relationships": relationships or {},
        "lifestyle": {"wake": "07:00", "sleep": "22:00", "routine": [
            {"start": "07:00", "end": "22:00", "activity": "working", "place": "Cafe:cafe"}]}})


def view(lines=(), partner="Bob Example"):
    return ConversationView(1, partner, "Ann Example", tuple(lines), NOW, "Cafe:cafe")


def obs(name="Ann Example"):
    return Observation(name, 100, NOW, 1, 1, "Cafe:cafe", "serving coffee")


def invite_item(speaker="Ann Example"):
    return {"key": P.event_key(EVENT), "kind": "event", "importance": 10, "own": speaker == EVENT["host"],
            "text": converse.event_sentence(EVENT, speaker, NOW), "fact": {"type": "event", "event": EVENT},
            "name": EVENT["name"]}


def test_the_host_invites_with_place_and_time():
    t = converse.rules_turn(persona("Ann Example"), obs(), view(), [invite_item()], {}, random.Random(1))
    assert t.text == "Hi Bob! I'm hosting a reading night at Cafe today from 11:00 to 12:00. Would you like to come?"
    assert t.facts == ({"type": "event", "event": EVENT},) and not t.end
    passed_on = converse.event_sentence(EVENT, "Cid", NOW)
    assert passed_on.startswith("Have you heard? Ann Example is hosting a reading night at Cafe today")


def test_the_listener_answers_and_the_conversation_ends_when_nothing_is_left_to_say():
    first = Line("Ann Example", "Hi Bob! ...", ({"type": "event", "event": EVENT},))
    bob = persona("Bob Example", sociability=1.0, relationships={"Ann Example": "friend"})
    t = converse.rules_turn(bob, obs("Bob Example"), view([first], partner="Ann Example"), [], {}, random.Random(0))
    assert t.facts[0]["type"] == "reply" and t.facts[0]["event"] == P.event_key(EVENT)
    assert t.end  # nothing of his own to tell
    # already decided: the same answer, no new draw
    again = converse.rules_turn(bob, obs("Bob Example"), view([first], partner="Ann Example"), [],
                                {P.event_key(EVENT): {"intent": "decline", "heard_from": []}}, random.Random(0))
    assert again.facts[0]["accept"] is False


def test_small_talk_is_short():
    ann, bob = persona("Ann Example"), persona("Bob Example")
    t1 = converse.rules_turn(ann, obs(), view(), [], {}, random.Random(1))
    t2 = converse.rules_turn(bob, obs("Bob Example"), view([Line("Ann Example", t1.text)], "Ann Example"), [], {},
                             random.Random(1))
    assert t1.text == "Hi Bob! How are you doing?" and not t1.end
    assert t2.end and "serving coffee" in t2.text


def test_events_are_passed_on_only_to_those_invited():
    assert converse.may_tell(EVENT, "Bob Example")
    assert not converse.may_tell(EVENT, "Ann Example")  # not back to the host
    assert not converse.may_tell({**EVENT, "invite": "nobody"}, "Bob Example")
    assert converse.may_tell({**EVENT, "invite": ["Bob Example"]}, "Bob Example")
    assert not converse.may_tell({**EVENT, "invite": ["Bob Example"]}, "Cid")


def test_react_talks_more_with_news_and_waits_for_someone_busy():
    ann = persona("Ann Example", sociability=0.5, relationships={"Bob Example": "friend"})
    own = [invite_item()]
    assert react.talk_probability(ann, "Bob Example", own) > react.talk_probability(ann, "Bob Example", []) + 0.3
    assert react.talk_probability(ann, "Cid", []) < react.talk_probability(ann, "Bob Example", [])
    busy = Seen("Bob Example", 2, 2, "talking with Cid", 2, talking=True)
    assert react.rules_react(ann, busy, own, random.Random(0)) == "wait"
    assert react.rules_react(ann, busy, [], random.Random(0)) == "continue"


def test_react_gates_keep_decisions_rare():
    memory = ReactMemo()
    o = Observation("Ann Example", 1, NOW, 0, 0, "Cafe:cafe", "x", (Seen("Bob Example", 1, 0, "y", 1),))
    assert react.gate(memory, o, lambda n: []).name == "Bob Example"
    react.mark(memory, o, "Bob Example")
    assert react.gate(memory, o, lambda n: []) is None  # this agent reacted just now
    later = Observation("Ann Example", 2, NOW + react.REACT_GAP, 0, 0, "Cafe:cafe", "x", o.nearby)
    assert react.gate(memory, later, lambda n: []) is None  # and to Bob within the pair gap
    assert not react.ready(memory, later.now, ["Bob Example"]) and react.ready(memory, later.now, ["Cid"])


# ---------------------------------------------------------------- through the engine, on the tiny world


@pytest.fixture
def party_world(tmp_path):
    """The tiny world where Ann hosts a reading night at the cafe at 11:00 and Bob has coffee there at 8."""
    dst = tmp_path / "tiny"
    shutil.copytree(DATA / "tiny", dst)
    ann = yaml.safe_load((dst / "ann.yaml").read_text())
    ann["first_memories"] = [{"text": "Ann Example is hosting a reading night at the cafe today at 11:00.",
                              "importance": 8, "event": {k: v for k, v in EVENT.items() if k != "host"}}]
    (dst / "ann.yaml").write_text(yaml.safe_dump(ann))
    return dst / "world.yaml"


def run_world(path, ablations=(), until_tick=None):
    w = load_world(path)
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder(64)))
    policy = AgentPolicy({r.persona.name: r.persona for r in w.residents}, ablations)
    engine = Engine(w, policy, 3, memory=mem)
    recs = []

    async def go():
        for _ in range(until_tick or 1860):
            recs.append(await engine.step())

    asyncio.run(go())
    return engine, mem, recs


@pytest.fixture
def sure(monkeypatch):
    """Talk whenever possible and say yes to every invitation."""
    monkeypatch.setattr(react, "talk_probability", lambda *a: 1.0)
    monkeypatch.setattr(P, "accept_probability", lambda *a: 1.0)


def test_a_conversation_spreads_an_invitation_and_the_listener_goes(party_world, sure):
    engine, mem, recs = run_world(party_world)
    events = [e for r in recs for e in r.events]
    convs = [e for e in events if e["kind"] == "conversation"]
    assert convs, [e["kind"] for e in events]
    c = convs[0]["data"]
    assert sorted(c["participants"]) == ["Ann Example", "Bob Example"]
    assert any("reading night" in l["text"] for l in c["lines"] if l["speaker"] == "Ann Example")
    assert 2 <= len(c["lines"]) <= 10
    # every line was up on the speaker, visible in the recorded rows
    said = {(r["name"], r["utterance"]) for rec in recs for r in rec.agents if r["utterance"]}
    assert {(l["speaker"], l["text"]) for l in c["lines"]} <= said
    # both remember it; the listener with the event's structured facts and its own decision
    bob = mem.stream("Bob Example").nodes
    heard = [n for n in bob if n.facts and n.facts.get("heard_from") == "Ann Example"]
    assert heard and heard[0].facts["event"]["place"] == "Cafe:cafe" and heard[0].facts["event"]["host"] == "Ann Example"
    assert any(n.facts and n.facts.get("intent") == "attend" for n in bob)
    assert any("talked with Bob Example" in n.description for n in mem.stream("Ann Example").nodes)
    # salient: Bob rewrote the rest of his day, and went
    plans = [e for e in events if e["kind"] == "plan" and e["agent"] == "Bob Example"]
    assert plans[-1]["data"]["reason"] == "replan"
    assert any(b.get("event") == P.event_key(EVENT) for b in plans[-1]["data"]["blocks"])
    at_1130 = engine.clock.tick_at(dt.datetime(2023, 2, 13, 11, 30))
    bob_rows = [r for rec in recs[:at_1130] for r in rec.agents if r["name"] == "Bob Example"]
    assert bob_rows[-1]["place"].startswith("Cafe:cafe")
    # the pair does not talk again straight away
    assert len(convs) == 1


def test_ablate_conversation_keeps_the_news_with_the_host(party_world, sure):
    engine, mem, recs = run_world(party_world, ablations=("conversation",))
    assert not [e for r in recs for e in r.events if e["kind"].startswith("conversation")]
    assert not any("reading night" in n.description for n in mem.stream("Bob Example").nodes)


def test_conversations_are_deterministic_and_survive_a_checkpoint(party_world, sure):
    a, _, ra = run_world(party_world, until_tick=700)
    b, _, rb = run_world(party_world, until_tick=700)
    assert [r.digest for r in ra] == [r.digest for r in rb]
    snap = a.snapshot()
    assert json.loads(snap.to_json())["world"]["talked"] == snap.world.talked
