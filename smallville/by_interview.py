"""``analyze RUN --by-interview [--at TIME]``: every resident interviewed, the paper's way.

Thin orchestration at the command level: analysis reads only the run store, so the asking is
done here. At each moment asked (each ``--at``, and the run's last tick) every resident is asked
the questions :func:`smallville.analysis.interviews.plan` lists, through the public interview
verb (:func:`smallville.interview.ask`, decision ``answer_interview`` on the run's backend —
rules or the model — each exchange recorded in ``RUN/inbox.db`` with the run's other
interviews). The answers go to :func:`smallville.analysis.interviews.summarize`, which judges
them and sets awareness and network density by interview beside the memory-based figures.
"""

from __future__ import annotations

from smallville.analysis import interviews
from smallville.analysis.analyze import analyze
from smallville.analysis.source import RunData
from smallville.inspect import resolve_tick
from smallville.interview import ask, open_session


def analyze_by_interview(run: str, at: list[str] | None = None, llm: str | None = None) -> dict:
    """``analyze`` of the run with ``by_interview`` added (see the module doc)."""
    data = RunData(run)
    try:
        result = analyze(data)
        s = open_session(run, llm)
        try:
            ticks = sorted({resolve_tick(s.reader, a) for a in at or []} | {data.last})
            questions = interviews.plan(data, result["events"])
            moments = []
            for tick in ticks:
                answers = []
                for name in data.residents:
                    for q in questions:
                        if q["skip"] == name:
                            continue
                        ex = ask(s, tick, name, q["question"])
                        answers.append({"agent": name, "about": q["about"], "key": q["key"],
                                        "question": q["question"], "answer": ex.get("answer", ""),
                                        "memory_ids": list(ex.get("memory_ids") or []), "id": ex.get("id")})
                moments.append({"tick": tick, "answers": answers})
            vectors = (lambda texts: s.cache.vectors(texts)) if s.cache is not None else None
            backend = s.decider.backend if s.model in (None, "rules") else f"{s.decider.backend} ({s.model})"
            result["by_interview"] = interviews.summarize(data, result, moments, backend, vectors)
        finally:
            s.close()
        return result
    finally:
        data.close()
