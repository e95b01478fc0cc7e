"""Reflection: higher-level thoughts drawn from an agent's memories.

The perceive step calls :func:`reflect` when the importance summed over the memories
recorded since the last reflection reaches the world's ``reflection.threshold`` (default
150). A reflection

1. asks decision ``reflect_questions`` for 3 salient questions about the 100 most recent
   memories (the rules; a model is shown those since the last reflection, see below);
2. retrieves the top memories for each question (recency · importance · relevance; the
   retrieved memories count as accessed now);
3. asks decision ``reflect_insights`` for up to 5 insights per question, each citing the ids
   of the retrieved memories it rests on — an id the decision was not shown is dropped, an
   insight without evidence is dropped;
4. stores each insight as a ``thought`` whose depth is 1 + the deepest of its evidence.

What a model is shown. The questions are asked about what has happened since the agent last
reflected (:func:`since_reflecting`, within the 100 most recent memories). The insights are asked
about the retrieved memories cut by relevance (:func:`~smallville.cognition.retrieve.relevant`;
at least :data:`MAX_EVIDENCE`, the most one insight may cite), not all ``top_k``. Both prompts
list (:func:`listed`) nothing rated purely mundane (importance 1: the agent's own routine seen
again, anyone sleeping; for the questions, which are about salient subjects, nothing below
:data:`SALIENT`), no object's state ("the desk … is in use: reading" restates an activity its
user is seen at), and a description said again once, at its latest.

The rules implementations read the 100 most recent memories and every memory retrieved, and
find regularities instead of asking a model. Questions: the resident the agent has seen most,
its own most frequent activity and the event it has heard about most often (the best of each,
then the next most frequent). Insights, from the retrieved memories: whom the agent keeps
meeting and what they are usually doing, what the agent keeps doing, which events it has heard
about (again) — the event's structured facts travel with the thought, so a rules planner can
act on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from smallville.cognition import importance
from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.interface import DecisionContext
from smallville.cognition.memory import MemoryNode
from smallville.cognition.retrieve import relevant
from smallville.world.config import TIME_FORMAT, Persona
from smallville.world.clock import long_date

QUESTIONS = 3
RECENT = 100
MAX_INSIGHTS = 5
MAX_EVIDENCE = 8
SALIENT = 3  # the questions are asked about memories this important or more (1-2: the scale's mundane end)
INSIGHT_TOKENS = 480  # answer length of reflect_insights: 5 insights of up to 200 characters with their ids


@dataclass(frozen=True)
class Question:
    text: str
    about: tuple[str, str] | None = None  # ("person" | "activity" | "event", name) for the rules insights


@dataclass(frozen=True)
class Insight:
    text: str
    evidence: tuple[int, ...]
    importance: int
    facts: dict | None = None


# ---------------------------------------------------------------- regularities


def _people_in(node: MemoryNode, agent: str, people: Sequence[str]) -> list[str]:
    if node.subject in people:
        return [node.subject] if node.subject != agent else []
    return [p for p in people if p != agent and p in node.description]


def regularities(agent: str, nodes: Sequence[MemoryNode], people: Sequence[str]) -> dict[str, Counter]:
    """Counts over ``nodes``: people seen or mentioned, the agent's own activities, events heard of."""
    seen: Counter = Counter()
    doing: Counter = Counter()
    events: Counter = Counter()
    for n in nodes:
        for p in _people_in(n, agent, people):
            seen[p] += 1
        if n.subject == agent and n.object and n.kind == "observation":
            doing[n.object] += 1
        ev = (n.facts or {}).get("event")
        if ev:
            events[ev["name"]] += 1
    return {"person": seen, "activity": doing, "event": events}


def rules_questions(agent: str, nodes: Sequence[MemoryNode], people: Sequence[str]) -> list[Question]:
    counts = regularities(agent, nodes, people)
    ranked = {k: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for k, c in counts.items()}
    chosen: list[tuple[str, str]] = [(k, ranked[k][0][0]) for k in ("person", "activity", "event") if ranked[k]]
    rest = sorted(((-n, k, name) for k in ranked for name, n in ranked[k][1:]))
    chosen += [(k, name) for _, k, name in rest]
    out = [Question(_phrase(agent, k, name), (k, name)) for k, name in chosen[:QUESTIONS]]
    return out or [Question(f"What has {agent} been doing lately?")]


