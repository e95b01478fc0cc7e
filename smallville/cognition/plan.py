"""Daily planning: ``plan_day`` once a day when an agent wakes, ``decompose`` lazily per block.

A day plan is plain data in the resident's working state (``state.plan``, see :mod:`~smallville.cognition.state`)::

    {"day": "2023-02-14", "wake": 360, "sleep": 1350, "revision": 0,
     "blocks": [{"id": "0.3", "start": 720, "end": 765, "activity": "...", "place": "Sector:arena",
                 "object": "stove" | None, "event": "<event key>" | None}, ...]}

Times are minutes since midnight of the plan's day (a block after midnight has ``start`` ≥
1440). Blocks are in time order and do not overlap; a gap is spent at home.

``plan_day`` — LLM: the persona, yesterday in brief, the memories retrieved for "plans for
today" and the usual routine; the answer's places are checked against the agent's spatial
memory (:func:`resolve_place`) and an unknown one is replaced by the nearest known match,
which is recorded. Rules: the routine shifted by the day's offset, with every event the agent
knows of for that day (from the structured ``event`` facts of its memories) that it hosts or
means to go to put in at its place and time.

``decompose`` — a block into 5–15 minute steps, lazily: only the current block, and for a
long block only the next :data:`HORIZON` minutes of it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, Iterable

from smallville.cognition.decisions import InvalidAnswer, Repaired
from smallville.cognition.state import ResidentState
from smallville.world.config import TIME_FORMAT, Persona, format_clock
from smallville.world.clock import long_date, weekday

DAY = 24 * 60
HORIZON = 180  # minutes of a block decomposed at once
STEP_MIN, STEP_MAX = 5, 15
MAX_BLOCKS = 16
PLAN_TOKENS, STEPS_TOKENS = 900, 400  # answer lengths: a day's blocks, a block's steps
FOCAL = "plans for today"


# ---------------------------------------------------------------- time


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def minutes_since(day: dt.date, now: dt.datetime) -> int:
    return int((now - midnight(day)).total_seconds() // 60)


def clock(minutes: int) -> str:
    """'07:30' for 450, '00:30' for 1470 (the next day)."""
    return format_clock(minutes % DAY)


def parse_clock_text(text: Any) -> int | None:
    m = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", str(text))
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        return None
    return int(m.group(1)) * 60 + int(m.group(2))


def waking_span(persona: Persona, offset: int) -> tuple[int, int]:
    """(wake, sleep) in minutes since the plan day's midnight, sleep after wake."""
    wake, sleep = persona.lifestyle.wake + offset, persona.lifestyle.sleep + offset
    if sleep <= wake:
        sleep += DAY
    return wake, sleep


