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

Secrets (:mod:`.privacy`) are never volunteered; a question that goes straight at one is
answered "That's something I'd rather keep to myself."
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from smallville.cognition import plan as P
from smallville.cognition import privacy
from smallville.cognition import when as W
from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.understand import Understanding, content_words, fold, understand
from smallville.world.clock import long_date, weekday
from smallville.world.config import Persona

ANSWER_TOKENS = 300
KEEP = "That's something I'd rather keep to myself."
NEAREST = 0.3  # an unplaced question this far from every intent gets no answer of the nearest


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


# ---------------------------------------------------------------- words


def _where(address: str) -> str:
    return P.sector(address) or address


def _place_words(address: str) -> str:
    if not address:
        return "outside"
    sector, _, arena = address.partition(":")
    if arena and fold(sector.split()[-1]) not in fold(arena) and not re.search(r"'s\b", arena):
        return f"the {arena} at {sector}"
    return sector


def _lower(text: str) -> str:
    first = text.split(" ", 1)[0] if text else ""
    second = text.split(" ", 2)[1] if text.count(" ") >= 1 else ""
    keep = (len(first) > 1 and first.isupper()) or re.fullmatch(r"I('m|'d|'ve|'ll)?", first) or \
        (second[:1].isupper() and first[:1].isupper())  # a name: "Ayesha Khan is…"
    return text[0].lower() + text[1:] if text and not keep else text


def pronoun(persona: Persona) -> str:
    """'he', 'she' or 'they', as the background speaks of the persona."""
    words = re.findall(r"\b(he|she|his|her|him)\b", persona.background.lower())
    he = sum(w in ("he", "his", "him") for w in words)
    she = sum(w in ("she", "her") for w in words)
    return "he" if he > she else "she" if she > he else "they"


_IRREGULAR = {"is": "am", "has": "have", "was": "was", "does": "do", "goes": "go", "'s": "'m"}


def _base(verb: str) -> str:
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if re.fullmatch(r"[a-z]+(ches|shes|sses|xes|zes|oes)", v):
        return verb[:-2]
    if re.fullmatch(r"[a-z]+[^aeiou]ies", v):
        return verb[:-3] + "y"
    if re.fullmatch(r"[a-z]+[^su]s", v):
        return verb[:-1]
    return verb


def first_person(text: str, persona: Persona, about_me: bool = False) -> str:
    """A memory about the persona, as the persona says it: "Klaus Mueller keeps running into Ann"
    -> "I keep running into Ann"; "Ann told Klaus Mueller" -> "Ann told me"."""
    if '"' in text:  # what someone said stays as they said it
        head, quote = text.split('"', 1)
        return first_person(head, persona, about_me) + '"' + quote if head.strip() else text
    name = persona.name
    first = name.split()[0]
    names = rf"(?:{re.escape(name)}|{re.escape(first)})"
    pn = pronoun(persona)
    poss = {"he": "his", "she": "her", "they": "their"}[pn]

    def subject(m: re.Match) -> str:
        verb = m.group(2)
        base = _base(verb)
        if base == "am":
            return m.group(1) + "I'm"
        return m.group(1) + "I " + base

    out = re.sub(rf"(^|[.;!?]\s+|\band\s+|\bthat\s+){names}'s\b", lambda m: m.group(1) + "my", text)
    if about_me and pn != "they":  # a text all about the persona: its "he"/"she" is "I"
        out = re.sub(rf"\b({pn})\b((?:\s+(?:often|sometimes|always|usually|never|also|really|still|now|even))*)\s+"
                     r"([a-z']+)", lambda m: f"I{m.group(2)} {_base(m.group(3))}", out, flags=re.I)
        out = re.sub(r"\bI am\b", "I'm", out)
        out = re.sub(rf"\b{poss}\b", "my", out) if pn == "he" else re.sub(r"\bher\b(?=\s+[a-z])", "my", out)
        out = re.sub(r"\b(him|himself|herself)\b", lambda m: "myself" if m.group(1).endswith("self") else "me", out) \
            if pn == "he" else re.sub(r"\bherself\b", "myself", out)
    out = re.sub(rf"(^|[.;!?]\s+|\bthat\s+|,\s+){names}\s+([a-z']+)", subject, out)
    out = re.sub(rf"\b{names}'s\b", "my", out)
    out = re.sub(rf"\b{names}\b", "me", out)
    if re.match(r"\s*I\b", out):  # a sentence about itself: its pronouns are its own
        out = re.sub(rf"\b{poss}\b", "my", out) if pn != "she" else re.sub(r"\bher\b(?=\s+[a-z])", "my", out)
        out = re.sub(r"\b(himself|herself|themselves)\b", "myself", out)
    out = re.sub(r"^me\b", "I", out)
    if re.match(r"\s*I\b", out):  # "I care about X and likes to …": the second verb is mine too
        out = re.sub(r"\b(and|but|or)\s+(is|has|does|[a-z]+s)\b(?=\s+(?:to|a|an|the|my|around|in|on|at|about|with|up|"
                     r"out|over|it|them|their|of|proud|often|very|into|for|through|busy|well|his|her|long|hard)\b)",
                     lambda m: f"{m.group(1)} {_base(m.group(2))}", out)
    return out[:1].upper() + out[1:] if out else out


