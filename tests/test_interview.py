"""Interviews of any recorded moment, and branching what-ifs (issue 11), on the rules baseline.

One town run to 2023-02-14 19:00 (seed 7, hashing embedder) is interviewed (at noon on the
14th unless said) and branched; it is the parent of the what-if. Who knows of Isabella's party,
and since when, is read from the run store, not assumed.
"""

import datetime as dt
import hashlib
import json

import pytest

from conftest import run_cli
from smallville.cognition.interview import Moment, category, rules_answer
from smallville.cognition.memory import MemoryNode
from smallville.store.runstore import RunReader
from smallville.world.world import load_world
from conftest import ROOT

UNTIL = "2023-02-14 19:00"
NOON = "2023-02-14 12:00"
HOST = "Isabella Rodriguez"
VALENTINE = "What are you doing for Valentine's Day?"
FAST = ("--llm", "rules", "--embedder", "hashing", "--quiet", "--seed", "7")
GAME = {"type": "event", "event": {"name": "game night", "place": "The Rose and Crown Pub:bar",
                                   "start": "2023-02-14 18:00", "end": "2023-02-14 20:00"}}


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    out = tmp_path_factory.mktemp("interview") / "town"
    r = run_cli("run", "worlds/town.yaml", "--until", UNTIL, "--out", str(out), *FAST)
    assert r.returncode == 0, r.stderr
    return out


def ask(run, name, *questions, at=NOON):
    args = ["interview", str(run), name, "--json", "--at", at] + [a for q in questions for a in ("--question", q)]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def first_heard(run):
    """resident -> the time they first held a memory of the host's event told by someone else (by noon)."""
    reader = RunReader(run)
    try:
        out = {}
        noon = reader.tick_at(dt.datetime.fromisoformat(NOON))
        for name in reader.agents.values():
            for m in reader.memories(name, until=noon):
                facts = json.loads(m["facts"]) if m["facts"] else {}
                if (facts.get("event") or {}).get("host") == HOST and facts.get("heard_from"):
                    out[name] = reader.tick_info(m["tick"])["time"]
                    break
        return out, [n for n in reader.agents.values() if n != HOST]
    finally:
        reader.close()


def files_hash(run):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run.iterdir())
            if p.name in ("run.db", "manifest.json")}


def test_host_speaks_of_her_party_with_place_and_time(town):
    [ex] = ask(town, HOST, VALENTINE)
    assert "Hobbs Cafe" in ex["answer"] and "17:00" in ex["answer"], ex["answer"]
    assert ex["memory_ids"] and ex["backend"] == "rules"


def test_who_heard_names_the_host_and_time_who_did_not_does_not_know(town):
    heard, others = first_heard(town)
    assert heard, "nobody heard of the party: the run does not show the diffusion this test needs"
    name = sorted(heard)[0]
    [ex] = ask(town, name, VALENTINE)
    assert HOST in ex["answer"] and "17:00" in ex["answer"], (name, ex["answer"])
    never = sorted(set(others) - set(heard))
    assert never, "everyone heard"
    [ex] = ask(town, never[0], VALENTINE)
    assert "don't know" in ex["answer"], (never[0], ex["answer"])


def test_past_moment_before_hearing_does_not_know(town):
    heard, _ = first_heard(town)
    name, when = min(heard.items(), key=lambda kv: kv[1])
    t = dt.datetime.fromisoformat(when)
    before, after = (t - dt.timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M"), \
        (t + dt.timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M")
    [b] = ask(town, name, VALENTINE, at=before)
    [a] = ask(town, name, VALENTINE, at=after)
    assert "don't know" in b["answer"], (name, before, b["answer"])
    assert HOST in a["answer"], (name, after, a["answer"])


