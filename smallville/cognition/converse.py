"""Conversations: one ``converse_turn`` decision per utterance, with speaker-side retrieval.

The engine brings two agents together and asks the next speaker for a :class:`Turn` until one
ends it or a cap is reached (``engine/engine.py``). Each speaker draws on its own memory: what
it knows about the partner, and its *news* — the events it knows of that the partner may be
told about (an invitation, with place and time) and other recent news of high importance —
that it has not told the partner yet.

Rules implementation (:func:`rules_turn`): greet; answer an invitation (accepting depends on
the persona and the run's RNG, :func:`~smallville.cognition.plan.accept_probability`) or
acknowledge news; tell the most important untold news; say goodbye when there is nothing
left to tell. Every utterance carries its content as structured facts, so the listener can
plan around what it heard without a language model.

With a language model, a line is words only: at the end of the conversation one
``extract_facts`` decision (:mod:`~smallville.cognition.extract`) over both sides' words says
what was told and answered, and both participants learn from it — the same facts, through the
same code, as the rules lines carry.

A model's request (:func:`turn_variables`) holds the speaker's own persona and memories only:
the full persona on its first line of the conversation, its one-line form (name, age,
occupation, traits) on its later lines, whose requests show the conversation so far; the
memories retrieved for the partner and the last line, cut by relevance
(:func:`~smallville.cognition.retrieve.relevant`); up to three items of news it has not said in
this conversation (a memory that is one of them is not listed twice); and the note on private
memories only when something shown is marked private.

News is anything worth telling (:func:`news_items`): events the agent may pass on, and what
it saw, heard, thought or plans that matters enough (importance, fading with age). What is
*private* is never told by the rules: a first memory marked ``private: true`` and anything that
says it is a secret (:func:`~smallville.cognition.privacy.private`); a model sees such memories,
and a relationship text that tells a secret, marked "(private)" and decides itself.
Passing news on keeps who it came from (``chain``), and every time a listener learns something
the run log gets a ``heard`` event (``from``, ``text``, ``memory_id``, ``conversation``, ``facts``).

At the end (:func:`remember`), each participant stores the conversation — what the partner
said, a summary, and what it learned as memories with structured facts (an event's place and
time, who told it; its own decision to go or not) — and notes what it told whom. An event
that it will now attend today is *salient*: the agent reconsiders its plan when it next acts.

Working state used (``ctx.state``, :class:`~smallville.cognition.state.ResidentState`): ``told``
(partner -> keys told), ``salient`` (event keys), ``known_places`` (``learn_place``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Awaitable, Callable

from smallville.cognition import importance
from smallville.cognition import plan as P
from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.extract import Extracted
from smallville.cognition.interface import ConversationView, DecisionContext, Observation, Turn
from smallville.cognition.privacy import MARK, SECRET, marked, private  # noqa: F401 - SECRET: its old home
from smallville.cognition.retrieve import relevant
from smallville.cognition.state import ResidentState
from smallville.world.config import Persona
from smallville.world.clock import long_date, weekday

NEWS_MIN_IMPORTANCE = 9  # news other than events: a thought or heard news at least this important ...
NEWS_MAX_AGE = dt.timedelta(days=2)
NEWS_KINDS = ("thought", "observation", "chat", "plan")  # what it thought, saw, heard, plans
# ... and any memory as far above what its kind usually scores (an observation at 7, a plan at 8)
NEWS_MARGIN = NEWS_MIN_IMPORTANCE - importance.KIND_BASE["thought"]
MAX_TURNS_EACH = 4


# the working state this module writes (cognition.state.ResidentState)
def _told(state: ResidentState, partner: str) -> list[str]:
    return state.told.setdefault(partner, [])


def _told_keys(state: ResidentState, partner: str) -> set[str]:
    return set(state.told.get(partner, []))


def _salient(state: ResidentState, key: str) -> None:
    state.salient.append(key)


def news_key(text: str) -> str:
    return "news:" + hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def first_name(name: str) -> str:
    return name.split()[0]


def may_tell(ev: dict, partner: str) -> bool:
    """Whether an event may be passed on to ``partner``: its invite list (the host is not told)."""
    if partner == ev.get("host"):
        return False
    invite = ev.get("invite", "everyone")
    if invite == "nobody":
        return False
    return invite == "everyone" or partner in invite


def event_sentence(ev: dict, speaker: str, now: dt.datetime, declined: bool = False) -> str:
    where, when = P.sector(ev["place"]), P.describe_when(ev, now)
    if ev.get("host") == speaker:
        return f"I'm hosting a {ev['name']} at {where} {when}. Would you like to come?"
    tail = "" if declined else (" Everyone's invited, you should come!" if ev.get("invite", "everyone") == "everyone"
                                else " You're invited!")
    return f"Have you heard? {ev['host']} is hosting a {ev['name']} at {where} {when}.{tail}"


def news_items(agent: str, stream: Any, state: ResidentState, partner: str, now: dt.datetime) -> list[dict]:
    """What ``agent`` could tell ``partner``, most important first: upcoming events it may pass
    on, then other recent, important news — neither told to nor heard from the partner yet."""
    if stream is None:
        return []
    nodes = stream.nodes
    told = _told_keys(state, partner)
    items: list[dict] = []
    for key, k in P.known_events(nodes, agent).items():
        ev = k["event"]
        if key in told or not may_tell(ev, partner) or P.event_times(ev)[1] <= now:
            continue
        items.append({"key": key, "kind": "event", "importance": 10 if ev["host"] == agent else 9,
                      "own": ev["host"] == agent, "text": event_sentence(ev, agent, now, declined=k["intent"] == "decline"),
                      "fact": {"type": "event", "event": ev}, "name": ev["name"]})
    tick_now, seconds = stream.tick, stream.memory.clock.tick_seconds
    oldest = tick_now - int(NEWS_MAX_AGE.total_seconds() // seconds)
    day_ticks = 86400 / seconds
    seen: set[str] = set()
    for n in reversed(nodes):
        if n.created < oldest:
            break
        facts = n.facts or {}
        if "event" in facts or n.depth > 0 or n.kind not in NEWS_KINDS or private(n):
            continue
        if n.kind == "chat" and "news" not in facts:  # what was said, word for word: not news in itself
            continue
        if n.kind == "plan" and not facts:  # the day's plan
            continue
        if n.importance - importance.KIND_BASE.get(n.kind, 2) < NEWS_MARGIN:
            continue
        score = n.importance - (tick_now - n.created) / day_ticks  # ranked by importance, fading with age
        text = facts.get("news", n.description)
        key = news_key(text)
        if key in told or key in seen or partner in text:
            continue
        seen.add(key)
        own = "heard_from" not in facts
        chain = list(facts.get("chain", [])) if not own else []
        lead = "Some news from me:" if text.startswith(agent) else "Have you heard?"
        items.append({"key": key, "kind": "news", "importance": score, "own": own, "text": f"{lead} {text}",
                      "fact": {"type": "news", "text": text, "chain": chain}, "name": text})
    items.sort(key=lambda it: (-it["importance"], it["kind"] != "event", it["key"]))
    return items


def mentioned(conv: ConversationView) -> set[str]:
    out = set()
    for line in conv.lines:
        for f in line.facts:
            if f.get("type") == "event":
                out.add(P.event_key(f["event"]))
            elif f.get("type") == "news":
                out.add(news_key(f["text"]))
    return out


def pending_invite(conv: ConversationView, me: str) -> dict | None:
    """The event the partner's last line told me about, if I have not answered it in this conversation."""
    if not conv.lines or conv.lines[-1].speaker == me:
        return None
    answered = {f.get("event") for l in conv.lines if l.speaker == me for f in l.facts if f.get("type") == "reply"}
    for f in conv.lines[-1].facts:
        if f.get("type") == "event" and P.event_key(f["event"]) not in answered:
            return f["event"]
    return None


