"""Daily planning and decomposition: the rules baseline, the LLM answers' checks, place fallback."""

import asyncio
import datetime as dt
import random

import pytest

from smallville.cognition import plan as P
from smallville.cognition.agent import AgentPolicy
from smallville.cognition.decisions import Decider, InvalidAnswer, Repaired
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.interface import DecisionContext, Observation
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.state import ResidentState
from smallville.llm.fake import FakeLLM
from smallville.llm.wrappers import Structured
from smallville.world.clock import Clock
from smallville.world.config import Persona

ANN = Persona.model_validate({
    "name": "Ann Example", "age": 30, "traits": ["cheerful"], "sociability": 0.8, "background": "Ann runs the cafe.",
    "occupation": "cafe owner", "home": "Ann's House:bedroom", "workplace": "Cafe:cafe",
    "relationships": {"Bob Example": "neighbour"},
    "lifestyle": {"wake": "07:00", "sleep": "22:00", "routine": [
        {"start": "07:00", "end": "07:30", "activity": "getting ready", "place": "Ann's House:bedroom"},
        {"start": "07:30", "end": "12:00", "activity": "serving coffee and chatting with customers",
         "place": "Cafe:cafe", "object": "counter"},
        {"start": "12:00", "end": "13:00", "activity": "cooking lunch", "place": "Cafe:kitchen", "object": "stove"},
        {"start": "13:00", "end": "22:00", "activity": "serving customers", "place": "Cafe:cafe"}]},
    "first_memories": [{"text": "Ann Example is hosting a reading night at the cafe on 13 February at 18:00.",
                        "importance": 8, "event": {"name": "reading night", "place": "Cafe:cafe",
                                                   "start": "2023-02-13 18:00", "end": "2023-02-13 20:00"}}],
})
BOB = Persona.model_validate({
    "name": "Bob Example", "age": 40, "traits": ["quiet"], "sociability": 0.3, "background": "Bob writes.",
    "occupation": "writer", "home": "Bob's House:bedroom",
    "lifestyle": {"wake": "08:00", "sleep": "23:00", "routine": [
        {"start": "08:00", "end": "09:00", "activity": "having coffee", "place": "Cafe:cafe", "object": "table"},
        {"start": "09:00", "end": "23:00", "activity": "writing at home", "place": "Bob's House:bedroom"}]},
})
DAY = dt.date(2023, 2, 13)
EVENT = {"name": "reading night", "place": "Cafe:cafe", "start": "2023-02-13 18:00", "end": "2023-02-13 20:00",
         "invite": "everyone", "host": "Ann Example"}


def node(facts, kind="chat"):
    return {"facts": facts, "kind": kind}


def test_routine_blocks_are_shifted_and_in_order():
    blocks = P.routine_blocks(ANN, 10)
    assert [(b["start"], b["end"]) for b in blocks] == [(430, 460), (460, 730), (730, 790), (790, 1330)]


