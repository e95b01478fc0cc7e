"""What an interview answers from: the resident as of one moment (:class:`Moment`), its
memories sorted out for telling (:class:`Known`: secrets apart, events by their facts), and its
plan as absolute times (:func:`plan_blocks`: blocks past midnight are on the next day).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from smallville.cognition import plan as P
from smallville.cognition import privacy
from smallville.cognition import when as W
from smallville.cognition.speech import _activity, _and, _where, first_person
from smallville.cognition.understand import Understanding, content_words, fold
from smallville.world.config import Persona

KEEP = "That's something I'd rather keep to myself."


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
    start: dt.datetime | None = None  # the run's start (tick 0), to date memories
    tick_seconds: int = 10
    # (start, end) -> [(time, action, place)] as recorded, each change once; never after ``now``
    history: Callable[[dt.datetime, dt.datetime], list[tuple[dt.datetime, str, str]]] | None = None
    gazetteer: Any = None  # cognition.extract.Gazetteer of the map's places, or None

    def time_of(self, tick: int) -> dt.datetime | None:
        return self.start + dt.timedelta(seconds=tick * self.tick_seconds) if self.start is not None else None


@dataclass(frozen=True)
class Answer:
    text: str
    memory_ids: tuple[int, ...] = ()
    category: str = "memory"
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- what it knows


@dataclass
class Known:
    """The resident's memories, sorted out once per question."""

    m: Moment
    secret: set[int]
    events: dict[str, dict]
    public: list[Any]  # memories it may tell

    @classmethod
    def of(cls, m: Moment) -> "Known":
        secret = privacy.private_ids(m.nodes)
        return cls(m, secret, P.known_events(m.nodes, m.persona.name), [n for n in m.nodes if n.id not in secret])

    def when(self, n: Any) -> str:
        t = self.m.time_of(n.created)
        return W.say(t, self.m.now) if t is not None else ""

    def say(self, n: Any) -> str:
        return first_person(n.description, self.m.persona)


def _event_ids(nodes: Sequence[Any], key: str) -> list[int]:
    out = []
    for n in nodes:
        ev = (n.facts or {}).get("event")
        if isinstance(ev, dict) and ev.get("name") and ev.get("start") and P.event_key(ev) == key:
            out.append(n.id)
    return out


def _event_sentence(me: str, k: dict, now: dt.datetime, with_intent: bool = True) -> str:
    ev = k["event"]
    when = P.describe_when(ev, now)
    where = _where(ev["place"])
    if ev.get("host") == me:
        return f"I'm hosting a {ev['name']} at {where} {when}."
    s = f"{ev['host']} is hosting a {ev['name']} at {where} {when}."
    told = k.get("heard_from") or []
    if told:
        s += f" {_and(told[:2])} told me about it."
    if with_intent:
        intent = k.get("intent")
        s += (" I'm going." if intent == "attend" else " I've decided not to go." if intent == "decline"
              else " I haven't decided whether to go yet.")
    return s


def _matching_events(kn: Known, u: Understanding) -> list[tuple[str, dict]]:
    hits = []
    for key, k in kn.events.items():
        ev = k["event"]
        words = content_words(ev["name"]) | content_words(_where(ev["place"])) | content_words(ev.get("host", ""))
        if (u.topic & words) or (u.place and _where(u.place) == _where(ev["place"])) or \
                (u.person and u.person == ev.get("host")):
            hits.append((key, k))
    me = kn.m.persona.name
    hits.sort(key=lambda h: (-len(u.topic & content_words(h[1]["event"]["name"])), h[1]["event"].get("host") != me,
                             P.event_times(h[1]["event"])[0]))
    return hits


_IDLE = re.compile(r" is (in use|being |idle)|^[\w ]+ said to [\w ]+: \"(hi|hello|hey|good|see you)", re.I)
GENERIC = frozenset(content_words("news town gossip event events thing things interesting new week coming around "
                                  "planned get-together get-togethers gathering gatherings lately anything going "
                                  "special latest"))


