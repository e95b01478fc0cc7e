"""``analyze`` on a run store built here, row by row, whose numbers are worked out by hand.

Five residents, 16:00 to 19:00 on 14 February, one tick a game minute. Every routine keeps its
resident at home all day, except Eve's, which keeps her at the cafe. Ann hosts a "spring
party" at the cafe from 17:00 to 18:00 (her first memory declares it).

- 16:00 Ann knows of it (her memory). 16:30 Ann tells Bob ("Come to my spring party…").
  16:45 Cal *sees* balloons for a party (an observation: he knows, told by nobody).
  17:30 Bob tells Dan ("Ann is hosting a party…"). So the party fact's hourly timeline is
  16:00 → 1, 17:00 → 3, 18:00 → 4, 19:00 → 4, and the tree is Ann (0 hops) → Bob (1) → Dan (2),
  Cal a root (0).
- Relationships: Ann names Bob, Cal names Ann: 2 edges of 10 → density 0.2; Bob and Dan talk
  at 17:30, a new edge: 3 of 10 → 0.3 (0.2 at 16:00 and 17:00, 0.3 from 18:00).
- 17:00–17:45 Ann, Bob and Cal are in the cafe (off their routines: 45 minutes, 3 people): a
  gathering, with Eve there by routine (``also_present``) and Dan only from 17:00 to 17:05
  (too short to count). 18:10–18:30 the three are in the park: 20 minutes, not a gathering.
  Before 17:00 only Bob holds the spring party's facts (his memory of what Ann told him; Cal only
  saw "a party"): 1 heard, 1 came; Cal and Eve were there without having heard (issue 20: "heard"
  was a name in any told-by text, now it is a memory holding the event's facts, so Bob's memory of
  the telling is in the store as a real run stores it).
- Model use: two decisions (one a fallback), one call sent (100 + 20 tokens) and one cache hit;
  2 decisions / 5 residents / 0.125 days = 3.2 per resident per day.

The same run with structured ``heard`` records (issue 10) instead: Dan hears at 17:35 and what
he is told names the event only in its facts.
"""

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from conftest import run_cli
from smallville.analysis.analyze import analyze, metrics
from smallville.analysis.gatherings import routine_places
from smallville.store.runstore import RunWriter

START = dt.datetime(2023, 2, 14, 16, 0)
NAMES = ["Ann", "Bob", "Cal", "Dan", "Eve"]
PARTY = {"name": "spring party", "place": "Cafe:cafe", "start": "2023-02-14 17:00", "end": "2023-02-14 18:00"}


def persona(name, place=None, relationships=None, memories=()):
    home = f"{name}'s House:room"
    return {"name": name, "age": 30, "traits": ["calm"], "background": "x", "occupation": "x",
            "lifestyle": {"wake": 360, "sleep": 1380,
                          "routine": [{"start": 360, "end": 1380, "activity": "living", "place": place or home,
                                       "object": None}]},
            "home": home, "relationships": relationships or {}, "first_memories": list(memories)}


PERSONAS = {
    "Ann": persona("Ann", relationships={"Bob": "friend"},
                   memories=[{"text": "Ann is planning a spring party at the Cafe", "importance": 8, "event": PARTY}]),
    "Bob": persona("Bob"), "Cal": persona("Cal", relationships={"Ann": "neighbour"}), "Dan": persona("Dan"),
    "Eve": persona("Eve", place="Cafe:cafe"),
}


def mem(agent, i, tick, kind, text, facts=None):
    return {"agent": agent, "id": i, "tick": tick, "kind": kind, "description": text, "subject": None,
            "predicate": None, "object": None, "importance": 5, "depth": 0, "evidence": None,
            "facts": json.dumps(facts) if facts else None, "embedding": ""}


def where(name, minute):
    """The place of each resident at a game minute after 16:00."""
    home = f"{name}'s House:room"
    if name == "Eve":
        return "Cafe:cafe:counter"
    if name in ("Ann", "Bob", "Cal"):
        if 60 <= minute < 105:
            return "Cafe:cafe"
        if 130 <= minute < 150:
            return "Park:park"
        return home
    if name == "Dan" and 60 <= minute < 65:
        return "Cafe:cafe"
    return home if name != "Dan" or minute < 65 else "Main Street"


