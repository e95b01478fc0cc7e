"""Importance (the paper's "poignancy"): how much a memory matters to its agent, 1 to 10.

Decision ``rate_importance`` rates all of an agent's new memories of a tick together: one
decision per agent per tick, never one per memory. A description the agent has rated
before reuses that score (the stream's cache), so a repeated observation costs nothing.

The LLM implementation is ``smallville/prompts/rate_importance.txt`` with its schema. The
rules implementation, :func:`rules_importance`, scores a description by

========================  ================================================================
kind                      observation 2, chat 4, plan 3, thought 4, interview 4, whisper 5
routine                   −1 when it is about the agent itself or an object (seeing oneself
                          or a stove at work is mundane); sleeping, idle or resting is 1 flat
people                    +1 when another resident is named; +1 more when the agent has a
                          relationship with one of them
novelty                   +round(2 × the share of its words the agent has never met before)
keywords                  +3 for a word of life events (party, election, wedding, accident…),
                          +1 for a word of plans and projects (plan, exam, deadline, gift…)
========================  ================================================================

clamped to 1..10. All terms are deterministic, so the rules baseline needs no RNG here.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.interface import DecisionContext
from smallville.world.config import Persona

KIND_BASE = {"observation": 2, "chat": 4, "plan": 3, "thought": 4, "interview": 4, "whisper": 5}
STRONG = ("party", "parties", "celebrat", "festival", "birthday", "wedding", "valentine", "election", "mayor",
          "campaign", "vote", "emergency", "accident", "fire", "hospital", "died", "death", "funeral", "love",
          "crush", "date", "breakup", "broke up", "propos", "engaged", "pregnan", "fight", "argument", "quarrel",
          "secret", "fired", "promotion", "job offer", "award", "exhibition", "concert", "opening night")
MILD = ("plan", "idea", "project", "deadline", "exam", "meeting", "gift", "invit", "new", "first", "news",
        "friend", "help", "worried", "excited", "decid")
DULL = ("sleeping", "asleep", "is idle", "resting", "being slept in")
_WORD = re.compile(r"[a-z][a-z']+")
_STOP = frozenset("a an the is are was were be been of in on at to for and or with by from his her their its "
                  "he she they it this that as into about up out over some".split())


def _prefixes(words: Iterable[str]) -> re.Pattern:
    """Matches any of ``words`` at the start of a word ("celebrat" matches "celebration")."""
    return re.compile(r"\b(?:" + "|".join(re.escape(w.strip()) for w in words) + ")")


_STRONG, _MILD, _DULL = _prefixes(STRONG), _prefixes(MILD), _prefixes(DULL)


def rules_importance(agent: str, description: str, kind: str = "observation", *, people: Sequence[str] = (),
                     friends: Mapping[str, str] | Iterable[str] = (), known: set[str] = frozenset(),
                     subject: str | None = None) -> int:
    """The rules baseline's importance of ``description`` for ``agent`` (see the module doc)."""
    low = description.lower()
    if _DULL.search(low):
        return 1
    score = KIND_BASE.get(kind, 2)
    if subject is not None and (subject == agent or subject not in people):
        score -= 1
    others = [p for p in people if p != agent and p in description]
    if others:
        score += 1
        if any(p in friends for p in others):
            score += 1
    for p in people:  # names are neither news nor keywords ("Example" is not "exam")
        low = low.replace(p.lower(), " ")
    content = {w for w in _WORD.findall(low) if w not in _STOP}
    if content:
        score += round(2 * len(content - known) / len(content))
    if _STRONG.search(low):
        score += 3
    elif _MILD.search(low):
        score += 1
    return max(1, min(10, score))


def variables(persona: Persona, descriptions: Sequence[str]) -> dict[str, Any]:
    return {"name": persona.name,
            "persona": f"{persona.name}, {persona.age}, {persona.occupation} ({', '.join(persona.traits)}). "
                       f"{persona.background}",
            "count": len(descriptions),
            "memories": "\n".join(f"{i + 1}. {d}" for i, d in enumerate(descriptions))}


def parse(value: Any, n: int) -> list[int]:
    ratings = value.get("ratings") if isinstance(value, dict) else None
    if not isinstance(ratings, list) or len(ratings) != n:
        raise InvalidAnswer(f"expected {n} ratings, got {ratings!r}")
    out = []
    for r in ratings:
        if isinstance(r, bool) or not isinstance(r, (int, float)):
            raise InvalidAnswer(f"a rating is not a number: {r!r}")
        out.append(max(1, min(10, round(r))))
    return out


async def rate(persona: Persona, items: Sequence[tuple[str, str, str | None]], ctx: DecisionContext) -> list[int]:
    """Importance of each (description, kind, subject) for the agent; one decision for all the
    descriptions it has not rated before, none when every one is cached."""
    mem = ctx.stream
    scores: dict[str, int] = {}
    todo: dict[str, tuple[str, str | None]] = {}
    for desc, kind, subject in items:
        cached = mem.cached_importance(desc)
        if cached is not None:
            scores[desc] = cached
        elif desc not in todo:
            todo[desc] = (kind, subject)
    if todo:
        texts = list(todo)
        known = mem.stream.vocabulary

        def by_rules() -> list[int]:
            return [rules_importance(persona.name, d, todo[d][0], people=mem.people, friends=persona.relationships,
                                     known=known, subject=todo[d][1]) for d in texts]

        rated = await ctx.decide("rate_importance", variables=variables(persona, texts), rules=by_rules,
                                 parse=lambda value: parse(value, len(texts)), rng=ctx.rng)
        scores.update(zip(texts, rated))
    return [scores[d] for d, _, _ in items]
