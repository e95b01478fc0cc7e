"""``analyze RUN``: every metric of one stored run, as one JSON-ready dict, and the flat
numeric metrics that a multiverse aggregates and ``compare`` sets side by side."""

from __future__ import annotations

from pathlib import Path

from smallville.analysis import diffusion, events as events_, gatherings, network, usage
from smallville.analysis.source import RunData


def analyze(run: str | Path | RunData) -> dict:
    data = run if isinstance(run, RunData) else RunData(run)
    try:
        m = data.reader.manifest
        told, told_source = diffusion.told_records(data)
        facts = {f.name: diffusion.diffusion(data, f, told, told_source) for f in data.facts}
        density, g0, g1 = network.network(data)
        found = gatherings.find(data)
        events = events_.follow(data)
        events_.match_gatherings(events, found)
        return {
            "run": str(data.reader.dir), "run_id": m.get("run_id"), "world": data.world.get("name"),
            "seed": m.get("seed"), "backend": m.get("backend"), "model": m.get("model"),
            "ablations": m.get("ablations", []), "status": m.get("status"),
            "start": data.stamp(data.first), "end": data.stamp(data.last), "residents": data.residents,
            "told_source": told_source,
            "diffusion": facts,
            "network_density": density,
            "network": {"start": network.edge_list(g0), "end": network.edge_list(g1)},
            "gatherings": found,
            "events": events,
            "llm": usage.usage(data),
        }
    finally:
        if not isinstance(run, RunData):
            data.close()


def metrics(result: dict) -> dict[str, float]:
    """The numeric metrics of one ``analyze`` result, by a stable dotted name."""
    out: dict[str, float] = {}
    for name, d in result["diffusion"].items():
        pop = d["population"] or 1
        out[f"diffusion.{name}.start"] = d["start"]
        out[f"diffusion.{name}.end"] = d["end"]
        out[f"diffusion.{name}.end_share"] = round(d["end"] / pop, 6)
        out[f"diffusion.{name}.max_hops"] = d["max_hops"]
    nd = result["network_density"]
    out["network_density.start"] = nd["start"]
    out["network_density.end"] = nd["end"]
    gs = result["gatherings"]
    out["gatherings.count"] = len(gs)
    out["gatherings.most_attendees"] = max((len(g["attendees"]) for g in gs), default=0)
    for ev in result.get("events", []):
        out[f"event.{ev['name']}.heard"] = ev["heard_count"]
        out[f"event.{ev['name']}.came"] = ev["came_count"]
        out[f"event.{ev['name']}.came_by_routine"] = len(ev["came_by_routine"])
    llm = result["llm"]
    for k in ("calls", "cache_hits", "tokens_in", "tokens_out", "errors", "decisions", "fallbacks",
              "decisions_per_resident_per_day"):
        out[f"llm.{k}"] = llm[k]
    return out
