"""Events followed by their facts, told-by provenance and bad stores (issue 20), on run stores
built here row by row whose answers are worked out by hand.

Four residents, 16:00 to 19:00 on 14 February, one tick a game minute; every routine keeps its
resident at home except where said. Ann hosts something at the cafe 17:00-18:00.
"""

import datetime as dt
import json
import sqlite3
import shutil
from types import SimpleNamespace

import pytest

from conftest import run_cli
from smallville.analysis.analyze import analyze
from smallville.analysis.report import render_text, run_report
from smallville.store.runstore import RunWriter
from test_analysis import mem, persona

START = dt.datetime(2023, 2, 14, 16, 0)
NAMES = ["Ann", "Bob", "Cal", "Dan"]
HOURS = {"place": "Cafe:cafe", "start": "2023-02-14 17:00", "end": "2023-02-14 18:00"}


def store(run_dir, personas, where, memories=(), events=None, facts=None):
    """A run store: ``where(name, minute) -> place``; ``memories``: (agent, tick, kind, text, facts)."""
    names = list(personas)
    w = RunWriter.create(run_dir, {"run_id": "hand", "seed": 1, "backend": "rules", "model": None},
                         [(n, personas[n]) for n in names], {},
                         {"world": {"name": "hand", "facts": facts or []}, "start": START.isoformat(),
                          "tick_seconds": 60})
    by_tick: dict[int, list] = {}
    for i, (agent, tick, kind, text, f) in enumerate(memories):
        by_tick.setdefault(tick, []).append(mem(agent, i, tick, kind, text, f))
    last = {}
    for tick in range(0, 181):
        rows = []
        for i, n in enumerate(names):
            r = {"name": n, "x": i, "y": 0, "action": "x", "emoji": "", "place": where(n, tick), "target": "",
                 "utterance": None}
            if last.get(n) != r:
                rows.append(r)
                last[n] = r
        w.record(SimpleNamespace(tick=tick, time=START + dt.timedelta(minutes=tick), digest="0" * 8, agents=rows,
                                 events=(events or {}).get(tick, []), object_changes=[], decisions=[],
                                 memory=SimpleNamespace(memories=by_tick.get(tick, []), accesses=[], embeddings=[],
                                                        rescored=[])))
    w.close(status="complete")
    return run_dir


def home(n):
    return f"{n}'s House:room"


# ---------------------------------------------------------------- a plain-words event


def test_a_plain_words_event_has_its_own_hours_and_host(tmp_path):
    """The host's first memory says it in words (read into facts without a host); its plan's first
    block for it is the half hour of getting ready (16:30-17:00) — not the event's hours."""
    personas = {n: persona(n) for n in NAMES}
    personas["Ann"]["first_memories"] = [{"text": "Ann is hosting a cake morning at the cafe today at 5pm"}]
    ev = {"name": "cake morning", **HOURS}

    def where(n, m):
        if n == "Ann" and m >= 30:
            return "Cafe:cafe"  # getting ready from 16:30, then hosting
        if n in ("Bob", "Cal") and 60 <= m < 120:
            return "Cafe:cafe"
        return home(n)

    run = store(tmp_path / "run", personas, where, [
        ("Ann", 0, "thought", "Ann is hosting a cake morning at the cafe today at 5pm", {"event": ev}),
        ("Bob", 20, "chat", "Ann told Bob of a cake morning", {"event": {**ev, "host": "Ann"}, "heard_from": "Ann"}),
        ("Cal", 40, "chat", "Bob told Cal of a cake morning", {"event": {**ev, "host": "Ann"}, "heard_from": "Bob"}),
    ], events={0: [{"agent": "Ann", "kind": "plan", "data": {"day": "2023-02-14", "blocks": [
        {"start": "16:30", "end": "17:00", "activity": "getting ready", "place": "Cafe:cafe",
         "event": "cake morning@2023-02-14 17:00"}]}}]})
    (e,) = analyze(run)["events"]
    assert (e["name"], e["host"], e["place"], e["start"], e["end"]) == (
        "cake morning", "Ann", "Cafe:cafe", "2023-02-14 17:00", "2023-02-14 18:00")
    assert e["heard"] == ["Bob", "Cal"] and "Ann" not in e["heard"]
    assert e["came"] == ["Bob", "Cal"] and e["host_present"]
    (g,) = analyze(run)["gatherings"]
    assert g["event"]["name"] == "cake morning" and g["event"]["came"] == ["Bob", "Cal"]


