"""Model use: language-model calls, tokens and cache hits (``llm_calls``), and decisions
(``decisions``): by decision, fallbacks to the rules implementation, per resident per game day.

Each decision belongs to a *faculty* for the report's plot; a decision this table does not
name is counted under ``other``.
"""

from __future__ import annotations

from smallville.analysis.source import RunData

FACULTIES = {
    "plan_day": "planning", "decompose": "planning", "replan": "planning", "next_action": "planning",
    "react": "reacting", "converse_turn": "conversing", "rate_importance": "memory",
    "reflect_questions": "reflection", "reflect_insights": "reflection",
}


def faculty(decision: str) -> str:
    return FACULTIES.get(decision, "other")


def usage(data: RunData) -> dict:
    calls = {"calls": 0, "cache_hits": 0, "tokens_in": 0, "tokens_out": 0, "errors": 0, "latency_s": 0.0}
    by_call: dict[str, dict] = {}
    for r in data.llm_rows():
        d = by_call.setdefault(r["decision"], {"calls": 0, "cache_hits": 0, "tokens_in": 0, "tokens_out": 0,
                                               "errors": 0})
        fresh = not r["cached"]
        for tgt in (calls, d):
            tgt["calls"] += (r["requests"] or 1) if fresh else 0
            tgt["cache_hits"] += 1 if r["cached"] else 0
            tgt["tokens_in"] += r["tokens_in"] if fresh else 0
            tgt["tokens_out"] += r["tokens_out"] if fresh else 0
            tgt["errors"] += 1 if r["error"] is not None and r["error_kind"] != "budget" else 0
        calls["latency_s"] += r["latency_s"] or 0.0
    calls["latency_s"] = round(calls["latency_s"], 3)
    by_decision: dict[str, dict] = {}
    per_agent: dict[str, int] = {}
    for _, agent, name, backend, fallback in data.decision_rows():
        d = by_decision.setdefault(name, {"decisions": 0, "fallbacks": 0, "faculty": faculty(name), "backends": {}})
        d["decisions"] += 1
        d["fallbacks"] += int(fallback)
        d["backends"][backend] = d["backends"].get(backend, 0) + 1
        if agent:
            per_agent[agent] = per_agent.get(agent, 0) + 1
    n, days = max(1, len(data.residents)), data.days
    total = sum(d["decisions"] for d in by_decision.values())
    for d in by_decision.values():
        d["per_resident_per_day"] = round(d["decisions"] / n / days, 3)
    faculties: dict[str, int] = {}
    for name, d in by_decision.items():
        faculties[d["faculty"]] = faculties.get(d["faculty"], 0) + d["decisions"]
    return {**calls, "backend": data.reader.manifest.get("backend"), "model": data.reader.manifest.get("model"),
            "calls_by_decision": dict(sorted(by_call.items())), "decisions": total,
            "fallbacks": sum(d["fallbacks"] for d in by_decision.values()),
            "decisions_by_decision": dict(sorted(by_decision.items())),
            "decisions_by_faculty": dict(sorted(faculties.items())),
            "decisions_per_resident_per_day": round(total / n / days, 3),
            "decisions_by_resident": dict(sorted(per_agent.items())), "game_days": round(days, 4)}