def heard_news(conv: ConversationView, me: str) -> bool:
    return bool(conv.lines) and conv.lines[-1].speaker != me and any(
        f.get("type") == "news" for f in conv.lines[-1].facts)


def pass_on_probability(persona: Persona) -> float:
    """The chance of passing on news heard from someone else, in a conversation."""
    return 0.1 + 0.4 * persona.sociability


def reply(persona: Persona, ev: dict, inviter: str, intent: str | None, heard: int, rng) -> tuple[str, dict]:
    """Answer an invitation: as decided before, or accept with the persona's probability."""
    key = P.event_key(ev)
    if intent == "attend":
        return "Yes, I know — I'm going!", {"type": "reply", "event": key, "accept": True, "event_facts": ev}
    if intent == "decline":
        return "Yes, I heard, but I can't make it.", {"type": "reply", "event": key, "accept": False, "event_facts": ev}
    accept = rng.random() < P.accept_probability(persona, ev, inviter, heard)
    if accept:
        text = "That sounds lovely, I'll be there!" if inviter == ev.get("host") else "Oh, nice! I think I'll go."
    else:
        busy = P.conflicts(persona, ev)
        text = (f"Thanks, but I'll be {busy[0]} then." if busy else "Thanks for telling me, but I don't think I'll go.")
    return text, {"type": "reply", "event": key, "accept": accept, "event_facts": ev}


