"""The rules answers of ``answer_interview``, one function per intent (:data:`ANSWERS`): plain
first-person sentences from the store — the persona, the recorded actions, the plan as it stood,
the memories with their times — who, what, where and when. See :mod:`.interview`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from smallville.cognition import plan as P
from smallville.cognition import privacy
from smallville.cognition import when as W
from smallville.cognition.recall import (GENERIC, KEEP, Answer, Known, Moment, _asks_secret, _asleep,
                                         _block_phrase, _event_ids, _event_sentence, _matching_events,
                                         _matching_memories, _routine_at, plan_blocks)
from smallville.cognition.speech import _activity, _and, _lower, _place_words, _rel, _sentence, _where, first_person
from smallville.cognition.understand import Understanding, content_words
from smallville.world.clock import long_date, weekday


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