def _phrase(agent: str, kind: str, name: str) -> str:
    if kind == "person":
        return f"What is the relationship between {agent} and {name}?"
    if kind == "activity":
        return f"Why does {agent} spend so much time {name}?"
    return f"What does {agent} know about the {name}?"


def _when(ev: dict) -> str:
    try:
        start = dt.datetime.strptime(ev["start"], TIME_FORMAT)
        end = dt.datetime.strptime(ev["end"], TIME_FORMAT)
    except (KeyError, ValueError):
        return ""
    return f" on {long_date(start)}, {start:%H:%M}–{end:%H:%M}"


def _cite(nodes: Sequence[MemoryNode]) -> tuple[tuple[int, ...], int]:
    """(ids of the most recent ``MAX_EVIDENCE`` of ``nodes``, the thought's importance: 1 + their mean)."""
    nodes = sorted(nodes, key=lambda n: -n.id)[:MAX_EVIDENCE]
    return tuple(sorted(n.id for n in nodes)), min(10, round(sum(n.importance for n in nodes) / len(nodes)) + 1)


def rules_insights(agent: str, question: Question, nodes: Sequence[MemoryNode], people: Sequence[str]
                   ) -> list[Insight]:
    """Insights from regularities among the retrieved ``nodes`` (cited by id)."""
    topics = [question.about] if question.about else None
    if topics is None or topics[0][0] not in ("person", "activity", "event"):
        counts = regularities(agent, nodes, people)
        topics = [(k, c.most_common(1)[0][0]) for k, c in counts.items() if c]
    out: list[Insight] = []
    for kind, name in topics:
        if kind == "person":
            about = [n for n in nodes if name in _people_in(n, agent, people)]
            if not about:
                continue
            ids, imp = _cite(about)
            text = f"{agent} keeps running into {name}" if len(about) >= 2 else f"{agent} has come across {name} lately"
            out.append(Insight(text, ids, imp))
            acts = Counter(n.object for n in about if n.subject == name and n.object)
            for act, c in acts.most_common(2):
                if c >= 2:
                    ids, imp = _cite([n for n in about if n.subject == name and n.object == act])
                    out.append(Insight(f"{name} is often {act}", ids, max(1, imp - 1)))
        elif kind == "activity":
            acts = Counter(n.object for n in nodes if n.subject == agent and n.kind == "observation" and n.object)
            for act, c in sorted(acts.items(), key=lambda kv: (kv[0] != name, -kv[1], kv[0]))[:2]:
                about = [n for n in nodes if n.subject == agent and n.object == act]
                ids, imp = _cite(about)
                text = (f"{agent} spends a lot of time {act}" if c >= 2 else f"{agent} has been {act} lately")
                out.append(Insight(text, ids, imp))
        elif kind == "event":
            about = [n for n in nodes if ((n.facts or {}).get("event") or {}).get("name") == name]
            if not about:
                continue
            ev = (about[-1].facts or {})["event"]
            place = str(ev.get("place", "")).split(":")[0]
            where = f" at {place}" if place else ""
            ids, imp = _cite(about)
            text = (f"{agent} keeps hearing about the {name}{where}{_when(ev)}" if len(about) >= 2
                    else f"{agent} knows about the {name}{where}{_when(ev)}")
            out.append(Insight(text, ids, imp, facts={"event": dict(ev)}))
    return out[:MAX_INSIGHTS]


# ---------------------------------------------------------------- the LLM side


def _persona_line(persona: Persona) -> str:
    return f"{persona.name}, {persona.age}, {persona.occupation} ({', '.join(persona.traits)})."


def listed(nodes: Sequence[MemoryNode], least: int = 2) -> list[MemoryNode]:
    """What a reflection prompt lists of ``nodes`` (in their order): those of importance
    ``least`` or more (1 is purely mundane on the rating scale), no object's state (its subject
    is an address), and each description once, at its latest. All of ``nodes`` when that leaves none."""
    keep = [n for n in nodes
            if n.importance >= least and not (n.kind == "observation" and n.subject and ":" in n.subject)]
    last: dict[str, int] = {}
    for n in keep:
        last[n.description] = max(n.id, last.get(n.description, -1))
    return [n for n in keep if last[n.description] == n.id] or list(nodes)


