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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--llm", "rules", "--embedder", "hashing", "--seed", "7", "--quiet"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smallville", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True)


def live_run(out: Path, hours: float, interview: bool) -> tuple[float, int]:
    t0 = time.perf_counter()
    run = subprocess.Popen([sys.executable, "-m", "smallville", "run", "worlds/town.yaml", "--hours", str(hours),
                            "--out", str(out), *FAST], cwd=ROOT)
    n = 0
    if interview:
        while not (out / "manifest.json").exists():
            time.sleep(0.05)
        time.sleep(1.0)
        while run.poll() is None:
            r = subprocess.run([sys.executable, "-m", "smallville", "interview", str(out), "Klaus Mueller",
                                "--question", "What are you doing right now?", "--json"], cwd=ROOT,
                               capture_output=True, text=True)
            n += r.returncode == 0
    run.wait()
    return time.perf_counter() - t0, n


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-interview-"))
    print("1. live run of the town, 8 game hours (wall s), alone vs while interviewed non-stop:")
    for i in range(2):
        alone, _ = live_run(base / f"alone{i}", 8, False)
        busy, n = live_run(base / f"busy{i}", 8, True)
        print(f"   round {i + 1}: alone {alone:.1f} s, interviewed {busy:.1f} s ({n} interviews, "
              f"{100 * (busy / alone - 1):+.1f}%)")

    parent = base / "parent"
    t0 = time.perf_counter()
    cli("run", "worlds/town.yaml", "--until", "2023-02-14 12:00", "--out", str(parent), *FAST)
    print(f"\nparent: the town to 2023-02-14 12:00 in {time.perf_counter() - t0:.1f} s")

    sys.path.insert(0, str(ROOT))
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