def plan_date(persona: Persona, now: dt.datetime) -> dt.date:
    """The day whose plan governs ``now``: days change in the middle of the persona's night,
    so a wake-up shifted a little earlier, or a late evening past midnight, keep their day."""
    wake, sleep = persona.lifestyle.wake, persona.lifestyle.sleep
    switch = (sleep + ((wake - sleep) % DAY) // 2) % DAY
    day = (now - dt.timedelta(minutes=switch)).date()
    return day if switch <= wake else day + dt.timedelta(days=1)


def next_switch(persona: Persona, now: dt.datetime) -> dt.datetime:
    """The next moment after ``now`` at which :func:`plan_date` turns to the next day (the middle
    of the persona's night)."""
    wake, sleep = persona.lifestyle.wake, persona.lifestyle.sleep
    switch = (sleep + ((wake - sleep) % DAY) // 2) % DAY
    at = dt.datetime.combine(now.date(), dt.time()) + dt.timedelta(minutes=switch)
    return at if at > now else at + dt.timedelta(days=1)


def apply_plan(ctx: Any, payload: dict, value: dict) -> None:
    """A day's plan made ahead, in the night (work for later, see AgentPolicy.decide), and the
    steps of its first stretch wait in the working state for the resident to wake."""
    ctx.state.next_plan = {"day": payload["day"], "plan": value["plan"], "steps": value["steps"]}


# ---------------------------------------------------------------- places


def sector(address: str) -> str:
    return address.split(":")[0]


def persona_places(persona: Persona) -> list[str]:
    return list(dict.fromkeys(a for _, a in persona.known_places()))


def known_places(persona: Persona, state: ResidentState) -> list[str]:
    """The agent's spatial memory: the persona's places and every arena it has seen or heard of
    since (``state.known_places``, which the engine grows as the agent walks about)."""
    return list(dict.fromkeys(persona_places(persona) + state.known_places))


def resolve_place(answer: Any, places: list[str], fallback: str) -> tuple[str, str | None]:
    """(a known place, why it was replaced or None). Exact, case-insensitive, a sector or arena
    name alone, then the closest name; when nothing is close, ``fallback``."""
    text = " ".join(str(answer).split())
    if text in places:
        return text, None
    low = text.lower()
    for p in places:
        if p.lower() == low:
            return p, None
    for part in (lambda p: p.split(":")[0].lower(), lambda p: p.split(":")[-1].lower()):
        hits = [p for p in places if part(p) == low]
        if hits:
            return hits[0], f"{text[:60]!r} is not an arena; used {hits[0]!r}"
    close = difflib.get_close_matches(low, [p.lower() for p in places], n=1, cutoff=0.6)
    if close:
        got = next(p for p in places if p.lower() == close[0])
        return got, f"unknown place {text[:60]!r}; used the closest known {got!r}"
    return fallback, f"unknown place {text[:60]!r}; used {fallback!r}"


# ---------------------------------------------------------------- events the agent knows of


def event_key(ev: dict) -> str:
    return f"{ev['name']}@{ev['start']}"


def event_times(ev: dict) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.strptime(ev["start"], TIME_FORMAT), dt.datetime.strptime(ev["end"], TIME_FORMAT)


def describe_when(ev: dict, now: dt.datetime | None = None) -> str:
    start, end = event_times(ev)
    if now is not None and start.date() == now.date():
        day = "today"
    elif now is not None and start.date() == now.date() + dt.timedelta(days=1):
        day = f"tomorrow, {long_date(start)}"
    else:
        day = f"on {long_date(start)}"
    return f"{day} from {start:%H:%M} to {end:%H:%M}"


def known_events(nodes: Iterable[Any], agent: str) -> dict[str, dict]:
    """Every event the agent's memories name in structured facts, by key:
    ``{"event": {..., "host"}, "intent": "attend" | "decline" | None, "heard_from": [...], "mentions": n}``.

    An event in a memory without a ``host`` is one of the agent's own first memories: its own."""
    out: dict[str, dict] = {}
    for n in nodes:
        facts = getattr(n, "facts", None) if not isinstance(n, dict) else n.get("facts")
        if not facts or not isinstance(facts.get("event"), dict):
            continue
        ev = dict(facts["event"])
        ev.setdefault("host", agent)
        try:
            key = event_key(ev)
            event_times(ev)
        except (KeyError, ValueError):
            continue
        k = out.setdefault(key, {"event": ev, "intent": None, "heard_from": [], "mentions": 0})
        k["mentions"] += 1
        if facts.get("intent") in ("attend", "decline"):
            k["intent"] = facts["intent"]
        who = facts.get("heard_from")
        if who and who not in k["heard_from"]:
            k["heard_from"].append(who)
    for k in out.values():
        if k["event"]["host"] == agent:
            k["intent"] = "attend"
    return out


def conflicts(persona: Persona, ev: dict) -> list[str]:
    """Routine blocks at the persona's workplace that the event overlaps (work it would miss)."""
    start, end = event_times(ev)
    s, e = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    if e <= s:
        e += DAY
    out = []
    for b in persona.lifestyle.routine:
        bs, be = b.start, b.end if b.end > b.start else b.end + DAY
        if bs < e and s < be and persona.workplace and b.place == persona.workplace:
            out.append(b.activity)
    return out


def accept_probability(persona: Persona, ev: dict, inviter: str | None, heard: int = 1) -> float:
    """The rules baseline's chance of saying yes to an invitation: sociable people and friends of
    the host say yes more often, work at that time makes it less likely, hearing of it from
    several people more."""
    p = 0.1 + 0.5 * persona.sociability
    if ev.get("host") in persona.relationships:
        p += 0.15
    if inviter and inviter != ev.get("host") and inviter in persona.relationships:
        p += 0.1
    if conflicts(persona, ev):
        p -= 0.35
    p += 0.05 * max(0, heard - 1)
    return max(0.05, min(0.95, p))


# ---------------------------------------------------------------- blocks


def routine_blocks(persona: Persona, offset: int) -> list[dict]:
    """The persona's usual day as blocks, shifted by ``offset`` minutes, within its waking span."""
    wake, sleep = waking_span(persona, offset)
    out = []
    for b in persona.lifestyle.routine:
        s = b.start + offset
        e = (b.end if b.end != b.start else b.start + 1) + offset
        while s < wake:
            s += DAY
        while e <= s:
            e += DAY
        e = min(e, sleep)
        if s < sleep and e > s:
            out.append({"start": s, "end": e, "activity": b.activity, "place": b.place, "object": b.object,
                        "event": None})
    return sorted(out, key=lambda x: x["start"])


def insert_block(blocks: list[dict], new: dict) -> list[dict]:
    """``blocks`` with ``new`` put in, cutting whatever it overlaps."""
    out = []
    for b in blocks:
        if b["end"] <= new["start"] or b["start"] >= new["end"]:
            out.append(b)
            continue
        if b["start"] < new["start"]:
            out.append({**b, "end": new["start"]})
        if b["end"] > new["end"]:
            out.append({**b, "start": new["end"]})
    out.append(new)
    return sorted(out, key=lambda x: x["start"])


def event_blocks(agent: str, ev: dict, day: dt.date) -> list[dict]:
    """The blocks for an event on ``day``: the host gets ready beforehand."""
    start, end = event_times(ev)
    s, e = minutes_since(day, start), minutes_since(day, end)
    key = event_key(ev)
    where = sector(ev["place"])
    if ev.get("host") == agent:
        return [{"start": s - 30, "end": s, "activity": f"getting {where} ready for the {ev['name']}",
                 "place": ev["place"], "object": None, "event": key},
                {"start": s, "end": e, "activity": f"hosting the {ev['name']}", "place": ev["place"],
                 "object": None, "event": key}]
    return [{"start": s, "end": e, "activity": f"at the {ev['name']} at {where}", "place": ev["place"],
             "object": None, "event": key}]


def events_on(events: dict[str, dict], day: dt.date) -> list[dict]:
    """The events of ``day`` the agent hosts or means to go to, in time order."""
    out = [k["event"] for k in events.values() if k["intent"] == "attend" and event_times(k["event"])[0].date() == day]
    return sorted(out, key=lambda ev: (ev["start"], ev["name"]))


def decide_undecided(persona: Persona, events: dict[str, dict], day: dt.date, rng) -> dict[str, dict]:
    """Events of ``day`` heard of without saying yes or no yet: decide now, as when invited."""
    out = dict(events)
    for key in sorted(events):
        k = events[key]
        if k["intent"] is None and event_times(k["event"])[0].date() == day:
            inviter = k["heard_from"][0] if k["heard_from"] else None
            yes = rng.random() < accept_probability(persona, k["event"], inviter, len(k["heard_from"]))
            out[key] = {**k, "intent": "attend" if yes else "decline"}
    return out


def commitments(events: dict[str, dict], agent: str, day: dt.date) -> list[dict]:
    """The events of ``day`` the agent hosts or said yes to, in the order they go into a plan:
    the ones it goes to first, the ones it hosts last, so that where their hours overlap the
    event it hosts outranks an invitation it accepted."""
    return sorted(events_on(events, day), key=lambda ev: (ev.get("host") == agent, ev["start"], ev["name"]))


def keeps(blocks: list[dict], agent: str, ev: dict, day: dt.date, after: int = 0, sleep: int | None = None) -> bool:
    """Whether ``blocks`` keep the agent at the event's place for its whole span (from ``after``,
    up to ``sleep``), not only at its start minute."""
    start, end = event_times(ev)
    s, e = max(minutes_since(day, start), after), minutes_since(day, end)
    if sleep is not None:
        e = min(e, sleep)
    t = s
    for b in sorted(blocks, key=lambda x: x["start"]):
        if b["end"] <= t or b["start"] > t:
            continue
        if sector(b["place"]) != sector(ev["place"]):
            return False
        t = b["end"]
        if t >= e:
            return True
    return t >= e


def with_events(blocks: list[dict], agent: str, events: list[dict], day: dt.date, after: int = 0) -> list[dict]:
    for ev in events:
        for b in event_blocks(agent, ev, day):
            b = {**b, "start": max(b["start"], after)}
            if b["end"] > b["start"]:
                blocks = insert_block(blocks, b)
    return blocks


def fill_gaps(blocks: list[dict], usual: list[dict], start: int, end: int) -> list[dict]:
    """``blocks`` with the time they leave free in [start, end) taken from ``usual``."""
    out = list(blocks)
    t = start
    edges = sorted((b["start"], b["end"]) for b in blocks) + [(end, end)]
    for s, e in edges:
        if s > t:  # a gap [t, s)
            for u in usual:
                a, b = max(u["start"], t), min(u["end"], s)
                if b > a:
                    out.append({**u, "start": a, "end": b})
        t = max(t, e)
    return sorted(out, key=lambda x: x["start"])


def number(blocks: list[dict], revision: int) -> list[dict]:
    return [{**b, "id": f"{revision}.{i}"} for i, b in enumerate(blocks)]


def rules_plan(persona: Persona, day: dt.date, offset: int, events: dict[str, dict], *,
               keep: list[dict] | None = None, after: int = 0, rng=None) -> dict:
    """The rules baseline's plan: the routine, with the day's events it hosts or goes to
    (deciding, with ``rng``, about those it has heard of but not answered). When replanning,
    ``keep`` (the blocks before ``after``) stays as it was."""
    if rng is not None:
        events = decide_undecided(persona, events, day, rng)
    wake, sleep = waking_span(persona, offset)
    blocks = [b for b in routine_blocks(persona, offset) if b["end"] > after]
    blocks = [{**b, "start": max(b["start"], after)} for b in blocks]
    blocks = with_events(blocks, persona.name, commitments(events, persona.name, day), day, after)
    return {"day": day.isoformat(), "wake": wake, "sleep": sleep, "blocks": (keep or []) + blocks}


def block_at(plan: dict, m: int) -> dict | None:
    for b in plan["blocks"]:
        if b["start"] <= m < b["end"]:
            return b
    return None


def next_stretch(plan: dict, block: dict, end: int) -> tuple[dict, int, int] | None:
    """The stretch of the plan after the one of ``block`` that ends at minute ``end``: (block,
    start, end) — the rest of ``block`` up to ``HORIZON`` minutes, else the start of the next block."""
    if end < block["end"]:
        return block, end, min(block["end"], end + HORIZON)
    later = [b for b in plan["blocks"] if b["start"] >= end]
    if not later:
        return None
    b = min(later, key=lambda b: b["start"])
    return b, b["start"], min(b["end"], b["start"] + HORIZON)


def apply_steps(ctx: Any, payload: dict, steps: list[dict]) -> None:
    """The steps of a stretch decomposed ahead (work for later, see AgentPolicy.step) wait in the
    working state until the resident gets there."""
    ctx.state.ahead = {**payload, "steps": steps}


def next_start(plan: dict, m: int) -> int:
    starts = [b["start"] for b in plan["blocks"] if b["start"] > m]
    return min(starts + [plan["sleep"]])


def summary(plan: dict, limit: int = 8) -> str:
    """'07:00 waking up; 08:15 reading…' — the plan in brief."""
    items = [f"{clock(b['start'])} {b['activity']}" for b in plan["blocks"]]
    if len(items) > limit:
        items = items[:limit] + ["…"]
    return "; ".join(items)


def as_record(plan: dict) -> dict:
    """The plan as it is logged (event ``plan``) and shown by ``inspect``."""
    return {"day": plan["day"], "revision": plan.get("revision", 0), "wake": clock(plan["wake"]),
            "sleep": clock(plan["sleep"]),
            "blocks": [{"start": clock(b["start"]), "end": clock(b["end"]), "activity": b["activity"],
                        "place": b["place"], **({"event": b["event"]} if b.get("event") else {})}
                       for b in plan["blocks"]]}


def memory_text(persona: Persona, plan: dict) -> str:
    day = dt.date.fromisoformat(plan["day"])
    return f"{persona.name}'s plan for {long_date(day)}: " + summary(plan, limit=MAX_BLOCKS)


# ---------------------------------------------------------------- the LLM side of plan_day


def persona_line(persona: Persona) -> str:
    from smallville.cognition.privacy import marked

    # a secret in the background is shown marked "(private)" (cognition.privacy)
    return f"{persona.name}, {persona.age}, {persona.occupation} ({', '.join(persona.traits)}). {marked(persona.background)}"


def persona_short(persona: Persona) -> str:
    """Who a resident is in a line: name, age, occupation and traits, without the background."""
    return f"{persona.name}, {persona.age}, {persona.occupation} ({', '.join(persona.traits)})."


def plan_variables(persona: Persona, day: dt.date, offset: int, yesterday: str, memories: list[str],
                   places: list[str]) -> dict[str, Any]:
    wake, sleep = waking_span(persona, offset)
    routine = "\n".join(f"- {clock(b['start'])}-{clock(b['end'])} {b['activity']} @ {b['place']}"
                        for b in routine_blocks(persona, offset))
    return {"name": persona.name, "persona": persona_line(persona), "date": f"{long_date(day)}, {day.year}",
            "wake": clock(wake), "sleep": clock(sleep), "routine": routine, "yesterday": yesterday or "nothing special",
            "memories": "\n".join(f"- {m}" for m in memories) or "- nothing in particular",
            "places": "\n".join(f"- {p}" for p in places),
            "example": PLAN_FORMAT}


# The answer's shape, described: a filled-in example (the usual day's first blocks) was copied by
# small models, which then restated the routine; a schema's grammar keeps the times well formed.
PLAN_FORMAT = ('{"wake": "HH:MM", "blocks": [{"start": "HH:MM", "end": "HH:MM", "activity": <a few words>, '
               '"place": <a place from the list>}, …]}')


def placeholder(text: str) -> bool:
    """'...', 'HH:MM' and the like: a template copied instead of an answer."""
    t = text.strip().strip(".…").strip()
    return not t or t.upper() in ("HH:MM", "ACTIVITY", "PLACE", "ACTION") or t.strip("<>").lower() in (
        "a few words", "a place from the list") or parse_clock_text(t) is not None


def parse_plan(value: Any, persona: Persona, day: dt.date, offset: int, places: list[str], events: dict[str, dict],
               *, keep: list[dict] | None = None, after: int = 0) -> dict | Repaired[dict]:
    """A schema-valid ``plan_day`` answer as a plan: times in order within the waking span,
    places known (an unknown one is replaced and the answer counts as repaired)."""
    if not isinstance(value, dict) or not isinstance(value.get("blocks"), list):
        raise InvalidAnswer("no list of blocks")
    wake, sleep = waking_span(persona, offset)
    w = parse_clock_text(value.get("wake", ""))
    if w is not None:
        while w < wake - 12 * 60:
            w += DAY
        if wake - 120 <= w <= wake + 180:
            wake = w
    reasons: list[str] = []
    blocks: list[dict] = []
    for i, item in enumerate(value["blocks"][:MAX_BLOCKS]):
        if not isinstance(item, dict):
            raise InvalidAnswer(f"block {i} is not an object")
        s, e = parse_clock_text(item.get("start")), parse_clock_text(item.get("end"))
        activity = " ".join(str(item.get("activity", "")).split())[:80]
        if s is None or e is None or placeholder(activity):
            raise InvalidAnswer(f"block {i}: needs start, end (HH:MM) and an activity")
        while s < wake - 60:
            s += DAY
        while e <= s:
            e += DAY
        s, e = max(s, wake, after), min(e, sleep)
        if e <= s:
            continue
        place, why = resolve_place(item.get("place", ""), places, persona.home)
        if why:
            reasons.append(f"block {i}: {why}")
        blocks.append({"start": s, "end": e, "activity": activity, "place": place, "object": None, "event": None})
    blocks.sort(key=lambda b: b["start"])
    clean: list[dict] = []
    for b in blocks:  # overlaps: a later block starts where the previous one ends
        if clean and b["start"] < clean[-1]["end"]:
            b = {**b, "start": clean[-1]["end"]}
        if b["end"] > b["start"]:
            clean.append(b)
    if not clean:
        raise InvalidAnswer("no usable blocks")
    # what the answer leaves out follows the usual day; an answer that says little is a mended one
    span = sleep - max(wake, after)
    covered = sum(b["end"] - b["start"] for b in clean)
    clean = fill_gaps(clean, routine_blocks(persona, offset), max(wake, after), sleep)
    if span > 0 and covered < span / 2:
        reasons.append(f"the answer planned {covered} of {span} minutes; the rest follows the routine")
    # an event the agent committed to (hosts, or said yes to) keeps its whole span if the model left
    # any of it out; one it hosts goes in last, outranking an invitation for the same hours
    for ev in commitments(events, persona.name, day):
        if minutes_since(day, event_times(ev)[1]) > after and not keeps(clean, persona.name, ev, day, after, sleep):
            clean = with_events(clean, persona.name, [ev], day, after)
    routine_objects = {(b.place, b.activity): b.object for b in persona.lifestyle.routine}
    for b in clean:
        b["object"] = routine_objects.get((b["place"], b["activity"]))
    plan = {"day": day.isoformat(), "wake": wake, "sleep": sleep, "blocks": (keep or []) + clean}
    return Repaired(plan, "; ".join(reasons)) if reasons else plan


# ---------------------------------------------------------------- decompose


def split_activity(activity: str) -> list[str]:
    """'eating lunch and reviewing notes' -> ['eating lunch', 'reviewing notes'] (parts that are actions)."""
    parts = [p.strip() for p in re.split(r",? and |, ", activity) if p.strip()]
    if len(parts) > 1 and all(p.split()[0].endswith("ing") for p in parts):
        return parts
    return [activity]


def rules_decompose(block: dict, start: int, end: int, rng) -> list[dict]:
    """5–15 minute steps over [start, end): the block's activity, taking turns between its parts."""
    parts = split_activity(block["activity"])
    steps, t, i = [], start, 0
    while t < end:
        d = rng.randint(STEP_MIN, STEP_MAX)
        if end - t - d < STEP_MIN:
            d = end - t
        steps.append({"start": t, "end": t + d, "description": parts[i % len(parts)]})
        t, i = t + d, i + 1
    return steps


def decompose_variables(persona: Persona, block: dict, start: int, end: int, day: dt.date) -> dict[str, Any]:
    return {"name": persona.name, "persona": f"{persona.name}, {persona.age}, {persona.occupation}",
            "activity": block["activity"], "place": block["place"], "start": clock(start), "end": clock(end),
            "minutes": end - start, "date": weekday(day),
            "example": '{"steps": [{"action": <a few words>, "minutes": <5 to 15>}, …]}'}


def parse_decompose(value: Any, start: int, end: int) -> list[dict]:
    """The model's steps, stretched or squeezed to fill [start, end) exactly."""
    items = value.get("steps") if isinstance(value, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidAnswer("no steps")
    steps = []
    for i, it in enumerate(items[:20]):
        if not isinstance(it, dict):
            raise InvalidAnswer(f"step {i} is not an object")
        text = " ".join(str(it.get("action", "")).split())[:80]
        try:
            minutes = int(it.get("minutes", 0))
        except (TypeError, ValueError):
            raise InvalidAnswer(f"step {i}: minutes is not a number") from None
        if placeholder(text):
            raise InvalidAnswer(f"step {i}: no action ({text[:20]!r})")
        steps.append((text, max(1, minutes)))
    total = sum(m for _, m in steps)
    span = end - start
    out, t = [], start
    for j, (text, m) in enumerate(steps):
        e = end if j == len(steps) - 1 else min(end, t + max(1, round(m * span / total)))
        if e > t:
            out.append({"start": t, "end": e, "description": text})
        t = e
    if not out:
        raise InvalidAnswer("no usable steps")
    return out
