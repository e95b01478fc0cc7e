"""Interrupt safety (issue 9): SIGINT or SIGTERM during a tick never records or checkpoints a
half-applied tick, and a resume with no target ends at the run's own target with the digest of
an uninterrupted run.

A real subprocess runs against the loopback OpenAI-compatible server, which holds every request
for a moment: a signal sent as soon as a request arrives lands while the engine awaits a decision,
in the middle of a tick, every time."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from smallville.llm.testing import LoopbackServer
from smallville.store.runstore import RunReader

WORLD = "worlds/small.yaml"
HOURS = "2"


def command(out, *extra):
    return [sys.executable, "-m", "smallville", "run", WORLD, "--llm", "openai", "--embedder", "hashing", "--seed", "3",
            "--hours", HOURS, "--out", str(out), "--quiet", *extra]


def env(srv):
    return {**os.environ, "SMALLVILLE_LLM_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-test-interrupt"}


def last(out):
    r = RunReader(out)
    try:
        t = r.last_tick()
        return t, r.tick_info(t)["digest"], [row[0] for row in r.con.execute("SELECT tick FROM ticks ORDER BY tick")]
    finally:
        r.close()


def interrupt(srv, out, proc, sig, times):
    """Wait for a request the run sends after the ones seen so far, then signal it ``times`` times."""
    seen = len(srv.requests)
    deadline = time.time() + 120
    while len(srv.requests) <= seen + 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    for _ in range(times):
        proc.send_signal(sig)
        time.sleep(0.1)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("stepping", ["lockstep", "ahead"])
def test_three_interrupts_mid_decision_then_resume_equal_one_uninterrupted_run(tmp_path, stepping):
    """Stepping ahead, residents run far past the tick recorded last where few requests are
    needed, so fewer requests are left to interrupt: two cuts there."""
    with LoopbackServer(latency_s=0.4) as srv:
        full = tmp_path / "full"
        r = subprocess.run(command(full, "--stepping", stepping), cwd=ROOT, env=env(srv), capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        target, want, _ = last(full)
        assert target == 720

        out = tmp_path / "cut"
        cuts = [(signal.SIGINT, 1), (signal.SIGINT, 2), (signal.SIGTERM, 1)]  # graceful, at once, graceful
        if stepping == "ahead":
            cuts = [(signal.SIGTERM, 1), (signal.SIGINT, 2)]
        for i, (sig, times) in enumerate(cuts):
            cmd = command(out, "--stepping", stepping) if i == 0 else [
                sys.executable, "-m", "smallville", "run", "--resume", str(out), "--quiet", "--stepping", stepping]
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env(srv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            code, err = interrupt(srv, out, proc, sig, times)
            assert code == 130 and "Traceback" not in err, err
            assert "--resume" in err
            tick, _, ticks = last(out)
            assert ticks == list(range(ticks[0], tick + 1)) and tick < target  # contiguous, not done
            m = json.loads((out / "manifest.json").read_text())
            assert m["status"] == "interrupted" and m["last_tick"] == tick
            reader = RunReader(out)
            try:
                cp = reader.con.execute("SELECT MAX(tick) FROM checkpoints").fetchone()[0]
            finally:
                reader.close()
            if times == 1:  # stopped at the end of the tick under way: checkpointed there
                assert cp == tick
            else:  # the tick under way was abandoned: nothing of it, and no checkpoint of a half tick
                assert cp <= tick

        r = subprocess.run([sys.executable, "-m", "smallville", "run", "--resume", str(out), "--quiet",
                            "--stepping", stepping], cwd=ROOT, env=env(srv), capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stderr
        tick, got, _ = last(out)
        assert tick == target and got == want
        assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_signals_while_a_run_closes_are_noted_not_raised():
    """Between the event loop's own handling and the end of the closing writes (checkpoint,
    status), SIGINT and SIGTERM are noted: a run never closes half way, and never dies of SIGTERM."""
    from smallville.runner import HeldSignals

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    held = HeldSignals()
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)
    held.restore()
    assert held.count == 2
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
