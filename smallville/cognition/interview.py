"""Decision ``answer_interview``: a resident answers a question, as of one moment.

The paper evaluates its agents by interviewing them in five categories: self-knowledge,
memory, plans, reactions and reflections. The resident answers from what it is at that
moment (:class:`Moment`): its persona, its memories up to then (those retrieved for the
question, and for the rules all it remembers), the plan of the day and its current action.

Rules implementation (:func:`rules_answer`): the question's category is read from its words
(:func:`category`); the answer is plain first-person sentences built from the same memories
and plan — who, what, where and when:

- *self*: name, age, occupation, traits, where it lives and works;
- *now*: the current action and place;
- *plans*: today's plan from now on; *tomorrow*: the events of that day it hosts or goes to,
  then its usual day;
- *person*: what the relationship is and the latest memory of that person;
- *reflections*: its latest reflections (thoughts with evidence);
- *reaction* ("what would you do if…"): it would stop what it is doing and see to it;
- *memory* (anything else): the memories sharing the question's content words — an event
  with its host, place and time, who told it and whether it goes — or "I don't know".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from smallville.cognition import plan as P
from smallville.cognition.decisions import InvalidAnswer
from smallville.world.clock import long_date, weekday
from smallville.world.config import Persona

ANSWER_TOKENS = 300

# function words and words every question about time or doing shares: they say nothing of the topic
STOP = frozenset("""a an the and or but if of to in on at for with from by about into over after before as is are
was were be been being am do does did doing done have has had having will would shall should can could may might
must you your yours yourself i me my mine we us our they them their he him his she her it its this that these
those there here what which who whom whose when where why how any anything some something anyone someone all
tell know knew known heard hear think thought feel felt going go goes gone get got make made let like want
day days today tonight tomorrow yesterday now time week weekend morning afternoon evening night plan plans
happening happen happened lately recently please much many more most very really just also not no yes so
then than up out""".split())


def stem(word: str) -> str:
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def content_words(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[A-Za-z][A-Za-z']+", text) if w.lower() not in STOP
            and stem(w) not in STOP}


@dataclass(frozen=True)
class Moment:
    """A resident as of one tick: what an interview answers from."""

    persona: Persona
    now: dt.datetime
    action: str  # what it is doing ("" before its first action)
    place: str  # arena address where it stands
    plan: dict | None  # today's plan as logged (plan.as_record: "HH:MM" times), or None
    nodes: Sequence[Any] = ()  # its memory nodes up to now (cognition.memory.MemoryNode)
    people: Sequence[str] = ()  # every resident's name


@dataclass(frozen=True)
class Answer:
    text: str
    memory_ids: tuple[int, ...] = ()
    category: str = "memory"
    extra: dict = field(default_factory=dict)


def category(question: str, me: str, people: Sequence[str]) -> tuple[str, str | None]:
    """(category, the person asked about) of ``question``."""
    q = " ".join(question.lower().split())
    if re.search(r"\bwhat would you do\b|\bhow would you (react|respond|handle|deal)\b|\bwhat do you do if\b", q):
        return "reaction", None
    if re.search(r"\b(who are you|about yourself|describe yourself|your name|what do you do for a living|"
                 r"your (job|work|occupation)|how old)\b", q):
        return "self", None
    for name in people:
        if name != me and (name.lower() in q or re.search(rf"\b{re.escape(name.split()[0].lower())}\b", q)):
            return "person", name
    if "tomorrow" in q:
        return "tomorrow", None
    if re.search(r"\b(right now|doing now|currently|at the moment)\b", q):
        return "now", None
    if re.search(r"\b(plan|plans|schedule|today|tonight|this (morning|afternoon|evening))\b", q):
        return "plans", None
    if re.search(r"\b(thinking|on your mind|learned|learnt|realised|realized|reflect|looking forward|"
                 r"your life|important to you)\b", q):
        return "reflections", None
    return "memory", None


def _where(address: str) -> str:
    return P.sector(address) or address


def _hhmm(now: dt.datetime) -> str:
    return f"{now:%H:%M}"


def _i(text: str) -> str:
    """'making coffee' as the tail of 'I'm …'."""
    return text[0].lower() + text[1:] if text else text


