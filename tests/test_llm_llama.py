"""Real models: the packaged SmolLM2-135M through llama.cpp's OpenAI-compatible server
(started by a fixture on 127.0.0.1) and in-process; the issue's done-when commands."""

import asyncio
import json
import os
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from smallville.cognition import next_action
from smallville.cognition.decisions import render
from smallville.cognition.interface import Action
from smallville.llm.local import LocalBackend
from smallville.llm.openai_backend import OpenAIBackend
from smallville.llm.protocol import Request
from smallville.llm.testing import LlamaServer
from smallville.llm.wrappers import Retry, Structured
from smallville.world.config import load_persona

ENV_VARS = ("OPENAI_API_KEY", "SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL")


@pytest.fixture(scope="session")
def llama_server():
    with LlamaServer(n_ctx=2048) as server:
        yield server


def next_action_request(seed: int = 1) -> Request:
    import datetime as dt

    persona = load_persona(ROOT / "tests/data/tiny/ann.yaml")
    now = dt.datetime(2023, 2, 13, 7, 30)
    routine = Action("serving coffee", "Cafe:cafe", now + dt.timedelta(hours=4), emoji="☕")
    messages, schema = render("next_action", next_action.variables(persona, now, "getting ready", routine),
                              {"place": next_action.places_of(persona)})
    return Request(messages=messages, schema=schema, schema_name="next_action", temperature=0.7, max_tokens=128,
                   seed=seed, decision="next_action", agent=persona.name, tick=1)


def valid_next_action(value: dict) -> None:
    assert set(value) == {"activity", "place", "emoji", "minutes"}
    assert value["place"] in ("Ann's House:bedroom", "Cafe:cafe", "Cafe:kitchen")
    assert isinstance(value["minutes"], int) and isinstance(value["activity"], str)


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(llama_server):
    backend = OpenAIBackend("smollm2", base_url=llama_server.base_url, api_key="sk-local", timeout_s=120)

    async def ask():
        lm = Retry(Structured(backend), attempts=3, base_s=0.05)
        return await lm.complete(next_action_request())

    resp = asyncio.run(ask())
    valid_next_action(resp.value)
    assert backend.mode == "json_object"  # llama.cpp's server refuses json_schema; negotiated once
    assert resp.tokens_in > 50 and resp.tokens_out > 5 and resp.latency_s > 0


@pytest.mark.slow
def test_local_backend_in_process_is_constrained_and_seeded():
    backend = LocalBackend()
    try:
        async def ask(seed):
            return await Structured(backend).complete(next_action_request(seed))

        a, b = asyncio.run(ask(5)), asyncio.run(ask(5))
        valid_next_action(a.value)
        assert a.text == b.text  # same request, same seed: same answer
        assert a.extra["mode"] == "grammar" and a.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    finally:
        backend.close()


TINY = "tests/data/tiny/world.yaml"  # worlds/small.yaml takes minutes with the 135M model on 2 cores
FAST = ("--embedder", "hashing")  # memory embeddings without loading a model


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    return {**env, **extra}


def llm_view(run_dir: Path) -> dict:
    r = run_cli("inspect", str(run_dir), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.slow
def test_done_when_local_run_then_replay(tmp_path):
    """The issue's done-when: --llm local records calls; --llm replay reproduces the digest
    without asking a model."""
    r1, r2 = tmp_path / "R1", tmp_path / "R2"
    p = run_cli("run", TINY, *FAST, "--llm", "local", "--hours", "0.25", "--out", str(r1), env=clean_env())
    assert p.returncode == 0, p.stderr
    assert "LLM: local llama.cpp in-process" in p.stderr and "Traceback" not in p.stderr
    a = llm_view(r1)
    assert a["status"] == "complete" and a["llm"]["calls"] > 0 and a["llm"]["tokens_out"] > 0
    p = run_cli("run", TINY, *FAST, "--llm", "replay", "--replay-calls", str(r1), "--hours", "0.25", "--out", str(r2),
                env=clean_env())
    assert p.returncode == 0, p.stderr
    b = llm_view(r2)
    assert b["digest"] == a["digest"] and b["llm"]["calls"] == 0 and b["llm"]["cache_hits"] > 0


@pytest.mark.slow
def test_done_when_auto_uses_a_loopback_llama_server(llama_server, tmp_path):
    env = clean_env(OPENAI_API_KEY="sk-local-test", SMALLVILLE_LLM_BASE_URL=llama_server.base_url)
    p = run_cli("run", TINY, *FAST, "--llm", "auto", "--hours", "0.25", "--out", str(tmp_path / "a"), env=env)
    assert p.returncode == 0, p.stderr
    assert "LLM: openai (auto: SMALLVILLE_LLM_BASE_URL is set), model " in p.stderr
    assert llama_server.base_url in p.stderr
    v = llm_view(tmp_path / "a")
    assert v["llm"]["backend"] == "openai" and v["llm"]["calls"] > 0
    p = run_cli("run", TINY, *FAST, "--llm", "auto", "--hours", "0.25", "--out", str(tmp_path / "b"), env=clean_env())
    assert p.returncode == 0 and "LLM: rules baseline" in p.stderr
    assert llm_view(tmp_path / "b")["llm"]["backend"] == "rules"
