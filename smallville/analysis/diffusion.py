"""Information diffusion: who knows each tracked fact at each game hour, and who told whom.

A resident *knows* a fact (the world's ``facts:``, a name and keywords, or a meaning) from the
first moment either of these holds:

- one of its memories mentions it: the description contains a keyword, or the memory's
  structured facts name it (an event's name, a piece of news) — for a fact stated only by its
  meaning, a text close in meaning (:meth:`~smallville.analysis.source.Fact.matcher`); a memory
  whose facts say ``heard_from`` names its teller;
- it was told: a *told-by* record names the speaker, the listener and what was said. The
  records are the run's ``heard`` events where it has them — one per listener, data
  ``{"from", "text", "memory_id", "conversation", "facts": [{"kind", "name", ...}]}`` — and
  otherwise the lines of its ``conversation`` events (each line's speaker told the other
  participant, at the tick the conversation was recorded).

A speaker who says it knows it then, if nothing earlier says so. At equal ticks a record with
a teller wins. The diffusion tree links each resident to whoever told it first; ``hops`` is
the length of the chain back to someone who knew without being told (0 for them).

Every told-by link says where it comes from (``told_via``): ``"heard"`` (a heard record),
``"conversation"`` (a conversation line) or ``"memory"`` (only the listener's memory says who
told it: no record of the telling). ``told_source`` says which records the run has: ``"heard"``,
``"conversation"``, or ``"none"`` for a run without any conversation recorded — its links, if
any, come only from memories.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from smallville.analysis.source import Fact, RunData

# tie-break at one tick: told by someone first, then a memory naming its teller, then any memory
_TOLD, _MEMORY_TOLD, _MEMORY, _SAID = range(4)


@dataclass(frozen=True)
class Told:
    """One utterance that reached one listener."""

    tick: int
    speaker: str
    listener: str
    text: str
    names: tuple[str, ...] = ()  # the structured facts' names or texts, when the record has them


def told_records(data: RunData) -> tuple[list[Told], str]:
    """Every told-by record of the run and where they come from: ``"heard"`` events if the run
    has any, else ``"conversation"`` lines, else none (``"none"``)."""
    heard = data.events("heard")
    if heard:
        out = []
        for e in heard:
            d = e["data"] if isinstance(e["data"], dict) else {}
            if not e["agent"] or not d.get("from"):
                continue
            names = tuple(str(f.get("name") or f.get("text") or "") for f in d.get("facts") or []
                          if isinstance(f, dict))
            out.append(Told(e["tick"], str(d["from"]), e["agent"], str(d.get("text") or ""), names))
        return out, "heard"
    out = []
    for e in data.events("conversation"):
        d = e["data"] if isinstance(e["data"], dict) else {}
        people = list(d.get("participants") or [])
        for line in d.get("lines") or []:
            speaker = line.get("speaker")
            for listener in people:
                if listener != speaker:
                    out.append(Told(e["tick"], str(speaker), listener, str(line.get("text") or "")))
    return out, "conversation" if data.events("conversation") else "none"


def _memory_names(facts: dict | None) -> list[str]:
    if not isinstance(facts, dict):
        return []
    out = []
    ev = facts.get("event")
    if isinstance(ev, dict) and ev.get("name"):
        out.append(str(ev["name"]))
    if isinstance(facts.get("news"), str):
        out.append(facts["news"])
    return out


def knowers(data: RunData, fact: Fact, told: list[Told], told_source: str = "heard") -> dict[str, dict]:
    """Resident -> how it first knew ``fact``: ``tick``, ``source``, ``told_by`` (or None) and
    ``told_via`` (where the told-by link comes from, or None)."""
    residents = set(data.residents)
    cands: list[tuple[int, int, str, str, str | None, str | None]] = []  # (tick, priority, name, source, teller, via)
    texts = [m["description"] for m in data.memories] + [n for m in data.memories for n in _memory_names(m["facts"])]
    texts += [t.text for t in told] + [n for t in told for n in t.names]
    matches = fact.matcher(texts, data.vectors, data.least)
    for m in data.memories:
        if m["agent"] not in residents:
            continue
        if matches(m["description"]) or any(matches(n) for n in _memory_names(m["facts"])):
            teller = (m["facts"] or {}).get("heard_from") if isinstance(m["facts"], dict) else None
            teller = teller if teller in residents and teller != m["agent"] else None
            cands.append((m["tick"], _MEMORY_TOLD if teller else _MEMORY, m["agent"], f"memory:{m['kind']}", teller,
                          "memory" if teller else None))
    for t in told:
        if matches(t.text) or any(matches(n) for n in t.names):
            if t.listener in residents:
                teller = t.speaker if t.speaker in residents else None
                cands.append((t.tick, _TOLD, t.listener, "told", teller, told_source if teller else None))
            if t.speaker in residents:
                cands.append((t.tick, _SAID, t.speaker, "said", None, None))
    first: dict[str, dict] = {}
    for tick, _, name, source, teller, via in sorted(cands, key=lambda c: (c[0], c[1], c[2])):
        if name not in first:
            first[name] = {"tick": tick, "source": source, "told_by": teller, "told_via": via}
    return first


def tree(data: RunData, first: dict[str, dict]) -> list[dict]:
    """The diffusion tree, in the order residents came to know: name, time, told_by, hops."""
    hops: dict[str, int] = {}
    out = []
    for name, k in sorted(first.items(), key=lambda kv: (kv[1]["tick"], kv[0])):
        teller = k["told_by"]
        hops[name] = hops.get(teller, 0) + 1 if teller is not None else 0
        out.append({"name": name, "time": data.stamp(k["tick"]), "tick": k["tick"], "told_by": teller,
                    "told_via": k.get("told_via"), "hops": hops[name], "source": k["source"]})
    return out


def diffusion(data: RunData, fact: Fact, told: list[Told], told_source: str) -> dict:
    """The diffusion of one fact: counts at the start and end, per game hour, and the tree."""
    first = knowers(data, fact, told, told_source)
    ticks = sorted(k["tick"] for k in first.values())

    def count(at: int) -> int:
        return sum(1 for t in ticks if t <= at)

    nodes = tree(data, first)
    return {"keywords": list(fact.keywords), "meaning": fact.meaning, "population": len(data.residents),
            "start": count(data.first), "end": count(data.last),
            "timeline": [{"time": data.stamp(h), "tick": h, "count": count(h)} for h in data.hour_ticks()],
            "tree": nodes, "max_hops": max((n["hops"] for n in nodes), default=0), "told_source": told_source,
            "told_via": dict(sorted(Counter(n["told_via"] for n in nodes if n["told_via"]).items()))}


def all_facts(data: RunData) -> dict[str, dict]:
    """``diffusion`` for every fact the world tracks, by name."""
    told, source = told_records(data)
    return {f.name: diffusion(data, f, told, source) for f in data.facts}