def test_plans_today_and_tomorrow_come_from_the_plan(town):
    reader = RunReader(town)
    try:
        noon = reader.tick_at(dt.datetime.fromisoformat(NOON))
        plan = [e for e in reader.events(kind="plan", agent="Klaus Mueller", until=noon)][-1]["data"]
    finally:
        reader.close()
    today, = ask(town, "Klaus Mueller", "What are your plans for today?")
    later = [b for b in plan["blocks"] if b["end"] > "12:00"]
    assert later and all(b["end"] in today["answer"] for b in later[:3]), today["answer"]
    assert later[1]["activity"].lower()[:20] in today["answer"].lower()
    # the evening before: tomorrow's answer names the event the host hosts, from what she knows
    [tom] = ask(town, HOST, "What are you doing tomorrow?", at="2023-02-13 20:00")
    assert "Valentine" in tom["answer"] and "17:00" in tom["answer"] and "hosting" in tom["answer"], tom["answer"]


def test_interviews_are_stored_and_listed_and_leave_the_run_untouched(town):
    before = files_hash(town)
    ask(town, "Maria Lopez", "Tell me about yourself.")
    assert files_hash(town) == before
    r = run_cli("inspect", str(town), "--agent", "Maria Lopez", "--json", "--at", NOON)
    view = json.loads(r.stdout)
    iv = [i for i in view["interviews"] if i["question"] == "Tell me about yourself."]
    assert iv and "Maria Lopez" in iv[-1]["answer"] and iv[-1]["backend"] == "rules" and iv[-1]["model"] == "rules"
    assert iv[-1]["retrieved"] and iv[-1]["time"] == view["time"][:16].replace("T", " ")


def test_finished_run_refuses_remember_and_whisper(town):
    r = run_cli("interview", str(town), HOST, "--question", "hi", "--remember")
    assert r.returncode == 2 and "branch" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("whisper", str(town), HOST, "You feel like baking")
    assert r.returncode == 2 and "branch" in r.stderr
    r = run_cli("interview", str(town), "Nobody Atall", "--question", "hi")
    assert r.returncode == 2 and "no resident" in r.stderr