# ---------------------------------------------------------------- a paraphrased event


def test_a_paraphrased_event_is_one_event_whatever_each_resident_calls_it(tmp_path):
    personas = {n: persona(n) for n in NAMES}

    def where(n, m):
        return "Cafe:cafe" if 60 <= m < 120 else home(n)

    run = store(tmp_path / "run", personas, where, [
        ("Ann", 0, "thought", "Ann will have friends over at the cafe", {"event": {"name": "get-together", **HOURS}}),
        ("Bob", 10, "chat", "Ann mentioned a little gathering",
         {"event": {"name": "little gathering", **HOURS, "host": "Ann"}, "heard_from": "Ann"}),
        # Cal's version: a sector only, hours slightly different — still the same event
        ("Cal", 20, "chat", "something at the cafe with Ann",
         {"event": {"name": "cafe meetup", "place": "Cafe", "start": "2023-02-14 17:15",
                    "end": "2023-02-14 18:15", "host": "Ann"}, "heard_from": "Bob"}),
        ("Dan", 30, "chat", "Bob said there's a get-together",
         {"event": {"name": "get-together", **HOURS, "host": "Ann"}, "heard_from": "Bob"}),
    ])
    r = analyze(run)
    (e,) = r["events"]
    assert (e["name"], e["host"], e["start"], e["end"]) == ("get-together", "Ann", "2023-02-14 17:00",
                                                             "2023-02-14 18:00")
    assert set(e["names"]) == {"get-together", "little gathering", "cafe meetup"} and e["names"][0] == "get-together"
    assert e["heard"] == ["Bob", "Cal", "Dan"] and e["came"] == ["Bob", "Cal", "Dan"]
    (g,) = r["gatherings"]
    assert g["event"] is not None and g["event"]["came_count"] == 3


# ---------------------------------------------------------------- an invitee with only the host there; a resident who saw


def two_at_the_party(tmp_path, cal_minutes=(60, 75)):
    personas = {n: persona(n) for n in NAMES}
    personas["Dan"] = persona("Dan", place="Cafe:cafe")  # there every day by routine
    ev = {"name": "spring party", **HOURS}

    def where(n, m):
        if n == "Dan":
            return "Cafe:cafe"
        if n in ("Ann", "Bob") and 60 <= m < 120:
            return "Cafe:cafe"
        if n == "Cal" and cal_minutes[0] <= m < cal_minutes[1]:
            return "Cafe:cafe"
        return home(n)

    return store(tmp_path / "run", personas, where, [
        ("Ann", 0, "thought", "Ann is hosting a spring party", {"event": ev}),
        ("Bob", 10, "chat", "Ann invited Bob", {"event": {**ev, "host": "Ann"}, "heard_from": "Ann"}),
        ("Dan", 12, "chat", "Ann invited Dan", {"event": {**ev, "host": "Ann"}, "heard_from": "Ann"}),
        ("Cal", 65, "observation", "Ann is hosting the spring party at the Cafe", None),  # saw it
    ], facts=[{"name": "party", "keywords": ["party"]}])


def test_an_invitee_comes_with_only_the_host_there_and_one_who_only_saw_did_not_hear(tmp_path):
    r = analyze(two_at_the_party(tmp_path))
    assert r["gatherings"] == []  # two off-routine people: no gathering
    (e,) = r["events"]
    assert e["heard"] == ["Bob", "Dan"]  # Cal only saw it: no memory holding its facts
    assert e["came"] == ["Bob", "Dan"] and e["came_by_routine"] == ["Dan"]
    assert e["came_unheard"] == ["Cal"]  # there 15 minutes without having heard
    assert e["minutes_present"]["Cal"] == 15 and e["minutes_present"]["Bob"] == 60
    assert r["diffusion"]["party"]["end"] == 4  # by memory, the word "party" seen counts: Cal knows
    assert "1 by routine" in render_text(r)


