"""People from interviews, surveys and scoring against people (issue 21)."""

from __future__ import annotations

import ast
import asyncio
import csv
import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli
from smallville.cognition.decisions import Decider
from smallville.llm.fake import FakeLLM
from smallville.llm.wrappers import Retry, Structured
from smallville.people import answer as A
from smallville.people import scoring, synthetic
from smallville.people.instrument import Instrument, assign_arms, load_instrument, merge
from smallville.people.transcript import TranscriptError, read_transcript
from smallville.survey import SurveyOptions, run_survey

SURVEYS = sorted(str(p) for p in (ROOT / "surveys").glob("*.yaml"))
TRANSCRIPT = """Interviewer: Could you tell me about yourself?
Ana Lopez: I grew up by the sea. I'm pretty outgoing and a bit anxious.
I work as a nurse on night shifts.
Interviewer: How much confidence do you have in the police?
Ana Lopez: Honestly, hardly any. My brother would say a great deal, not me.
Q: If you had 100 dollars to split with a stranger, how much would you give?
A: I'd say about 30 dollars.
"""


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------- transcripts and personas


def test_transcript_text_and_json(tmp_path):
    t = read_transcript(write(tmp_path, "a.txt", TRANSCRIPT))
    assert [x.question[:20] for x in t.turns] == ["Could you tell me ab", "How much confidence ", "If you had 100 dolla"]
    assert t.turns[0].answer.endswith("night shifts.")  # a line without a label continues the turn
    j = read_transcript(write(tmp_path, "a.json", json.dumps([{"question": "Q1?", "answer": "Yes, I think so."}])))
    assert j.turns[0].answer == "Yes, I think so."


