"""Plans keep their commitments (issue 20, part 6): an event a resident hosts or said yes to is in
its plan for its whole span — on the model path too, where the check used to look only at the
event's start minute — and an event it hosts outranks an invitation it accepted for the same hours,
on both backends."""

import datetime as dt

from smallville.cognition import plan as P
from smallville.cognition.state import ResidentState
from smallville.llm.fake import FakeLLM
from test_plan import ANN, DAY, EVENT, node, run_policy

GAME = {"name": "trivia night", "place": "Pub:bar", "start": "2023-02-13 18:00", "end": "2023-02-13 21:00",
        "invite": "everyone", "host": "Bob Example"}
OWN = {k: v for k, v in EVENT.items() if k != "host"}  # Ann's own first memory names no host


def spans(plan, key):
    return [(P.clock(b["start"]), P.clock(b["end"]), b["place"]) for b in plan["blocks"] if b["event"] == key]


def at(plan, minute):
    return next(b for b in plan["blocks"] if b["start"] <= minute < b["end"])


def test_a_day_shifted_by_six_minutes_keeps_the_hosts_event_for_its_whole_span():
    # the model's usual day six minutes late: its 13:06-18:06 cafe block covers the event's start minute
    # (18:00), so a check of the start minute alone let the host leave at 18:06
    shifted = {"wake": "07:06", "blocks": [
        {"start": "07:06", "end": "07:36", "activity": "getting ready", "place": "Ann's House:bedroom"},
        {"start": "07:36", "end": "12:06", "activity": "serving coffee and chatting with customers", "place": "Cafe:cafe"},
        {"start": "12:06", "end": "13:06", "activity": "cooking lunch", "place": "Cafe:kitchen"},
        {"start": "13:06", "end": "18:06", "activity": "serving customers", "place": "Cafe:cafe"},
        {"start": "18:06", "end": "22:00", "activity": "reading a novel", "place": "Ann's House:bedroom"}]}
    steps = {"steps": [{"action": "making the bed", "minutes": 10}, {"action": "dusting", "minutes": 10}]}
    _, memory, records, _ = run_policy(FakeLLM([shifted, steps, steps]))
    assert records[0]["name"] == "plan_day" and records[0]["fallback"] is False
    plan = memory.plan
    for m in range(18 * 60, 20 * 60, 5):  # every minute of the event: at the cafe, hosting
        b = at(plan, m)
        assert b["place"] == "Cafe:cafe" and b["event"] == P.event_key(EVENT), (P.clock(m), b)
    assert at(plan, 20 * 60 + 30)["activity"] == "reading a novel"  # the rest of the model's day stays


def test_the_model_path_checks_the_whole_span_not_the_start_minute():
    places = P.known_places(ANN, ResidentState())
    hosts = P.known_events([node({"event": OWN}, "thought")], ANN.name)
    partly = {"wake": "07:00", "blocks": [
        {"start": "07:00", "end": "18:30", "activity": "serving customers", "place": "Cafe:cafe"},
        {"start": "18:30", "end": "22:00", "activity": "resting", "place": "Ann's House:bedroom"}]}
    plan = P.parse_plan(partly, ANN, DAY, 0, places, hosts)
    assert at(plan, 19 * 60)["place"] == "Cafe:cafe" and at(plan, 19 * 60 + 59)["event"] == P.event_key(EVENT)
    whole = {"wake": "07:00", "blocks": [
        {"start": "07:00", "end": "20:00", "activity": "serving customers", "place": "Cafe:cafe"},
        {"start": "20:00", "end": "22:00", "activity": "resting", "place": "Ann's House:bedroom"}]}
    kept = P.parse_plan(whole, ANN, DAY, 0, places, hosts)
    assert not spans(kept, P.event_key(EVENT))  # the model's own cafe block covers it all: left as the model said


def committed_to_both():
    return P.known_events([node({"event": OWN}, "thought"), node({"event": GAME, "heard_from": "Bob Example"}),
                           node({"event": GAME, "intent": "attend"}, "plan")], ANN.name)


def test_an_event_hosted_outranks_an_accepted_invitation_rules():
    events = committed_to_both()
    assert {k["intent"] for k in events.values()} == {"attend"}
    plan = P.rules_plan(ANN, DAY, 0, events)
    assert spans(plan, P.event_key(EVENT))[-1] == ("18:00", "20:00", "Cafe:cafe")
    assert spans(plan, P.event_key(GAME)) == [("20:00", "21:00", "Pub:bar")]  # what is left of the trivia night


def test_an_event_hosted_outranks_an_accepted_invitation_model():
    places = P.known_places(ANN, ResidentState()) + ["Pub:bar"]
    answer = {"wake": "07:00", "blocks": [
        {"start": "07:00", "end": "18:00", "activity": "serving customers", "place": "Cafe:cafe"},
        {"start": "18:00", "end": "21:00", "activity": "playing board games", "place": "Pub:bar"},
        {"start": "21:00", "end": "22:00", "activity": "resting", "place": "Ann's House:bedroom"}]}
    plan = P.parse_plan(answer, ANN, DAY, 0, places, committed_to_both())
    for m in range(18 * 60, 20 * 60, 5):
        assert at(plan, m)["place"] == "Cafe:cafe" and at(plan, m)["event"] == P.event_key(EVENT)
    assert at(plan, 20 * 60 + 30)["place"] == "Pub:bar"


def test_commitments_put_the_hosted_event_last():
    order = [ev["name"] for ev in P.commitments(committed_to_both(), ANN.name, DAY)]
    assert order == ["trivia night", "reading night"]
    assert P.commitments(committed_to_both(), ANN.name, DAY + dt.timedelta(days=1)) == []