def build(run_dir, heard=False):
    w = RunWriter.create(run_dir, {"run_id": "hand", "seed": 1, "backend": "openai", "model": "m"},
                         [(n, PERSONAS[n]) for n in NAMES], {},
                         {"world": {"name": "hand", "facts": [{"name": "party", "keywords": ["Party"]}]},
                          "start": START.isoformat(), "tick_seconds": 60})
    events = {
        30: [{"agent": "Ann", "kind": "conversation", "data": {
            "participants": ["Ann", "Bob"], "place": "Ann's House:room",
            "lines": [{"speaker": "Ann", "text": "Come to my spring party at the cafe at five!"},
                      {"speaker": "Bob", "text": "Sure."}]}}],
        90: [{"agent": "Bob", "kind": "conversation", "data": {
            "participants": ["Bob", "Dan"], "place": "Main Street",
            "lines": [{"speaker": "Bob", "text": "Ann is hosting a party."}, {"speaker": "Dan", "text": "Nice."}]}}],
    }
    if heard:
        events[30].append({"agent": "Bob", "kind": "heard", "data": {
            "from": "Ann", "text": "Come to my spring party at the cafe at five!", "memory_id": None,
            "conversation": 1, "facts": [{"kind": "event", "name": "spring party"}]}})
        events.setdefault(95, []).append({"agent": "Dan", "kind": "heard", "data": {
            "from": "Bob", "text": "You should come to Ann's thing.", "memory_id": None, "conversation": 2,
            "facts": [{"kind": "event", "name": "spring party", "place": "Cafe:cafe"}]}})
    memories = {0: [mem("Ann", 0, 0, "observation", "Ann is planning a spring party at the Cafe", {"event": PARTY})],
                30: [mem("Bob", 0, 30, "chat", "Ann told Bob about her spring party at the cafe at five",
                         {"event": {**PARTY, "host": "Ann"}, "heard_from": "Ann"})],
                45: [mem("Cal", 0, 45, "observation", "Cal saw balloons for a party at the Cafe")]}
    decisions = {0: [{"agent": "Ann", "name": "plan_day", "backend": "rules", "fallback": False}],
                 10: [{"agent": "Bob", "name": "converse_turn", "backend": "openai", "fallback": True}]}
    last = {}
    for tick in range(0, 181):
        if tick == 10:
            for cached in (False, True):
                w.add_llm_call({"tick": 10, "agent": "Bob", "decision": "converse_turn", "backend": "openai",
                                "model": "m", "key": "k", "attempt": 1, "messages": [], "schema_name": None,
                                "params": {}, "response": "", "value": None, "tokens_in": 100, "tokens_out": 20,
                                "latency_s": 0.5, "cached": cached, "requests": 1, "error": None,
                                "error_kind": None, "note": None})
        rows = []
        for i, n in enumerate(NAMES):
            r = {"name": n, "x": i, "y": 0, "action": "x", "emoji": "", "place": where(n, tick), "target": "",
                 "utterance": None}
            if last.get(n) != r:
                rows.append(r)
                last[n] = r
        delta = SimpleNamespace(memories=memories.get(tick, []), accesses=[], embeddings=[], rescored=[])
        w.record(SimpleNamespace(tick=tick, time=START + dt.timedelta(minutes=tick), digest="0" * 8, agents=rows,
                                 events=events.get(tick, []), object_changes=[], decisions=decisions.get(tick, []),
                                 memory=delta))
    w.close(status="complete")
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hand") / "run")