@pytest.mark.parametrize("name,text,say", [
    ("empty.txt", "\n\n", "empty transcript"),
    ("nolabel.txt", "just some words\nInterviewer: hi?\nA: yes", "line 1"),
    ("noq.txt", "Ana: I talk alone.\nAna: still me.", "no interviewer turns"),
    ("bad.json", "[{\"question\": \"x\"}", "malformed JSON"),
    ("keys.json", "[{\"question\": \"x\", \"answer\": \"\"}]", "[0].answer"),
    ("shape.json", "{\"a\": 1}", "expected a list"),
])
def test_bad_transcripts_are_one_line_errors(tmp_path, name, text, say):
    p = write(tmp_path, name, text)
    with pytest.raises(TranscriptError, match=None) as e:
        read_transcript(p)
    assert say in str(e.value) and str(p) in str(e.value)
    r = run_cli("persona", "from-interview", str(p), "--name", "Ana Lopez", "--demographics", "age=30",
                "--out", str(tmp_path / "x.yaml"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr


def test_persona_from_interview(tmp_path):
    src = write(tmp_path, "ana.txt", TRANSCRIPT)
    demo = write(tmp_path, "demo.yaml", "age: 41\nsex: female\noccupation: nurse\n")
    out = tmp_path / "personas" / "ana.yaml"
    r = run_cli("persona", "from-interview", str(src), "--name", "Ana Lopez", "--demographics", str(demo),
                "--demographics", "political_ideology=liberal", "--id", "P7", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load(out.read_text())
    assert data["demographics"] == {"age": 41, "sex": "female", "occupation": "nurse", "political_ideology": "liberal"}
    assert data["interview"]["person"] == "P7" and (out.parent / data["interview"]["transcript"]).exists()
    texts = [m["text"] for m in data["first_memories"]]
    assert 'Asked "How much confidence do you have in the police", Ana Lopez said: "Honestly, hardly any.' in texts[1]
    assert all(1 <= m["importance"] <= 10 for m in data["first_memories"])
    assert "outgoing" in data["traits"] and "anxious" in data["traits"]
    # the rules reflections are extractive: every quote is the person's own sentence
    src_text = " ".join(src.read_text().split())
    for lens, insights in data["interview"]["reflections"].items():
        for s in insights:
            quote = s.split('said: "', 1)[1].rstrip('"')
            assert quote in src_text, (lens, quote)
    assert "psychologist" in data["interview"]["reflections"] and "economist" in data["interview"]["reflections"]
    # the summary only quotes the transcript
    for q in data["background"].split('said: "')[1:]:
        assert q.split('"')[0].rstrip(".") in src_text
    missing = run_cli("persona", "from-interview", str(src), "--name", "Ana", "--out", str(tmp_path / "y.yaml"))
    assert missing.returncode == 2 and "age is required" in missing.stderr


# ---------------------------------------------------------------- instruments and answers


def test_shipped_instruments_load_and_bad_ones_name_the_key(tmp_path):
    inst = merge([load_instrument(f) for f in SURVEYS])
    assert len(inst.items) >= 40 and {i.kind for i in inst.items} == {"choice", "likert", "number", "text"}
    assert inst.constructs and inst.experiments
    bad = write(tmp_path, "bad.yaml", "name: x\nitems:\n  - {id: a, kind: likert, text: t, points: 4}\n")
    r = run_cli("survey", "personas", "--instrument", str(bad))
    assert r.returncode == 2 and "items[0]" in r.stderr and "labels" in r.stderr, r.stderr


def test_arms_are_balanced_and_seeded():
    inst = load_instrument(ROOT / "surveys" / "framing.yaml")
    e = inst.experiments[0]
    names = [f"R{i}" for i in range(101)]
    a = assign_arms(e, names, 3)
    counts = {arm: sum(v == arm for v in a.values()) for arm in e.arms}
    assert sorted(counts.values()) == [50, 51]
    assert a == assign_arms(e, list(reversed(names)), 3)  # the order given does not matter
    assert a != assign_arms(e, names, 4)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """40 synthetic people made into personas (rules), with their two waves."""
    from smallville.persona import build

    out = tmp_path_factory.mktemp("panel")
    inst = merge([load_instrument(f) for f in SURVEYS])
    people = synthetic.make_panel(inst, n=40, seed=5)
    synthetic.write_panel(people, inst, out)
    (out / "personas").mkdir()
    for x in people:
        build(str(out / "transcripts" / f"{x.id}.txt"), x.name, dict(x.demographics), str(out / "personas" / f"{x.id}.yaml"),
              person=x.id)
    return out, inst


def test_every_rules_answer_is_valid_and_the_seed_repeats_them(panel):
    out, inst = panel
    res = []
    for seed in (0, 0, 1):
        opts = SurveyOptions(str(out / "personas"), tuple(SURVEYS), out=str(out / f"s{len(res)}"), seed=seed,
                             report=False)
        run_survey(opts)
        with open(out / f"s{len(res)}" / "answers.csv") as f:
            res.append(list(csv.DictReader(f)))
    assert res[0] == res[1]
    assert res[0] != res[2]  # another seed: other arms
    for row in res[0]:
        for item in inst.items:
            v = item.parse(row[item.id])
            assert v is not None


def test_scripted_model_schema_retries_then_rules(panel):
    """The model's schema holds each item to its options/range; a schema-invalid answer is retried,
    and an answer that never fits makes the rules decide that batch."""
    out, inst = panel
    items = [inst.item(i) for i in ("happy", "life_ideal", "dictator", "note")]
    batch = [A.Asked(i) for i in items]
    good = {"answers": {"happy": "Pretty happy", "life_ideal": 4, "dictator": 30, "note": "My family."}}
    bad = {"answers": {"happy": "Ecstatic", "life_ideal": 9, "dictator": 300, "note": ""}}
    fake = FakeLLM([json.dumps(bad), json.dumps(good)])
    lm = Retry(Structured(fake), attempts=2, base_s=0.0)
    decider = Decider(lm)
    got = asyncio.run(decider.decide("answer_survey", agent="x", tick=0, variables=_vars(batch), rules=lambda: {"r": 1},
                                     parse=lambda v: A.parse_answers(v, batch), schema=A.batch_schema(batch)))
    assert got == {"happy": "Pretty happy", "life_ideal": 4, "dictator": 30, "note": "My family."}
    schema = fake.requests[0].schema["properties"]["answers"]
    assert schema["properties"]["happy"]["enum"] == inst.item("happy").options
    assert schema["properties"]["dictator"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert len(fake.requests) == 2
    records = []
    decider = Decider(Retry(Structured(FakeLLM(default=json.dumps(bad))), attempts=2, base_s=0.0),
                      record=lambda **k: records.append(k))
    got = asyncio.run(decider.decide("answer_survey", agent="x", tick=0, variables=_vars(batch),
                                     rules=lambda: {"from": "rules"}, parse=lambda v: A.parse_answers(v, batch),
                                     schema=A.batch_schema(batch)))
    assert got == {"from": "rules"} and records[-1]["fallback"]


def _vars(batch):
    return {"name": "Ana", "about": "Ana.", "memories": "", "items": "\n".join(A.item_line(a) for a in batch),
            "example": ", ".join(f'"{a.item.id}": ...' for a in batch)}


def test_scripted_model_answers_a_whole_survey(panel, monkeypatch):
    """The survey verb through a model: every request within the schema, calls counted."""
    out, inst = panel
    from smallville import survey as S
    from smallville.llm.testing import sample

    fake = FakeLLM(default=lambda req: json.dumps(sample(req.schema)))
    monkeypatch.setattr(S, "_decider", lambda llm: (Decider(Structured(fake)), None))
    s = run_survey(SurveyOptions(str(out / "personas"), (str(ROOT / "surveys" / "economic_games.yaml"),),
                                 llm="scripted", report=False, residents=("Ana Abara", "Ben Bell")))
    usage = next(iter(s["waves"].values()))["usage"][0]
    assert usage["decisions"] == 2 and usage["fallbacks"] == 0 and len(fake.requests) == 2
    assert "I'd say about" in fake.requests[0].messages[-1].content  # the interview's words are in the prompt


# ---------------------------------------------------------------- scoring


def test_metrics_on_a_toy_by_hand():
    inst = Instrument.model_validate({"name": "toy", "items": [
        {"id": "c", "kind": "choice", "text": "c?", "options": ["x", "y"]},
        {"id": "n", "kind": "number", "text": "n?", "min": 0, "max": 10}]})
    agents = {"p1": {"c": "x", "n": 4}, "p2": {"c": "y", "n": 10}, "p3": {"c": "x"}}
    wave1 = {"p1": {"c": "x", "n": 6}, "p2": {"c": "x", "n": 10}, "p3": {"c": "y", "n": 0}}
    wave2 = {"p1": {"c": "x", "n": 6}, "p2": {"c": "y", "n": 5}, "p3": {"c": "y", "n": 0}}
    s = scoring.score(scoring.Scoring(inst, agents, wave1, wave2), group_of={"p1": "a", "p2": "a", "p3": "b"},
                      min_cell=1)
    # person accuracies: p1 (1 + 0.8)/2 = 0.9; p2 (0 + 1)/2 = 0.5; p3 (0)/1 = 0 (no number answer)
    assert s["accuracy"]["value"] == pytest.approx((0.9 + 0.5 + 0) / 3, abs=1e-4)
    # retest: p1 (1+1)/2 = 1; p2 (0 + 0.5)/2 = 0.25; p3 1 -> normalized: mean(0.9/1, 0.5/0.25, 0/1)
    assert s["retest_accuracy"]["value"] == pytest.approx(0.75, abs=1e-4)
    assert s["normalized_accuracy"]["value"] == pytest.approx((0.9 + 2.0 + 0.0) / 3, abs=1e-4)
    assert s["items"]["n"]["mae"] == pytest.approx(1.0)  # |4-6| and |10-10| over 2
    # TVD for c: residents x 2/3, y 1/3; people x 2/3, y 1/3 -> 0; for n (bins of 1), each side over those who
    # answered: residents {4: 1/2, 9-10: 1/2}, people {0: 1/3, 6: 1/3, 9-10: 1/3} -> (1/3 + 1/2 + 1/3 + 1/6) / 2
    assert s["items"]["c"]["tvd"]["value"] == pytest.approx(0.0)
    assert s["items"]["n"]["tvd"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    # groups: a = mean(0.9, 0.5) = 0.7; b = 0 -> DPD 0.7
    assert s["groups"]["a"]["accuracy"] == pytest.approx(0.7) and s["dpd"]["value"] == pytest.approx(0.7)
    lo, hi = s["accuracy"]["low"], s["accuracy"]["high"]
    assert 0 <= lo <= hi <= 1


def test_aggregate_only_writes_no_individual_row(panel, tmp_path):
    out, inst = panel
    dest = tmp_path / "agg"
    few = [str(ROOT / "surveys" / f) for f in ("life_satisfaction.yaml", "framing.yaml")]
    r = run_cli("survey", str(out / "personas"), *sum((["--instrument", f] for f in few), []), "--aggregate-only",
                "--min-cell", "5", "--reference", str(out / "people.csv"), "--retest", str(out / "people_wave2.csv"),
                "--group-by", "political_ideology", "--out", str(dest), "--json")
    assert r.returncode == 0, r.stderr
    assert not (dest / "answers.csv").exists()
    blob = "".join(p.read_text(errors="ignore") for p in dest.iterdir() if p.suffix in (".json", ".md", ".html"))
    names = [yaml.safe_load(p.read_text())["name"] for p in (out / "personas").glob("*.yaml")]
    assert not any(n in blob for n in names) and "P0001" not in blob
    summary = json.loads((dest / "summary.json").read_text())
    for w in summary["waves"].values():
        for row in w["items"].values():
            assert all(v is None or v == 0 or v >= 5 for v in row["counts"].values())
    assert (dest / "report.html").exists() and any(p.suffix == ".png" for p in dest.iterdir())


@pytest.mark.slow
def test_interview_carries_the_signal_on_two_seeds(tmp_path):
    """The counterfactuals on the synthetic panel: interview beats demographic; removing transcripts
    gives exactly the demographic condition; shuffling them between people does worse than it."""
    from smallville.persona import build

    inst = merge([load_instrument(f) for f in SURVEYS])
    for seed in (11, 12):
        out = tmp_path / f"s{seed}"
        people = synthetic.make_panel(inst, n=40, seed=seed)
        synthetic.write_panel(people, inst, out)
        (out / "personas").mkdir()
        for x in people:
            build(str(out / "transcripts" / f"{x.id}.txt"), x.name, dict(x.demographics),
                  str(out / "personas" / f"{x.id}.yaml"), person=x.id)
        acc = {}
        for label, cond, tr in (("interview", "interview", "keep"), ("demographic", "demographic", "keep"),
                                ("removed", "interview", "remove"), ("shuffled", "interview", "shuffle")):
            s = run_survey(SurveyOptions(str(out / "personas"), tuple(SURVEYS), condition=cond, transcripts=tr, seed=seed,
                                         reference=str(out / "people.csv"), retest=str(out / "people_wave2.csv"),
                                         report=False))["scores"]
            acc[label] = s["normalized_accuracy"]
        assert acc["interview"]["low"] > acc["demographic"]["high"], (seed, acc)
        assert acc["removed"]["value"] == acc["demographic"]["value"], (seed, acc)
        assert acc["shuffled"]["value"] < acc["demographic"]["value"], (seed, acc)


def test_the_answerer_never_reads_the_generator():
    """The synthetic generator stays apart: no module on the answering side imports it."""
    for mod in ("people/answer.py", "people/respondent.py", "people/scoring.py", "people/summarize.py",
                "people/writeup.py", "people/instrument.py", "people/transcript.py", "survey.py", "persona.py"):
        tree = ast.parse((ROOT / "smallville" / mod).read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names] + \
                [f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
        assert not any("synthetic" in x for x in names), mod


# ---------------------------------------------------------------- a run at two moments


def test_a_resident_answers_differently_after_hearing_the_news(tmp_path):
    run = tmp_path / "run"
    r = run_cli("run", "worlds/small.yaml", "--until", "2023-02-13 12:00", "--llm", "rules", "--embedder", "hashing",
                "--quiet", "--seed", "1", "--out", str(run))  # (the news spreads by noon on 9 of seeds 1-10)
    assert r.returncode == 0, r.stderr
    heard = _first_heard(run)
    assert heard, "nobody heard of an event in this run"
    inst = write(tmp_path, "news.yaml", """name: news
items:
  - id: heard
    kind: choice
    text: "Have you heard of a party that someone is hosting soon?"
    options: ["Yes, I heard about a party", "No, I have not heard of one"]
    default: "No, I have not heard of one"
""")
    name, when = min(heard.items(), key=lambda kv: kv[1])
    import datetime as dt

    t = dt.datetime.fromisoformat(when)
    before = (t - dt.timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M")
    after = (t + dt.timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M")
    r = run_cli("survey", str(run), "--instrument", str(inst), "--at", before, "--at", after, "--residents", name,
                "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "out" / "answers.csv")))
    assert [x["heard"] for x in rows] == ["No, I have not heard of one", "Yes, I heard about a party"], (name, rows)


def _first_heard(run):
    from smallville.store.runstore import RunReader

    reader = RunReader(run)
    try:
        out = {}
        for name in reader.agents.values():
            for m in reader.memories(name, until=reader.last_tick()):
                facts = json.loads(m["facts"]) if m["facts"] else {}
                if (facts.get("event") or {}).get("host") and facts.get("heard_from"):
                    out[name] = reader.tick_info(m["tick"])["time"]
                    break
        return out
    finally:
        reader.close()


def test_persona_from_interview_gets_a_home_and_work_in_a_world(tmp_path):
    from smallville.world.config import load_persona
    from smallville.world.world import _check_places, load_world

    out = tmp_path / "ana.yaml"
    r = run_cli("persona", "from-interview", str(write(tmp_path, "t.txt", TRANSCRIPT)), "--name", "Ana Lopez",
                "--demographics", "age=30", "--demographics", "occupation=cafe worker", "--world", "worlds/small.yaml",
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    world = load_world(ROOT / "worlds" / "small.yaml")
    p = load_persona(out)
    _check_places(p, out, world.map)  # every place is on the map
    assert p.home not in {x.persona.home for x in world.residents}
    assert p.workplace and "Cafe" in p.workplace


def test_readme_people_and_surveys_commands_run(tmp_path):
    import re
    import shlex

    body = (ROOT / "README.md").read_text().split("## People and surveys", 1)[1].split("\n## ", 1)[0]
    lines = [ln for b in re.findall(r"```sh\n(.*?)```", body, re.S) for ln in b.splitlines()
             if ln.startswith("python -m smallville ")]
    assert len(lines) == 2
    for line in lines:
        r = run_cli(*shlex.split(line.replace("replays/", f"{tmp_path}/"))[3:])
        assert r.returncode == 0, (line, r.stderr)
    assert (tmp_path / "people-survey" / "answers.csv").exists()


def test_model_summary_gets_the_whole_transcript_or_the_parts_that_fit(tmp_path):
    from smallville.people import summarize as S

    t = read_transcript(write(tmp_path, "t.txt", TRANSCRIPT))
    answer = {"summary": "Ana Lopez is a nurse who grew up by the sea and trusts the police little.",
              "traits": ["Outgoing"]}
    fake = FakeLLM(default=json.dumps(answer))
    decider = Decider(Structured(fake), context_tokens=100000)
    decide = lambda *a, **k: decider.decide(*a, agent="Ana Lopez", tick=0, **k)  # noqa: E731
    got = asyncio.run(S.summarize(decide, decider, "Ana Lopez", {"age": 41}, t))
    assert got.traits == ("outgoing",) and "nurse" in got.text
    prompt = fake.requests[-1].messages[-1].content
    assert "the whole interview" in prompt and "night shifts" in prompt and "hardly any" in prompt
    # a small context: only the answers closest to the lens, never a failure
    small = Decider(Structured(fake), context_tokens=300, count_tokens=lambda s: 5 * len(s.split()))
    decide = lambda *a, **k: small.decide(*a, agent="Ana Lopez", tick=0, **k)  # noqa: E731
    insights = {"insights": ["Ana Lopez distrusts the police."]}
    fake.default = json.dumps(insights)
    out = asyncio.run(S.reflect(decide, small, "Ana Lopez", {"age": 41}, t))
    assert set(out) == set(S.LENSES) and out["political"] == ["Ana Lopez distrusts the police."]
    assert any("the parts about" in r.messages[-1].content for r in fake.requests[-4:])
    # an answer that does not parse: the rules decide (extractive)
    fake.default = json.dumps({"summary": "x", "traits": ["a"]})
    got = asyncio.run(S.summarize(decide, small, "Ana Lopez", {"age": 41}, t))
    assert got == S.rules_summary("Ana Lopez", {"age": 41}, t)