def test_rules_plan_puts_in_the_events_it_hosts_or_goes_to():
    host = P.rules_plan(ANN, DAY, 0, P.known_events([node({"event": {k: v for k, v in EVENT.items() if k != "host"}},
                                                          "thought")], ANN.name))
    acts = [(P.clock(b["start"]), P.clock(b["end"]), b["activity"]) for b in host["blocks"]]
    assert ("17:30", "18:00", "getting Cafe ready for the reading night") in acts
    assert ("18:00", "20:00", "hosting the reading night") in acts
    assert ("13:00", "17:30", "serving customers") in acts and ("20:00", "22:00", "serving customers") in acts
    heard = [node({"event": EVENT, "heard_from": "Cid"})]
    assert P.rules_plan(BOB, DAY, 0, P.known_events(heard, BOB.name))["blocks"] == P.number(
        [], 0) + P.rules_plan(BOB, DAY, 0, {})["blocks"]  # heard of it, not decided: not in the plan
    going = heard + [node({"event": EVENT, "intent": "attend"}, "plan")]
    guest = P.rules_plan(BOB, DAY, 0, P.known_events(going, BOB.name))
    assert [b["activity"] for b in guest["blocks"] if b["event"]] == ["at the reading night at Cafe"]
    undecided = P.known_events(heard, BOB.name)
    sure = Persona.model_validate({**BOB.model_dump(), "sociability": 1.0, "relationships": {"Ann Example": "friend"}})
    decided = [P.rules_plan(sure, DAY, 0, undecided, rng=random.Random(i)) for i in range(20)]
    assert 10 < sum(any(b["event"] for b in d["blocks"]) for d in decided) < 20  # by the persona's chance
    declined = heard + [node({"event": EVENT, "intent": "decline"}, "plan")]
    assert not any(b["event"] for b in P.rules_plan(BOB, DAY, 0, P.known_events(declined, BOB.name))["blocks"])
    other_day = [node({"event": {**EVENT, "start": "2023-02-14 18:00", "end": "2023-02-14 20:00"}, "intent": "attend"})]
    assert not any(b["event"] for b in P.rules_plan(BOB, DAY, 0, P.known_events(other_day, BOB.name))["blocks"])


def test_replanning_keeps_the_morning():
    keep = [{"start": 480, "end": 600, "activity": "having coffee", "place": "Cafe:cafe", "object": None, "event": None}]
    going = P.known_events([node({"event": EVENT, "intent": "attend"})], BOB.name)
    plan = P.rules_plan(BOB, DAY, 0, going, keep=keep, after=600)
    assert plan["blocks"][0] == keep[0] and plan["blocks"][1]["start"] == 600
    assert any(b["event"] and b["start"] == 1080 for b in plan["blocks"])


def test_insert_block_cuts_what_it_overlaps():
    blocks = [{"start": 0, "end": 100, "activity": "a"}, {"start": 100, "end": 200, "activity": "b"}]
    out = P.insert_block(blocks, {"start": 50, "end": 150, "activity": "x"})
    assert [(b["start"], b["end"], b["activity"]) for b in out] == [(0, 50, "a"), (50, 150, "x"), (150, 200, "b")]


def test_acceptance_depends_on_the_persona():
    sociable_friend = Persona.model_validate({**BOB.model_dump(), "sociability": 0.9,
                                              "relationships": {"Ann Example": "friend"}})
    busy = Persona.model_validate({**ANN.model_dump(), "name": "Cid", "sociability": 0.2, "relationships": {}})
    ev = {**EVENT, "start": "2023-02-13 09:00", "end": "2023-02-13 10:00"}  # Cid works at the cafe then
    assert P.conflicts(busy, ev) == ["serving coffee and chatting with customers"]
    assert P.accept_probability(sociable_friend, EVENT, "Ann Example") > 0.7
    assert P.accept_probability(busy, ev, "Bob Example") < 0.2


@pytest.mark.parametrize("answer, expected, fallback", [
    ("Cafe:cafe", "Cafe:cafe", False),
    ("cafe:CAFE", "Cafe:cafe", False),
    ("Cafe", "Cafe:cafe", True),  # a sector alone: its first known arena
    ("kitchen", "Cafe:kitchen", True),  # an arena name alone
    ("Cafe:kitchn", "Cafe:kitchen", True),  # misspelt: the closest known name
    ("the moon", "Ann's House:bedroom", True),  # unknown: the fallback
])
def test_places_are_checked_against_spatial_memory(answer, expected, fallback):
    got, why = P.resolve_place(answer, P.known_places(ANN, ResidentState()), ANN.home)
    assert got == expected and (why is not None) == fallback


def test_spatial_memory_grows():
    memory = ResidentState(known_places=["Town:square"])
    assert memory.learn_place("Cafe:terrace") and not memory.learn_place("Cafe:terrace")
    assert memory.known_places == ["Cafe:terrace", "Town:square"]
    assert "Cafe:terrace" in P.known_places(ANN, memory) and "Town:square" in P.known_places(ANN, memory)