def _activity(text: str, persona: Persona) -> str:
    """An action as the persona says it ("writing his research paper" -> "writing my research paper")."""
    pn = pronoun(persona)
    poss = {"he": "his", "she": "her", "they": "their"}[pn]
    text = re.sub(r"\s*\([^)]*\)", "", text)  # "(the desk is taken)": a note of the simulation, not words
    return re.sub(rf"\b{poss}\b", "my", _lower(text))


def _rel(persona: Persona, who: str) -> str:
    """What ``who`` is to the persona, in its words, without secrets ("" when it has no relationship)."""
    text = privacy.public(persona.relationships.get(who, ""))
    return _lower(first_person(text, persona, True)) if text else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", '"')) else text + "."


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


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


# ---------------------------------------------------------------- answers by intent


def _a_intro(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    bg = [s for s in re.split(r"(?<=[.!?])\s+", privacy.public(p.background)) if s][1:3]
    text = f"I'm {p.name}. I'm {p.age} and I'm a {p.occupation}. " + " ".join(
        _sentence(first_person(s, p, True)) for s in bg)
    text += f" People would say I'm {_and(p.traits[:3])}."
    return Answer(" ".join(text.split()), (), "self")


def _a_personality(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    social = ("I love being around people" if p.sociability >= 0.7 else "I enjoy company but I also need time alone"
              if p.sociability >= 0.4 else "I'm happiest with my own company")
    return Answer(f"I'd say I'm {_and(p.traits)}. {social}.", (), "self")


def _a_occupation(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    text = f"I'm a {p.occupation}."
    if p.workplace:
        at_work = [b for b in p.lifestyle.routine if b.place == p.workplace]
        text += f" I work at {_place_words(p.workplace)}"
        if at_work:
            text += f"; most days I'm {_activity(at_work[0].activity, p)} there from {P.clock(at_work[0].start)}"
        text += "."
    return Answer(text, (), "self")


def _a_day(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    blocks = p.lifestyle.routine
    parts = [f"at {P.clock(b.start)} I'm {_block_phrase({'activity': b.activity, 'place': b.place}, p)}"
             for b in blocks[:6]]
    text = (f"I usually get up at {P.clock(p.lifestyle.wake)}; " + "; ".join(parts[1:] or parts) +
            f"; and I go to bed around {P.clock(p.lifestyle.sleep)}.")
    return Answer(text[0].upper() + text[1:], (), "self")


def _a_home(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    text = f"I live at {_where(p.home)}" + (f" — my room is {p.home.split(':', 1)[1]}" if ":" in p.home and
                                             "'s " not in p.home.split(':', 1)[1] else "") + "."
    family = [n for n, rel in p.relationships.items() if re.search(
        r"\b(wife|husband|son|daughter|mother|father|roommate|flatmate|housemate|partner|brother|sister)\b", rel)]
    if family:
        text += f" I live there with {_and(family[:3])}." if any(
            re.search(r"\b(wife|husband|son|daughter|roommate|partner)\b", p.relationships[n]) for n in family) else ""
    return Answer(text, (), "self")


def _a_age(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    return Answer(f"I'm {m.persona.age}.", (), "self")


def _a_now(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    if not m.action:
        return Answer("I've only just started my day.", (), "plans")
    return Answer(f"Right now I'm {_activity(m.action, m.persona)} at {_place_words(m.place)}.", (), "plans")


def _a_past(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    now = m.now
    w = u.when
    if w is None:  # "what did you do today": from the start of its day
        start, end = dt.datetime.combine(now.date(), dt.time()), now
    else:
        start, end = w.start, min(w.end, now)
    if start >= now:
        return _a_future(m, kn, u, r)
    if m.start is not None and end < m.start:
        return Answer(f"I can't remember that far back — my memories start {W.say(m.start, now)}.", (), "memory")
    rows = m.history(start, end) if m.history is not None else []
    if not rows:
        return Answer(f"I don't remember what I was doing {w.words if w else 'then'}.", (), "memory")
    if w is not None and w.point:
        t, action, place = rows[-1]
        return Answer(f"{W.say(w.start, now)[0].upper() + W.say(w.start, now)[1:]} I was {_activity(action, m.persona)} "
                      f"at {_place_words(place)}.", (), "memory")
    seen = []
    for t, action, place in rows:
        if action and (not seen or seen[-1][1] != action):
            seen.append((t, action, place))
    shown = seen[:5]
    parts = [f"at {t:%H:%M} I was {_block_phrase({'activity': a, 'place': pl or 'outside'}, m.persona)}"
             for t, a, pl in shown]
    day = W.say_day(start.date(), now)
    label = w.words if w is not None else "today"
    text = f"{label[0].upper() + label[1:]}: " + "; then ".join(parts) + "."
    if day not in label and w is not None and not w.point and day != "today":
        text = f"{day[0].upper() + day[1:]}, " + text[0].lower() + text[1:]
    return Answer(text, (), "memory")


def _a_future(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    now, p = m.now, m.persona
    w = u.when
    if w is None:
        return _a_today(m, kn, u, r)
    t0, t1 = (w.start, w.start) if w.point else (max(w.start, now), w.end)
    blocks = [b for b in plan_blocks(m.plan) if b["start_at"] <= t1 and b["end_at"] > t0 and b["end_at"] > now]
    ids = [n.id for n in kn.public if n.kind == "plan" and not n.facts][-1:]
    label = W.say(w.start, now) if w.point else w.words
    if blocks:
        if w.point:
            b = blocks[0]
            return Answer(f"{label[0].upper() + label[1:]} I'll be {_block_phrase(b, p)} "
                          f"(from {b['start']} to {b['end']}).", tuple(ids), "plans")
        parts = [f"from {b['start']} to {b['end']} I'm {_block_phrase(b, p)}" for b in blocks[:5]]
        return Answer(f"{label[0].upper() + label[1:]}: " + "; ".join(parts) + ".", tuple(ids), "plans")
    # beyond today's plan: the events it goes to, else its usual day
    evs = [(key, k) for key, k in kn.events.items() if k["intent"] == "attend"
           and P.event_times(k["event"])[0] <= (t1 if not w.point else t1 + dt.timedelta(minutes=1))
           and P.event_times(k["event"])[1] > t0]
    if evs:
        key, k = evs[0]
        ev = k["event"]
        what = f"hosting the {ev['name']}" if ev.get("host") == p.name else f"at {ev['host']}'s {ev['name']}"
        return Answer(f"{label[0].upper() + label[1:]} I'll be {what} at {_where(ev['place'])}.",
                      tuple(_event_ids(m.nodes, key)), "plans")
    at = w.at if not w.point else w.start
    if _asleep(p, at):
        return Answer(f"{label[0].upper() + label[1:]} I'll most likely be asleep at {_where(p.home)}.", (), "plans")
    b = _routine_at(p, at)
    if b is not None:
        return Answer(f"I haven't planned that far ahead, but {label} I'm usually {_block_phrase(b, p)}.", (), "plans")
    return Answer(f"I haven't planned anything for {label} yet.", (), "plans")


def _a_next(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    later = [b for b in plan_blocks(m.plan) if b["start_at"] > m.now]
    if not later:
        return Answer("I'm done for today; next I'll be going to bed.", (), "plans")
    b = later[0]
    return Answer(f"Next, at {b['start']}, I'm {_block_phrase(b, m.persona)}.", (), "plans")


def _topic_event_answer(m: Moment, kn: Known, u: Understanding) -> Answer | None:
    hits = _matching_events(kn, u)
    if hits:
        text = " ".join(_event_sentence(m.persona.name, k, m.now) for _, k in hits[:2])
        return Answer(text, tuple(i for key, _ in hits[:2] for i in _event_ids(m.nodes, key)), "plans")
    return None


def _unknown_topic(u: Understanding) -> str:
    """The words the question names its topic with ("the book swap"), as asked."""
    toks = re.findall(r"[^\W\d_][\w'-]*", u.question)
    idx = [i for i, w in enumerate(toks) if content_words(w) & u.topic]
    if not idx:
        return "that"
    a, b = idx[0], idx[-1]
    if b - a > 5:
        b = a
    if a > 0 and toks[a - 1].lower() in ("the", "a", "an", "any", "this", "that", "some"):
        a -= 1
    return " ".join(toks[a:b + 1])


def _a_today(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    if u.topic and u.intent != "today":
        ev = _topic_event_answer(m, kn, u)
        if ev is not None:
            return ev
    blocks = plan_blocks(m.plan)
    if not blocks:
        return Answer("I haven't planned my day yet.", (), "plans")
    later = [b for b in blocks if b["end_at"] > m.now][:5]
    if not later:
        return Answer("I'm done for today; I'll be going to bed soon.", (), "plans")
    parts = []
    for i, b in enumerate(later):
        if i == 0 and b["start_at"] <= m.now:
            parts.append(f"right now I'm {_block_phrase(b, m.persona)} until {b['end']}")
        else:
            parts.append(f"from {b['start']} to {b['end']} I'm {_block_phrase(b, m.persona)}")
    ids = [n.id for n in kn.public if n.kind == "plan" and not n.facts][-1:]
    return Answer("Today " + "; ".join(parts) + ".", tuple(ids), "plans")


def _a_tomorrow(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p, now = m.persona, m.now
    day = u.when.start.date() if u.when is not None and u.when.start.date() > now.date() else \
        now.date() + dt.timedelta(days=1)
    topic_hits = _matching_events(kn, u) if u.topic else []
    mine = P.events_on(kn.events, day)
    parts, ids = [], []
    for ev in mine:
        start, end = P.event_times(ev)
        what = (f"hosting the {ev['name']}" if ev.get("host") == p.name else f"going to {ev['host']}'s {ev['name']}")
        parts.append(f"I'm {what} at {_where(ev['place'])} from {start:%H:%M} to {end:%H:%M}")
        ids += _event_ids(m.nodes, P.event_key(ev))
    usual = P.routine_blocks(p, 0)[:3]
    routine = "; ".join(f"{P.clock(b['start'])} {_activity(b['activity'], p)} at {_where(b['place'])}" for b in usual)
    name = W.say_day(day, now)
    name = f"{name[0].upper() + name[1:]}" + (f", {long_date(day)}," if name == "tomorrow" else ",")
    if parts:
        text = f"{name} " + "; ".join(parts) + f". Otherwise it's my usual {weekday(day)}: {routine}."
    elif topic_hits:
        return Answer(" ".join(_event_sentence(p.name, k, now) for _, k in topic_hits[:2]),
                      tuple(i for key, _ in topic_hits[:2] for i in _event_ids(m.nodes, key)), "plans")
    elif u.topic - content_words("weekend plan schedule busy special"):
        text = (f"I don't know of anything special for {_unknown_topic(u)}. {name} I'll just have my usual "
                f"{weekday(day)}: {routine}.")
    else:
        text = f"{name} I've nothing special planned; my usual {weekday(day)}: {routine}."
    return Answer(text, tuple(ids), "plans")


def _person_memories(kn: Known, who: str) -> list[Any]:
    first = who.split()[0]
    about = [n for n in kn.public if (who in n.description or re.search(rf"\b{re.escape(first)}\b", n.description))
             and n.kind != "observation"]
    return about or [n for n in kn.public if who in n.description]


def _no_person(u: Understanding) -> Answer:
    return Answer(f"I'm not sure who you mean — I don't have a {u.unresolved_person}.", (), "memory")


def _a_who(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    who = u.person
    if who is None:
        return _no_person(u) if u.unresolved_person else _a_know(m, kn, u, r)
    rel = _rel(m.persona, who)
    about = _person_memories(kn, who)
    if not rel and not about:
        return Answer(f"No, I don't know {who}; I haven't come across them.", (), "memory")
    text = f"Yes. {who} is {rel}." if rel else f"Yes, though not well: I've come across {who}."
    ids = []
    if about:
        last = about[-1]
        text += f" The last I remember, {kn.when(last)}: {_lower(kn.say(last)).rstrip('.')}."
        ids.append(last.id)
    return Answer(text, tuple(ids), "memory")


def _a_opinion(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    who = u.person
    if who is None:
        return _no_person(u) if u.unresolved_person else _a_know(m, kn, u, r)
    p = m.persona
    rel = _rel(p, who)
    talks = [n for n in kn.public if n.kind == "chat" and n.description.startswith(f"{p.name} talked with {who}")]
    thoughts = [n for n in kn.public if n.kind == "thought" and n.depth > 0 and who in n.description]
    if not rel and not talks and not thoughts:
        return Answer(f"I don't really know {who}, so I can't say much about them.", (), "reflections")
    parts = []
    if rel:
        parts.append(f"I think well of {who} — {rel}.")
    else:
        parts.append(f"{who} seems nice enough, though I don't know them well.")
    if talks:
        parts.append(f"We've talked {len(talks)} time{'s' if len(talks) > 1 else ''} lately, last {kn.when(talks[-1])}.")
    if thoughts:
        parts.append(f"I've noticed that {_lower(kn.say(thoughts[-1])).rstrip('.')}.")
    return Answer(" ".join(parts), tuple(n.id for n in (talks[-1:] + thoughts[-1:])), "reflections")


def _a_how(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    who = u.person
    if who is None:
        return _no_person(u) if u.unresolved_person else _a_know(m, kn, u, r)
    rel = _rel(m.persona, who)
    about = _person_memories(kn, who) or [n for n in kn.public if who in n.description]
    if rel:
        text = f"{who} is {rel}."
        if about:
            text += f" Most recently, {kn.when(about[-1])}: {_lower(kn.say(about[-1])).rstrip('.')}."
        return Answer(text, tuple(n.id for n in about[-1:]), "memory")
    if about:
        first = min(about, key=lambda n: n.created)
        return Answer(f"I first came across {who} {kn.when(first)}: {_lower(kn.say(first)).rstrip('.')}.",
                      (first.id,), "memory")
    return Answer(f"I don't know {who}.", (), "memory")


def _a_know(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    if u.person and not u.topic - content_words(u.person):
        return _a_who(m, kn, u, r)
    hits = _matching_events(kn, u)
    if hits:
        text = " ".join(_event_sentence(m.persona.name, k, m.now) for _, k in hits[:2])
        return Answer("Yes. " + text, tuple(i for key, _ in hits[:2] for i in _event_ids(m.nodes, key)), "memory")
    if not (u.topic - GENERIC):  # "any news?": what it has heard lately, events first
        up = [(key, k) for key, k in kn.events.items() if P.event_times(k["event"])[1] > m.now]
        news = [n for n in kn.public if (n.facts or {}).get("news") and (n.facts or {}).get("heard_from")][-2:]
        if not up and not news:
            return Answer("No, I haven't heard any news lately.", (), "memory")
        text = " ".join(_event_sentence(m.persona.name, k, m.now) for _, k in up[:2])
        for n in news:
            text += f" {kn.when(n)[:1].upper() + kn.when(n)[1:]}, {n.facts['heard_from']} told me that " \
                    f"{_lower(kn.say(n)).rstrip('.')}."
        return Answer("Yes. " + text.strip(), tuple(i for key, _ in up[:2] for i in _event_ids(m.nodes, key)) +
                      tuple(n.id for n in news), "memory")
    found = _matching_memories(kn, u, r)
    if found:
        parts = []
        for n in found[:2]:
            src = (n.facts or {}).get("heard_from")
            when = kn.when(n)
            lead = f"{when[0].upper() + when[1:]}, " if when else ""
            told = f"{src} told me that " if src else ""
            body = _lower(kn.say(n)).rstrip(".") + "."
            parts.append(lead + told + body if lead or told else body[0].upper() + body[1:])
        return Answer("Yes, I remember this. " + " ".join(parts), tuple(n.id for n in found[:2]), "memory")
    if _asks_secret(kn, u):
        return Answer(KEEP, (), "memory")
    return Answer(f"No, I don't know anything about {_unknown_topic(u)}; I haven't heard of it.", (), "memory")


def _heard(kn: Known, u: Understanding, r) -> tuple[list[tuple[str, str, int]], str | None]:
    """(teller, when, memory id) of what it heard about the topic, earliest first, and the event's name."""
    hits = _matching_events(kn, u)
    me = kn.m.persona.name
    if hits:
        key, k = hits[0]
        ev = k["event"]
        if ev.get("host") == me:
            return [("", "", -1)], ev["name"]
        out = []
        for n in kn.public:
            f = n.facts or {}
            if isinstance(f.get("event"), dict) and f.get("heard_from") and P.event_key(
                    {**f["event"], "host": f["event"].get("host", me)}) == key:
                out.append((f["heard_from"], kn.when(n), n.id))
        return out, ev["name"]
    out = [((n.facts or {}).get("heard_from", ""), kn.when(n), n.id) for n in _matching_memories(kn, u, r)
           if (n.facts or {}).get("heard_from")]
    return sorted(out, key=lambda x: x[2]), None


def _a_source(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    heard, name = _heard(kn, u, r)
    if heard and heard[0][2] == -1:
        return Answer(f"Nobody told me — the {name} is my own; I'm hosting it.", (), "memory")
    if not heard:
        return Answer(f"Nobody has told me anything about {_unknown_topic(u)}.", (), "memory")
    first = heard[0]
    text = f"{first[0]} told me, {first[1]}."
    others = list(dict.fromkeys(h[0] for h in heard[1:] if h[0] != first[0]))
    if others:
        text += f" Later {_and(others[:3])} mentioned it too."
    return Answer(text, tuple(h[2] for h in heard[:3]), "memory")


def _a_heard_when(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    heard, name = _heard(kn, u, r)
    if heard and heard[0][2] == -1:
        return Answer(f"I've known about the {name} from the start — it's mine; I'm hosting it.", (), "memory")
    if not heard:
        found = _matching_memories(kn, u, r)
        if found:
            n = min(found, key=lambda x: x.created)
            return Answer(f"I first came across it {kn.when(n)}: {_lower(kn.say(n)).rstrip('.')}.", (n.id,), "memory")
        return Answer(f"I haven't heard about {_unknown_topic(u)}.", (), "memory")
    first = heard[0]
    return Answer(f"I first heard about it {first[1]}, from {first[0]}.", (first[2],), "memory")


def _going_event(kn: Known, u: Understanding) -> list[tuple[str, dict]]:
    hits = _matching_events(kn, u)
    if not hits and not (u.topic - content_words("event party")):  # "the party": the one upcoming it knows
        up = [(key, k) for key, k in kn.events.items() if P.event_times(k["event"])[1] > kn.m.now]
        hits = sorted(up, key=lambda h: P.event_times(h[1]["event"])[0])[:1]
    return hits


def _a_going(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    hits = _going_event(kn, u)
    if not hits:
        return Answer(f"I don't know about any {_unknown_topic(u)}, so no — nobody has told me about it.", (), "plans")
    key, k = hits[0]
    ev = k["event"]
    start, end = P.event_times(ev)
    where, when = _where(ev["place"]), P.describe_when(ev, m.now)
    ids = tuple(_event_ids(m.nodes, key))
    if end <= m.now:
        went = "I hosted it" if ev.get("host") == m.persona.name else \
            "I went" if k["intent"] == "attend" else "I didn't go"
        return Answer(f"The {ev['name']} at {where} is over now — {went}.", ids, "plans")
    if ev.get("host") == m.persona.name:
        return Answer(f"Of course — I'm hosting the {ev['name']} at {where} {when}.", ids, "plans")
    yes = {"attend": "Yes, I'm going", "decline": "No, I've decided not to go"}.get(k["intent"],
                                                                                     "I haven't decided yet")
    return Answer(f"{yes} — {ev['host']}'s {ev['name']} at {where} {when}.", ids, "plans")


def _a_who_goes(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    hits = _going_event(kn, u)
    if not hits:
        return Answer(f"I don't know about any {_unknown_topic(u)}.", (), "memory")
    key, k = hits[0]
    ev = k["event"]
    name = ev["name"]
    yes, no, ids = [], [], []
    for n in kn.public:
        mm = re.match(rf"(.+?) said they (will|will not) come to the {re.escape(name)}", n.description)
        if mm:
            (yes if mm.group(2) == "will" else no).append(mm.group(1))
            ids.append(n.id)
    host = ev.get("host")
    parts = []
    if host and host != m.persona.name:
        parts.append(f"{host} is hosting it, of course")
    if yes:
        parts.append(f"{_and(list(dict.fromkeys(yes)))} told me they're coming")
    if no:
        parts.append(f"{_and(list(dict.fromkeys(no)))} said they can't come")
    mine = "I'm going myself" if k["intent"] == "attend" else ""
    if mine:
        parts.append(mine)
    if not yes and not no:
        parts.append("I haven't heard from anyone else whether they're going")
    return Answer(f"About the {name}: " + "; ".join(parts) + ".", tuple(ids[-3:]), "memory")


def _talks(kn: Known) -> list[Any]:
    me = kn.m.persona.name
    return [n for n in kn.public if n.kind == "chat" and n.description.startswith(f"{me} talked with ")]


def _talk_sentence(kn: Known, n: Any) -> str:
    me = kn.m.persona.name
    rest = n.description[len(f"{me} talked with "):]
    return f"{kn.when(n)} I talked with {privacy.public(rest) or rest.split(' at ')[0]}"


def _a_last_talk(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    talks = _talks(kn)
    if u.person:
        talks = [n for n in talks if u.person in n.description]
        said = [n for n in kn.public if n.kind == "chat" and n.description.startswith(f"{u.person} said to ")]
        if said:
            n = said[-1]
            quote = n.description.split(":", 1)[1].strip() if ":" in n.description else n.description
            return Answer(f"The last time we talked, {kn.when(n)}, {u.person} said to me: {quote}", (n.id,), "memory")
    if not talks:
        who = f" with {u.person}" if u.person else ""
        return Answer(f"I haven't had a conversation{who} yet.", (), "memory")
    n = talks[-1]
    s = _talk_sentence(kn, n)
    return Answer(s[0].upper() + s[1:] + ".", (n.id,), "memory")


def _a_talk_today(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    me = m.persona.name
    day = u.when.start.date() if u.when is not None and u.when.start <= m.now else m.now.date()
    start = u.when.start if u.when is not None and u.when.start <= m.now else dt.datetime.combine(day, dt.time())
    end = min(u.when.end, m.now) if u.when is not None and u.when.start <= m.now else m.now
    talks = [n for n in _talks(kn) if (t := m.time_of(n.created)) is not None and start <= t <= end]
    label = u.when.words if u.when is not None and u.when.start <= m.now else "today"
    if not talks:
        return Answer(f"I haven't talked with anyone {label}.", (), "memory")
    who = list(dict.fromkeys(n.description[len(f"{me} talked with "):].split(" at ")[0].split(" outside")[0]
                             for n in talks))
    last = _talk_sentence(kn, talks[-1])
    return Answer(f"{label[0].upper() + label[1:]} I talked with {_and(who[:6])}. The last was {last[0].lower() + last[1:]}.",
                  tuple(n.id for n in talks[-3:]), "memory")


def _a_react(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    from smallville.cognition.reactions import react

    return Answer(react(u.question, m.persona, m.action), (), "reactions")


def _reflections(kn: Known) -> list[Any]:
    return [n for n in kn.public if n.kind == "thought" and n.depth > 0]


def _a_mind(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    thoughts = sorted(_reflections(kn), key=lambda n: (-n.created, -n.importance))[:2]
    upcoming = [k for k in kn.events.values() if k["intent"] == "attend" and P.event_times(k["event"])[0] > m.now]
    parts, ids = [], []
    if thoughts:
        parts.append("Lately I've been thinking that " + " and that ".join(
            _lower(kn.say(t)).rstrip(".") for t in thoughts) + ".")
        ids += [t.id for t in thoughts]
        ev = [e for t in thoughts for e in t.evidence][:3]
        if ev:
            ids += ev
    if upcoming:
        ev = min(upcoming, key=lambda k: P.event_times(k["event"])[0])["event"]
        parts.append(f"I'm looking forward to the {ev['name']} {P.describe_when(ev, m.now)}.")
    if not parts:  # no reflection yet: what it has in mind of itself (its plans, its own thoughts)
        top = sorted([n for n in kn.public if n.kind in ("thought", "plan") and not n.description.startswith(
            f"{m.persona.name}'s plan for")], key=lambda n: (-n.importance, -n.created))[:1]
        if top:
            return Answer(f"Mostly this: {_lower(kn.say(top[0])).rstrip('.')}.", (top[0].id,), "reflections")
        return Answer("Nothing much, to be honest.", (), "reflections")
    return Answer(" ".join(parts), tuple(dict.fromkeys(ids)), "reflections")


def _a_company(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    talks = _talks(kn)
    count: dict[str, int] = {}
    last: dict[str, Any] = {}
    for n in talks:
        for who in m.people:
            if who != p.name and n.description.startswith(f"{p.name} talked with {who}"):
                count[who] = count.get(who, 0) + 1
                last[who] = n
    cands = set(count) | set(p.relationships)
    if not cands:
        return Answer("I haven't really got to know anyone yet, so I'd like to meet new people first.", (), "reflections")
    best = max(cands, key=lambda w: (count.get(w, 0) + (2 if w in p.relationships else 0), w in last, w))
    rel = _rel(p, best)
    why = [f"{best} is {rel}"] if rel else []
    if best in last:
        why.append(f"we've talked {count[best]} time{'s' if count[best] > 1 else ''} lately, most recently {kn.when(last[best])}")
    return Answer(f"I'd spend it with {best}, because " + " and ".join(why) + ".",
                  (last[best].id,) if best in last else (), "reflections")


def _a_learned(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    me = m.persona.name
    about_others = [t for t in _reflections(kn) if any(x in t.description for x in m.people if x != me)]
    if not about_others:
        rel = [f"{w} is {_rel(m.persona, w)}" for w in list(m.persona.relationships)[:2] if _rel(m.persona, w)]
        if rel:
            return Answer("I haven't learned much new yet; I know that " + " and ".join(rel) + ".", (), "reflections")
        return Answer("I haven't learned much about people yet.", (), "reflections")
    picks = sorted(about_others, key=lambda n: (-n.importance, -n.created))[:3]
    return Answer("I've noticed that " + "; and that ".join(_lower(kn.say(t)).rstrip(".") for t in picks) + ".",
                  tuple(t.id for t in picks), "reflections")


_VALUES = re.compile(r"\b(love|loves|passion|passionate|care|cares|hope|hopes|dream|dreams|proud|fascinated|enjoy|enjoys|"
                     r"believe|believes|devoted|wants?|values?|important|goal)\b", re.I)


def _a_values(m: Moment, kn: Known, u: Understanding, r) -> Answer:
    p = m.persona
    bg = [s for s in re.split(r"(?<=[.!?])\s+", privacy.public(p.background)) if s]
    picks = [s for s in bg if _VALUES.search(s)][:2] or bg[1:2]
    text = "What matters most to me: " + " ".join(_sentence(first_person(s, p, True)) for s in picks)
    close = [w for w, rel in p.relationships.items() if re.search(
        r"\b(wife|husband|son|daughter|mother|father|partner|best friend|brother|sister)\b", rel)]
    if close:
        text += f" And the people closest to me, like {_and(close[:2])}."
    mine = [n for n in kn.public if n.kind == "thought" and n.depth == 0 and n.created == 0 and _VALUES.search(n.description)]
    return Answer(" ".join(text.split()), tuple(n.id for n in mine[:1]), "reflections")


ANSWERS: dict[str, Callable[..., Answer]] = {
    "self.intro": _a_intro, "self.personality": _a_personality, "self.occupation": _a_occupation,
    "self.typical_day": _a_day, "self.home": _a_home, "self.age": _a_age,
    "now": _a_now, "past": _a_past, "future": _a_future, "next": _a_next, "today": _a_today, "tomorrow": _a_tomorrow,
    "person.who": _a_who, "person.opinion": _a_opinion, "person.how": _a_how,
    "know.topic": _a_know, "know.source": _a_source, "know.when": _a_heard_when,
    "event.going": _a_going, "event.who": _a_who_goes, "talk.last": _a_last_talk, "talk.today": _a_talk_today,
    "react": _a_react, "reflect.mind": _a_mind, "reflect.company": _a_company, "reflect.learned": _a_learned,
    "reflect.values": _a_values,
}


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
    plan_text = "\n".join(f"- {b['start_at']:%a %H:%M}-{b['end_at']:%H:%M} {b['activity']} @ {b['place']}"
                          for b in blocks) or "- no plan yet"
    thoughts = [n for n in m.nodes if n.kind == "thought" and n.depth > 0][-3:]

    def line(n: Any) -> str:
        t = m.time_of(n.created)
        when = f"[{t:%a %H:%M}] " if t is not None else ""
        return f"- {n.id}: {when}{n.description}" + (privacy.MARK if n.id in secret else "")

    reading = [f"intent: {u.intent} ({u.category})"]
    if u.when is not None:
        reading.append(f"time asked about: {u.when.start:%a %b %d %H:%M}" +
                       ("" if u.when.point else f" to {u.when.end:%a %H:%M}") + f' ("{u.when.words}")')
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
