"""Reacting: decision ``react`` — when an agent perceives another agent, or learns something
salient, it chooses to continue, talk, wait or replan.

Perceiving another agent: the engine offers a free, awake agent every tick it sees another
one; cheap gates in code (not decisions) keep this rare — at most one ``react`` per agent per
:data:`REACT_GAP`, and one per pair per :data:`PAIR_GAP`. Rules implementation: talk with a
probability that grows with the agent's sociability, with knowing the other, and above all
with having news the other has not heard; wait (a few minutes) for someone who is talking to
somebody else when there is news for them; otherwise continue.

A salient event (an event it will now attend today, heard in a conversation): replan, in
which case the rest of the day is rewritten (decision ``replan``). Rules: replan whenever the
event is not in the plan and not over yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smallville.cognition import plan as P
from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.interface import Action, Observation, Seen
from smallville.cognition.state import ReactMemo
from smallville.world.config import Persona
from smallville.world.clock import weekday

REACT_GAP = dt.timedelta(minutes=60)  # between two react decisions of one agent
PAIR_GAP = dt.timedelta(hours=8)  # between two react decisions about the same other agent
WAIT = dt.timedelta(minutes=5)
EPOCH = dt.datetime(2000, 1, 1)


def stamp(now: dt.datetime) -> int:
    """Minutes since 2000 — plain data for the cognition state."""
    return int((now - EPOCH).total_seconds() // 60)


def ready(memo: ReactMemo, now: dt.datetime, nearby: list[str]) -> bool:
    """The cheap part of :func:`gate`: not reacted lately, and someone near not reacted to lately."""
    t = stamp(now)
    if memo.last is not None and t - memo.last < REACT_GAP.total_seconds() // 60:
        return False
    gap = PAIR_GAP.total_seconds() // 60
    return any(t - memo.pairs.get(n, -10**9) >= gap for n in nearby)


def ready_at(memo: ReactMemo, other: str) -> dt.datetime:
    """When :func:`ready` could first be True with only ``other`` near (as the memo stands)."""
    t = -10**9 if memo.last is None else memo.last + int(REACT_GAP.total_seconds() // 60)
    t = max(t, memo.pairs.get(other, -10**9) + int(PAIR_GAP.total_seconds() // 60))
    return EPOCH + dt.timedelta(minutes=max(t, -10**6))


def gate(memo: ReactMemo, obs: Observation, news_for) -> Seen | None:
    """The agent to react to, or None: the nearest awake agent not reacted to lately (one who
    is talking counts only when there is news for them). ``news_for(name)`` is cheap."""
    now = stamp(obs.now)
    if memo.last is not None and now - memo.last < REACT_GAP.total_seconds() // 60:
        return None
    gap = PAIR_GAP.total_seconds() // 60
    for s in obs.nearby:
        if s.asleep or now - memo.pairs.get(s.name, -10**9) < gap:
            continue
        if s.talking and not news_for(s.name):
            continue
        return s
    return None


def mark(memo: ReactMemo, obs: Observation, other: str, waiting: bool = False) -> None:
    now = stamp(obs.now)
    if waiting:  # free to react to them again once the wait is over
        back = int(WAIT.total_seconds() // 60)
        memo.last = now - int(REACT_GAP.total_seconds() // 60) + back
        memo.pairs[other] = now - int(PAIR_GAP.total_seconds() // 60) + back
    else:
        memo.last = now
        memo.pairs[other] = now


def talk_probability(persona: Persona, other: str, news: list[dict]) -> float:
    """Sociable agents and friends talk more; news of one's own (an invitation to one's own
    event) makes it much more likely, news heard from others a little."""
    friend = other in persona.relationships
    p = persona.sociability * (0.3 if friend else 0.1)
    if any(it["own"] for it in news):
        p += 0.4 if friend else 0.25
    elif news:
        p += 0.1
    return min(0.95, p)


def rules_react(persona: Persona, other: Seen, news: list[dict], rng) -> str:
    if other.talking:
        return "wait" if any(it["own"] for it in news) else "continue"
    return "talk" if rng.random() < talk_probability(persona, other.name, news) else "continue"


def variables(persona: Persona, obs: Observation, situation: str, memories: list[str],
              options: list[str]) -> dict[str, Any]:
    # who the resident is in a line (traits, no background): the choice rests on the situation and the memories
    return {"name": persona.name, "persona": P.persona_short(persona), "time": f"{weekday(obs.now)} {obs.now:%H:%M}",
            "action": obs.action or "idle", "place": P.sector(obs.place), "situation": situation,
            "memories": "\n".join(f"- {m}" for m in memories) or "- nothing in particular",
            "options": ", ".join(options)}


def seeing(persona: Persona, other: Seen, news: list[dict]) -> str:
    doing = "talking with someone else" if other.talking else (other.action or "idle")
    rel = persona.relationships.get(other.name, "someone from town")
    text = f"{persona.name} sees {other.name} ({rel}), who is {doing}."
    if news:
        text += f" News {persona.name} has not told {other.name} yet: " + " ".join(it["text"] for it in news[:2])
    return text


def parse(value: Any, other: Seen) -> str:
    choice = str(value.get("reaction", "")).strip().lower() if isinstance(value, dict) else ""
    if choice not in ("continue", "talk", "wait"):
        raise InvalidAnswer(f"reaction {choice[:30]!r} is not continue, talk or wait")
    if choice == "talk" and other.talking:
        return "wait"
    return choice


def wait_action(obs: Observation, other: str, fallback: str) -> Action:
    """Stand by where one is (``fallback`` when outside any arena) for a few minutes."""
    here = ":".join(obs.place.split(":")[:2]) if obs.place.count(":") >= 1 else fallback
    return Action(f"waiting to talk to {other}", here, obs.now + WAIT, emoji="⏳")


# ---------------------------------------------------------------- salient events


def salient(persona: Persona, obs: Observation, plan: dict, ev: dict) -> str:
    day = dt.date.fromisoformat(plan["day"])
    rest = [b for b in plan["blocks"] if b["end"] > P.minutes_since(day, obs.now)]
    left = "; ".join(f"{P.clock(b['start'])} {b['activity']}" for b in rest) or "nothing"
    return (f"{persona.name} has just decided to go to the {ev['name']} (hosted by {ev['host']} at {ev['place']} "
            f"{P.describe_when(ev, obs.now)}). The rest of today's plan: {left}. Replan the rest of the day?")


def parse_salient(value: Any) -> str:
    choice = str(value.get("reaction", "")).strip().lower() if isinstance(value, dict) else ""
    if choice not in ("continue", "replan"):
        raise InvalidAnswer(f"reaction {choice[:30]!r} is not continue or replan")
    return choice