def test_parse_plan_checks_times_and_places():
    places = P.known_places(ANN, ResidentState())
    good = {"wake": "07:10", "blocks": [
        {"start": "07:10", "end": "08:00", "activity": "getting ready", "place": "Ann's House:bedroom"},
        {"start": "08:00", "end": "13:00", "activity": "serving coffee", "place": "Cafe:cafe"},
        {"start": "13:00", "end": "22:00", "activity": "baking", "place": "Cafe:kitchen"}]}
    plan = P.parse_plan(good, ANN, DAY, 0, places, {})
    assert not isinstance(plan, Repaired) and plan["wake"] == 430
    assert [(b["start"], b["end"]) for b in plan["blocks"]] == [(430, 480), (480, 780), (780, 1320)]
    bad_place = {**good, "blocks": good["blocks"][:2] + [{**good["blocks"][2], "place": "Mars:base"}]}
    mended = P.parse_plan(bad_place, ANN, DAY, 0, places, {})
    assert isinstance(mended, Repaired) and "Mars:base" in mended.reason
    assert mended.value["blocks"][-1]["place"] == ANN.home
    for broken in ({"blocks": "soon"}, {"blocks": [{"start": "7", "end": "8", "activity": "x", "place": "Cafe:cafe"}]},
                   {"wake": "07:00", "blocks": []}):
        with pytest.raises(InvalidAnswer):
            P.parse_plan(broken, ANN, DAY, 0, places, {})


def test_an_accepted_event_the_model_left_out_stays_in_the_plan():
    places = P.known_places(BOB, ResidentState())
    answer = {"wake": "08:00", "blocks": [
        {"start": "08:00", "end": "12:00", "activity": "writing", "place": "Bob's House:bedroom"},
        {"start": "12:00", "end": "23:00", "activity": "writing more", "place": "Bob's House:bedroom"}]}
    going = P.known_events([node({"event": EVENT, "intent": "attend"})], BOB.name)
    plan = P.parse_plan(answer, BOB, DAY, 0, places + ["Cafe:cafe"], going)
    assert any(b["event"] == P.event_key(EVENT) and b["start"] == 1080 for b in plan["blocks"])


def test_decompose_rules_steps_are_5_to_15_minutes_and_cover_the_block():
    block = {"activity": "eating lunch and reviewing notes", "place": "Cafe:cafe"}
    steps = P.rules_decompose(block, 600, 720, random.Random(1))
    assert steps[0]["start"] == 600 and steps[-1]["end"] == 720
    assert all(a["end"] == b["start"] for a, b in zip(steps, steps[1:]))
    assert all(5 <= s["end"] - s["start"] <= 15 + 4 for s in steps)
    assert {s["description"] for s in steps} == {"eating lunch", "reviewing notes"}
    assert P.split_activity("buying fresh milk, fruit and flour") == ["buying fresh milk, fruit and flour"]


def test_parse_decompose_fills_the_stretch():
    steps = P.parse_decompose({"steps": [{"action": "pour", "minutes": 10}, {"action": "sip", "minutes": 30}]}, 600, 680)
    assert [(s["start"], s["end"], s["description"]) for s in steps] == [(600, 620, "pour"), (620, 680, "sip")]
    with pytest.raises(InvalidAnswer):
        P.parse_decompose({"steps": []}, 600, 680)


def test_the_plan_day_changes_in_the_middle_of_the_night():
    late = Persona.model_validate({**BOB.model_dump(), "lifestyle": {**BOB.lifestyle.model_dump(), "sleep": 60}})
    assert P.plan_date(late, dt.datetime(2023, 2, 14, 0, 30)) == DAY  # still Monday's evening
    assert P.plan_date(late, dt.datetime(2023, 2, 14, 7, 50)) == DAY + dt.timedelta(days=1)  # up a bit early
    assert P.plan_date(ANN, dt.datetime(2023, 2, 13, 23, 30)) == DAY


# ---------------------------------------------------------------- through the policy, with a scripted model