def rules_turn(persona: Persona, obs: Observation, conv: ConversationView, items: list[dict],
               events: dict[str, dict], rng) -> Turn:
    me, partner = persona.name, conv.partner
    parts: list[str] = []
    facts: list[dict] = []
    if not conv.lines:
        parts.append(f"Hi {first_name(partner)}!")
    ev = pending_invite(conv, me)
    if ev is not None:
        k = events.get(P.event_key(ev), {})
        text, fact = reply(persona, ev, partner, k.get("intent"), len(k.get("heard_from", [])) + 1, rng)
        parts.append(text)
        facts.append(fact)
    elif heard_news(conv, me):
        parts.append("Oh, I hadn't heard that!")
    said = mentioned(conv)
    fresh = [it for it in items if it["key"] not in said
             and (it["own"] or rng.random() < pass_on_probability(persona))]
    mine = sum(1 for l in conv.lines if l.speaker == me)
    if fresh and mine < MAX_TURNS_EACH:
        parts.append(fresh[0]["text"])
        facts.append(fresh[0]["fact"])
        return Turn(" ".join(parts), end=False, facts=tuple(facts))
    if not conv.lines:
        parts.append("How are you doing?")
        return Turn(" ".join(parts))
    if len(conv.lines) == 1 and not parts:
        doing = obs.action if obs.action and not obs.action.startswith("talking") else "keeping busy"
        parts.append(f"Good, thanks! Not much news — I've been {doing}.")
    parts.append("Good to see you, take care!" if len(conv.lines) > 1 else "See you around!")
    return Turn(" ".join(parts), end=True, facts=tuple(facts))


# ---------------------------------------------------------------- the LLM side


def turn_variables(persona: Persona, obs: Observation, conv: ConversationView, items: list[dict],
                   memories: list[str]) -> dict[str, Any]:
    so_far = "\n".join(f"{l.speaker}: {l.text}" for l in conv.lines) or "(nothing yet: you speak first)"
    # who the speaker is, in full on its first line of the conversation only: its later lines'
    # requests show the conversation, which already speaks as that person
    first = not any(l.speaker == persona.name for l in conv.lines)
    who = P.persona_line(persona) if first else P.persona_short(persona)
    relationship = marked(persona.relationships.get(conv.partner, "someone from town"))
    # what it could tell and has not said in this conversation; a memory it could tell is shown once, as news
    said = [l.text for l in conv.lines if l.speaker == persona.name]
    news = [it["text"] for it in items if not any(it["text"] in t for t in said)][:3]
    note = (f" (what is marked private is {persona.name}'s own business: {persona.name} shares it only if "
            f"{persona.name} wants to)") if any(MARK in t for t in [who, relationship, *memories]) else ""
    return {"name": persona.name, "persona": who, "partner": conv.partner, "relationship": relationship,
            "private": note,
            "time": f"{weekday(obs.now)} {obs.now:%H:%M}", "place": P.sector(conv.place) or "outside",
            "memories": "\n".join(f"- {m}" for m in memories if not any(m in t for t in news))
                        or "- nothing in particular",
            "news": "\n".join(f"- {t}" for t in news) or "- nothing new",
            "conversation": so_far}


