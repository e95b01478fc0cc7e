"""Decision ``answer_interview``: a resident answers a question, as of one moment.

The paper evaluates its agents by interviewing them in five categories: self-knowledge,
memory, plans, reactions and reflections. The resident answers from what it is at that
moment (:class:`Moment`): its persona, its memories up to then, the plan of the day as it stood
then, its current action and (through ``history``) what the store recorded it doing earlier.
Nothing after the moment is ever read.

The question is read by meaning (:mod:`.understand`): an intent from the library of prototype
phrasings (``intents.yaml``) and slots — a time resolved against the moment, a resident (by
name or "your wife"), a place, the topic's words. Both paths get the same reading: the rules
answer from it (:func:`rules_answer`); a model gets it, and the memories retrieved for it, in
its prompt (:func:`variables`).

Rules answers are first-person sentences built from the store — who, what, where and when:
self (introduction, personality, occupation, usual day, home, age); now, past at a time, future
at a time, next, today, tomorrow; people (who is X, what do you think of X, how do you know X);
knowledge (what do you know about X, who told you, when did you hear); events (are you going,
who else is going); conversations (the last one, who today); reactions to a hypothetical (an
action drawn from the situation's words and the persona's traits, :mod:`.reactions`);
reflections (what is on your mind, whom you would spend time with, what you have learned about
people, what matters to you). A question it cannot place gets "I'm not sure what you mean" and
what seems nearest.

Modules: the reading in :mod:`.understand` (and :mod:`.when` for times); the moment and what it
remembers in :mod:`.recall`; the answer of each intent in :mod:`.answers`; first-person wording
in :mod:`.speech`; reactions in :mod:`.reactions`. This module is the decision itself.

Secrets (:mod:`.privacy`) are never volunteered; a question that goes straight at one is
answered "That's something I'd rather keep to myself."
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Awaitable, Callable, Sequence

from smallville.cognition import plan as P
from smallville.cognition import privacy
from smallville.cognition.answers import ANSWERS, _no_person
from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.recall import KEEP, Answer, Known, Moment, _asks_secret, plan_blocks
from smallville.cognition.speech import _lower, _where
from smallville.cognition.understand import Understanding, understand
from smallville.world.clock import long_date, month, weekday

__all__ = ["ANSWERS", "KEEP", "Answer", "Moment", "answer", "category", "plan_blocks", "rules_answer", "variables"]
ANSWER_TOKENS = 300
NEAREST = 0.3  # an unplaced question this far from every intent gets no answer of the nearest


def read(m: Moment, question: str) -> Understanding:
    rels = {k: privacy.public(v) for k, v in m.persona.relationships.items()}
    return understand(question, m.persona.name, m.people, m.now, rels, m.gazetteer)


def rules_answer(m: Moment, question: str, retrieved: Sequence[Any] = (), u: Understanding | None = None) -> Answer:
    """The rules baseline's answer (see the module doc)."""
    u = u or read(m, question)
    if not u.question.strip() or not re.search(r"[^\W_]", u.question):
        return Answer("Sorry, I didn't catch a question there.", (), u.category, {"intent": "none"})
    kn = Known.of(m)
    if u.unresolved_person and u.person is None and u.intent != "react":
        return Answer(_no_person(u).text, (), u.category, {"intent": u.intent})
    if u.intent not in ("react",) and not u.intent.startswith("self.") and _asks_secret(kn, u):
        return Answer(KEEP, (), u.category, {"intent": u.intent, "private": True})
    if u.intent not in ANSWERS:
        return Answer("I'm not sure what you mean.", (), "memory", {"intent": u.intent})
    out = ANSWERS[u.intent](m, kn, u, retrieved)
    extra = {"intent": u.intent, "score": round(u.score, 3)}
    if not u.placed:
        about = _about(u.nearest[0][0]) if u.nearest else "me"
        if u.score < NEAREST:
            return Answer(f"I'm not sure what you mean. The nearest I can think of is {about} — could you ask "
                          f"it another way?", (), out.category, {**extra, "placed": False})
        return Answer(f"I'm not sure what you mean. If you're asking about {about}: {out.text}", out.memory_ids,
                      out.category, {**extra, "placed": False})
    return Answer(out.text, out.memory_ids, out.category, extra)


def _about(intent: str) -> str:
    from smallville.cognition.understand import intent_model

    it = intent_model().library.get(intent)
    return it.about if it else intent