def run_policy(llm, persona=ANN, when=dt.datetime(2023, 2, 13, 7, 5)):
    records = []
    decider = Decider(Structured(llm) if llm else None, record=lambda **d: records.append(d))
    mem = MemoryStreams(EmbeddingCache(HashingEmbedder(64)), Clock(dt.datetime(2023, 2, 13, 7, 0), 10),
                 people=[ANN.name, BOB.name])
    mem.seed(persona)
    policy = AgentPolicy({ANN.name: ANN, BOB.name: BOB})
    state = ResidentState()
    ctx = DecisionContext(state=state, rng=random.Random(5),
                          decide=lambda name, **kw: decider.decide(name, agent=persona.name, tick=30, **kw),
                          stream=mem.view(persona.name, 30))
    obs = Observation(persona.name, 30, when, 1, 1, "Ann's House:bedroom", "")
    action = asyncio.run(policy.decide(obs, ctx))
    return action, state, records, ctx


def test_one_plan_a_day_and_the_current_step_of_the_current_block():
    action, memory, records, ctx = run_policy(None)
    # the current stretch, then the next one decomposed ahead (work for later; applied at once without an engine)
    assert [r["name"] for r in records] == ["plan_day", "decompose", "decompose"]
    assert memory.ahead["start"] == memory.queue["until"] and memory.ahead["steps"][0]["start"] == memory.ahead["start"]
    assert memory.plan["day"] == "2023-02-13" and action.place == "Ann's House:bedroom"
    assert [e["kind"] for e in ctx.events] == ["plan"]
    assert any(b["activity"] == "hosting the reading night" for b in ctx.events[0]["data"]["blocks"])
    assert ctx.stream.nodes[-1].kind == "plan"


def test_llm_plan_with_an_unknown_place_falls_back_to_a_known_one_and_is_recorded():
    answer = {"wake": "07:00", "blocks": [
        {"start": "07:00", "end": "09:00", "activity": "tidying up", "place": "Atlantis:palace"},
        {"start": "09:00", "end": "22:00", "activity": "serving coffee", "place": "Cafe:cafe"}]}
    steps = {"steps": [{"action": "making the bed", "minutes": 10}, {"action": "dusting", "minutes": 10}]}
    llm = FakeLLM([answer, steps, steps])
    action, memory, records, _ = run_policy(llm)
    assert records[0]["name"] == "plan_day" and records[0]["fallback"] is True
    assert "Atlantis:palace" in records[0]["reason"]
    assert memory.plan["blocks"][0]["place"] == ANN.home and action.description == "making the bed"
    assert "plans for today" not in llm.prompts[0]  # the focal text is not shown, its memories are
    assert "reading night" in llm.prompts[0]  # retrieved for "plans for today"


def test_llm_garbage_plan_falls_back_to_the_rules_plan():
    llm = FakeLLM([{"wake": "x", "blocks": []}, {"steps": [{"action": "a", "minutes": 5}]}], default="not json")
    _, memory, records, _ = run_policy(llm)
    assert records[0]["fallback"] is True
    assert any(b["activity"] == "hosting the reading night" for b in memory.plan["blocks"])


def test_what_an_answer_leaves_out_follows_the_usual_day():
    places = P.known_places(ANN, ResidentState())
    short = {"wake": "07:00", "blocks": [
        {"start": "07:00", "end": "07:30", "activity": "getting ready", "place": "Ann's House:bedroom"},
        {"start": "07:30", "end": "09:00", "activity": "baking", "place": "Cafe:kitchen"}]}
    plan = P.parse_plan(short, ANN, DAY, 0, places, {})
    assert isinstance(plan, Repaired) and "the rest follows the routine" in plan.reason
    blocks = [(P.clock(b["start"]), P.clock(b["end"]), b["activity"]) for b in plan.value["blocks"]]
    assert blocks[:3] == [("07:00", "07:30", "getting ready"), ("07:30", "09:00", "baking"),
                          ("09:00", "12:00", "serving coffee and chatting with customers")]
    assert blocks[-1] == ("13:00", "22:00", "serving customers")