def parse_turn(value: Any, persona: Persona, conv: ConversationView) -> Turn:
    """A model's line is words: what it tells is found in them at the end (``extract_facts``); its
    ``accept`` field is kept as the speaker's answer, should the words not say."""
    if not isinstance(value, dict):
        raise InvalidAnswer("not an object")
    text = " ".join(str(value.get("utterance", "")).split())[:300]
    if P.placeholder(text):
        raise InvalidAnswer(f"no utterance ({text[:20]!r})")
    if any(text == l.text for l in conv.lines):
        raise InvalidAnswer("repeats a line of the conversation")
    accept = str(value.get("accept", "none")).lower()
    facts = ({"type": "answer", "accept": accept == "yes"},) if accept in ("yes", "no") and conv.lines else ()
    mine = sum(1 for l in conv.lines if l.speaker == persona.name)
    end = bool(value.get("end", False)) or mine + 1 >= MAX_TURNS_EACH + 1
    return Turn(text, end=end, facts=facts)


async def turn(persona: Persona, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> Turn:
    """The speaker's next utterance (decision ``converse_turn``)."""
    stream = ctx.stream
    items = news_items(persona.name, stream, ctx.state, conv.partner, obs.now)
    events = P.known_events(stream.nodes, persona.name) if stream is not None else {}
    memories: list[str] = []
    if stream is not None:
        focal = conv.partner if not conv.lines else f"{conv.partner}: {conv.lines[-1].text}"
        # the speaker decides what to share: a private memory is shown marked, never in the news
        memories = [r.node.description + (MARK if private(r.node) else "")
                    for r in relevant(stream.retrieve(focal, k=6))]
    return await ctx.decide("converse_turn", variables=turn_variables(persona, obs, conv, items, memories),
                            rules=lambda: rules_turn(persona, obs, conv, items, events, ctx.rng),
                            parse=lambda value: parse_turn(value, persona, conv), rng=ctx.rng)


# ---------------------------------------------------------------- remembering


def _event_memory(ev: dict, me: str, partner: str) -> str:
    start, end = P.event_times(ev)
    return (f"{ev['host']} is hosting a {ev['name']} at {P.sector(ev['place'])} on {long_date(start)} "
            f"from {start:%H:%M} to {end:%H:%M}; {partner} told {me} about it")


def facts_from_words(x: Extracted, conv: ConversationView, me: str, events: dict[str, dict]) -> list[tuple[str, dict]]:
    """(speaker, fact) pairs, as a rules line would carry them, from what ``extract_facts`` found in
    a conversation's words. An event that matches one the agent knows of (same start and place, or
    same name and start) is that event, so word of it never makes a second one."""
    partner = conv.partner
    speakers = {me, partner}
    out: list[tuple[str, dict]] = []
    told: dict[str, dict] = {}  # teller -> the last event they told
    for ev in x.events:
        teller = ev.get("told_by") if ev.get("told_by") in speakers else partner
        same = [k["event"] for k in events.values()
                if k["event"]["start"] == ev["start"] and (P.sector(k["event"]["place"]) == P.sector(ev["place"])
                                                           or k["event"]["name"].lower() == ev["name"].lower())]
        canon = dict(same[0]) if same else {k: v for k, v in ev.items() if k not in ("told_by", "invited")}
        if not same:
            canon["host"] = ev.get("host") or teller
            if ev.get("invited") == "listener":
                canon["invite"] = [p for p in speakers if p != teller]
        out.append((teller, {"type": "event", "event": canon}))
        told[teller] = canon
    for n in x.news:
        teller = n.get("told_by") if n.get("told_by") in speakers else partner
        if n["who"] in (me, partner) and teller != n["who"]:
            continue  # news about one of the two, told by the other: they know
        out.append((teller, {"type": "news", "text": n["text"], "chain": []}))
    answered = set()
    for a in x.answers:
        who = a["who"]
        ev = told.get(partner if who == me else me)
        if who in speakers and ev is not None:
            out.append((who, {"type": "reply", "event": P.event_key(ev), "accept": a["accept"], "event_facts": ev}))
            answered.add(who)
    for line in conv.lines:  # a model's own "accept" field, when the words gave no answer
        for f in line.facts:
            if f.get("type") == "answer" and line.speaker not in answered:
                ev = told.get(partner if line.speaker == me else me)
                if ev is not None:
                    out.append((line.speaker, {"type": "reply", "event": P.event_key(ev), "accept": f["accept"],
                                               "event_facts": ev}))
                    answered.add(line.speaker)
    return out


def _heard_fact(f: dict) -> dict:
    """A fact as the ``heard`` event records it."""
    if f["type"] == "event":
        ev = f["event"]
        return {"kind": "event", "name": ev["name"], "host": ev.get("host"), "place": ev["place"],
                "start": ev["start"], "end": ev["end"]}
    return {"kind": "news", "name": f["text"], "text": f["text"], "chain": list(f.get("chain", []))}


async def remember(persona: Persona, obs: Observation, ctx: DecisionContext, conv: ConversationView,
                   plan: dict | None, words: Callable[[], Awaitable[Extracted]] | None = None) -> None:
    """Store the conversation in the agent's memory and note what was told; events the agent
    now goes to today become salient (see :class:`~smallville.cognition.agent.AgentPolicy`).

    What was told and answered: the lines' structured facts (the rules), or, given ``words``
    (a model's run), what ``extract_facts`` found in both sides' words."""
    me, partner = persona.name, conv.partner
    told = _told(ctx.state, partner)
    if words is not None:
        known = P.known_events(ctx.stream.nodes, me) if ctx.stream is not None else {}
        steps: list[tuple[Any, str, dict | None]] = [(line, line.speaker, None) for line in conv.lines]
        steps += [(None, s, f) for s, f in facts_from_words(await words(), conv, me, known)]
        heard_text = " ".join(l.text for l in conv.lines if l.speaker == partner)
    else:  # each line, then what it carries
        steps = [x for line in conv.lines for x in [(line, line.speaker, None)] + [(None, line.speaker, f)
                                                                                  for f in line.facts]]
        heard_text = ""
    line_of = {id(f): line.text for line in conv.lines for f in line.facts}
    new: list[tuple[str, str, dict | None]] = []  # (kind, description, facts)
    heard: list[tuple[int, dict, str]] = []  # (index in new, fact, the words it came in)
    topics: list[str] = []
    for line, speaker, f in steps:
        if line is not None:
            if speaker == partner:
                new.append(("chat", f"{partner} said to {me}: \"{line.text}\"", None))
            continue
        t = f.get("type")
        if t == "event":
            ev = f["event"]
            key = P.event_key(ev)
            if key not in told:
                told.append(key)
            topics.append(f"the {ev['name']}")
            if speaker == partner:
                heard.append((len(new), f, line_of.get(id(f), heard_text)))
                new.append(("chat", _event_memory(ev, me, partner), {"event": ev, "heard_from": partner}))
                ctx.state.learn_place(ev["place"])
        elif t == "news":
            key = news_key(f["text"])
            if key not in told:
                told.append(key)
            topics.append(f["text"] if len(f["text"]) <= 60 else f["text"][:57].rsplit(" ", 1)[0] + "…")
            if speaker == partner:
                chain = list(f.get("chain", [])) + [partner]
                heard.append((len(new), {**f, "chain": chain}, line_of.get(id(f), heard_text)))
                new.append(("chat", f["text"], {"news": f["text"], "heard_from": partner, "chain": chain}))
        elif t == "reply":
            ev = f["event_facts"]
            start = P.event_times(ev)[0]
            if speaker == me:
                intent = "attend" if f["accept"] else "decline"
                verb = "is going to" if f["accept"] else "has decided not to go to"
                new.append(("plan", f"{me} {verb} the {ev['name']} at {P.sector(ev['place'])} on "
                                    f"{long_date(start)} at {start:%H:%M}",
                            {"event": ev, "intent": intent}))
                if f["accept"] and plan is not None and start.date().isoformat() == plan["day"] \
                        and not any(b.get("event") == f["event"] for b in plan["blocks"]):
                    _salient(ctx.state, f["event"])
            else:
                will = "will come to" if f["accept"] else "will not come to"
                new.append(("chat", f"{partner} said they {will} the {ev['name']}", None))
    if conv.lines:
        about = f" about {', '.join(dict.fromkeys(topics))}" if topics else ""
        where = f"at {P.sector(conv.place)}" if conv.place else "outside"
        new.append(("chat", f"{me} talked with {partner} {where}{about}", None))
    nodes: list[Any] = []
    if ctx.stream is not None and new:
        # rated with the agent's next batch of waiting memories (importance.settle), not in a call of its own
        nodes = importance.add(persona, ctx, [importance.New(kind, desc, facts=facts) for kind, desc, facts in new])
    for i, f, text in heard:
        ctx.emit("heard", {"from": partner, "text": text, "memory_id": nodes[i].id if nodes else None,
                           "conversation": conv.id, "facts": [_heard_fact(f)]})