def test_branch_without_intervention_reproduces_the_parent(town, tmp_path):
    before = files_hash(town)
    out = tmp_path / "b0"
    r = run_cli("branch", str(town), "--at", "2023-02-13 12:00", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert files_hash(town) == before
    m, p = json.loads((out / "manifest.json").read_text()), json.loads((town / "manifest.json").read_text())
    assert m["digest"] == p["digest"] and m["last_tick"] == p["last_tick"]
    assert m["parent"]["tick"] == 1800 and m["parent"]["reproduced"] and m["interventions"] == []


def test_branch_whisper_spreads_and_people_go_parent_untouched(town, tmp_path):
    before = files_hash(town)
    runs = {"parent": town, "game": tmp_path / "game"}
    r = run_cli("branch", str(town), "--at", "2023-02-13 12:00", "--out", str(runs["game"]), "--quiet",
                "--whisper", "Klaus Mueller: You will host a game night at the pub tomorrow at 18:00")  # facts: extracted
    assert r.returncode == 0, r.stderr
    assert files_hash(town) == before
    m = json.loads((runs["game"] / "manifest.json").read_text())
    assert m["parent"]["run"] == str(town) and m["interventions"][0]["agent"] == "Klaus Mueller"

    def at_game(run):
        reader = RunReader(run)
        try:
            knew = {n for n in reader.agents.values() if any("game night" in x["description"]
                                                             for x in reader.memories(n))}
            went = set()
            for t in range(reader.tick_at(dt.datetime(2023, 2, 14, 18, 15)), reader.last_tick() + 1, 30):
                went |= {a["name"] for a in reader.agents_at(t) if a["place"].startswith("The Rose and Crown Pub")
                         and "game night" in a["action"]}
            return knew, went, reader.interventions()
        finally:
            reader.close()

    knew, went, iv = at_game(runs["game"])
    assert iv and iv[0]["tick"] == 1801 and iv[0]["source"] == "branch"
    assert len(knew - {"Klaus Mueller"}) >= 3 and len(went - {"Klaus Mueller"}) >= 2, (knew, went)
    knew0, went0, iv0 = at_game(runs["parent"])
    assert not knew0 and not went0 and not iv0


# ---------------------------------------------------------------- the rules answer, without a run


def _moment(nodes=(), plan=None, action="reading at the library"):
    w = load_world(ROOT / "worlds/town.yaml")
    persona = next(r.persona for r in w.residents if r.persona.name == "Klaus Mueller")
    return Moment(persona, dt.datetime(2023, 2, 13, 12, 0), action, "Oak Hill College:college library", plan,
                  list(nodes), tuple(r.persona.name for r in w.residents))


def test_five_categories_of_questions():
    me = "Klaus Mueller"
    people = [me, "Maria Lopez"]
    assert category("Tell me about yourself", me, people)[0] == "self"
    assert category("What do you think of Maria?", me, people) == ("person", "Maria Lopez")
    assert category("What are you planning for tomorrow?", me, people)[0] == "tomorrow"
    assert category("Your kitchen is on fire! What would you do?", me, people)[0] == "reaction"
    assert category("What have you been thinking about lately?", me, people)[0] == "reflections"
    assert category("Do you know of any concerts?", me, people)[0] == "memory"


def test_rules_answer_from_memories_only():
    ev = {"name": "book swap", "place": "Ville Library:reading room", "start": "2023-02-13 15:00",
          "end": "2023-02-13 16:00", "host": "Maria Lopez"}
    heard = MemoryNode(5, 10, 10, "chat", "Maria Lopez is hosting a book swap", 8,
                       facts={"event": ev, "heard_from": "Maria Lopez"})
    thought = MemoryNode(6, 20, 20, "thought", "Klaus Mueller cares about the neighbourhood", 7, depth=1,
                         evidence=(5,))
    m = _moment([heard, thought])
    a = rules_answer(m, "Is there a book swap anywhere?")
    assert "Maria Lopez" in a.text and "15:00" in a.text and "Ville Library" in a.text and a.memory_ids == (5,)
    assert "don't know" in rules_answer(_moment(), "Is there a book swap anywhere?").text
    assert rules_answer(m, "What have you been thinking about?").memory_ids == (6, 5)  # the reflection, its evidence
    assert "I'm Klaus Mueller" in rules_answer(m, "Who are you?").text
    assert "reading at the library" in rules_answer(m, "What are you doing right now?").text
    fire = rules_answer(m, "A fire alarm rings! What would you do?").text
    assert fire.startswith("I'd stop reading")  # a first-person action, from the situation's words:
    assert "alarm" in fire and fire != rules_answer(m, "What would you do if you found a wallet?").text


def test_llm_answer_goes_through_the_prompt_and_schema_and_falls_back_to_rules():
    import asyncio

    from smallville.cognition import interview as I
    from smallville.cognition.decisions import Decider
    from smallville.llm.fake import FakeLLM
    from smallville.llm.wrappers import Structured

    heard = MemoryNode(5, 10, 10, "chat", "Maria Lopez is hosting a book swap at the library", 8)
    m = _moment([heard])
    lm = FakeLLM([{"answer": "Maria Lopez told me about a book swap at the library.", "memory_ids": [5, 99]},
                  {"answer": "", "memory_ids": []}])
    decider = Decider(Structured(lm))
    decide = lambda *a, **k: decider.decide(*a, agent="Klaus Mueller", tick=10, **k)  # noqa: E731
    a = asyncio.run(I.answer(decide, m, "Is there a book swap?", []))
    assert a.text.startswith("Maria Lopez told me") and a.memory_ids == (5,)  # an id it does not have is dropped
    prompt = lm.prompts[0]
    assert "Is there a book swap?" in prompt and "Klaus Mueller" in prompt and "$" not in prompt
    assert lm.requests[0].schema_name == "answer_interview"
    b = asyncio.run(I.answer(decide, m, "Is there a book swap?", []))  # an empty answer: the rules answer
    assert "Maria Lopez is hosting a book swap" in b.text


def test_branch_errors_are_plain(town, tmp_path):
    for args, message in ((["--at", "2023-02-13 12:00", "--whisper", "Nobody Atall: hi"], "no resident"),
                          (["--at", "2023-02-14 22:00"], "after the parent's last tick"),
                          (["--at", "2023-02-13 12:00", "--whisper", "no colon here"], "Name: thought"),
                          (["--at", "2023-02-13 12:00", "--whisper", "Klaus Mueller: hi", "--fact", "{"], "not JSON")):
        r = run_cli("branch", str(town), "--out", str(tmp_path / "x"), *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert not (tmp_path / "x").exists()
