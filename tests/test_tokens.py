"""What a prompt carries (issue 22 part 2, tokens per resident-day): retrieved memories cut by
relevance, a speaker's full persona once per conversation, news not offered twice, reflection
questions about what happened since the last reflection. Measured in docs/TOKENS.md."""

import asyncio
import datetime as dt
import importlib.util
import random

from conftest import ROOT
from smallville.cognition import converse, reflect
from smallville.cognition import plan as P
from smallville.cognition.decisions import render
from smallville.cognition.interface import ConversationView, Line, Observation
from smallville.cognition.memory import MemoryNode
from smallville.cognition.retrieve import Retrieved, relevant
from smallville.llm.fake import FakeLLM
from smallville.llm.wrappers import Structured
from smallville.world.config import Persona
from test_reflect import Harness, memory

NOW = dt.datetime(2023, 2, 13, 8, 30)
EVENT = {"name": "reading night", "place": "Cafe:cafe", "start": "2023-02-13 11:00", "end": "2023-02-13 12:00",
         "invite": "everyone", "host": "Ann Example"}
BACKGROUND = "Ann Example runs the cafe and plays jazz piano on Sundays."


def hits(*scores):
    return [Retrieved(MemoryNode(i, 0, 0, "observation", f"memory {i}", 3), 0.5, 0.5, 0.5, s)
            for i, s in enumerate(scores)]


def test_a_prompt_shows_the_hits_near_the_best_score_and_at_least_a_few():
    assert [r.node.id for r in relevant(hits(2.5, 2.4, 2.3, 2.25, 1.9, 1.0))] == [0, 1, 2, 3]
    assert [r.node.id for r in relevant(hits(2.5, 2.4, 2.3, 2.25, 1.9, 1.0), at_least=5)] == [0, 1, 2, 3, 4]
    assert [r.node.id for r in relevant(hits(2.0, 1.0, 0.5, 0.1))] == [0, 1, 2]  # a spread of scores: the floor
    assert [r.node.id for r in relevant(hits(1.5, 1.5, 1.5, 1.5, 1.5))] == [0, 1, 2, 3, 4]  # all alike: all
    assert relevant([]) == []


def ann():
    return Persona.model_validate({
        "name": "Ann Example", "age": 30, "traits": ["warm"], "sociability": 0.8, "background": BACKGROUND,
        "occupation": "cafe owner", "home": "Home:room", "relationships": {"Bob Example": "a regular"},
        "lifestyle": {"wake": "07:00", "sleep": "22:00", "routine": [
            {"start": "07:00", "end": "22:00", "activity": "working", "place": "Cafe:cafe"}]}})


def prompt(lines, items=(), memories=()):
    conv = ConversationView(1, "Bob Example", "Ann Example", tuple(lines), NOW, "Cafe:cafe")
    obs = Observation("Ann Example", 100, NOW, 1, 1, "Cafe:cafe", "serving coffee")
    variables = converse.turn_variables(ann(), obs, conv, list(items), list(memories))
    return render("converse_turn", variables)[0][-1].content


def invite():
    return {"key": P.event_key(EVENT), "kind": "event", "importance": 10, "own": True,
            "text": converse.event_sentence(EVENT, "Ann Example", NOW), "fact": {"type": "event", "event": EVENT},
            "name": EVENT["name"]}


def test_a_speaker_s_background_is_written_once_per_conversation():
    first = prompt([])
    assert BACKGROUND in first and "Ann Example, 30, cafe owner (warm)." in first
    later = prompt([Line("Ann Example", "Hi Bob!"), Line("Bob Example", "Hi Ann, how are you?")])
    assert BACKGROUND not in later and later.startswith("Ann Example, 30, cafe owner (warm).")
    # the partner opening the conversation does not make it Ann's later line
    assert BACKGROUND in prompt([Line("Bob Example", "Hi Ann!")])


def test_news_said_in_the_conversation_is_not_offered_again_and_a_memory_that_is_news_is_listed_once():
    item = invite()
    fresh = prompt([], [item], [item["text"], "Bob Example likes his coffee black"])
    news = fresh.split("could tell Bob Example:\n", 1)[1].split("\nIt is ", 1)[0]
    remembers = fresh.split("remembers about this", 1)[1].split("\nNews ", 1)[0]
    assert item["text"] in news and item["text"] not in remembers and "coffee black" in remembers
    told = prompt([Line("Ann Example", "Hi Bob! " + item["text"]), Line("Bob Example", "Oh, nice!")], [item])
    assert told.split("could tell Bob Example:\n", 1)[1].startswith("- nothing new")


def test_the_note_on_private_memories_comes_only_with_a_private_memory():
    assert "own business" not in prompt([], [], ["Bob Example likes his coffee black"])
    assert "own business" in prompt([], [], ["Ann Example is saving up to buy the bakery (private)"])


def test_reflection_questions_are_about_what_happened_since_the_last_reflection():
    mem = memory(threshold=1000)
    add = lambda tick, desc, imp, **kw: mem.add("Ann Example", tick, "observation", desc, imp, **kw)  # noqa: E731
    add(1, "Bob Example is having coffee", 4, spo=("Bob Example", "is", "having coffee"))
    mem.add("Ann Example", 2, "thought", "Bob Example is a regular", 6, evidence=(0,), depth=1)
    add(3, "Bob Example is reading the paper", 4, spo=("Bob Example", "is", "reading the paper"))
    add(4, "the stove in Cafe (kitchen) is in use: baking", 3, spo=("Cafe:kitchen:stove", "is", "in use: baking"))
    add(5, "Ann Example is serving coffee", 2, spo=("Ann Example", "is", "serving coffee"))
    add(6, "Bob Example is sketching", 4, spo=("Bob Example", "is", "sketching"))
    add(7, "Bob Example is sketching", 4, spo=("Bob Example", "is", "sketching"))
    nodes = mem.stream("Ann Example").nodes
    assert [n.id for n in reflect.since_reflecting(nodes)] == [2, 3, 4, 5, 6]
    assert [n.id for n in reflect.listed(reflect.since_reflecting(nodes), least=reflect.SALIENT)] == [2, 6]

    fake = FakeLLM(default=lambda req: {"questions": ["What is Bob like?"]} if req.decision == "reflect_questions"
                   else {"insights": [{"insight": "Bob is a regular who sketches", "evidence": [6], "importance": 5}]})
    h = Harness(mem, Structured(fake))
    thoughts = asyncio.run(reflect.reflect(ann(), h.ctx(10)))
    asked = fake.requests[0].messages[-1].content
    assert "[2] (" in asked and "[6] (" in asked and "[0] (" not in asked and "stove" not in asked
    assert [t.description for t in thoughts] == ["Bob is a regular who sketches"] and thoughts[0].evidence == (6,)


def test_bench_llm_wall_reports_tokens_by_decision(capsys):
    spec = importlib.util.spec_from_file_location("bench_llm_wall", ROOT / "benchmarks" / "bench_llm_wall.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    r = {"usage": {"tokens_in": 3000, "tokens_out": 600}, "residents": 2, "cached": 0, "retries": 0, "failed": [],
         "digest": "x", "by_name": [("converse_turn", 4, 0), ("react", 2, 0)],
         "tokens_by": [("converse_turn", 4, 2400, 400), ("react", 2, 600, 200)]}
    bench.report(r, 12.0)
    out = capsys.readouterr().out
    assert "tokens per resident per game day 3,600 " in out
    assert "by decision (in + out; requests): converse_turn 2,800 (2,400 + 400; 4), react 800 (600 + 200; 2)" in out
