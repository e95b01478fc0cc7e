"""Issue 13 (in part): a run against a model does not depend on when answers arrive, and the
prompt tokens a server serves from its prefix cache are recorded and shown by ``inspect``."""

import json
import random
import threading

import pytest

from conftest import ROOT
from smallville.cli import main
from smallville.inspect import inspect_run
from smallville.llm.testing import LoopbackServer
from smallville.store.runstore import RunReader

ENV_VARS = ("OPENAI_API_KEY", "SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL")
SMALL = ROOT / "worlds" / "small.yaml"  # three residents from 07:00: plans, steps and ratings in half an hour


@pytest.fixture
def clean_env(monkeypatch):
    for v in ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def llm_world(tiny_world, **llm):
    settings = {"backend": "auto", "timeout_s": 5, "max_retries": 1, **llm}
    tiny_world.write_text(tiny_world.read_text().replace("llm: {backend: rules}", "llm: " + json.dumps(settings)))
    return tiny_world


def run_world(world, out, *args):
    return main(["run", str(world), "--out", str(out), "--quiet", "--embedder", "hashing", "--hours", "0.5",
                 "--seed", "3", *args])


def run_small(out, *args):
    return run_world(SMALL, out, "--llm", "openai", *args)


def random_latency(seed=1):
    rng, lock = random.Random(seed), threading.Lock()

    def latency(i):
        with lock:
            return rng.uniform(0.0, 1.0)
    return latency


def test_the_digest_does_not_depend_on_when_answers_arrive(tmp_path, clean_env):
    digests, sent = {}, {}
    for label, latency in (("0 s", 0.0), ("0.5 s", 0.5), ("random 0-1 s", random_latency())):
        with LoopbackServer(latency_s=latency) as srv:
            clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
            clean_env.setenv("OPENAI_API_KEY", "sk-overlap")
            out = tmp_path / label.replace(" ", "_")
            assert run_small(out) == 0
            digests[label] = inspect_run(str(out), None, None)["digest"]
            sent[label] = len(srv.requests)
    assert len(set(digests.values())) == 1, digests
    assert len(set(sent.values())) == 1 and sent["0 s"] >= 8, sent


def test_record_at_half_a_second_then_replay_sends_nothing(tmp_path, clean_env):
    with LoopbackServer(latency_s=0.5, cached_tokens=32) as srv:
        clean_env.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        clean_env.setenv("OPENAI_API_KEY", "sk-overlap")
        assert run_small(tmp_path / "rec") == 0
        n = len(srv.requests)
        want = inspect_run(str(tmp_path / "rec"), None, None)
        assert run_world(SMALL, tmp_path / "rep", "--llm", "replay", "--replay-calls", str(tmp_path / "rec")) == 0
        assert len(srv.requests) == n  # nothing sent
    got = inspect_run(str(tmp_path / "rep"), None, None)
    assert got["digest"] == want["digest"]
    assert want["llm"]["cached_tokens"] == 32 * want["llm"]["calls"] > 0  # the server's cached prompt tokens
    assert got["llm"]["calls"] == 0


