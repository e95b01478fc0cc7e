"""Answers that look like a model's, for the loopback server (tests and benchmarks).

:func:`plausible` takes the body of a ``/v1/chat/completions`` request and returns the JSON value
a capable model would give for the decision it asks: a day plan that follows the usual day given
in the prompt (5–9 blocks at places the schema allows, times in order, a wake-up between 06:30
and 08:00), a block broken into 3–6 steps that cover the window the prompt gives, exactly as many
ratings (2–8) as the prompt has memories, ``continue`` most of the time, short conversation lines
that end after 3–6 lines and pass on the news the prompt offers, the events and answers a text
states in the project's own phrasing, reflection questions and insights citing ids it was shown,
interview answers drawn from the memories listed.

Everything is read from the request (the decision's name from ``response_format``, else from the
prompt's first line; places, people and days from the schema's enums or the prompt's lists), so
nothing here knows a scenario. The variety comes from an RNG seeded by a hash of the messages and
the request's seed: the same request gets the same answer whenever and in whatever order it
arrives, so a run's digest does not depend on latency.

:class:`PrefixCache` simulates a server's automatic prefix caching (blocks of tokens hashed in a
chain, as vLLM does), to measure how much of a run's prompts a server could serve from its cache.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
HHMM = r"(\d{1,2}:\d{2})"
CHARS_PER_TOKEN = 4


# ---------------------------------------------------------------- reading the request


def messages_text(body: dict) -> str:
    """The prompt as a chat template would lay it out: role, then content, message by message."""
    return "".join(f"<|{m.get('role', '')}|>\n{m.get('content') or ''}\n" for m in body.get("messages") or [])


def tokens(text: str) -> int:
    return max(1, round(len(text) / CHARS_PER_TOKEN)) if text else 0


def rng_for(body: dict) -> random.Random:
    """An RNG seeded by the request's messages and seed (never by when or in what order it came).
    The messages' lines are hashed as a sorted list, so that a prompt whose template only moved
    lines gets the same answer (a run's course, and its digest, stay the same: layouts compare)."""
    lines = sorted(line for m in body.get("messages") or [] for line in (m.get("content") or "").split("\n"))
    key = json.dumps([lines, body.get("seed")], ensure_ascii=False)
    return random.Random(int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big"))


@lru_cache(maxsize=1)
def _openings() -> dict[str, str]:
    """The system line of each prompt template -> the decision's name."""
    out = {}
    for path in sorted(PROMPTS.glob("*.txt")):
        system, sep, _ = path.read_text(encoding="utf-8").partition("\n---\n")
        if sep:
            out[system.strip()] = path.stem
    return out


def decision_of(body: dict) -> str | None:
    rf = body.get("response_format") or {}
    name = (rf.get("json_schema") or {}).get("name")
    if name:
        return name
    msgs = body.get("messages") or []
    first = (msgs[0].get("content") or "").strip() if msgs else ""
    return _openings().get(first)


def schema_of(body: dict) -> dict | None:
    """The answer schema the request carries (in ``response_format`` or written into the prompt)."""
    from smallville.llm.answers import extract_json

    rf = body.get("response_format") or {}
    schema = rf.get("schema") or (rf.get("json_schema") or {}).get("schema")
    if schema:
        return schema
    text = (body.get("messages") or [{}])[-1].get("content") or ""
    _, sep, rest = text.rpartition("JSON schema: ")
    try:
        return extract_json(rest) if sep else None
    except ValueError:
        return None


def enum_at(schema: dict | None, path: str) -> list | None:
    """The ``enum`` of the property at ``path`` ("blocks.place": through an array's items)."""
    node: Any = schema
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        if node.get("type") == "array":
            node = node.get("items") or {}
        node = (node.get("properties") or {}).get(key)
    if isinstance(node, dict) and node.get("type") == "array":
        node = node.get("items") or {}
    return list(node["enum"]) if isinstance(node, dict) and "enum" in node else None


def user_text(body: dict) -> str:
    msgs = body.get("messages") or []
    text = (msgs[-1].get("content") or "") if msgs else ""
    return text.split("\n\nReply with one JSON object only, no other text")[0]  # instructions a server added


def section(text: str, title: str) -> list[str]:
    """The ``- item`` lines after the line ending with ``title`` (up to the first other line)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip().endswith(title):
            out = []
            for item in lines[i + 1:]:
                if not item.startswith("- "):
                    break
                out.append(item[2:])
            return out
    return []


def between(text: str, start: str, end: str) -> str:
    i = text.find(start)
    if i < 0:
        return ""
    j = text.find(end, i + len(start))
    return text[i + len(start):j if j >= 0 else None]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def clock(m: int) -> str:
    m %= 24 * 60
    return f"{m // 60:02d}:{m % 60:02d}"


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def closest(place: str, places: list[str]) -> str:
    """``place`` if allowed, else an allowed place in the same sector, else the first allowed."""
    if place in places or not places:
        return place
    same = [p for p in places if p.split(":")[0] == place.split(":")[0]]
    return same[0] if same else places[0]


# ---------------------------------------------------------------- planning


def _blocks(routine: list[str]) -> list[dict]:
    out = []
    for line in routine:
        m = re.match(rf"{HHMM}-{HHMM} (.+) @ (.+)$", line)
        if m:
            out.append({"start": minutes(m.group(1)), "end": minutes(m.group(2)), "activity": m.group(3),
                        "place": m.group(4)})
    for b in out:  # after midnight: keep times increasing
        while out and b["start"] < out[0]["start"] - 60:
            b["start"] += 24 * 60
        while b["end"] <= b["start"]:
            b["end"] += 24 * 60
    return out


ERRANDS = ("taking a short walk", "stopping by for a coffee", "running a few errands", "meeting a friend",
           "picking up groceries", "reading for a while")
GETTING_UP = ("waking up and getting ready", "getting up and washing", "morning routine and getting dressed")


def _shape(blocks: list[dict], places: list[str], home: str, rng: random.Random, lo: int = 5, hi: int = 9,
           start: int | None = None, end: int | None = None) -> list[dict]:
    """``blocks`` made into ``lo``–``hi`` blocks from ``start`` to ``end``, at allowed places,
    with an errand now and then: how a model restates a usual day."""
    blocks = [dict(b, place=closest(b["place"], places)) for b in blocks]
    if start is not None:
        blocks = [dict(b, start=max(b["start"], start)) for b in blocks if b["end"] > start]
    if end is not None:
        blocks = [dict(b, end=min(b["end"], end)) for b in blocks if b["start"] < end]
    blocks = [b for b in blocks if b["end"] > b["start"]]
    if not blocks:
        s = start if start is not None else 8 * 60
        blocks = [{"start": s, "end": end if end is not None else s + 8 * 60, "activity": "going about the day",
                   "place": home}]
    while len(blocks) > hi:  # merge: two neighbours at one place first, else the shortest block into the next
        same = [k for k in range(1, len(blocks) - 1) if blocks[k]["place"] == blocks[k + 1]["place"]]
        if same:
            k = min(same, key=lambda k: blocks[k + 1]["end"] - blocks[k]["start"])
            a, b = blocks[k], blocks[k + 1]
            blocks[k:k + 2] = [dict(a, end=b["end"], activity=words(f"{a['activity']}, then {b['activity']}", 60))]
        else:
            k = min(range(1, len(blocks) - 1), key=lambda k: blocks[k]["end"] - blocks[k]["start"])
            blocks[k:k + 2] = [dict(blocks[k + 1], start=blocks[k]["start"])]
    errand_at = [p for p in places if p.split(":")[0] != home.split(":")[0]]
    free = [k for k, b in enumerate(blocks) if b["place"] == home and b["end"] - b["start"] >= 120
            and 9 * 60 <= b["start"] + (b["end"] - b["start"]) // 2 <= 20 * 60]
    if errand_at and free and len(blocks) + 2 <= hi and rng.random() < 0.4:  # an errand out of a long stretch at home
        i = rng.choice(free)
        b = blocks[i]
        mid = b["start"] + (b["end"] - b["start"]) // 2
        out = {"start": mid, "end": min(b["end"], mid + rng.choice((30, 45, 60))), "activity": rng.choice(ERRANDS),
               "place": rng.choice(errand_at)}
        blocks[i:i + 1] = [dict(b, end=mid), out] + ([dict(b, start=out["end"])] if out["end"] < b["end"] else [])
    while len(blocks) < lo:  # split the longest block in two
        i = max(range(len(blocks)), key=lambda k: blocks[k]["end"] - blocks[k]["start"])
        b = blocks[i]
        if b["end"] - b["start"] < 30:
            break
        mid = b["start"] + (b["end"] - b["start"]) // 2 // 5 * 5
        blocks[i:i + 1] = [dict(b, end=mid), dict(b, start=mid, activity=f"more {b['activity']}"[:60]
                                                if not b["activity"].startswith("more ") else b["activity"])]
    # times as a person writes them: on the quarter hour, or the five minutes, at the edges
    first, last = blocks[0]["start"], blocks[-1]["end"]
    cuts = [first] + [min(max(round((b["start"] + rng.choice((-15, 0, 0, 0, 15))) / 15) * 15, first + 5), last - 5)
                      for b in blocks[1:]] + [last]
    out = []
    for k, b in enumerate(blocks):
        s, e = max(cuts[k], out[-1]["e"] if out else first), cuts[k + 1]
        if e > s:
            out.append({"s": s, "e": e, "activity": b["activity"], "place": b["place"]})
    return [{"start": clock(b["s"]), "end": clock(b["e"]), "activity": words(b["activity"], 60), "place": b["place"]}
            for b in out]


def words(text: str, n: int) -> str:
    """``text`` cut to at most ``n`` characters at a word boundary."""
    if len(text) <= n:
        return text
    return text[:n + 1].rsplit(" ", 1)[0].rstrip(",;") or text[:n]


GOING = re.compile(rf"^(?P<who>.+?) is (?:going to|hosting) (?:the|a|an) (?P<name>.+?) at (?P<where>.+?) on "
                   rf"(?P<day>\w+ \w+ \d+)(?:, \d{{4}})?,? (?:at {HHMM}|from {HHMM} to {HHMM})")


def _events(memories: list[str], name: str, today: str, places: list[str]) -> list[dict]:
    """Blocks for the events of ``today`` its memories say ``name`` goes to or hosts (in the
    project's own phrasing: "… is going to the … at PLACE on Monday February 13 at 17:00")."""
    out = []
    for line in memories:
        m = GOING.match(line)
        if not m or m.group("who") != name or m.group("day") not in today:
            continue
        at = [p for p in places if p.split(":")[0] == m.group("where")]
        if not at:
            continue
        start = minutes(m.group(5) or m.group(6))
        end = minutes(m.group(7)) if m.group(7) else start + 120
        out.append({"start": start, "end": end if end > start else end + 24 * 60,
                    "activity": words(f"at the {m.group('name')}", 60), "place": at[0]})
    return out


def _insert(blocks: list[dict], new: dict) -> list[dict]:
    """``blocks`` with ``new`` put in, cutting what it overlaps."""
    out = []
    for b in blocks:
        if b["end"] <= new["start"] or b["start"] >= new["end"]:
            out.append(b)
            continue
        if b["start"] < new["start"]:
            out.append(dict(b, end=new["start"]))
        if b["end"] > new["end"]:
            out.append(dict(b, start=new["end"]))
    return sorted(out + [new], key=lambda b: b["start"])


def plan_day(body: dict, rng: random.Random) -> dict:
    text, schema = user_text(body), schema_of(body)
    places = enum_at(schema, "blocks.place") or section(text, "knows:")
    m = re.search(rf"usually wakes at {HHMM} and goes to bed at {HHMM}", text)
    wake, sleep = (minutes(m.group(1)), minutes(m.group(2))) if m else (7 * 60, 23 * 60)
    if sleep <= wake:
        sleep += 24 * 60
    routine = _blocks(section(text, "usual day:"))
    home = routine[0]["place"] if routine else (places[0] if places else "home")
    # a wake-up between 06:30 and 08:00, within 90 minutes of the usual one
    up = round((wake + rng.choice((-15, -10, 0, 0, 0, 10, 15, 20, 30))) / 5) * 5
    up = min(max(up, 6 * 60 + 30, wake - 90), 8 * 60, wake + 90)
    if up == 8 * 60 or up == 6 * 60 + 30:  # a late or early riser: somewhere near the edge
        up += rng.choice((0, 5, 10, 20)) * (-1 if up == 8 * 60 else 1)
    usual = [dict(b) for b in routine]
    if usual and up < usual[0]["start"] <= up + 45:  # up a little early: the usual first block starts then
        usual[0]["start"] = up
    elif not usual or usual[0]["start"] > up:  # up earlier than usual: time to get ready first
        usual.insert(0, {"start": up, "end": usual[0]["start"] if usual else up + 30,
                         "activity": rng.choice(GETTING_UP), "place": home})
    me = re.search(r"(.+?) usually wakes at", text)
    today = re.search(r"Today is (.+?)\.", text)
    for ev in _events(section(text, "matters today:"), me.group(1).split(". ")[-1] if me else "",
                      today.group(1) if today else "", places):
        if up <= ev["start"] < sleep:
            usual = _insert(usual, dict(ev, end=min(ev["end"], sleep)))
    blocks = _shape(usual, places, home, rng, start=up, end=sleep)
    return {"wake": clock(up), "blocks": blocks}


def replan(body: dict, rng: random.Random) -> dict:
    text, schema = user_text(body), schema_of(body)
    places = enum_at(schema, "blocks.place") or section(text, "knows:")
    m = re.search(rf"It is {HHMM} on .*? goes to bed at {HHMM}", text)
    now, sleep = (minutes(m.group(1)), minutes(m.group(2))) if m else (12 * 60, 23 * 60)
    if sleep <= now:
        sleep += 24 * 60
    rest = _blocks(section(text, "rest of today:"))
    me = re.search(r"(.+?) goes to bed at", text)
    today = re.search(r"It is \d{1,2}:\d{2} on (.+?)\.", text)
    for ev in _events(section(text, "matters now:"), me.group(1).split(". ")[-1] if me else "",
                      today.group(1) if today else "", places):
        if now <= ev["start"] < sleep and not any(b["activity"] == ev["activity"] for b in rest):
            rest = _insert(rest, dict(ev, end=min(ev["end"], sleep)))
    home = rest[-1]["place"] if rest else (places[0] if places else "home")
    blocks = _shape(rest, places, home, rng, lo=2, hi=8, start=now, end=sleep)
    wake = re.search(rf"usually wakes at {HHMM}", text)
    return {"wake": wake.group(1) if wake else clock(now), "blocks": blocks}


FILLERS = ("taking a short break", "checking a few things", "tidying up", "making a few notes",
           "having a glass of water", "sorting things out")


def decompose(body: dict, rng: random.Random) -> dict:
    text = user_text(body)
    m = re.search(rf" is (.+) at (.+) from {HHMM} to {HHMM} \((\d+) minutes\)", text)
    activity, span = (m.group(1), int(m.group(5))) if m else ("working", 60)
    n = max(3, min(6, span // 15, 3 + rng.randrange(4)))
    parts = [words(p.strip(), 60) for p in re.split(r",? and |, ", activity) if p.strip()]
    steps = [parts[0]] if len(parts) > 1 else [words("getting started with " + activity, 60)]
    middle = parts[1:] if len(parts) > 1 else [words(activity, 60)]
    fillers = rng.sample(FILLERS, len(FILLERS))
    while len(steps) < n - 1:
        steps.append(middle[(len(steps) - 1) % len(middle)] if len(steps) % 2 == 1 or not fillers else fillers.pop())
    steps.append(rng.choice(("wrapping up", "finishing up", "putting things away")))
    weights = [rng.uniform(0.6, 1.4) for _ in steps]
    total = sum(weights)
    mins = [max(1, round(span * w / total)) for w in weights]
    mins[-1] = max(1, span - sum(mins[:-1]))
    return {"steps": [{"action": a, "minutes": int(x)} for a, x in zip(steps, mins)]}


# ---------------------------------------------------------------- memory


MUNDANE = re.compile(r"\b(is idle|sleeping|resting|being slept in|brushing|making the bed|washing)\b", re.I)
NOTABLE = re.compile(r"\b(said|told|invit|news|heard|hosting|plan|decided|going to|asked)\w*", re.I)


def rate_importance(body: dict, rng: random.Random) -> dict:
    text = user_text(body)
    m = re.search(r"each of these (\d+) memories", text)
    listed = re.findall(r"^(\d+)\. (.*)$", text, re.M)
    n = int(m.group(1)) if m else max(1, len(listed))
    out = []
    for i in range(n):
        memory = listed[i][1] if i < len(listed) else ""
        r = rng.choice((2, 3, 3, 4, 4, 5))
        if MUNDANE.search(memory):
            r = rng.choice((2, 2, 3))
        elif NOTABLE.search(memory):
            r = rng.choice((5, 6, 7, 8))
        out.append(r)
    return {"ratings": out}


def react(body: dict, rng: random.Random) -> dict:
    text, schema = user_text(body), schema_of(body)
    options = enum_at(schema, "reaction")
    if not options:
        m = re.search(r"Options: (.+)\.", text)
        options = [o.strip() for o in m.group(1).split(",")] if m else ["continue"]
    if "replan" in options:  # something salient: a model mostly makes room for it
        return {"reaction": "replan" if rng.random() < 0.8 else "continue"}
    news = "News " in text
    x = rng.random()
    if "talk" in options and x < (0.45 if news else 0.2):
        return {"reaction": "talk"}
    if "wait" in options and x > (0.85 if news else 0.95):
        return {"reaction": "wait"}
    return {"reaction": "continue" if "continue" in options else options[0]}


# ---------------------------------------------------------------- conversation


OPENERS = ("Hi {p}! Nice to run into you, how has your day been so far?",
           "Oh, hello {p}! I was hoping I'd see you around here today.",
           "Good to see you, {p}. Are you keeping busy these days?",
           "Hey {p}, how are things going with you this week?")
REPLIES = ("Pretty good, thanks for asking. It's been a busy but nice day.",
           "Not bad at all, I've mostly been getting my work done today.",
           "I'm well, thanks. Just trying to keep up with everything on my list.",
           "Oh, you know, the usual routine, but I can't complain really.",
           "That's good to hear. I've been meaning to catch up with you.",
           "I know what you mean, the week always seems to fly by.",
           "Ha, same here. There's always something that needs doing around here.")
YES = ("That sounds lovely, I'd be happy to come along!", "Oh, how nice! Count me in, I'll be there.")
NO = ("Thanks for asking, but I don't think I can make it then.",
      "That's kind of you, but I'm busy at that time, sorry.")
BYES = ("Anyway, I should get going. See you later, {p}!", "Well, I'd better get back to it. Take care, {p}!",
        "It was nice talking with you, {p}. See you around!")


def converse_turn(body: dict, rng: random.Random) -> dict:
    text = user_text(body)
    m = re.search(r"\. (.+?) is talking with (.+?) \(", text)
    me, partner = (m.group(1), m.group(2)) if m else ("", "")
    p = first_name(partner)
    lines = [ln for ln in between(text, "The conversation so far:\n", "\nWrite ").split("\n")
             if ln and not ln.startswith("(nothing yet")]
    news = [n for n in section(text, f"News {me} could tell {partner}:") if n != "nothing new"]
    said = [ln.split(": ", 1)[-1] for ln in lines]
    mine = [s for ln, s in zip(lines, said) if ln.startswith(me + ": ")]
    last = said[-1] if lines and not lines[-1].startswith(me + ": ") else ""
    # how long the conversation runs: read from its first line, so every turn agrees
    length = 3 + int(hashlib.blake2b((said[0] if said else "").encode(), digest_size=2).hexdigest(), 16) % 4
    end = len(lines) + 1 >= length
    accept = "none"
    parts = []
    if not lines:
        parts.append(rng.choice(OPENERS).format(p=p))
    elif "?" in last and re.search(r"\b(come|join|invited)\b", last, re.I):
        yes = rng.random() < 0.65
        parts.append(rng.choice(YES if yes else NO))
        accept = "yes" if yes else "no"
    untold = [n for n in news if not any(n[:40] in s for s in said)]
    if untold and not mine:
        parts.append(untold[0])
        end = False
    elif end:
        parts.append(rng.choice(BYES).format(p=p))
    elif not parts:
        fresh = [r for r in REPLIES if r not in said]
        parts.append(rng.choice(fresh or REPLIES))
    utterance = " ".join(parts)[:240]
    if utterance in said:
        utterance = (utterance + " Really, it's true.")[:240]
    return {"utterance": utterance, "end": end, "accept": accept}


# ---------------------------------------------------------------- facts in words


ACCEPTS = re.compile(r"\b(I'll be there|count me in|I'd love to|I'll go|I think I'll go|happy to come|I'll come)\b",
                     re.I)
DECLINES = re.compile(r"\b(can't make it|cannot make it|don't think I can|don't think I'll go|won't be able|I'm busy|"
                      r"busy at that time)\b", re.I)
HOSTING = re.compile(r"(?:\b(?P<who>I'm|I am|[A-Z][\w'-]+(?: [A-Z][\w'-]+)?) (?:is |am |are )?)?"
                     r"(?:hosting|having|throwing|holding|organi[sz]ing) (?:a|an|the|my|our) "
                     r"(?P<name>[\w' -]{3,40}?) (?:at|in) ", re.I)


def extract_facts(body: dict, rng: random.Random) -> dict:
    text, schema = user_text(body), schema_of(body)
    places = [p for p in (enum_at(schema, "events.place") or []) if p != "unknown"]
    hosts = enum_at(schema, "events.host") or []
    tellers = enum_at(schema, "events.told_by") or ["unknown"]
    days = [re.match(r"(\S+) = (.*)$", d) for d in section(text, "Days (use the date):")]
    days = [(d.group(1), d.group(2).lower()) for d in days if d]
    now = re.search(rf"It is now .*?, {HHMM}\.", text)
    now_m = minutes(now.group(1)) if now else 0
    said = between(text, "The text:\n", "\n\nPeople in town:")
    events, answers, news = [], [], []
    for line in said.split("\n"):
        speaker, sep, words = line.partition(": ")
        if not sep or speaker not in tellers:
            speaker, words = "unknown", line
        for sentence in re.split(r"(?<=[.!?])\s+", words):
            ev = _event(sentence, speaker, places, hosts, days, now_m)
            if ev and len(events) < 3 and not any(e["name"] == ev["name"] for e in events):
                events.append(ev)
        if events and speaker != "unknown" and speaker != events[0]["told_by"] and len(answers) < 2:
            if ACCEPTS.search(words):
                answers.append({"who": speaker, "answer": "accept"})
            elif DECLINES.search(words):
                answers.append({"who": speaker, "answer": "decline"})
        m = re.search(r"Have you heard\? (.+?[.!])", words)
        if m and not events and len(news) < 4:
            who = next((h for h in hosts if h != "unknown" and m.group(1).startswith(h + " ")), None)
            if who:
                news.append({"who": who, "did": m.group(1)[len(who) + 1:].rstrip(".!")[:160], "told_by": speaker})
    return {"events": events, "news": news, "answers": answers}


def _event(sentence: str, speaker: str, places: list[str], hosts: list[str], days: list[tuple[str, str]],
           now: int) -> dict | None:
    m = HOSTING.search(sentence)
    if not m or not places or not days:
        return None
    low = sentence.lower()
    place = next((p for p in places if p.split(":")[0].lower() in low), None)
    span = re.search(rf"from {HHMM} to {HHMM}", sentence) or re.search(rf"at {HHMM}", sentence)
    if place is None or span is None:
        return None
    start = minutes(span.group(1))
    end = minutes(span.group(2)) if span.lastindex and span.lastindex >= 2 else start + 120
    day = days[0][0]
    for iso, label in days:
        words = label.replace(",", "").split()
        if "tomorrow" in low and words[0] == "tomorrow" or (words[0] not in ("today", "tomorrow")
                                                             and words[0] in low):
            day = iso
            break
    if day == days[0][0] and end % (24 * 60) <= now and end > start:
        return None  # over already
    who = m.group("who") or ""
    host = speaker if who.lower() in ("i'm", "i am") else next((h for h in hosts if h == who), "unknown")
    if host not in hosts:
        host = "unknown"
    return {"name": m.group("name").strip()[:60], "host": host, "told_by": speaker, "place": place, "day": day,
            "start": clock(start), "end": clock(end), "invited": "everyone"}


# ---------------------------------------------------------------- reflection and interviews


def reflect_questions(body: dict, rng: random.Random) -> dict:
    text = user_text(body)
    m = re.search(r"memories of (.+?), as \[id\]", text)
    name = m.group(1) if m else "this person"
    k = re.search(r"the (\d+) most salient", text)
    count = max(1, min(3, int(k.group(1)) if k else 3))
    statements = re.findall(r"^\[\d+\] \([^)]*\) (.*)$", text, re.M)
    others: dict[str, int] = {}  # the people the statements are about: "A B is …", "… with A B"
    for s in statements:
        for who in re.findall(r"(?:^|with |to |and )([A-Z][a-z]+ [A-Z][a-z]+)(?= is | said|\b$|[,.])", s):
            if who != name:
                others[who] = others.get(who, 0) + 1
    people = sorted(others, key=lambda w: (-others[w], w))
    pool = [f"What is {name} most focused on these days?", f"How does {name} feel about the way the week is going?",
            f"What matters most to {name} right now?"]
    pool = [f"What is the relationship between {name} and {w}?" for w in people[:2]] + pool
    return {"questions": [q[:150] for q in pool[:count]]}


def reflect_insights(body: dict, rng: random.Random) -> dict:
    text = user_text(body)
    m = re.search(r"Memories of (.+?), as \[id\]", text)
    name = first_name(m.group(1)) if m else "they"
    listed = re.findall(r"^\[(\d+)\] \([^)]*\) (.*)$", text, re.M)
    if not listed:
        return {"insights": []}
    ids = [int(i) for i, _ in listed]
    text_of = dict(listed)
    telling = [int(i) for i, t in listed if NOTABLE.search(t) and " is in use" not in t]
    out = []
    for _ in range(min(len(listed), rng.choice((1, 2, 2, 3)))):
        cite = sorted(rng.sample(ids, min(len(ids), rng.choice((2, 3, 4)))))
        if telling:
            cite = sorted(set(cite[1:]) | {rng.choice(telling)})
        about = text_of[str(max(cite, key=lambda i: (i in telling, i)))].rstrip(".")
        insight = rng.choice((f"{name} has been paying attention to this: {about}",
                              f"It seems to matter to {name} that {about}", f"Lately {name} notices that {about}"))
        out.append({"insight": words(insight, 200), "evidence": cite, "importance": rng.choice((3, 4, 5, 6, 7))})
    return {"insights": out}


def answer_interview(body: dict, rng: random.Random) -> dict:
    text = user_text(body)
    q = re.search(r'The interviewer asks: "(.*)"', text)
    question = q.group(1) if q else ""
    doing = re.search(r"You are (.+?) at (.+?)\.\n", text)
    memories = [re.match(r"(\d+): (.*)$", line) for line in section(text, "(id: memory):")]
    memories = [(int(x.group(1)), x.group(2)) for x in memories if x]
    words = {w.lower() for w in re.findall(r"[A-Za-z']{4,}", question)} - {"what", "where", "when", "with", "your",
                                                                          "have", "about", "does", "that", "this"}
    hits = [(i, t) for i, t in memories if words & {w.lower() for w in re.findall(r"[A-Za-z']{4,}", t)}][:2]
    if hits:
        answer = "From what I remember: " + " ".join(t.rstrip(".") + "." for _, t in hits)
    else:
        answer = "I'm not sure, to be honest."
    if doing:
        answer += f" Right now I'm {doing.group(1)} at {doing.group(2)}."
    return {"answer": answer[:800], "memory_ids": [i for i, _ in hits]}


def next_action(body: dict, rng: random.Random) -> dict:
    text, schema = user_text(body), schema_of(body)
    m = re.search(r"routine says: (.+) at (.+)\.\n", text)
    activity, place = (m.group(1), m.group(2)) if m else ("going about the day", "")
    places = enum_at(schema, "place") or [place]
    return {"activity": activity[:60], "place": closest(place, places),
            "emoji": rng.choice(("🙂", "📚", "☕", "🚶")),
            "minutes": rng.choice((15, 30, 45, 60, 90))}


ANSWERS: dict[str, Callable[[dict, random.Random], Any]] = {
    "plan_day": plan_day, "replan": replan, "decompose": decompose, "rate_importance": rate_importance,
    "react": react, "converse_turn": converse_turn, "extract_facts": extract_facts,
    "reflect_questions": reflect_questions, "reflect_insights": reflect_insights,
    "answer_interview": answer_interview, "next_action": next_action,
}


def plausible(body: dict) -> Any:
    """A model-like answer to the request ``body`` (see the module doc); for a decision this
    module does not know, the schema-shaped :func:`~smallville.llm.testing.sample`."""
    name = decision_of(body)
    answer = ANSWERS.get(name or "")
    if answer is None:
        from smallville.llm.testing import sample

        return sample(schema_of(body))
    return answer(body, rng_for(body))


# ---------------------------------------------------------------- a server's prefix cache


class PrefixCache:
    """Automatic prefix caching as vLLM does it: a prompt is cut into blocks of ``block``
    tokens, each block's hash chained to the previous one's; a prompt's cached tokens are those
    of its longest run of leading blocks some earlier prompt had. Nothing is ever evicted."""

    def __init__(self, block: int = 16):
        self.block_chars = block * CHARS_PER_TOKEN
        self.seen: set[bytes] = set()

    def add(self, text: str) -> int:
        """The cached tokens of ``text`` (then remembered for later prompts)."""
        h, cached, hit = b"", 0, True
        full = len(text) // self.block_chars * self.block_chars
        for i in range(0, full, self.block_chars):
            h = hashlib.blake2b(h + text[i:i + self.block_chars].encode(), digest_size=12).digest()
            if hit and h in self.seen:
                cached = i + self.block_chars
            else:
                hit = False
                self.seen.add(h)
        return cached // CHARS_PER_TOKEN
