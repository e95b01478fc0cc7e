"""Events followed by their facts: what was planned, who had heard of it, who came.

An *event fact* is the structured ``event`` a memory holds (``facts.event``: ``place``,
``start``, ``end``, ``host``; a memory whose event names no host is its holder's own, as the
residents read it) or an ``event:`` a persona's first memories declare (its host is the
persona). Residents may call one event by different names — a model paraphrases, a plain-words
event is named by whoever read it — so an event is identified by its facts, never its name:

- **one event**: event facts at the same place (the same arena; or the same sector when one of
  them names only a sector) whose hours overlap are one event (taken transitively);
- **its hours and place**: the host's own version (the first memory of the host holding it),
  else the version most memories hold (ties: the earliest); its ``host`` is the host most of its
  facts name; its ``name`` is the host's name for it, else the most common one; ``names`` lists
  every name residents gave it, most used first;
- **heard**: a resident other than the host heard of it when one of its memories created before
  the event's start holds that event's facts (seeing it, or a memory without the facts, is not
  hearing of it); ``heard_at`` is that memory's time;
- **present**: a resident is at the event when its place is the event's arena (or sector)
  during the event's hours for at least :data:`MIN_PRESENT_MIN` game minutes in all (positions
  sampled at every game minute from the run's first tick; each sample counts for one minute);
- **came**: heard before it began and present — with or without a gathering detected there
  (``begun`` / ``over``: whether the run reaches the event's start / end);
  ``came_by_routine`` are those of them whose routine alone would have put them there (fewer
  than :data:`MIN_PRESENT_MIN` of their minutes there are off their routine, see
  :class:`~smallville.analysis.gatherings.RoutineBaseline`); ``came_unheard`` were present
  without having heard of it before it began (the host aside).

Written by hand: the clustering is a union of overlapping intervals per place, which no
library call states more plainly.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from smallville.analysis.gatherings import RoutineBaseline, arena_of, presence
from smallville.analysis.source import TIME, RunData

MIN_PRESENT_MIN = 10


def _when(v) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(v)).replace(second=0, microsecond=0, tzinfo=None)
    except (TypeError, ValueError):
        return None


def place_key(place: str) -> str:
    """The arena of an address (``Sector:arena``), or the sector when it names only that."""
    place = (place or "").strip()
    return arena_of(place) or place.split(":")[0]


def _same_place(a: str, b: str) -> bool:
    if a == b:
        return True
    sa, sb = a.split(":")[0], b.split(":")[0]
    return sa == sb and (":" not in a or ":" not in b)


def event_facts(data: RunData) -> list[dict]:
    """Every event fact a resident holds, in tick order: agent, tick, name, place, start, end, host,
    and the memory's id (None for a persona's declaration)."""
    residents = set(data.residents)
    out = []
    for name, p in data.personas.items():
        for m in p.get("first_memories") or []:
            ev = m.get("event") if isinstance(m, dict) else None
            if isinstance(ev, dict):
                out.append((data.first, name, ev, name, None))
    for m in data.memories:
        f = m["facts"] if isinstance(m["facts"], dict) else {}
        ev = f.get("event")
        if isinstance(ev, dict) and m["agent"] in residents:
            out.append((m["tick"], m["agent"], ev, ev.get("host") or m["agent"], m["id"]))
    facts = []
    for tick, agent, ev, host, mid in out:
        start, end = _when(ev.get("start")), _when(ev.get("end"))
        place = place_key(str(ev.get("place") or ""))
        if start is None or end is None or end <= start or not place:
            continue
        facts.append({"agent": agent, "tick": tick, "name": str(ev.get("name") or ""), "place": place,
                      "start": start, "end": end, "host": str(host), "id": mid})
    facts.sort(key=lambda f: (f["tick"], f["agent"]))
    return facts


def cluster(facts: list[dict]) -> list[list[dict]]:
    """Event facts grouped into events: same place, overlapping hours (transitively)."""
    parent = list(range(len(facts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(facts)), key=lambda i: (facts[i]["place"].split(":")[0], facts[i]["start"]))
    for x, i in enumerate(order):
        for j in order[x + 1:]:
            a, b = facts[i], facts[j]
            if a["place"].split(":")[0] != b["place"].split(":")[0]:
                break
            if _same_place(a["place"], b["place"]) and a["start"] < b["end"] and b["start"] < a["end"]:
                parent[root(j)] = root(i)
    groups: dict[int, list[dict]] = {}
    for i in range(len(facts)):
        groups.setdefault(root(i), []).append(facts[i])
    return list(groups.values())


def _most(items: list, first: list) -> object:
    """The most common item; ties go to the one seen first."""
    c = Counter(items)
    best = max(c.values())
    return next(x for x in first if c[x] == best)


def describe(group: list[dict]) -> dict:
    """An event's place, hours, host and names from the facts held about it."""
    hosts = [f["host"] for f in group]
    host = _most(hosts, hosts)
    own = [f for f in group if f["agent"] == host]
    versions = [(f["place"], f["start"], f["end"]) for f in group]
    if own:
        place, start, end = own[0]["place"], own[0]["start"], own[0]["end"]
        name = own[0]["name"] or _most([f["name"] for f in group], [f["name"] for f in group])
    else:
        place, start, end = _most(versions, versions)
        names = [f["name"] for f in group if f["name"]]
        name = _most(names, names) if names else ""
    names = [n for n, _ in sorted(Counter(f["name"] for f in group if f["name"]).items(),
                                  key=lambda kv: (-kv[1], kv[0]))]
    return {"name": name or "(unnamed)", "names": names, "host": host, "place": place,
            "start_dt": start, "end_dt": end}