def _telling(n: Any, topic: set[str]) -> bool:
    """Whether a memory is worth telling for a topic: not the state of an object or a greeting, and
    an observation only when it shares more than one word with the topic."""
    if _IDLE.search(n.description):
        return False
    if n.kind == "observation":
        return len(topic & content_words(n.description)) >= min(2, len(topic))
    return True


def _matching_memories(kn: Known, u: Understanding, retrieved: Sequence[Any] = ()) -> list[Any]:
    score = {r.node.id: r.score for r in retrieved}
    topic = u.topic - GENERIC
    words = {n.id: content_words(n.description) for n in kn.public}
    seen: dict[str, int] = {}
    for ws in words.values():
        for w in ws & topic:
            seen[w] = seen.get(w, 0) + 1
    # one shared word is enough only when few memories have it ("mayor"), not a common one
    # ("running" of "keep running into" does not make a memory about who runs for mayor)
    need = min(2, len(topic))
    found = [n for n in kn.public if topic and _telling(n, topic)
             and not n.description.startswith(f"{kn.m.persona.name}'s plan for")
             and (len(topic & words[n.id]) >= need or any(seen[w] <= 3 for w in topic & words[n.id]))]
    found.sort(key=lambda n: (-len(topic & content_words(n.description)), -score.get(n.id, -1.0),
                              -n.importance, -n.created))
    return found


def _asks_secret(kn: Known, u: Understanding) -> bool:
    """Whether the question goes straight at one of its secrets (its topic is mostly a secret's words)."""
    from smallville.cognition.understand import intent_model, stem

    asking = {stem(w) for w in intent_model().vocab}  # the words of asking: "thinking", "run into"
    topic = u.topic - asking
    if not topic:
        return False
    for n in kn.m.nodes:
        if n.id in kn.secret:
            words = content_words(n.description) - content_words(kn.m.persona.name)
            if len(topic & words) >= max(1, min(2, len(topic))):
                return True
    return False


# ---------------------------------------------------------------- plans and times


def plan_blocks(plan: dict | None) -> list[dict]:
    """The plan's blocks with absolute ``start``/``end`` datetimes: a block that starts or ends past
    midnight is on the next day (the record's "HH:MM" times wrap, so they are never compared as text)."""
    if not plan:
        return []
    day = dt.date.fromisoformat(plan["day"])
    base = dt.datetime.combine(day, dt.time())
    out = []
    last = None
    wake = P.parse_clock_text(plan.get("wake", "00:00")) or 0
    for b in plan.get("blocks", []):
        s, e = P.parse_clock_text(b["start"]), P.parse_clock_text(b["end"])
        if s is None or e is None:
            continue
        start = base + dt.timedelta(minutes=s)
        if (last is not None and start < last - dt.timedelta(hours=6)) or (last is None and s < wake - 120):
            start += dt.timedelta(days=1)
        end = dt.datetime.combine(start.date(), dt.time()) + dt.timedelta(minutes=e)
        if end <= start:
            end += dt.timedelta(days=1)
        last = start
        out.append({**b, "start_at": start, "end_at": end})
    return out


def _block_phrase(b: dict, persona: Persona) -> str:
    where = _where(b["place"])
    what = _activity(b["activity"], persona)
    return what + ("" if fold(where) in fold(what) else f" at {where}")


def _routine_at(persona: Persona, t: dt.datetime) -> dict | None:
    m = t.hour * 60 + t.minute
    for b in persona.lifestyle.routine:
        s, e = b.start, b.end if b.end > b.start else b.end + 24 * 60
        if s <= m < e or s <= m + 24 * 60 < e:
            return {"activity": b.activity, "place": b.place, "start": P.clock(b.start), "end": P.clock(b.end)}
    return None


def _asleep(persona: Persona, t: dt.datetime) -> bool:
    m = t.hour * 60 + t.minute
    wake, sleep = persona.lifestyle.wake, persona.lifestyle.sleep
    return (sleep <= m or m < wake) if sleep > wake else (sleep <= m < wake)
