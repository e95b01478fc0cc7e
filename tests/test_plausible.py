"""The loopback server's plausible answers (smallville.llm.plausible): every decision the project
asks gets an answer that passes the decision's own check and parse, with a model's shape (plans of
several blocks, conversations that end), the same answer for the same request, and a prefix cache
that counts what earlier prompts shared."""

import datetime as dt
import json
import re

import pytest

from conftest import ROOT
from smallville.cli import main
from smallville.cognition import plan as P
from smallville.cognition.decisions import Repaired, render
from smallville.cognition.interface import Action
from smallville.cognition import next_action, react
from smallville.llm.answers import check
from smallville.llm.openai_backend import OpenAIBackend
from smallville.llm.plausible import PrefixCache, decision_of, plausible
from smallville.llm.protocol import Request
from smallville.llm.testing import LoopbackServer
from smallville.store.runstore import RunReader
from smallville.world.config import load_persona

ENV_VARS = ("OPENAI_API_KEY", "SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL")
SMALL = ROOT / "worlds" / "small.yaml"
MODES = ("json_schema", "json_object", "prompt")


@pytest.fixture
def clean_env(monkeypatch):
    for v in ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def body_of(name, variables, mode, enums=None, schema=None, seed=1):
    """The request body the openai backend sends for decision ``name`` in structured-output ``mode``,
    and the full schema its answer is checked against."""
    messages, full = render(name, variables, enums, schema)
    req = Request(messages=messages, schema=full, schema_name=name, seed=seed, decision=name)
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", api_key="k")
    return backend._arguments(req, mode), full