def test_ten_minutes_at_the_place_is_the_least_that_counts(tmp_path):
    (e,) = analyze(two_at_the_party(tmp_path, cal_minutes=(60, 69)))["events"]
    assert "Cal" not in e["present"]  # 9 minutes


# ---------------------------------------------------------------- provenance; a store without conversations


def test_a_store_without_conversations_says_so_and_its_links_come_from_memories(tmp_path):
    personas = {n: persona(n) for n in NAMES}
    run = store(tmp_path / "run", personas, lambda n, m: home(n), [
        ("Ann", 0, "thought", "Ann's news: the bakery opens", None),
        ("Bob", 30, "chat", "Ann told Bob: the bakery opens", {"news": "the bakery opens", "heard_from": "Ann"}),
        ("Cal", 50, "chat", "Bob told Cal: the bakery opens", {"news": "the bakery opens", "heard_from": "Bob"}),
    ], facts=[{"name": "bakery", "keywords": ["bakery"]}])
    r = analyze(run)
    d = r["diffusion"]["bakery"]
    assert r["told_source"] == d["told_source"] == "none"
    tree = {n["name"]: (n["told_by"], n["told_via"], n["hops"]) for n in d["tree"]}
    assert tree == {"Ann": (None, None, 0), "Bob": ("Ann", "memory", 1), "Cal": ("Bob", "memory", 2)}
    assert d["told_via"] == {"memory": 2}
    md = (run_report(r, tmp_path / "rep") / "report.md").read_text()
    assert "no conversations recorded" in md and "only the listener's memory" in md


def test_links_from_conversation_lines_and_heard_records_are_labelled(tmp_path):
    from test_analysis import build

    d = analyze(build(tmp_path / "a"))["diffusion"]["party"]
    assert {n["name"]: n["told_via"] for n in d["tree"]} == {"Ann": None, "Bob": "conversation", "Cal": None,
                                                            "Dan": "conversation"}
    d = analyze(build(tmp_path / "b", heard=True))["diffusion"]["party"]
    assert {n["name"]: n["told_via"] for n in d["tree"] if n["told_by"]} == {"Bob": "heard", "Dan": "heard"}


# ---------------------------------------------------------------- bad stores: one line, exit 2


def test_a_store_missing_agent_states_or_with_a_broken_world_is_a_one_line_error(tmp_path):
    from test_analysis import build

    good = build(tmp_path / "good")
    for name, sql in (("no_states", "DROP TABLE agent_states"),
                      ("bad_world", "UPDATE meta SET value = '{not json' WHERE key = 'world'")):
        bad = tmp_path / name
        shutil.copytree(good, bad)
        con = sqlite3.connect(bad / "run.db")
        con.execute(sql)
        con.commit()
        con.close()
        r = run_cli("analyze", str(bad))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert ("agent_states" if name == "no_states" else "meta.world") in r.stderr


def test_cli_by_interview_on_a_hand_built_store(tmp_path):
    from test_analysis import build

    run = build(tmp_path / "run", heard=True)
    r = run_cli("analyze", str(run), "--by-interview", "--at", "2023-02-14 16:40", "--llm", "rules", "--json")
    assert r.returncode == 0, r.stderr
    bi = json.loads(r.stdout)["by_interview"]
    assert [m["time"] for m in bi["moments"]] == ["2023-02-14 16:40", "2023-02-14 19:00"]
    m = bi["moments"][-1]
    assert m["facts"]["party"]["asked"] == 5 and m["facts"]["party"]["by_memory"] == 4
    assert [e["asked"] for e in m["events"]] == [4]  # the host is not asked about her own event
    assert len([a for a in m["answers"] if a["about"] == "person"]) == 5 * 4
    r = run_cli("analyze", str(run), "--at", "2023-02-14 16:40")
    assert r.returncode == 2 and "--by-interview" in r.stderr