def _event_sentence(me: str, k: dict, now: dt.datetime) -> str:
    ev = k["event"]
    when = P.describe_when(ev, now)
    where = _where(ev["place"])
    if ev.get("host") == me:
        return f"I'm hosting a {ev['name']} at {where} {when}."
    told = k.get("heard_from") or []
    s = f"{ev['host']} is hosting a {ev['name']} at {where} {when}."
    if told:
        s += f" {' and '.join(told[:2])} told me about it."
    intent = k.get("intent")
    s += (" I'm going." if intent == "attend" else " I've decided not to go." if intent == "decline"
          else " I haven't decided whether to go yet.")
    return s


def _event_ids(nodes: Sequence[Any], key: str) -> list[int]:
    out = []
    for n in nodes:
        ev = (n.facts or {}).get("event")
        if isinstance(ev, dict) and ev.get("name") and ev.get("start") and P.event_key(ev) == key:
            out.append(n.id)
    return out


def _later_blocks(plan: dict, now: dt.datetime) -> list[dict]:
    hhmm = _hhmm(now)
    same_day = plan.get("day") == now.date().isoformat()
    return [b for b in plan.get("blocks", []) if not same_day or b["end"] > hhmm]


def rules_answer(m: Moment, question: str, retrieved: Sequence[Any] = ()) -> Answer:
    """The rules baseline's answer (see the module doc)."""
    me, persona, now = m.persona.name, m.persona, m.now
    cat, who = category(question, me, m.people)
    events = P.known_events(m.nodes, me)
    nodes = list(m.nodes)
    if cat == "self":
        traits = ", ".join(persona.traits[:-1]) + (f" and {persona.traits[-1]}" if len(persona.traits) > 1
                                                   else persona.traits[0])
        text = (f"I'm {me}, I'm {persona.age} and I work as a {persona.occupation}. People would say I'm {traits}. "
                f"I live at {_where(persona.home)}")
        text += f" and I work at {_where(persona.workplace)}." if persona.workplace else "."
        return Answer(text, (), cat)
    if cat == "now":
        if not m.action:
            return Answer("I've only just started my day.", (), cat)
        return Answer(f"Right now I'm {_i(m.action)} at {_where(m.place)}.", (), cat)
    if cat == "reaction":
        doing = f"stop {_i(m.action)} and " if m.action and not m.action.startswith("sleeping") else ""
        return Answer(f"I would {doing}deal with it straight away, then get back to what I was doing.", (), cat)
    if cat == "plans":
        if not m.plan:
            return Answer("I haven't planned my day yet.", (), cat)
        later = _later_blocks(m.plan, now)[:5]
        if not later:
            return Answer("I'm done for today; I'll be going to bed soon.", (), cat)
        parts = []
        for i, b in enumerate(later):
            where = _where(b["place"])
            what = _i(b["activity"]) + ("" if where in b["activity"] else f" at {where}")
            if i == 0 and b["start"] <= _hhmm(now):
                parts.append(f"right now I'm {what} until {b['end']}")
            else:
                parts.append(f"from {b['start']} to {b['end']} I'm {what}")
        ids = [n.id for n in nodes if n.kind == "plan"][-1:]
        return Answer("Today " + "; ".join(parts) + ".", tuple(ids), cat)
    if cat == "tomorrow":
        day = now.date() + dt.timedelta(days=1)
        mine = P.events_on(events, day)
        parts = []
        ids: list[int] = []
        for ev in mine:
            start, end = P.event_times(ev)
            what = (f"hosting the {ev['name']}" if ev.get("host") == me else f"going to {ev['host']}'s {ev['name']}")
            parts.append(f"I'm {what} at {_where(ev['place'])} from {start:%H:%M} to {end:%H:%M}")
            ids += _event_ids(nodes, P.event_key(ev))
        usual = P.routine_blocks(persona, 0)[:3]
        routine = "; ".join(f"{P.clock(b['start'])} {_i(b['activity'])} at {_where(b['place'])}" for b in usual)
        text = f"Tomorrow, {long_date(day)}, "
        text += ("; ".join(parts) + f". Otherwise it's my usual {weekday(day)}: {routine}." if parts
                 else f"I've nothing special planned; my usual {weekday(day)}: {routine}.")
        return Answer(text, tuple(ids), cat)
    if cat == "person" and who is not None:
        rel = persona.relationships.get(who)
        about = [n for n in nodes if who in n.description and n.kind != "observation"] or \
                [n for n in nodes if who in n.description]
        text = f"{who} is {rel}." if rel else f"I don't really know {who} well."
        ids = []
        if about:
            last = about[-1]
            text += f" The last thing I remember about them: {last.description}."
            ids.append(last.id)
        elif not rel:
            text = f"I don't know {who}."
        return Answer(text, tuple(ids), cat)
    if cat == "reflections":
        thoughts = [n for n in nodes if n.kind == "thought" and n.depth > 0][-2:]
        if thoughts:
            return Answer("Lately I've been thinking: " + " ".join(t.description.rstrip(".") + "." for t in thoughts),
                          tuple(t.id for t in thoughts), cat)
        top = sorted(nodes, key=lambda n: (-n.importance, -n.created))[:1]
        if top:
            return Answer(f"Mostly about this: {top[0].description}", (top[0].id,), cat)
        return Answer("Nothing much, to be honest.", (), cat)
    # memory: what shares the question's content words
    topic = content_words(question)
    if not topic:
        return Answer("I'm not sure what you mean.", (), cat)
    hits = []
    for key, k in events.items():
        ev = k["event"]
        if topic & (content_words(ev["name"]) | content_words(_where(ev["place"]))):
            hits.append((key, k))
    if hits:
        hits.sort(key=lambda h: (h[1]["event"].get("host") != me, P.event_times(h[1]["event"])[0]))
        text = " ".join(_event_sentence(me, k, now) for _, k in hits[:2])
        ids = [i for key, _ in hits[:2] for i in _event_ids(nodes, key)]
        return Answer(text, tuple(ids), cat)
    score = {r.node.id: r.score for r in retrieved}
    found = [n for n in nodes if topic & content_words(n.description)]
    found.sort(key=lambda n: (-score.get(n.id, -1.0), -n.importance, -n.created))
    if found:
        return Answer("I remember this: " + " ".join(n.description.rstrip(".") + "." for n in found[:2]),
                      tuple(n.id for n in found[:2]), cat)
    said = [w for w in re.findall(r"[A-Za-z][A-Za-z']+", question) if stem(w) in topic]
    return Answer(f"I don't know anything about {' '.join(dict.fromkeys(said))}.", (), cat)


