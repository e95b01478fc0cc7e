"""Importance (the paper's "poignancy"): how much a memory matters to its agent, 1 to 10.

Decision ``rate_importance`` rates an agent's new memories together, never one per memory,
and a description the agent has rated before reuses that score (the stream's cache), so a
repeated observation costs nothing. Its contract, in full:

- **Routine observations are scored by the rules, never by a model**: the agent's own action,
  an object's state, anyone sleeping, idle or resting (see :func:`routine`). They are mundane
  by construction, and nearly half of all observations are one of them.
- **Every other new memory is added at once, with the rules' score as a provisional
  importance, and waits.** The agent's waiting memories are rated together, in one decision
  (:func:`settle`), at the first of: the oldest has waited ``BATCH_MINUTES`` game minutes
  (checked when the agent next perceives something); the provisional scores bring the sum
  since the last reflection to the threshold — then the rating is awaited, so that a
  reflection is triggered by, and reflects on, rated importance. Otherwise the rating is work
  for later (docs/THROUGHPUT.md): its ratings replace the provisional scores at a later tick,
  and nobody waits for them; a retrieval meanwhile (planning, reacting, a conversation turn)
  sees the provisional scores. (A retrieval no longer asks for a rating: with the rating taken
  later it could not see it anyway, and the town's rating decisions fell by a third.) A rating
  replaces the provisional score everywhere: the node, retrieval, the sum since the last
  reflection, the cache, the run store. An agent takes at most one ``rate_importance``
  decision per tick: memories that arrive after it (the end of a conversation) join the
  next one. A memory still waiting when a run ends keeps its provisional score.

In the rules baseline the decision's answer *is* the provisional score, so batching changes
only how many decisions are counted, never a score. The waiting list (node ids, and the tick
the oldest arrived) is plain data in the agent's cognition state, so it survives a checkpoint.

The LLM implementation is ``smallville/prompts/rate_importance.txt`` with its schema, bounded
per call to exactly one integer 1–10 per memory (:func:`schema_for`) with a matching answer
length (:func:`max_tokens_for`). The rules implementation, :func:`rules_importance`, scores a
description by

========================  ================================================================
kind                      observation 2, chat 4, plan 3, thought 4, interview 4, whisper 5
routine                   −1 when it is about the agent itself or an object (seeing oneself
                          or a stove at work is mundane); sleeping, idle or resting is 1 flat
people                    +1 when another resident is named; +1 more when the agent has a
                          relationship with one of them
novelty                   +round(2 × the share of its words the agent has never met before)
keywords                  +3 for a word of life events (celebration, election, wedding, accident…),
                          +1 for a word of plans and projects (plan, exam, deadline, gift…)
========================  ================================================================

clamped to 1..10, with the agent's vocabulary as it was before the memories that arrive
together. All terms are deterministic, so the rules baseline needs no RNG here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.interface import DecisionContext
from smallville.world.config import Persona

KIND_BASE = {"observation": 2, "chat": 4, "plan": 3, "thought": 4, "interview": 4, "whisper": 5}
STRONG = ("celebrat", "festival", "birthday", "wedding", "anniversar", "reunion", "gathering", "hosting", "election", "mayor",
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
    names = _names_of(people)
    others = [p for p in names.named(description) if p != agent]
    if others:
        score += 1
        if any(p in friends for p in others):
            score += 1
    for p in names.lowered(low):  # names are neither news nor keywords ("Example" is not "exam")
        low = low.replace(p, " ")
    content = {w for w in _WORD.findall(low) if w not in _STOP}
    if content:
        score += round(2 * len(content - known) / len(content))
    if _STRONG.search(low):
        score += 3
    elif _MILD.search(low):
        score += 1
    return max(1, min(10, score))


class _Names:
    """The residents a description can name, found without scanning them all (a town of a
    thousand asks this for every new memory). Each name is filed under one of its character
    trigrams; a text can only contain a name whose trigram it contains, so the names filed under
    the text's trigrams (and the few shorter than a trigram) are the only ones to check, and they
    are checked exactly as a scan would, in the same order: the results are the scan's.

    :meth:`lowered` serves the blanking of names in the lowercased text, one after another,
    where blanking a name joins the text around it with a space: a lowercased name is filed under
    a trigram without a space, and any such trigram of the text after blanking was already in it."""

    def __init__(self, people: Sequence[str]):
        self.people = tuple(people)
        self.low = [p.lower() for p in self.people]
        self._named = self._file(self.people, lambda t: True)
        self._lowered = self._file(self.low, lambda t: " " not in t)

    @staticmethod
    def _file(names: Sequence[str], usable: Callable[[str], bool]) -> tuple[dict[str, list[int]], list[int]]:
        grams = [[n[j:j + 3] for j in range(len(n) - 2) if usable(n[j:j + 3])] for n in names]
        count: dict[str, int] = {}
        for gs in grams:
            for t in set(gs):
                count[t] = count.get(t, 0) + 1
        filed: dict[str, list[int]] = {}
        short = []
        for i, gs in enumerate(grams):
            if gs:  # the trigram fewest names share: the fewest false candidates
                filed.setdefault(min(gs, key=lambda t: (count[t], t)), []).append(i)
            else:
                short.append(i)
        return filed, short

    @staticmethod
    def _candidates(text: str, index: tuple[dict[str, list[int]], list[int]]) -> list[int]:
        filed, short = index
        found = set(short)
        for t in {text[j:j + 3] for j in range(len(text) - 2)}:
            ids = filed.get(t)
            if ids:
                found.update(ids)
        return sorted(found)

    def named(self, text: str) -> list[str]:
        """``[p for p in people if p in text]``."""
        return [self.people[i] for i in self._candidates(text, self._named) if self.people[i] in text]

    def lowered(self, low: str) -> list[str]:
        """The lowercased names that blanking them one by one, in the people's order, can find
        in ``low`` (a superset of those it finds; the others are not in ``low`` at any step)."""
        return [self.low[i] for i in self._candidates(low, self._lowered)]


_NAMES: list[_Names] = []  # the index of the last list of people asked for


def _names_of(people: Sequence[str]) -> _Names:
    last = _NAMES[0] if _NAMES else None
    if last is None or (people is not last.people and tuple(people) != last.people):
        last = _Names(people)
        _NAMES[:] = [last]
    return last


# the longest a memory waits for its rating (game minutes), see the module doc: 90 rather than 60
# took the town's rate_importance decisions from 10.6 to 8.7 per resident-day (bench_llm_wall, seeds 1-6)
BATCH_MINUTES = 90
GRACE_MINUTES = 10  # no second rating this soon after one (see settle)


def routine(agent: str, kind: str, description: str, subject: str | None) -> bool:
    """Whether a memory is routine — its rules score is final, no model rates it: an observation
    of the agent's own action, of an object's state (its subject is an address
    ``"Sector:arena:object"``), or of anyone sleeping, idle or resting."""
    if kind != "observation":
        return False
    return subject == agent or (subject is not None and ":" in subject) or bool(_DULL.search(description.lower()))


def variables(persona: Persona, descriptions: Sequence[str]) -> dict[str, Any]:
    n = len(descriptions)
    # who the resident is in a line (no background): the scale's own examples say what matters,
    # and a resident rates its memories several times an hour
    return {"name": persona.name,
            "persona": f"{persona.name}, {persona.age}, {persona.occupation} ({', '.join(persona.traits)}).",
            "count": n,
            "memories": "\n".join(f"{i + 1}. {d}" for i, d in enumerate(descriptions)),
            "example": answer_format(n)}


def answer_format(n: int) -> str:
    """The answer's shape, described rather than shown with numbers a model could copy:
    ``{"ratings": [r1, r2, r3]}`` (``r1, r2, …, r9`` for more than four)."""
    names = [f"r{i + 1}" for i in range(n)] if n <= 4 else ["r1", "r2", "…", f"r{n}"]
    return '{"ratings": [' + ", ".join(names) + ']}' + (" where r1 is the rating of memory 1, and so on" if n > 1
                                                        else " where r1 is the rating of the memory")


def schema_for(n: int) -> Callable[[dict], dict]:
    """Narrows the decision's schema (``rate_importance.json``: integers 1–10, an ``enum`` so a
    grammar-constrained model cannot write a long number either) to exactly ``n`` ratings."""
    def narrow(schema: dict) -> dict:
        ratings = {**schema["properties"]["ratings"], "minItems": n, "maxItems": n}
        return {**schema, "properties": {**schema["properties"], "ratings": ratings}}
    return narrow


def max_tokens_for(n: int) -> int:
    """Room for ``{"ratings": [r, r, …]}`` with ``n`` ratings, and some slack."""
    return 16 + 4 * n


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


async def _decide(persona: Persona, texts: list[str], rules: Callable[[], list[int]], ctx: DecisionContext
                  ) -> list[int]:
    """Decision ``rate_importance`` for ``texts`` (distinct descriptions)."""
    n = len(texts)
    return await ctx.decide("rate_importance", variables=variables(persona, texts), rules=rules,
                            parse=lambda value: parse(value, n), rng=ctx.rng, schema=schema_for(n),
                            max_tokens=max_tokens_for(n))


def _rules_scores(persona: Persona, mem: Any, todo: Mapping[str, tuple[str, str | None]]) -> dict[str, int]:
    known = mem.stream.vocabulary
    return {d: rules_importance(persona.name, d, kind, people=mem.people, friends=persona.relationships,
                                known=known, subject=subject) for d, (kind, subject) in todo.items()}


async def rate(persona: Persona, items: Sequence[tuple[str, str, str | None]], ctx: DecisionContext) -> list[int]:
    """Importance of each (description, kind, subject) for the agent, rated now: one decision for
    all the descriptions it has not rated before, none when every one is cached. (The perceive and
    conversation steps use :func:`add` and :func:`settle`, which batch across ticks.)"""
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
        rules = _rules_scores(persona, mem, todo)
        scores.update(zip(texts, await _decide(persona, texts, lambda: [rules[d] for d in texts], ctx)))
    return [scores[d] for d, _, _ in items]


# ---------------------------------------------------------------- batched rating


@dataclass(frozen=True)
class New:
    """A memory to add: ``subject`` is who or what it is about (an observation's subject)."""

    kind: str
    description: str
    subject: str | None = None
    spo: tuple[str, str, str] | None = None
    facts: dict | None = None


def waiting(ctx: DecisionContext) -> list[int]:
    """Ids of the agent's memories waiting for their rating, oldest first."""
    return list(ctx.state.unrated.ids)


def add(persona: Persona, ctx: DecisionContext, memories: Sequence[New]) -> list[Any]:
    """Add ``memories`` (that arrived together) to the agent's stream and return their nodes:
    a rated description reuses its score, a routine one gets its rules score, any other one its
    rules score provisionally and waits for :func:`settle`."""
    mem = ctx.stream
    state = ctx.state.unrated
    ids = state.ids
    pending = {mem.nodes[i].description for i in ids}
    todo: dict[str, tuple[str, str | None]] = {}
    for m in memories:
        if mem.cached_importance(m.description) is None and m.description not in todo:
            todo[m.description] = (m.kind, m.subject)
    scores = _rules_scores(persona, mem, todo)
    nodes = []
    for m in memories:
        score = scores.get(m.description)
        if score is None:
            score = mem.cached_importance(m.description)
        node = mem.add(m.kind, m.description, score, spo=m.spo, facts=m.facts)
        nodes.append(node)
        if m.description in pending or (m.description in todo
                                        and not routine(persona.name, m.kind, m.description, m.subject)):
            if not ids:
                state.since = mem.tick
            ids.append(node.id)
            pending.add(m.description)
    return nodes


def due(ctx: DecisionContext) -> bool:
    """Whether the oldest waiting memory has waited ``BATCH_MINUTES``."""
    state = ctx.state.unrated
    if not state.ids or state.since is None:
        return False
    mem = ctx.stream
    return (mem.tick - state.since) * mem.memory.clock.tick_seconds >= BATCH_MINUTES * 60


async def settle(persona: Persona, ctx: DecisionContext, grace: int = GRACE_MINUTES, wait: bool = False) -> bool:
    """Rate the agent's waiting memories, in one decision — none when nothing waits, or when the
    agent took one less than ``grace`` game minutes ago (or this very tick). Returns whether a
    decision was taken.

    The rating is work for later (:meth:`DecisionContext.later`): it starts now, over the
    waiting memories as they are now, and the ratings replace the provisional scores at a later
    tick the engine fixes — so a retrieval now sees the provisional scores and never waits for a
    model. ``wait`` rates and applies at once (before a reflection, whose questions read the
    scores). In the rules baseline the rating is the provisional score: only the tick its rescore
    is recorded at differs."""
    mem = ctx.stream
    state = ctx.state.unrated
    if mem is None or not state.ids:
        return False
    last = state.rated  # tick of the agent's last rating
    if last is not None and (last == mem.tick or (mem.tick - last) * mem.memory.clock.tick_seconds < grace * 60):
        return False
    nodes = [mem.nodes[i] for i in state.ids]
    provisional: dict[str, int] = {}
    for n in nodes:
        provisional.setdefault(n.description, n.importance)
    texts = list(provisional)
    payload = {"ids": list(state.ids), "texts": texts}
    state.ids, state.since, state.rated = [], None, mem.tick

    async def work(job: DecisionContext) -> list[int]:
        return await _decide(persona, texts, lambda: [provisional[d] for d in texts], job)

    if wait:
        apply_rating(ctx, payload, await work(ctx))
    else:
        await ctx.later("rating", payload, work, apply_rating)
    return True


def apply_rating(ctx: DecisionContext, payload: dict, ratings: list[int]) -> None:
    """The ratings of ``payload["texts"]`` replace the provisional scores of ``payload["ids"]``."""
    mem = ctx.stream
    rated = dict(zip(payload["texts"], ratings))
    for i in payload["ids"]:
        mem.memory.rescore(mem.agent, i, rated[mem.nodes[i].description], tick=mem.tick)
