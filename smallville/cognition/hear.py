"""Words from outside the simulation reaching a resident: an inner voice (``whisper``) or an
interview it remembers (``interview --remember``), applied by the engine at a tick boundary.

:meth:`RulesPolicy.hear <smallville.cognition.rules.RulesPolicy.hear>` takes the text's facts
— given with the command, or from the policy's ``extract_facts`` (the seam where extraction
from words plugs in) — and :func:`remember` stores them: the text itself as a memory of its
kind (an inner voice is of high importance), an event it carries as the resident's own
knowledge of that event (with the event's facts, so plans and conversations use it: an event it
hosts or goes to today becomes salient, one of another day enters that day's plan), and news as
a thought it may pass on.

Facts are those the rules baseline reads (:func:`~smallville.cognition.plan.known_events`):
``{"type": "event", "event": {name, place, start, end[, host][, invite]}}`` (times "YYYY-MM-DD
HH:MM"; no host: the resident hosts it) and ``{"type": "news", "text": …}``.
"""

from __future__ import annotations

from typing import Any, Sequence

from smallville.cognition import plan as P
from smallville.cognition.interface import DecisionContext, Observation
from smallville.world.clock import long_date
from smallville.world.config import Persona

IMPORTANCE = {"whisper": 9, "interview": 6}
PREFIX = {"whisper": "Inner voice: ", "interview": ""}
NEWS_IMPORTANCE = 9


def valid_event(ev: Any) -> bool:
    if not isinstance(ev, dict) or not all(isinstance(ev.get(k), str) and ev[k] for k in ("name", "place", "start",
                                                                                           "end")):
        return False
    try:
        P.event_times(ev)
    except ValueError:
        return False
    return True


def remember(persona: Persona, obs: Observation, ctx: DecisionContext, text: str, kind: str,
             facts: Sequence[dict]) -> None:
    me = persona.name
    events = [dict(f["event"]) for f in facts if f.get("type") == "event" and valid_event(f.get("event"))]
    news = [str(f["text"]) for f in facts if f.get("type") == "news" and f.get("text")]
    ctx.emit(kind, {"text": text, "facts": list(facts)})
    for ev in events:
        ev.setdefault("invite", "everyone")
        ctx.state.learn_place(ev["place"])
    if ctx.stream is None:
        return
    ctx.stream.add(kind if kind in IMPORTANCE else "whisper", PREFIX.get(kind, "") + " ".join(text.split()),
                   IMPORTANCE.get(kind, 9), facts={"event": events[0], "intent": "attend"} if len(events) == 1
                   and events[0].get("host", me) == me else None)
    plan = ctx.state.plan
    for i, ev in enumerate(events):
        host = ev.get("host", me)
        start, end = P.event_times(ev)
        if not (len(events) == 1 and host == me):  # each further event as a memory of its own
            who = "I am hosting" if host == me else f"{host} is hosting"
            ctx.stream.add("plan" if host == me else "thought",
                           f"{me}: {who} a {ev['name']} at {P.sector(ev['place'])} on {long_date(start)} "
                           f"from {start:%H:%M} to {end:%H:%M}", IMPORTANCE.get(kind, 9),
                           facts={"event": ev, **({"intent": "attend"} if host == me else {})})
        if plan is not None and start.date().isoformat() == plan["day"] and end > obs.now \
                and not any(b.get("event") == P.event_key({**ev, "host": host}) for b in plan["blocks"]):
            ctx.state.salient.append(P.event_key({**ev, "host": host}))
    for t in news:
        ctx.stream.add("thought", t, NEWS_IMPORTANCE, facts={"news": t})
