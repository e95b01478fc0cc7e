"""Issue 22, part 4: many runs, one server — ``multiverse --llm openai --workers K`` sends every
run's requests to the one server at once, and each run is the run it would be alone."""

from __future__ import annotations

from conftest import ROOT, run_cli
from smallville.cli import main
from smallville.inspect import inspect_run
from smallville.llm.testing import LoopbackServer
from smallville.store.runstore import RunReader

SMALL = ROOT / "worlds" / "small.yaml"
RUN = ("--llm", "openai", "--embedder", "hashing", "--hours", "0.5", "--quiet")


def test_two_runs_at_once_against_one_server(tmp_path, monkeypatch):
    for v in ("OPENAI_API_KEY", "SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL"):
        monkeypatch.delenv(v, raising=False)
    with LoopbackServer(latency_s=0.05) as srv:
        env = {"SMALLVILLE_LLM_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-many"}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        assert main(["run", str(SMALL), "--seed", "3", "--out", str(tmp_path / "alone"), *RUN]) == 0
        alone = len(srv.requests)
        r = run_cli("multiverse", str(SMALL), "--runs", "2", "--workers", "2", "--seed-base", "3",
                    "--out", str(tmp_path / "mv"), *RUN, env=env)
        assert r.returncode == 0, r.stderr
        together = len(srv.requests) - alone
    digests, calls = {}, {}
    for seed in (3, 4):
        run = tmp_path / "mv" / "runs" / f"seed-{seed}"
        reader = RunReader(run)
        try:
            assert reader.manifest["status"] == "complete" and reader.manifest["backend"] == "openai"
            calls[seed] = reader.llm_usage()["calls"]  # it asked the server, not the rules
        finally:
            reader.close()
        digests[seed] = inspect_run(str(run), None, None)["digest"]
    assert digests[3] == inspect_run(str(tmp_path / "alone"), None, None)["digest"]  # as it is alone
    assert digests[4] != digests[3]
    assert calls[3] == alone >= 8 and calls[4] > 0
    assert together == calls[3] + calls[4]  # every request of both runs reached the one server