def answer(body, schema):
    return check(json.dumps(plausible(body)), schema)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Fourteen game hours of the small world against plausible answers, and an interview."""
    out = tmp_path_factory.mktemp("plausible") / "run"
    mp = pytest.MonkeyPatch()
    try:
        for v in ENV_VARS:
            mp.delenv(v, raising=False)
        with LoopbackServer(answer=plausible) as srv:
            mp.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
            mp.setenv("OPENAI_API_KEY", "sk-loopback")
            assert main(["run", str(SMALL), "--llm", "openai", "--embedder", "hashing", "--hours", "14", "--seed", "3",
                         "--out", str(out), "--quiet"]) == 0
            assert main(["interview", str(out), "Klaus Mueller", "--llm", "openai", "--question",
                         "What are you working on these days?", "--json"]) == 0
    finally:
        mp.undo()
    return out


def test_a_run_against_plausible_answers_has_no_fallback_and_plans_like_a_model(small_run):
    reader = RunReader(small_run)
    try:
        con = reader.con
        decisions = dict(con.execute("SELECT name, COUNT(*) FROM decisions GROUP BY name").fetchall())
        fallbacks = con.execute("SELECT name, tick FROM decisions WHERE fallback").fetchall()
        failed = con.execute("SELECT decision, error FROM llm_calls WHERE error IS NOT NULL OR note IS NOT NULL"
                             ).fetchall()
        plans = [json.loads(r[0]) for r in con.execute("SELECT response FROM llm_calls WHERE decision = 'plan_day'")]
        turns = [(json.loads(m)[-1]["content"], json.loads(r)) for m, r in con.execute(
            "SELECT messages, response FROM llm_calls WHERE decision = 'converse_turn' ORDER BY id")]
    finally:
        reader.close()
    assert fallbacks == [] and failed == [], (fallbacks, failed)
    for name in ("plan_day", "decompose", "rate_importance", "react", "converse_turn", "extract_facts",
                 "reflect_questions", "reflect_insights"):
        assert decisions.get(name, 0) >= 1, (name, decisions)
    assert len(plans) == 3 and all(5 <= len(p["blocks"]) <= 9 for p in plans)
    for p in plans:
        assert "06:30" <= p["wake"] <= "08:00"
        wake = P.parse_clock_text(p["wake"])

        def t(text):  # minutes since the plan day's midnight (after midnight: the next day)
            m = P.parse_clock_text(text)
            return m if m >= wake - 120 else m + P.DAY
        times = [(t(b["start"]), t(b["end"])) for b in p["blocks"]]
        assert all(s < e for s, e in times) and all(a[1] <= b[0] for a, b in zip(times, times[1:]))
    # conversations end after 3 to 6 lines: the last line's prompt shows 2 to 5 before it
    ends = [len(prompt.split("The conversation so far:\n", 1)[1].split("\nWrite ", 1)[0].split("\n")) + 1
            for prompt, turn in turns if turn["end"]]
    assert ends and all(3 <= k <= 6 for k in ends), ends


def test_the_interview_is_answered_from_the_model(small_run):
    import sqlite3

    con = sqlite3.connect(small_run / "inbox.db")
    try:
        rows = con.execute("SELECT answer, backend FROM interviews").fetchall()
    finally:
        con.close()
    assert len(rows) == 1 and rows[0][1] == "openai"
    assert rows[0][0].startswith(("From what I remember:", "I'm not sure")), rows  # the model's words, not the rules'


def test_no_fallback_either_when_the_schema_travels_in_the_prompt(tmp_path, clean_env):
    """A server that refuses json_schema and json_object (the schema is written into the prompt)."""
    with LoopbackServer(answer=plausible, refuse=("json_schema", "json_object")) as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        clean_env.setenv("OPENAI_API_KEY", "sk-loopback")
        assert main(["run", str(SMALL), "--llm", "openai", "--embedder", "hashing", "--hours", "14", "--seed", "3",
                     "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert "JSON schema: " in srv.requests[-1]["body"]["messages"][-1]["content"]
    reader = RunReader(tmp_path / "run")
    try:
        con = reader.con
        names = {r[0] for r in con.execute("SELECT DISTINCT name FROM decisions")}
        bad = con.execute("SELECT decision, error, note FROM llm_calls WHERE error IS NOT NULL AND error_kind != "
                          "'unsupported' OR note IS NOT NULL").fetchall()
        fallbacks = con.execute("SELECT COUNT(*) FROM decisions WHERE fallback").fetchone()[0]
    finally:
        reader.close()
    assert fallbacks == 0 and bad == [], bad
    assert {"plan_day", "decompose", "rate_importance", "converse_turn", "extract_facts"} <= names, names


@pytest.mark.parametrize("mode", MODES)
def test_replan_and_next_action_answers_pass_their_parse(mode):
    persona = load_persona(ROOT / "personas" / "klaus_mueller.yaml")
    day = dt.date(2023, 2, 13)
    places = P.persona_places(persona)
    plan = P.rules_plan(persona, day, 0, {})
    m = 14 * 60
    variables = P.plan_variables(persona, day, 0, "", ["Klaus Mueller is going to a talk"], places)
    variables["now"] = P.clock(m)
    variables["current"] = "\n".join(f"- {P.clock(b['start'])}-{P.clock(b['end'])} {b['activity']} @ {b['place']}"
                                     for b in plan["blocks"] if b["end"] > m)
    body, schema = body_of("replan", variables, mode, enums={"blocks.place": places})
    assert decision_of(body) == "replan"
    keep = [b for b in plan["blocks"] if b["start"] < m]
    got = P.parse_plan(answer(body, schema), persona, day, 0, places, {}, keep=keep, after=m)
    assert not isinstance(got, Repaired) and len(got["blocks"]) > len(keep)

    situation = "Klaus Mueller has just decided to go to a talk. Replan the rest of the day?"
    obs_vars = {"name": persona.name, "persona": P.persona_line(persona), "time": "Monday 14:00",
                "action": "reading", "place": "Oak Hill College", "situation": situation,
                "memories": "- nothing in particular", "options": "continue, replan"}
    body, schema = body_of("react", obs_vars, mode, enums={"reaction": ["continue", "replan"]})
    assert react.parse_salient(answer(body, schema)) in ("continue", "replan")

    now = dt.datetime(2023, 2, 13, 9, 0)
    routine = Action("reading", places[2], now + dt.timedelta(minutes=30))
    body, schema = body_of("next_action", next_action.variables(persona, now, "", routine), mode,
                           enums={"place": next_action.places_of(persona)})
    got = next_action.parse(answer(body, schema), persona, now, routine)
    assert not isinstance(got, Repaired) and got.place in places


def test_every_prompt_of_the_run_gets_the_same_answer_again_and_names_its_decision(small_run):
    """The prompts the run rendered, sent again: the same answer for the same request, and the
    decision found from the prompt alone (a server in json_object or prompt mode is not told it)."""
    reader = RunReader(small_run)
    try:
        rows = reader.con.execute("SELECT decision, messages, params FROM llm_calls GROUP BY decision").fetchall()
    finally:
        reader.close()
    assert len(rows) >= 8
    for name, messages, params in rows:
        body = {"messages": json.loads(messages), "seed": json.loads(params)["seed"],
                "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": {}}}}
        assert plausible(body) == plausible(json.loads(json.dumps(body)))  # the same request, the same answer
        plain = {k: v for k, v in body.items() if k != "response_format"}
        assert decision_of(plain) == name  # found from the prompt when the server is not told


def test_the_same_request_gets_the_same_answer_and_another_seed_another():
    persona = load_persona(ROOT / "personas" / "maria_lopez.yaml")
    places = P.persona_places(persona)
    variables = P.plan_variables(persona, dt.date(2023, 2, 13), 0, "", [], places)
    answers = [plausible(body_of("plan_day", variables, "json_schema", {"blocks.place": places}, seed=s)[0])
               for s in (1, 1, 2, 3, 4)]
    assert answers[0] == answers[1]
    assert len({json.dumps(a) for a in answers}) >= 3


def test_the_prefix_cache_counts_the_blocks_an_earlier_prompt_shared():
    cache = PrefixCache(block=16)  # 64 characters a block
    a = "x" * 200
    assert cache.add(a) == 0
    assert cache.add(a) == 192 // 4  # whole blocks only
    assert cache.add("x" * 100 + "y" * 100) == 64 // 4
    assert cache.add("y" * 200) == 0


def test_the_server_reports_prompt_tokens_and_its_prefix_cache(clean_env):
    import openai

    with LoopbackServer(answer=plausible, prefix_cache=True) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k")
        msgs = [{"role": "system", "content": "s" * 400}, {"role": "user", "content": "u" * 400}]
        first = client.chat.completions.create(model="m", messages=msgs)
        second = client.chat.completions.create(model="m", messages=msgs[:1] + [{"role": "user", "content": "v" * 400}])
        client.close()
    assert 200 <= first.usage.prompt_tokens <= 210 and first.usage.prompt_tokens_details.cached_tokens == 0
    assert 96 <= second.usage.prompt_tokens_details.cached_tokens <= 104  # the system message, to a block


def test_plausible_answers_keep_the_digest_whatever_the_latency(tmp_path, clean_env):
    import random
    import threading

    rng, lock = random.Random(5), threading.Lock()

    def jitter(i):
        with lock:
            return rng.uniform(0.0, 0.3)
    digests = []
    for label, latency in (("now", 0.0), ("jitter", jitter)):
        with LoopbackServer(answer=plausible, latency_s=latency) as srv:
            clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
            clean_env.setenv("OPENAI_API_KEY", "sk-loopback")
            out = tmp_path / label
            assert main(["run", str(SMALL), "--llm", "openai", "--embedder", "hashing", "--hours", "2", "--seed", "3",
                         "--out", str(out), "--quiet"]) == 0
        reader = RunReader(out)
        try:
            digests.append(reader.tick_info(reader.last_tick())["digest"])
        finally:
            reader.close()
    assert digests[0] == digests[1]


def test_the_progress_bar_shows_requests_in_flight_and_the_parallelism(tmp_path, clean_env, capsys):
    with LoopbackServer(answer=plausible, latency_s=0.2) as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        clean_env.setenv("OPENAI_API_KEY", "sk-loopback")
        assert main(["run", str(SMALL), "--llm", "openai", "--embedder", "hashing", "--hours", "0.5", "--seed", "3",
                     "--out", str(tmp_path / "model")]) == 0
    err = capsys.readouterr().err
    shown = [float(x) for x in re.findall(r"in flight \d+, parallelism (\d+\.\d)", err)]
    assert shown and 0 < shown[-1] <= 16, err[-2000:]
    # no model, no requests: nothing in flight to show
    assert main(["run", str(SMALL), "--llm", "rules", "--embedder", "hashing", "--hours", "0.5",
                 "--out", str(tmp_path / "rules")]) == 0
    err = capsys.readouterr().err
    assert "llm calls 0" in err and "in flight" not in err and "parallelism" not in err
