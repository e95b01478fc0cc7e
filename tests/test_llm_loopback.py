"""The ``openai`` backend against a loopback OpenAI-compatible server: negotiation of
structured output, fault injection, record → replay, secrets, budget, ``--llm auto``."""

import asyncio
import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from smallville.cli import main
from smallville.inspect import inspect_run
from smallville.llm.openai_backend import OpenAIBackend
from smallville.llm.protocol import Message, Request
from smallville.llm.testing import LoopbackServer
from smallville.llm.wrappers import Structured
from smallville.store.runstore import RunReader

SCHEMA = {"type": "object", "properties": {"activity": {"type": "string"}, "minutes": {"type": "integer"}},
          "required": ["activity", "minutes"], "additionalProperties": False}
ENV_VARS = ("OPENAI_API_KEY", "SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL")
FAKE_KEY = "sk-smallville-test-KEY-0123456789abcdef"


@pytest.fixture
def clean_env(monkeypatch):
    for v in ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def llm_world(tiny_world: Path, **llm) -> Path:
    """The tiny world with these llm settings."""
    settings = {"backend": "auto", "timeout_s": 0.5, "max_retries": 3, **llm}
    text = tiny_world.read_text().replace("llm: {backend: rules}", "llm: " + json.dumps(settings))
    tiny_world.write_text(text)
    return tiny_world


FAST = ("--embedder", "hashing")  # memory embeddings without loading a model


def run_world(world: Path, out: Path, *args: str) -> int:
    return main(["run", str(world), "--out", str(out), "--quiet", *FAST, *args])


def ask(backend, schema=SCHEMA):
    req = Request(messages=(Message("user", "What now? JSON please."),), schema=schema, schema_name="t", seed=1)
    return asyncio.run(Structured(backend).complete(req))


# ---------------------------------------------------------------- negotiation
@pytest.mark.parametrize("refuse, mode", [((), "json_schema"), (("json_schema",), "json_object"),
                                          (("json_schema", "json_object"), "prompt")])
def test_structured_output_is_negotiated_once(refuse, mode):
    with LoopbackServer(refuse=refuse) as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url, api_key="k", timeout_s=5)
        resp = ask(backend)
        assert resp.value == {"activity": "reading", "minutes": 5} and backend.mode == mode
        assert resp.extra["requests"] == len(refuse) + 1
        ask(backend)
        assert len(srv.requests) == len(refuse) + 2  # the second call goes straight to what worked
    if mode == "prompt":
        assert "JSON schema" in srv.requests[-1]["body"]["messages"][-1]["content"]


@pytest.mark.parametrize("refuse", [(), ("json_schema",)])
def test_requests_that_waited_for_the_negotiation_go_together(refuse):
    """A run's first burst: one request finds the structured-output mode, the others wait for it
    and then go at once (not one after another)."""
    with LoopbackServer(latency_s=0.2, refuse=refuse) as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url, api_key="k", timeout_s=5)
        req = Request(messages=(Message("user", "What now? JSON please."),), schema=SCHEMA, schema_name="t", seed=1)

        async def burst():
            return await asyncio.gather(*(Structured(backend).complete(req) for _ in range(6)))

        assert all(r.value == {"activity": "reading", "minutes": 5} for r in asyncio.run(burst()))
        assert srv.peak_in_flight >= 5  # the five that waited were answered side by side


def test_strict_json_schema_leaves_out_keywords_openai_refuses():
    schema = {**SCHEMA, "properties": {"activity": {"type": "string", "maxLength": 5}, "minutes": {"type": "integer"}}}
    with LoopbackServer(answer=lambda body: {"activity": "far too long", "minutes": 5}) as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url, api_key="k", timeout_s=5)
        with pytest.raises(Exception) as e:
            ask(backend, schema)
        sent = srv.requests[0]["body"]["response_format"]["json_schema"]["schema"]
    assert "maxLength" not in json.dumps(sent) and getattr(e.value, "kind", "") == "schema"  # validated in full
    assert srv.requests[0]["body"]["response_format"]["json_schema"]["strict"] is True


def test_strict_mode_only_for_schemas_openai_accepts_as_strict():
    from smallville.llm.openai_backend import strict_ok

    assert strict_ok(SCHEMA)
    assert not strict_ok({**SCHEMA, "required": ["activity"]})
    assert not strict_ok({"type": "object", "properties": {"a": {"type": "object", "properties": {}}},
                          "required": ["a"], "additionalProperties": False})