def test_a_fact_stated_by_meaning_is_judged_by_meaning_and_denials_are_not_knowing(tmp_path):
    from smallville.analysis.interviews import Judge, denies
    from smallville.analysis.source import RunData
    from smallville.cognition.embedding import HashingEmbedder

    personas = {n: persona(n) for n in NAMES}
    run = store(tmp_path / "run", personas, lambda n, m: home(n), [
        ("Bob", 30, "chat", "Ann said the new bakery on Main Street opens on Saturday", None),
        ("Cal", 30, "chat", "Cal bought bread at the market", None),
    ], facts=[{"name": "bakery", "meaning": "The new bakery opens on Saturday"}])
    con = sqlite3.connect(run / "run.db")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('embedder', '\"hashing-256\"')")
    con.commit()
    con.close()
    data = RunData(run)
    emb = HashingEmbedder()
    judge = Judge(data, [], vectors=lambda texts: emb.embed(texts))
    q = {"about": "fact", "key": "bakery"}
    assert judge.knows("Bob", q, {"answer": "I remember this: …", "memory_ids": [0]})
    assert not judge.knows("Cal", q, {"answer": "I remember this: …", "memory_ids": [1]})
    assert judge.knows("Dan", q, {"answer": "Yes, the new bakery opens on Saturday, I heard.", "memory_ids": []})
    assert not judge.knows("Dan", q, {"answer": "No, I haven't heard that the new bakery opens on Saturday.",
                                      "memory_ids": []})
    assert denies("I don't know anything about that.") and denies("No idea.") and not denies("Yes, I know Ann.")
    assert not denies("Ann is hosting a party. I don't know if I'll go.")  # only the first sentence
    data.close()
    # by memory too, with the run's embedder brought in at the command level
    from smallville.measure import analyze_run

    d = analyze_run(str(run))["diffusion"]["bakery"]
    assert [n["name"] for n in d["tree"]] == ["Bob"] and d["meaning"] == "The new bakery opens on Saturday"
    assert analyze(run)["diffusion"]["bakery"]["end"] == 0  # without the embedder, a meaning matches nothing


def test_by_interview_on_the_model_path_judges_what_the_model_says(tmp_path, monkeypatch):
    """A scripted model answers the interviews (an OpenAI-compatible loopback server): the
    answers are judged by their words — "no"/"I haven't" is not knowing — and the network by
    who says yes to whom."""
    import re as _re

    from smallville.llm.plausible import messages_text
    from smallville.llm.testing import LoopbackServer
    from smallville.measure import analyze_by_interview
    from test_analysis import build

    def answer(body):
        prompt = messages_text(body)
        me = _re.search(r"You are ([A-Z][a-z]+),", prompt).group(1)
        q = _re.search(r'The interviewer asks: "(.*)"', prompt).group(1)
        if q.startswith("Do you know "):
            other = q[len("Do you know "):].rstrip("?")
            yes = {("Ann", "Bob"), ("Bob", "Ann"), ("Cal", "Ann")}
            text = f"Yes, {other} is a friend of mine." if (me, other) in yes else f"No, I don't know {other}."
        elif "about the spring party" in q:
            text = "Yes, I'm going to Ann's spring party." if me == "Bob" else "No, I haven't heard of it."
        else:
            text = {"Bob": "Yes, Ann told me about her spring party at the cafe.",
                    "Cal": "I saw balloons for a party at the cafe."}.get(me, "No, I haven't heard about any party.")
        return {"answer": text, "memory_ids": []}

    run = build(tmp_path / "run", heard=True)
    with LoopbackServer(answer=answer) as server:
        monkeypatch.setenv("SMALLVILLE_LLM_BASE_URL", server.base_url)
        r = analyze_by_interview(str(run), llm="openai")
        assert len(server.requests) == 5 + 4 + 5 * 4  # facts, the event (not its host), people
    bi = r["by_interview"]
    assert bi["backend"].startswith("openai")
    (m,) = bi["moments"]
    assert m["facts"]["party"]["aware"] == ["Bob", "Cal"] and m["facts"]["party"]["by_memory"] == 4
    assert m["events"][0]["aware"] == ["Bob"]
    assert (m["network"]["edges_either"], m["network"]["edges_mutual"]) == (2, 1)  # Ann-Bob both ways, Cal-Ann
    assert (m["network"]["density_either"], m["network"]["density_mutual"]) == (0.2, 0.1)
