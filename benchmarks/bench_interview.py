"""Interviews and branches (issue 11), on the rules baseline with the hashing embedder:

1. a live run's wall time alone and while another process interviews it over and over
   (each interview reads the store and writes one row to inbox.db);
2. an interview of a stored run (one question, in process, rebuilding the resident);
3. branching at arbitrary times with hourly checkpoints: wall time, and the part spent
   re-simulating from the checkpoint before the branch point; the size and write time of a
   checkpoint, to say what more frequent checkpoints would cost.

Run from the repository root: PYTHONPATH=$PWD python benchmarks/bench_interview.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--llm", "rules", "--embedder", "hashing", "--seed", "7", "--quiet"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smallville", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True)


def live_run(out: Path, hours: float, interview: bool, pace: float = 0.0, target: Path | None = None
             ) -> tuple[float, int]:
    """Wall time of a live run, while (``interview``) another process interviews it — or, with
    ``target``, interviews that other, stored run: the same CPU load without the shared store."""
    t0 = time.perf_counter()
    run = subprocess.Popen([sys.executable, "-m", "smallville", "run", "worlds/town.yaml", "--hours", str(hours),
                            "--out", str(out), *FAST], cwd=ROOT, stdout=subprocess.DEVNULL)
    ended: list[float] = []
    threading.Thread(target=lambda: (run.wait(), ended.append(time.perf_counter())), daemon=True).start()
    n = 0
    if interview:
        while not (out / "manifest.json").exists():
            time.sleep(0.05)
        time.sleep(1.0)
        while run.poll() is None:
            r = subprocess.run([sys.executable, "-m", "smallville", "interview", str(target or out), "Klaus Mueller",
                                "--question", "What are you doing right now?", "--json"], cwd=ROOT,
                               capture_output=True, text=True)
            n += r.returncode == 0
            until = time.perf_counter() + pace
            while run.poll() is None and time.perf_counter() < until:
                time.sleep(0.05)
    if run.wait() != 0:
        raise SystemExit(f"the live run failed (exit {run.returncode})")
    while not ended:
        time.sleep(0.01)
    return ended[0] - t0, n


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-interview-"))
    parent = base / "parent"
    t0 = time.perf_counter()
    cli("run", "worlds/town.yaml", "--until", "2023-02-14 12:00", "--out", str(parent), *FAST)
    print(f"parent: the town to 2023-02-14 12:00 in {time.perf_counter() - t0:.1f} s")
    print("1. a live run of the town, 8 game hours (wall s of the run), alone; while another process interviews it "
          "non-stop; while the same interviewer asks another, stored run (the same CPU load, no shared store); "
          "one interview every 5 s:")
    for i in range(2):
        alone, _ = live_run(base / f"alone{i}", 8, False)
        same, n1 = live_run(base / f"same{i}", 8, True)
        other, n2 = live_run(base / f"other{i}", 8, True, target=parent)
        paced, n3 = live_run(base / f"paced{i}", 8, True, pace=5.0)
        print(f"   alone {alone:.1f} s | interviewed {same:.1f} s ({n1} interviews, {100 * (same / alone - 1):+.0f}%) | "
              f"other run interviewed {other:.1f} s ({n2}, {100 * (other / alone - 1):+.0f}%) | every 5 s "
              f"{paced:.1f} s ({n3}, {100 * (paced / alone - 1):+.0f}%)", flush=True)
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT))
    from smallville.runner import InboxPoll
    from smallville.store.inbox import Inbox

    Inbox(base / "alone0").close()  # an inbox exists: the run reads it after every tick
    poll = InboxPoll(base / "alone0", engine=None)
    rec = SimpleNamespace(interventions=[], tick=1)
    poll.poll(rec)
    t0 = time.perf_counter()
    for _ in range(2000):
        poll.poll(rec)
    per = (time.perf_counter() - t0) / 2000
    poll.close()
    print(f"   the run's inbox poll after each tick: {per * 1e6:.0f} µs with an inbox.db (a stat without one); "
          f"a town tick takes ~{alone / (8 * 360) * 1000:.1f} ms here", flush=True)

    from smallville.inspect import resolve_tick
    from smallville.interview import ask, open_session

    s = open_session(str(parent), store=False)
    tick = resolve_tick(s.reader, None)
    ask(s, tick, "Isabella Rodriguez", "warm-up")
    t0 = time.perf_counter()
    for q in ("What are you doing for Valentine's Day?", "What are your plans for today?", "Who are you?"):
        ask(s, tick, "Isabella Rodriguez", q)
    print(f"2. interview of a stored run (in process, after a warm-up): {(time.perf_counter() - t0) / 3 * 1000:.0f} "
          f"ms per question")
    s.close()

    print("3. branch at an arbitrary time, 6 game minutes after it (wall s per `branch` command):")
    for at in ("2023-02-13 12:05", "2023-02-13 12:30", "2023-02-13 12:55", "2023-02-14 09:55"):
        out = base / f"b{at[-5:].replace(':', '')}{at[8:10]}"
        t0 = time.perf_counter()
        cli("branch", str(parent), "--at", at, "--out", str(out), "--hours", "0.1", "--quiet")
        wall = time.perf_counter() - t0
        p = json.loads((out / "manifest.json").read_text())["parent"]
        print(f"   --at {at}: {wall:.1f} s in all; {p['resimulated_ticks']} ticks re-simulated from the checkpoint, "
              f"{p['resimulated_s']:.1f} s to reach the branch point (copy + load + re-simulation); "
              f"reproduced={p['reproduced']}")

    import sqlite3
    con = sqlite3.connect(parent / "run.db")
    n, size = con.execute("SELECT COUNT(*), SUM(LENGTH(state)) FROM checkpoints").fetchone()
    total = (parent / "run.db").stat().st_size
    con.close()
    from smallville.engine.engine import Snapshot
    from smallville.store.runstore import RunReader

    r = RunReader(parent)
    cp = r.checkpoint_at(r.last_tick())
    r.close()
    t0 = time.perf_counter()
    for _ in range(20):
        Snapshot.from_json(cp[1]).to_json()
    per = (time.perf_counter() - t0) / 20
    print(f"   checkpoints: {n} hourly, {size / n / 1024:.0f} KiB each ({100 * size / total:.1f}% of run.db, "
          f"{total / 2 ** 20:.1f} MiB); a checkpoint's JSON round trip {per * 1000:.1f} ms. Every 10 game minutes "
          f"would be 6x that: ~{6 * size / 2 ** 20:.1f} MiB for this run")


if __name__ == "__main__":
    main()