def _at(place: str, arena: str | None) -> bool:
    if not arena:
        return False
    return arena == place if ":" in place else arena.split(":")[0] == place


def follow(data: RunData) -> list[dict]:
    """Every event of the run with who had heard of it, who was there and who came (see the module doc)."""
    groups = cluster(event_facts(data))
    if not groups:
        return []
    step = data.ticks_in(60)
    minutes = step * data.tick_seconds / 60
    samples, where = presence(data, step)
    base = RoutineBaseline(data.personas)
    residents = set(data.residents)
    out = []
    for group in groups:
        ev = describe(group)
        s_tick, e_tick = data.tick_of(ev["start_dt"]), data.tick_of(ev["end_dt"])
        heard_at: dict[str, int] = {}
        for f in group:
            if f["agent"] != ev["host"] and f["agent"] in residents and f["tick"] < s_tick:
                heard_at.setdefault(f["agent"], f["tick"])
        there: Counter = Counter()
        off: Counter = Counter()
        for t, here in zip(samples, where):
            if t < s_tick or t >= e_tick:
                continue
            now = data.time_at(t)
            mod = now.hour * 60 + now.minute
            for name, arena in here.items():
                if _at(ev["place"], arena):
                    there[name] += 1
                    if not base.explains(name, arena, mod):
                        off[name] += 1
        need = MIN_PRESENT_MIN / minutes
        present = sorted(n for n, c in there.items() if c >= need)
        heard = sorted(heard_at)
        came = [n for n in heard if n in present]
        out.append({
            "key": f"{ev['name']}@{ev['start_dt'].strftime(TIME)}", "name": ev["name"], "names": ev["names"],
            "host": ev["host"], "place": ev["place"],
            "start": ev["start_dt"].strftime(TIME), "end": ev["end_dt"].strftime(TIME),
            "start_tick": s_tick, "end_tick": e_tick,
            "begun": s_tick <= data.last, "over": e_tick <= data.last,
            "heard": heard, "heard_count": len(heard),
            "heard_at": {n: data.stamp(t) for n, t in sorted(heard_at.items())},
            "present": present, "minutes_present": {n: round(there[n] * minutes) for n in present},
            "host_present": ev["host"] in present,
            "came": came, "came_count": len(came),
            "came_by_routine": [n for n in came if off[n] < need],
            "came_unheard": [n for n in present if n not in heard_at and n != ev["host"]],
            "gathering": None, "gatherings": [],
        })
    return sorted(out, key=lambda e: (e["start"], e["place"], e["name"]))


def match_gatherings(events: list[dict], gatherings: list[dict]) -> None:
    """Mark each gathering held at an event's place during its hours with that event (and list the
    gatherings on the event); who heard and came does not depend on it."""
    for ev in events:
        for g in gatherings:
            if g["event"] is not None or not _at(ev["place"], g["place"]):
                continue
            if g["start_tick"] < ev["end_tick"] and ev["start_tick"] < g["end_tick"]:
                g["event"] = {k: ev[k] for k in ("key", "name", "host", "heard", "came", "heard_count",
                                                 "came_count", "came_by_routine", "came_unheard")}
                ev["gatherings"].append(g["start"])
        ev["gathering"] = ev["gatherings"][0] if ev["gatherings"] else None
