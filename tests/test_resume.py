"""``run --resume``: a run stopped (budget, interruption) or finished goes on from its last
checkpoint, and a split run is the same run as one made in one go."""

import json
import sqlite3
from pathlib import Path

from smallville.cli import main
from smallville.inspect import inspect_run
from smallville.store.runstore import RunReader

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "worlds" / "small.yaml"
FAST = ("--llm", "rules", "--embedder", "hashing", "--quiet")

ROWS = {"ticks": "SELECT * FROM ticks ORDER BY tick",
        "agent_states": "SELECT * FROM agent_states ORDER BY agent, tick",
        "events": "SELECT tick, agent, kind, data FROM events ORDER BY id",
        "object_states": "SELECT * FROM object_states ORDER BY address, tick",
        "decisions": "SELECT tick, agent, name, backend, fallback FROM decisions ORDER BY id",
        "memories": "SELECT * FROM memories ORDER BY agent, id",
        "memory_access": "SELECT * FROM memory_access ORDER BY agent, tick, id",
        "llm_calls": "SELECT tick, agent, decision, key, value FROM llm_calls ORDER BY id"}


def rows(run: Path) -> dict[str, list]:
    con = sqlite3.connect(run / "run.db")
    try:
        return {t: con.execute(q).fetchall() for t, q in ROWS.items()}
    finally:
        con.close()


def run(world, out: Path, *args: str) -> int:
    return main(["run", str(world), "--out", str(out), *FAST, *args])


def resume(out: Path, *args: str) -> int:
    return main(["run", "--resume", str(out), "--quiet", *args])


def digest(out: Path) -> str:
    return inspect_run(str(out), None, None)["digest"]


def test_one_go_and_resumed_give_the_same_run(tmp_path, capsys):
    assert run(SMALL, tmp_path / "full", "--hours", "2") == 0
    assert run(SMALL, tmp_path / "split", "--hours", "1") == 0
    assert resume(tmp_path / "split", "--hours", "1") == 0
    assert digest(tmp_path / "split") == digest(tmp_path / "full")
    assert rows(tmp_path / "split") == rows(tmp_path / "full")
    m = json.loads((tmp_path / "split" / "manifest.json").read_text())
    assert m["status"] == "complete" and m["last_tick"] == 720 and m["game_end"] == "2023-02-13 09:00"
    assert [r["from_tick"] for r in m["resumed"]] == [360]
    with _closing(tmp_path / "split") as r:
        agents_split = r.agents_at(720)
    with _closing(tmp_path / "full") as r:
        assert r.agents_at(720) == agents_split


class _closing:
    def __init__(self, run_dir):
        self.r = RunReader(run_dir)

    def __enter__(self):
        return self.r

    def __exit__(self, *exc):
        self.r.close()


def test_many_odd_splits_and_a_lost_tail_give_the_same_run(tmp_path, capsys):
    """Resumes at ticks that are not on the hour (conversations, plans, memory mid-way), and a
    crash that left ticks after the last checkpoint: they are deleted and simulated again."""
    assert run(SMALL, tmp_path / "full", "--hours", "8") == 0
    out = tmp_path / "split"
    assert run(SMALL, out, "--hours", "2.5") == 0
    con = sqlite3.connect(out / "run.db")
    con.execute("DELETE FROM checkpoints WHERE tick = 900")  # as if killed before the end of the run
    con.commit()
    con.close()
    under_way = 0
    while json.loads((out / "manifest.json").read_text())["last_tick"] < 2880 - 300:
        assert resume(out, "--hours", "0.37") == 0
        with _closing(out) as r:  # a stop off the hour: work for later under way goes into its checkpoint
            under_way += len(json.loads(r.checkpoint_at(r.last_tick())[1])["later"]["jobs"])
    assert under_way > 0
    assert resume(out, "--until", "2023-02-13 15:00") == 0
    assert digest(out) == digest(tmp_path / "full")
    assert rows(out) == rows(tmp_path / "full")
    ticks = [t for (t, *_) in rows(out)["ticks"]]
    assert ticks == list(range(2881))  # contiguous: the lost tail was replaced, nothing twice
    assert json.loads((out / "manifest.json").read_text())["resumed"][0]["from_tick"] == 720