# ---------------------------------------------------------------- faults
KIND_RECORDED = {"timeout": "timeout", "rate_limit": "rate_limit", "server_error": "server_error",
                 "malformed": "malformed", "bad_body": "malformed", "empty": "empty", "wrong_schema": "schema"}


def recorded_matches_injected(rows: list[dict], srv: LoopbackServer, exact: bool = True) -> None:
    """Every request is on record, and every injected fault is recorded as its kind.
    (``exact=False``: the server's generic answers may also fail a decision's schema.)"""
    assert sum(r["requests"] for r in rows) == len(srv.requests)
    want = Counter()
    for kind, n in srv.fault_counts().items():
        want[KIND_RECORDED[kind]] += n
    got = Counter(r["error_kind"] for r in rows if r["error_kind"])
    if exact:
        assert got == want
    else:
        assert got["schema"] >= want.pop("schema", 0) and {k: got[k] for k in want} == dict(want)


def test_fault_injection_every_decision_completes_and_each_fault_is_recorded(clean_env):
    """40 concurrent next_action decisions against a server failing about a third of the
    requests — timeouts, 429, 500, malformed JSON (content and body), empty content and
    wrong-schema JSON."""
    import datetime as dt
    import random

    from smallville.cognition import next_action
    from smallville.cognition.decisions import Decider
    from smallville.cognition.interface import Action
    from smallville.llm.factory import choose, wrap
    from smallville.world.config import LLMSettings, load_persona

    from conftest import DATA

    persona = load_persona(DATA / "tiny" / "ann.yaml")
    now = dt.datetime(2023, 2, 13, 9, 0)
    routine = Action("serving coffee", "Cafe:cafe", now + dt.timedelta(hours=3))
    settings = LLMSettings(timeout_s=0.5, max_retries=3)
    with LoopbackServer(faults=LoopbackServer.every(3), hang_s=0.8) as srv:
        chosen = choose("openai", settings, env={"SMALLVILLE_LLM_BASE_URL": srv.base_url})
        rows, decided = [], []
        stack = wrap(chosen, settings, rows.append, retry_base_s=0.01)
        decider = Decider(stack.lm, record=lambda **d: decided.append(d))

        async def one(i):
            return await decider.decide(
                "next_action", agent=f"agent {i}", tick=1, variables=next_action.variables(persona, now, "", routine),
                rules=lambda: routine, parse=lambda v: next_action.parse(v, persona, now, routine),
                rng=random.Random(i), enums={"place": next_action.places_of(persona)})

        async def all_of_them():
            return await asyncio.gather(*(one(i) for i in range(40)))

        actions = asyncio.run(all_of_them())
    assert len(actions) == 40 and all(isinstance(a, Action) for a in actions)
    assert set(srv.fault_counts()) == set(KIND_RECORDED)  # every kind was injected…
    recorded_matches_injected(rows, srv)  # …and recorded
    assert stack.usage.calls == len(srv.requests) and stack.usage.errors == sum(srv.fault_counts().values())
    # a decision falls back only when all four of its attempts failed
    failed = {d["agent"] for d in decided if d["fallback"]}
    for i in range(40):
        attempts = [r for r in rows if r["agent"] == f"agent {i}"]
        assert (f"agent {i}" in failed) == (len(attempts) == 4 and all(r["error"] for r in attempts))
    assert len(failed) <= 4


def test_a_run_with_faults_completes_and_records_each_fault(tiny_world, tmp_path, clean_env):
    world = llm_world(tiny_world)
    # llama.cpp's way (json_object with the full schema), so the server's answers fit the schemas
    with LoopbackServer(faults=LoopbackServer.every(2), hang_s=0.8, refuse=("json_schema",)) as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        assert run_world(world, tmp_path / "r", "--hours", "2") == 0
    reader = RunReader(tmp_path / "r")
    calls = reader.llm_calls()
    assert srv.fault_counts()
    recorded_matches_injected(calls, srv, exact=False)
    view = inspect_run(str(tmp_path / "r"), None, None)
    assert view["status"] == "complete" and view["llm"]["calls"] == len(srv.requests)
    assert view["llm"]["errors"] == sum(1 for c in calls if c["error"])
    assert reader.manifest["llm"]["calls"] == len(srv.requests)
    # every decision asked was taken (by the model, or after the last attempt by its rules), at the
    # tick it was asked or — work for later — when its outcome was taken (the run ends on the hour:
    # nothing is under way there)
    asked = Counter((c["agent"], c["decision"]) for c in calls if c["attempt"] == 0)
    taken = Counter((r["agent"], r["name"]) for r in reader.con.execute(
        "SELECT d.tick, a.name AS agent, d.name FROM decisions d JOIN agents a ON a.id = d.agent"))
    assert asked == taken and sum(taken.values()) == view["llm"]["decisions"] > 0
    first_asked = min(c["tick"] for c in calls if c["decision"] == "plan_day")
    assert reader.con.execute("SELECT MIN(tick) FROM decisions WHERE name = 'plan_day'").fetchone()[0] >= first_asked


