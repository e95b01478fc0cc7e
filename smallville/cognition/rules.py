"""The rules baseline: a deterministic, non-LLM policy from the persona's lifestyle.

This is the classic agent-based-model policy: sleep between sleep and wake time, follow
the routine's blocks (shifted by a small per-day offset drawn from the run's seeded RNG),
idle at home in gaps. Later faculties (planning, reacting, conversing) grow here as the
rules implementation of each cognitive decision.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from smallville.cognition import next_action, perceive
from smallville.cognition.interface import (Action, ConversationView, DecisionContext, Observation, Reaction,
                                           Turn)
from smallville.cognition.state import ResidentState
from smallville.world.config import Persona

# keyword -> emoji for the short label; first match wins
EMOJI = [
    (("sleep", "nap", "bed"), "😴"),
    (("breakfast", "lunch", "dinner", "eat", "meal", "snack"), "🍽️"),
    (("coffee", "cafe"), "☕"),
    (("cook",), "🍳"),
    (("class", "lecture", "study", "homework", "read", "research", "library"), "📚"),
    (("teach",), "🧑‍🏫"),
    (("write", "writing", "paper", "essay", "poem", "novel"), "✍️"),
    (("paint", "draw", "sketch", "art", "animat"), "🎨"),
    (("music", "piano", "guitar", "sing", "compose"), "🎵"),
    (("photo",), "📷"),
    (("walk", "stroll", "jog", "run", "exercise", "park"), "🚶"),
    (("shop", "grocer", "buy"), "🛒"),
    (("drink", "pub", "bar", "beer"), "🍺"),
    (("code", "program", "software", "computer", "stream", "game"), "💻"),
    (("garden", "plant", "flower"), "🌷"),
    (("wash", "shower", "bath", "ready", "dress"), "🚿"),
    (("tv", "television", "movie"), "📺"),
    (("work", "shift", "office", "serve", "serving", "open", "close", "counter", "customer", "advis", "client",
      "permit", "meeting", "help"), "💼"),
    (("relax", "rest", "unwind", "idle"), "🛋️"),
    (("chat", "talk", "visit", "friends", "socializ", "socialis"), "💬"),
]


def emoji_for(text: str) -> str:
    """An icon for an activity: the first keyword that starts a word of the text."""
    words_in = re.findall(r"[a-z]+", text.lower())
    for words, emoji in EMOJI:
        if any(w.startswith(k) for w in words_in for k in words):
            return emoji
    return "🙂"


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)


def day_offset(state: ResidentState, today: dt.date, rng, spread: int = 15) -> int:
    """Minutes by which this agent's routine is shifted today (drawn once per day)."""
    key = today.isoformat()
    if state.routine_day != key:
        state.routine_day = key
        state.routine_offset = rng.randint(-spread, spread)
    return state.routine_offset


def routine_action(persona: Persona, now: dt.datetime, offset: int = 0) -> Action:
    """What the persona's routine says to do at ``now`` (times shifted by ``offset`` minutes)."""
    life = persona.lifestyle
    m = (now.hour * 60 + now.minute - offset) % (24 * 60)
    day = now.date() if now.hour * 60 + now.minute - offset >= 0 else now.date() - dt.timedelta(days=1)
    wake, sleep = life.wake, life.sleep
    asleep = (m < wake or m >= sleep) if sleep > wake else (sleep <= m < wake)
    if asleep:
        wake_day = day if m < wake else day + dt.timedelta(days=1)
        return Action("sleeping", persona.home, _at(wake_day, wake + offset), emoji="😴", object="bed",
                      object_state="being slept in", asleep=True)
    blocks = sorted(life.routine, key=lambda b: (b.start - wake) % (24 * 60))
    for b in blocks:
        start, end = b.start, b.end if b.end != b.start else b.start + 1
        within = (start <= m < end) if end > start else (m >= start or m < end)
        if within:
            end_day = day if end > m else day + dt.timedelta(days=1)
            return Action(b.activity, b.place, _at(end_day, end + offset), emoji=emoji_for(b.activity),
                          object=b.object, object_state=f"in use: {b.activity}" if b.object else None)
    # a gap in the routine: rest at home until the next block or bedtime
    upcoming = [((b.start - m) % (24 * 60)) for b in blocks] + [(sleep - m) % (24 * 60)]
    wait = min(x for x in upcoming if x > 0) if any(x > 0 for x in upcoming) else 30
    return Action("resting at home", persona.home, now + dt.timedelta(minutes=wait), emoji="🛋️")


class RulesPolicy:
    """The routine-following baseline for every resident of a world."""

    def __init__(self, personas: dict[str, Persona]):
        self.personas = personas

    async def decide(self, obs: Observation, ctx: DecisionContext) -> Action:
        persona = self.personas[obs.agent]
        offset = day_offset(ctx.state, obs.now.date(), ctx.rng)
        routine = routine_action(persona, obs.now, offset)
        return await ctx.decide("next_action", variables=next_action.variables(persona, obs.now, obs.action, routine),
                                rules=lambda: routine, parse=lambda value: next_action.parse(value, persona, obs.now,
                                                                                             routine),
                                rng=ctx.rng, enums={"place": next_action.places_of(persona)})

    async def perceive(self, obs: Observation, ctx: DecisionContext) -> None:
        """Remember what the agent newly noticed (one importance decision) and reflect when due."""
        await perceive.remember(self.personas[obs.agent], obs, ctx)

    # the routine baseline never reacts, so it never converses either
    def may_react(self, state: ResidentState, now: dt.datetime, nearby: list[str]) -> bool:
        return False

    def react_after(self, state: ResidentState, others: list[str]) -> list[dt.datetime | None]:
        return [None] * len(others)

    async def react(self, obs: Observation, ctx: DecisionContext) -> Reaction | None:
        return None

    async def converse(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> Turn:
        return Turn("...", end=True)

    async def end_conversation(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> None:
        return None

    async def hear(self, obs: Observation, ctx: DecisionContext, text: str, kind: str,
                   facts: list[dict] | None = None) -> None:
        """Remember words from outside (see :mod:`~smallville.cognition.hear`): the facts given
        with them, else those :meth:`extract_facts` finds."""
        from smallville.cognition import hear

        if facts is None:
            facts = await self.extract_facts(obs, ctx, text, kind)
        hear.remember(self.personas[obs.agent], obs, ctx, text, kind, facts)

    def apply_later(self, kind: str, payload: dict, value: Any, ctx: DecisionContext) -> None:
        """The outcome of work started at an earlier tick (:meth:`DecisionContext.later`): importance
        ratings (``rating``), the steps of a stretch of the plan decomposed ahead (``steps``), a
        day's plan made in the night (``plan``)."""
        from smallville.cognition import importance, plan

        apply = {"rating": importance.apply_rating, "steps": plan.apply_steps, "plan": plan.apply_plan}.get(kind)
        if apply is None:
            raise ValueError(f"no such work started earlier: {kind!r}")
        apply(ctx, payload, value)

    async def extract_facts(self, obs: Observation, ctx: DecisionContext, text: str, kind: str) -> list[dict]:
        """The facts ``text`` carries (events with name/host/place/start/end, news). The seam
        where extraction from words plugs in; until then words without given facts are a memory only."""
        return []