def since_reflecting(nodes: Sequence[MemoryNode]) -> list[MemoryNode]:
    """Those of ``nodes`` (in creation order) after the last reflection's thoughts among them —
    what has happened since the agent last reflected, whose importance called for this
    reflection; all of them when no reflection's thought is among them."""
    last = next((i for i in range(len(nodes) - 1, -1, -1) if nodes[i].kind == "thought" and nodes[i].evidence), -1)
    return list(nodes[last + 1:]) or list(nodes)


def _listing(nodes: Sequence[MemoryNode], time_of) -> str:
    from smallville.cognition.privacy import shown

    return "\n".join(f"[{n.id}] ({time_of(n.created)}) {shown(n)}" for n in nodes)


def parse_questions(value: Any) -> list[Question]:
    qs = value.get("questions") if isinstance(value, dict) else None
    if not isinstance(qs, list):
        raise InvalidAnswer(f"expected a list of questions, got {qs!r}")
    out = [Question(" ".join(q.split())) for q in qs if isinstance(q, str) and q.strip()]
    if not out:
        raise InvalidAnswer("no question")
    return out[:QUESTIONS]


def parse_insights(value: Any, shown: dict[int, MemoryNode]) -> list[Insight]:
    items = value.get("insights") if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise InvalidAnswer(f"expected a list of insights, got {items!r}")
    out, dropped = [], 0
    for it in items[:MAX_INSIGHTS]:
        if not isinstance(it, dict) or not isinstance(it.get("insight"), str) or not it["insight"].strip():
            dropped += 1
            continue
        ev = it.get("evidence")
        ids = sorted({int(i) for i in ev if isinstance(i, int) and not isinstance(i, bool) and int(i) in shown}) \
            if isinstance(ev, list) else []
        if not ids:
            dropped += 1
            continue
        imp = it.get("importance")
        if isinstance(imp, bool) or not isinstance(imp, (int, float)):
            imp = round(sum(shown[i].importance for i in ids) / len(ids)) + 1
        facts = next(((shown[i].facts or {}).get("event") for i in ids if (shown[i].facts or {}).get("event")), None)
        out.append(Insight(" ".join(it["insight"].split()), tuple(ids), int(max(1, min(10, round(imp)))),
                           {"event": facts} if facts else None))
    if not out and dropped:
        raise InvalidAnswer("no insight cites a memory it was shown")
    return out


# ---------------------------------------------------------------- reflecting


async def reflect(persona: Persona, ctx: DecisionContext) -> list[MemoryNode]:
    """Reflect now: questions, retrieval, insights; returns the new thought nodes."""
    mem = ctx.stream
    agent, people = persona.name, mem.people
    await importance.settle(persona, ctx, wait=True)  # what waits is rated first: questions and retrieval see rated memories
    recent = mem.recent(RECENT)
    if not recent:
        return []
    questions = await ctx.decide(
        "reflect_questions", rng=ctx.rng,
        variables={"name": agent, "persona": _persona_line(persona), "count": QUESTIONS,
                   "memories": _listing(listed(since_reflecting(recent), least=SALIENT), mem.time)},
        rules=lambda: rules_questions(agent, recent, people), parse=parse_questions)
    hits = mem.retrieve([q.text for q in questions])
    mem.stream.since_reflection = 0.0

    async def insights_for(q: Question, found) -> list[Insight]:
        nodes = [r.node for r in found]
        # cut by relevance (never below the most memories one insight may cite), then what is listed of them
        asked = listed(sorted((r.node for r in relevant(found, at_least=MAX_EVIDENCE)), key=lambda n: n.id))
        shown = {n.id: n for n in asked}
        return await ctx.decide(
            "reflect_insights", rng=ctx.rng,
            variables={"name": agent, "persona": _persona_line(persona), "question": q.text,
                       "max": MAX_INSIGHTS, "memories": _listing(asked, mem.time)},
            rules=lambda: rules_insights(agent, q, nodes, people), parse=lambda v: parse_insights(v, shown),
            max_tokens=INSIGHT_TOKENS)

    answers = await asyncio.gather(*(insights_for(q, found) for q, found in zip(questions, hits)))
    thoughts, said = [], set()
    stream = mem.stream
    for insight in (i for ans in answers for i in ans):
        if insight.text in said:
            continue
        said.add(insight.text)
        depth = 1 + max(stream.get(i).depth for i in insight.evidence)
        thoughts.append(mem.add("thought", insight.text, insight.importance, evidence=insight.evidence,
                                depth=depth, facts=insight.facts))
    return thoughts