def test_a_server_that_always_fails_falls_back_to_rules(tiny_world, tmp_path, clean_env):
    world = llm_world(tiny_world, max_retries=1)
    with LoopbackServer(faults=lambda i: "server_error") as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        # to an hourly barrier: no work for later is under way at the end (its decisions recorded)
        assert run_world(world, tmp_path / "r", "--hours", "1") == 0
    view = inspect_run(str(tmp_path / "r"), None, None)
    assert view["status"] == "complete" and view["llm"]["fallbacks"] == view["llm"]["decisions"] > 0
    assert view["llm"]["calls"] == 2 * view["llm"]["decisions"]
    assert main(["run", *FAST, str(tiny_world), "--llm", "rules", "--hours", "1", "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    assert inspect_run(str(tmp_path / "b"), None, None)["digest"] == view["digest"]  # the rules, exactly


# ---------------------------------------------------------------- record and replay
def test_record_then_replay_gives_the_same_digest_with_no_backend_call(tiny_world, tmp_path, clean_env):
    world = llm_world(tiny_world)
    with LoopbackServer(faults=LoopbackServer.every(2), hang_s=0.8) as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        assert run_world(world, tmp_path / "r1", "--hours", "2") == 0
        sent = len(srv.requests)
        assert srv.fault_counts()  # the recording has faults to replay too
    clean_env.delenv("SMALLVILLE_LLM_BASE_URL")  # the server is gone: replay must not need it
    assert run_world(world, tmp_path / "r2", "--llm", "replay", "--replay-calls", str(tmp_path / "r1"),
                     "--hours", "2") == 0
    a, b = inspect_run(str(tmp_path / "r1"), None, None), inspect_run(str(tmp_path / "r2"), None, None)
    assert a["digest"] == b["digest"] and a["llm"]["calls"] == sent
    assert b["llm"]["calls"] == 0 and b["llm"]["cache_hits"] == sent and b["llm"]["backend"] == "replay"
    assert b["llm"]["fallbacks"] == a["llm"]["fallbacks"]
    # step by step, not just at the end
    ra, rb = RunReader(tmp_path / "r1"), RunReader(tmp_path / "r2")
    ticks = lambda r: r.con.execute("SELECT tick, digest FROM ticks ORDER BY tick").fetchall()  # noqa: E731
    assert [tuple(x) for x in ticks(ra)] == [tuple(x) for x in ticks(rb)]
    # a longer replay runs out of recorded answers: a clear error naming decision, agent and tick
    r = main(["run", *FAST, str(world), "--out", str(tmp_path / "r3"), "--quiet", "--llm", "replay", "--replay-calls",
              str(tmp_path / "r1"), "--hours", "4"])
    assert r == 2


def test_replay_miss_message(tiny_world, tmp_path, clean_env, capsys):
    world = llm_world(tiny_world)
    with LoopbackServer() as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        assert run_world(world, tmp_path / "r1", "--hours", "0.5") == 0
    capsys.readouterr()
    assert run_world(world, tmp_path / "r2", "--llm", "replay", "--replay-calls", str(tmp_path / "r1"),
                     "--hours", "0.5", "--seed", "99") == 2
    err = capsys.readouterr().err
    assert re.search(r"no recorded answer for decision '\w+' of \w+ Example at tick \d+", err), err
    assert "Traceback" not in err


# ---------------------------------------------------------------- secrets
@pytest.mark.parametrize("where", ["env", "world"])
def test_the_api_key_is_never_written(tiny_world, tmp_path, clean_env, capfd, where):
    world = llm_world(tiny_world, **({"api_key": FAKE_KEY} if where == "world" else {}))
    with LoopbackServer(faults=LoopbackServer.every(2), echo_auth=True, hang_s=1.0) as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        if where == "env":
            clean_env.setenv("OPENAI_API_KEY", FAKE_KEY)
        assert main(["run", *FAST, str(world), "--out", str(tmp_path / "r"), "--hours", "0.5"]) == 0
        assert any(FAKE_KEY in r["headers"].get("authorization", "") for r in srv.requests)  # it was used
    out = capfd.readouterr()
    assert FAKE_KEY not in out.out + out.err
    files = [p for p in (tmp_path / "r").rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert FAKE_KEY.encode() not in p.read_bytes(), p
    con = sqlite3.connect(tmp_path / "r" / "run.db")
    dump = "\n".join(con.iterdump())
    assert FAKE_KEY not in dump and "Bearer ***" in dump  # the echoed header was scrubbed
    view = inspect_run(str(tmp_path / "r"), None, None)
    assert FAKE_KEY not in json.dumps(view) and view["llm"]["errors"] > 0


# ---------------------------------------------------------------- budget
def test_a_budget_stops_the_run_cleanly_at_a_tick_boundary(tiny_world, tmp_path, clean_env, capsys):
    world = llm_world(tiny_world, budget={"calls": 3})
    with LoopbackServer() as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        assert run_world(world, tmp_path / "r", "--hours", "2") == 0
        assert len(srv.requests) == 3
    reader = RunReader(tmp_path / "r")
    m = reader.manifest
    assert m["status"] == "budget_exhausted" and m["last_tick"] < 720 and m["llm"]["calls"] == 3
    assert reader.last_tick() == m["last_tick"] and reader.checkpoint_at(m["last_tick"])[0] == m["last_tick"]
    refused = [c for c in reader.llm_calls() if c["error_kind"] == "budget"]
    assert all(not c["cached"] and c["requests"] == 0 for c in refused)  # on record, never sent
    assert inspect_run(str(tmp_path / "r"), None, None)["llm"]["calls"] == 3
    # the stopped run replays exactly up to where it stopped, the refusals included
    hours = m["last_tick"] * 10 / 3600
    assert run_world(world, tmp_path / "r2", "--llm", "replay", "--replay-calls", str(tmp_path / "r"),
                     "--hours", f"{hours + 1e-9!r}") == 0
    replayed = inspect_run(str(tmp_path / "r2"), None, None)
    assert replayed["tick"] == m["last_tick"] and replayed["digest"] == m["digest"]


# ---------------------------------------------------------------- --llm auto
def test_auto_uses_rules_without_environment(tiny_world, tmp_path, clean_env, capsys):
    world = llm_world(tiny_world)
    assert main(["run", *FAST, str(world), "--out", str(tmp_path / "r"), "--hours", "0.2"]) == 0
    err = capsys.readouterr().err
    assert "rules baseline" in err and "neither OPENAI_API_KEY nor SMALLVILLE_LLM_BASE_URL" in err and "--llm" in err
    view = inspect_run(str(tmp_path / "r"), None, None)
    assert view["llm"]["backend"] == "rules" and view["llm"]["calls"] == 0


def test_auto_uses_openai_with_a_base_url(tiny_world, tmp_path, clean_env, capsys):
    world = llm_world(tiny_world)
    with LoopbackServer(model="served-model") as srv:
        url = srv.base_url
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", url)
        assert main(["run", *FAST, str(world), "--out", str(tmp_path / "r"), "--hours", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "LLM: openai (auto: SMALLVILLE_LLM_BASE_URL is set), model served-model at " + url in err
    view = inspect_run(str(tmp_path / "r"), None, None)
    assert view["llm"]["backend"] == "openai" and view["llm"]["model"] == "served-model" and view["llm"]["calls"] > 0


def test_an_unreachable_server_is_a_clear_error(tiny_world, tmp_path, clean_env, capsys):
    from smallville.llm.testing import free_port

    clean_env.setenv("SMALLVILLE_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    assert main(["run", *FAST, str(llm_world(tiny_world)), "--out", str(tmp_path / "r"), "--hours", "0.2"]) == 2
    assert "cannot list the server's models" in capsys.readouterr().err


def test_a_known_mode_refused_for_one_schema_steps_down():
    with LoopbackServer() as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url, api_key="k", timeout_s=5)
        ask(backend)
        assert backend.mode == "json_schema"
        srv.refuse = {"json_schema"}  # e.g. a schema the server cannot take strictly
        resp = ask(backend)
        assert backend.mode == "json_object" and resp.extra["requests"] == 2 and resp.value