def test_a_complete_run_resumes_to_a_later_time(tmp_path, capsys):
    world = ROOT / "tests" / "data" / "tiny" / "world.yaml"
    out = tmp_path / "r"
    assert run(world, out, "--hours", "1") == 0
    first = digest(out)
    assert resume(out, "--until", "2023-02-13 09:00") == 0
    view = inspect_run(str(out), None, None)
    assert view["time"].startswith("2023-02-13T09:00") and view["digest"] != first
    assert inspect_run(str(out), "2023-02-13 07:50", None)["digest"] == first  # the past is unchanged
    capsys.readouterr()
    at_nine = digest(out)
    assert resume(out) == 0  # no target given: the run's own (now 09:00), where it is already
    assert "the run is complete" in capsys.readouterr().err and digest(out) == at_nine
    assert resume(out, "--until", "2023-02-13 12:00") == 0  # to the world's end
    assert json.loads((out / "manifest.json").read_text())["last_time"] == "2023-02-13 12:00"
    capsys.readouterr()
    assert resume(out, "--hours", "1") == 2  # nothing left to simulate
    assert "nothing to resume" in capsys.readouterr().err


def test_resume_errors_are_clear(tmp_path, capsys):
    assert resume(tmp_path) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["run", "--quiet"]) == 2
    assert "a world file is required" in capsys.readouterr().err
    world = ROOT / "tests" / "data" / "tiny" / "world.yaml"
    assert run(world, tmp_path / "r", "--hours", "0.1") == 0
    capsys.readouterr()
    assert main(["run", "--resume", str(tmp_path / "r"), "--seed", "4"]) == 2
    assert "not with --resume" in capsys.readouterr().err
    assert main(["run", str(world), "--resume", str(tmp_path / "r")]) == 2
    assert "no world file" in capsys.readouterr().err
    assert main(["run", str(world), "--budget-calls", "3"]) == 2


def test_a_budget_stopped_run_resumes_with_a_fresh_budget(tiny_world, tmp_path, monkeypatch, capsys):
    from smallville.llm.testing import LoopbackServer

    for v in ("OPENAI_API_KEY", "SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL"):
        monkeypatch.delenv(v, raising=False)
    settings = {"backend": "auto", "timeout_s": 0.5, "max_retries": 3, "budget": {"calls": 3}}
    tiny_world.write_text(tiny_world.read_text().replace("llm: {backend: rules}", "llm: " + json.dumps(settings)))
    out = tmp_path / "r"
    with LoopbackServer() as srv:
        monkeypatch.setenv("SMALLVILLE_LLM_BASE_URL", srv.base_url)
        assert main(["run", str(tiny_world), "--out", str(out), "--quiet", "--embedder", "hashing",
                     "--hours", "2"]) == 0
        m = json.loads((out / "manifest.json").read_text())
        assert m["status"] == "budget_exhausted" and m["last_tick"] < 720
        stopped = m["last_tick"]
        assert resume(out, "--until", "2023-02-13 08:50", "--budget-calls", "100000") == 0
        sent = len(srv.requests)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["last_tick"] == 720 and m["backend"] == "openai"
    assert m["resumed"][0]["from_tick"] == stopped and m["llm"]["calls"] == sent > 3
    reader = RunReader(out)
    try:
        assert [r[0] for r in reader.con.execute("SELECT tick FROM ticks ORDER BY tick")] == list(range(721))
        assert reader.llm_usage()["calls"] == sent
    finally:
        reader.close()


def test_the_collector_is_tuned_during_a_run_and_restored_after(tiny_world, tmp_path, monkeypatch):
    """What exists when a run starts is frozen out of the garbage collector's passes and young
    collections start later; afterwards the process's collector is as it was, even after an error."""
    import gc

    import smallville.runner as runner

    seen = []
    drive = runner._drive

    async def spy(*a, **k):
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return await drive(*a, **k)

    monkeypatch.setattr(runner, "_drive", spy)
    before = gc.get_threshold()
    assert run(tiny_world, tmp_path / "run", "--hours", "0.1") == 0
    (young, *_), frozen = seen[0]
    assert young > before[0] and frozen > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0

    async def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "_drive", boom)
    try:
        run(tiny_world, tmp_path / "run2", "--hours", "0.1")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