@pytest.fixture(scope="module")
def heard_run(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hand") / "run", heard=True)


def test_diffusion_timeline_and_tree_from_conversation_lines(run):
    d = analyze(run)["diffusion"]["party"]
    assert (d["start"], d["end"], d["population"]) == (1, 4, 5)
    assert [(p["time"], p["count"]) for p in d["timeline"]] == [
        ("2023-02-14 16:00", 1), ("2023-02-14 17:00", 3), ("2023-02-14 18:00", 4), ("2023-02-14 19:00", 4)]
    tree = {n["name"]: (n["time"], n["told_by"], n["hops"]) for n in d["tree"]}
    assert tree == {"Ann": ("2023-02-14 16:00", None, 0), "Bob": ("2023-02-14 16:30", "Ann", 1),
                    "Cal": ("2023-02-14 16:45", None, 0), "Dan": ("2023-02-14 17:30", "Bob", 2)}
    assert d["told_source"] == "conversation" and d["max_hops"] == 2


def test_diffusion_reads_structured_heard_records_when_the_run_has_them(heard_run):
    d = analyze(heard_run)["diffusion"]["party"]
    assert d["told_source"] == "heard"
    tree = {n["name"]: (n["time"], n["told_by"], n["hops"]) for n in d["tree"]}
    # Dan's record names the party only in its facts, five minutes after the conversation line
    assert tree["Dan"] == ("2023-02-14 17:35", "Bob", 2) and tree["Bob"] == ("2023-02-14 16:30", "Ann", 1)
    assert [p["count"] for p in d["timeline"]] == [1, 3, 4, 4]


def test_network_density_by_hand(run):
    nd = analyze(run)["network_density"]
    assert (nd["start"], nd["end"]) == (0.2, 0.3)  # 2 and 3 edges of 5·4/2 = 10
    assert [p["density"] for p in nd["timeline"]] == [0.2, 0.2, 0.3, 0.3]


def test_one_gathering_with_its_attendees_and_the_event_it_was(run):
    gs = analyze(run)["gatherings"]
    assert len(gs) == 1, gs  # the 20 minutes in the park are too short
    g = gs[0]
    assert (g["place"], g["start"], g["end"]) == ("Cafe:cafe", "2023-02-14 17:00", "2023-02-14 17:45")
    assert g["attendees"] == ["Ann", "Bob", "Cal"]  # Dan's five minutes are too few
    assert g["also_present"] == ["Eve"]  # her routine puts her there
    assert g["event"]["name"] == "spring party" and g["event"]["host"] == "Ann"
    assert (g["event"]["heard"], g["event"]["came"]) == (["Bob"], ["Bob"])
    assert g["event"]["came_unheard"] == ["Cal", "Eve"] and g["event"]["came_by_routine"] == []


def test_model_use(run):
    llm = analyze(run)["llm"]
    assert (llm["calls"], llm["cache_hits"], llm["tokens_in"], llm["tokens_out"]) == (1, 1, 100, 20)
    assert (llm["decisions"], llm["fallbacks"]) == (2, 1)
    assert llm["decisions_by_decision"]["converse_turn"]["fallbacks"] == 1
    assert llm["decisions_per_resident_per_day"] == pytest.approx(3.2)


def test_metrics_are_flat_numbers(run):
    m = metrics(analyze(run))
    assert m["diffusion.party.end"] == 4 and m["network_density.end"] == 0.3 and m["gatherings.count"] == 1
    assert m["event.spring party.came"] == 1
    assert all(isinstance(v, (int, float)) for v in m.values())


def test_routine_places_follow_the_persona():
    p = PERSONAS["Eve"]
    arr = routine_places(p)
    assert arr[17 * 60] == "Cafe:cafe" and arr[3 * 60] == "Eve's House:room"


def test_cli_analyze_json_and_report(run, tmp_path):
    r = run_cli("analyze", str(run), "--json", "--report", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("diffusion", "network_density", "gatherings", "llm"):
        assert key in out
    assert {"start", "end", "population", "timeline", "tree"} <= set(out["diffusion"]["party"])
    assert {"place", "start", "end", "attendees", "event"} <= set(out["gatherings"][0])
    html = (tmp_path / "rep" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "Park et al. 2023" in html
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| network density" in md


def test_cli_analyze_bad_run_exits_2(tmp_path):
    r = run_cli("analyze", str(tmp_path))
    assert r.returncode == 2 and "not a run directory" in r.stderr and "Traceback" not in r.stderr


def test_the_viewer_timeline_marks_the_gathering(run):
    from smallville.store.runstore import RunReader
    from smallville.viewer.snapshot import detected_gatherings

    r = RunReader(run)
    marks = detected_gatherings(r)
    r.close()
    assert [(m.kind, m.tick, m.end) for m in marks] == [("gathering", 60, 105)]
    assert "Cafe:cafe" in marks[0].label and "Bob" in marks[0].label