def category(question: str, me: str, people: Sequence[str], now: dt.datetime | None = None) -> tuple[str, str | None]:
    """(category, the person asked about) of ``question`` (its reading by meaning, :mod:`.understand`)."""
    u = understand(question, me, people, now or dt.datetime(2000, 1, 1, 12, 0))
    cat = {"person.who": "person", "person.opinion": "person", "person.how": "person", "now": "now",
           "tomorrow": "tomorrow", "today": "plans", "future": "plans", "next": "plans",
           "react": "reaction"}.get(u.intent, u.category)
    return cat, u.person


# ---------------------------------------------------------------- the LLM side


def variables(m: Moment, question: str, retrieved: Sequence[Any], u: Understanding | None = None) -> dict[str, Any]:
    """The prompt's variables: the same reading as the rules (intent, time, person, place), the
    memories retrieved for the question, secrets marked "(private)"."""
    u = u or read(m, question)
    secret = privacy.private_ids(m.nodes)
    blocks = plan_blocks(m.plan)
    plan_text = "\n".join(f"- {_day_clock(b['start_at'])}-{b['end_at']:%H:%M} {b['activity']} @ {b['place']}"
                          for b in blocks) or "- no plan yet"
    thoughts = [n for n in m.nodes if n.kind == "thought" and n.depth > 0][-3:]

    def line(n: Any) -> str:
        t = m.time_of(n.created)
        when = f"[{_day_clock(t)}] " if t is not None else ""
        return f"- {n.id}: {when}{n.description}" + (privacy.MARK if n.id in secret else "")

    reading = [f"intent: {u.intent} ({u.category})"]
    if u.when is not None:
        reading.append(f"time asked about: {weekday(u.when.start)[:3]} {month(u.when.start)[:3]} {u.when.start:%d %H:%M}" +
                       ("" if u.when.point else f" to {_day_clock(u.when.end)}") + f' ("{u.when.words}")')
    if u.person:
        rel = m.persona.relationships.get(u.person)
        reading.append(f"person asked about: {u.person}" + (f" — {privacy.marked(rel)}" if rel else ""))
    if u.place:
        reading.append(f"place asked about: {u.place}")
    persona = P.persona_line(m.persona)
    return {"name": m.persona.name, "persona": persona,
            "time": f"{weekday(m.now)} {long_date(m.now)} {m.now:%H:%M}",
            "action": _lower(m.action) or "starting the day", "place": _where(m.place) or "outside",
            "plan": plan_text,
            "memories": "\n".join(line(r.node) for r in retrieved) or "- nothing",
            "reflections": "\n".join(f"- {t.description}" + (privacy.MARK if t.id in secret else "")
                                     for t in thoughts) or "- none yet",
            "reading": "\n".join(reading),
            "question": " ".join(question.split())}


def parse(value: Any, known: set[int]) -> Answer:
    if not isinstance(value, dict):
        raise InvalidAnswer("not an object")
    text = " ".join(str(value.get("answer", "")).split())
    if P.placeholder(text):
        raise InvalidAnswer(f"no answer ({text[:20]!r})")
    ids = tuple(dict.fromkeys(int(i) for i in value.get("memory_ids", []) if isinstance(i, int) and i in known))
    return Answer(text[:800], ids)


def focal(u: Understanding, question: str) -> list[str]:
    """What to retrieve memories for: the question, and the person or place it names."""
    out = [question]
    if u.person:
        out.append(u.person)
    if u.place:
        out.append(_where(u.place))
    return out


async def answer(decide: Callable[..., Awaitable[Any]], m: Moment, question: str, retrieved: Sequence[Any],
                 rng=None, u: Understanding | None = None) -> Answer:
    """Decision ``answer_interview`` (``decide`` is :meth:`Decider.decide` bound to the resident and tick)."""
    u = u or read(m, question)
    out = await decide("answer_interview", variables=variables(m, question, retrieved, u),
                       rules=lambda: rules_answer(m, question, retrieved, u),
                       parse=lambda value: parse(value, {n.id for n in m.nodes}), rng=rng,
                       max_tokens=ANSWER_TOKENS)
    return Answer(out.text, out.memory_ids, u.category, {**out.extra, "intent": u.intent})


def _day_clock(t: dt.datetime) -> str:
    """'Mon 14:05', with the clock's English day names (not the locale's)."""
    return f"{weekday(t)[:3]} {t:%H:%M}"
