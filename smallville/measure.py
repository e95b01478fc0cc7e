"""``analyze RUN [--by-interview [--at TIME]]``: the command level of analysis.

Analysis reads only the run store (:mod:`smallville.analysis`); what it cannot do there is done
here, thinly: the run's embedder for facts stated only by their meaning (:func:`run_vectors`,
the stored vectors first), and, with ``--by-interview``, the asking — every resident
interviewed, the paper's way. At each moment asked (each ``--at``, and the run's last tick) every resident is asked
the questions :func:`smallville.analysis.interviews.plan` lists, through the public interview
verb (:func:`smallville.interview.ask`, decision ``answer_interview`` on the run's backend —
rules or the model — each exchange recorded in ``RUN/inbox.db`` with the run's other
interviews). The answers go to :func:`smallville.analysis.interviews.summarize`, which judges
them and sets awareness and network density by interview beside the memory-based figures.
"""

from __future__ import annotations

from smallville.analysis import interviews
from smallville.analysis.analyze import analyze
from smallville.analysis.source import RunData, Vectors
from smallville.inspect import resolve_tick
from smallville.store.runstore import RunReader


def run_vectors(reader: RunReader) -> Vectors | None:
    """texts -> vectors with the run's embedder (stored vectors reused), when a tracked fact is
    stated only by its meaning and the run names its embedder; else None."""
    facts = (reader.meta.get("world") or {}).get("facts") or [] if isinstance(reader.meta.get("world"), dict) else []
    model = reader.meta.get("embedder")
    if not model or not any(isinstance(f, dict) and f.get("meaning") and not f.get("keywords") for f in facts):
        return None
    from smallville.cognition.embedding import EmbeddingCache, embedder_for_model

    cache = EmbeddingCache(embedder_for_model(model))

    def vectors(texts: list[str]):
        keys = [cache.key(t) for t in texts]
        cache.preload(reader.embeddings([k for k in keys if cache.get(k) is None]).items())
        return cache.vectors(texts, keys)

    return vectors


def analyze_run(run: str) -> dict:
    """``analyze`` of the run, with the run's embedder for facts stated by meaning."""
    reader = RunReader(run)
    data = RunData(reader, run_vectors(reader))
    try:
        return analyze(data)
    finally:
        data.close()


def analyze_by_interview(run: str, at: list[str] | None = None, llm: str | None = None) -> dict:
    """``analyze`` of the run with ``by_interview`` added (see the module doc)."""
    from smallville.interview import ask, open_session

    reader = RunReader(run)
    data = RunData(reader, run_vectors(reader))
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
