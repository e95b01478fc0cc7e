"""The LLM implementation of ``next_action``: the prompt's variables and the parse.

The model sees the persona, the time, what the routine suggests and the places the
persona knows, and answers ``{"activity", "place", "emoji", "minutes"}`` (prompt
``smallville/prompts/next_action.txt``, schema beside it). :func:`parse` makes any
schema-valid answer usable: an unknown place becomes the routine's place (a
:class:`~smallville.cognition.decisions.Repaired` answer, recorded as a fallback), the
duration is clamped to 5–240 minutes, a missing emoji is chosen from the activity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smallville.cognition.decisions import Repaired
from smallville.cognition.interface import Action
from smallville.world.config import Persona
from smallville.world.clock import weekday

MIN_MINUTES, MAX_MINUTES = 5, 240
MAX_LABEL = 80


def places_of(persona: Persona) -> list[str]:
    """The addresses the persona knows, each once, in the order the persona names them."""
    return list(dict.fromkeys(address for _, address in persona.known_places()))


def variables(persona: Persona, now: dt.datetime, previous: str, routine: Action) -> dict[str, Any]:
    traits = ", ".join(persona.traits)
    return {
        "name": persona.name,
        "persona": f"{persona.name}, {persona.age}, {persona.occupation} ({traits}).",
        "time": f"{weekday(now)} {now:%H:%M}",
        "previous": previous or "nothing yet",
        "suggestion": routine.description,
        "suggestion_place": routine.place,
        "places": ", ".join(places_of(persona)),
    }


def _squash(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _match_place(answer: str, places: list[str]) -> str | None:
    """The known place the answer names: exactly, ignoring case and punctuation, by a
    unique arena name, or the first known place written inside the answer."""
    a = " ".join(answer.split())
    if a in places:
        return a
    for p in places:
        if _squash(p) == _squash(a):
            return p
    by_arena = [p for p in places if _squash(p.split(":")[-1]) == _squash(a)]
    if len(by_arena) == 1:
        return by_arena[0]
    low = a.lower()
    inside = sorted((low.find(p.lower()), i) for i, p in enumerate(places) if p.lower() in low)
    return places[inside[0][1]] if inside else None


def _is_emoji(text: str) -> bool:
    return 0 < len(text) <= 8 and any(ord(c) > 0x2000 for c in text) and not any(c.isalnum() for c in text)


def parse(value: dict, persona: Persona, now: dt.datetime, routine: Action) -> Action | Repaired[Action]:
    from smallville.cognition.rules import emoji_for

    reasons = []
    place = _match_place(str(value["place"]), places_of(persona))
    if place is None:
        reasons.append(f"unknown place {str(value['place'])[:60]!r}, used the routine's {routine.place!r}")
        place = routine.place
    activity = " ".join(str(value["activity"]).split())[:MAX_LABEL].strip()
    if not activity:
        reasons.append("empty activity, used the routine's")
        activity = routine.description
    minutes = min(MAX_MINUTES, max(MIN_MINUTES, int(value["minutes"])))
    emoji = str(value["emoji"]).strip()
    if not _is_emoji(emoji):
        emoji = emoji_for(activity)
    obj = state = None
    if place == routine.place and routine.object:  # the routine's object, used for this activity
        obj, state = routine.object, routine.object_state
        if state and state.startswith("in use: "):
            state = f"in use: {activity}"
    action = Action(activity, place, now + dt.timedelta(minutes=minutes), emoji=emoji, object=obj,
                    object_state=state)
    return Repaired(action, "; ".join(reasons)) if reasons else action