# ---------------------------------------------------------------- the LLM side


def variables(m: Moment, question: str, retrieved: Sequence[Any]) -> dict[str, Any]:
    plan = m.plan
    plan_text = "\n".join(f"- {b['start']}-{b['end']} {b['activity']} @ {b['place']}"
                          for b in (plan or {}).get("blocks", [])) or "- no plan yet"
    thoughts = [n for n in m.nodes if n.kind == "thought" and n.depth > 0][-3:]
    return {"name": m.persona.name, "persona": P.persona_line(m.persona),
            "time": f"{weekday(m.now)} {long_date(m.now)} {m.now:%H:%M}",
            "action": _i(m.action) or "starting the day", "place": _where(m.place) or "outside",
            "plan": plan_text,
            "memories": "\n".join(f"- {r.node.id}: {r.node.description}" for r in retrieved) or "- nothing",
            "reflections": "\n".join(f"- {t.description}" for t in thoughts) or "- none yet",
            "question": " ".join(question.split())}


def parse(value: Any, known: set[int]) -> Answer:
    if not isinstance(value, dict):
        raise InvalidAnswer("not an object")
    text = " ".join(str(value.get("answer", "")).split())
    if P.placeholder(text):
        raise InvalidAnswer(f"no answer ({text[:20]!r})")
    ids = tuple(dict.fromkeys(int(i) for i in value.get("memory_ids", []) if isinstance(i, int) and i in known))
    return Answer(text[:800], ids)


async def answer(decide: Callable[..., Awaitable[Any]], m: Moment, question: str, retrieved: Sequence[Any],
                 rng=None) -> Answer:
    """Decision ``answer_interview`` (``decide`` is :meth:`Decider.decide` bound to the resident and tick)."""
    cat = category(question, m.persona.name, m.people)[0]
    out = await decide("answer_interview", variables=variables(m, question, retrieved),
                       rules=lambda: rules_answer(m, question, retrieved),
                       parse=lambda value: parse(value, {n.id for n in m.nodes}), rng=rng,
                       max_tokens=ANSWER_TOKENS)
    return out if out.category == cat else Answer(out.text, out.memory_ids, cat, out.extra)
