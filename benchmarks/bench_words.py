"""Reading a model's words for facts: one extract_facts call per conversation vs one per line.

A scripted model (the one of tests/test_words.py: three residents, one invitation told in other
words and passed on) runs a game day twice — ``AgentPolicy.extract_per = "conversation"`` and
``"line"`` — and the script prints, per agent per game day, the extract_facts decisions and
their prompt size (the fake counts words as tokens), and whether the outcome is the same (who
heard from whom, who plans to come).

    python benchmarks/bench_words.py
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from smallville.cognition.agent import AgentPolicy  # noqa: E402

UNTIL = "2023-02-13 22:55"  # a game day from 06:55


def main() -> None:
    spec = importlib.util.spec_from_file_location("test_words", ROOT / "tests" / "test_words.py")
    T = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(T)

    class Factory:
        def mktemp(self, name):
            return Path(tempfile.mkdtemp(prefix=name))

    T.world_file_path[:] = [T.world_file.__wrapped__(Factory())]
    days = 16 / 24
    for mode in ("conversation", "line"):
        AgentPolicy.extract_per = mode
        t0 = time.perf_counter()
        events, _, lm, _ = T.town(T.read, until=UNTIL)
        secs = time.perf_counter() - t0
        reads = [r for r in lm.requests if r.decision == "extract_facts"]
        words = sum(len(m.content.split()) for r in reads for m in r.messages)
        convs = [e for e in events if e["kind"] == "conversation"]
        lines = sum(len(c["data"]["lines"]) for c in convs)
        heard = sorted({(e["agent"], e["data"]["from"]) for e in events if e["kind"] == "heard"})
        agents = 3
        print(f"per {mode:<12}: {len(reads)} extract_facts for {len(convs)} conversations ({lines} lines) = "
              f"{len(reads) / agents / days:.1f} per agent-day, {words / agents / days:.0f} prompt words per "
              f"agent-day ({words / max(1, len(reads)):.0f} per call); all decisions asked of the model: "
              f"{len(lm.requests) / agents / days:.1f} per agent-day; coming: {sorted(T.coming(events))}; "
              f"heard: {heard}  [{secs:.0f} s]")
    AgentPolicy.extract_per = "conversation"


if __name__ == "__main__":
    main()
