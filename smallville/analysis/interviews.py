"""Awareness and ties by interview, the paper's method, judged from recorded answers.

Park et al. 2023 measured information diffusion and the relationship network by interviewing
every agent at the end of the run. ``analyze RUN --by-interview`` does the same: at each moment
asked (the last tick, and any ``--at``) every resident is asked

- about each tracked fact: the world's ``question`` for it, else "Have you heard that
  <meaning>?", else "Have you heard anything about the <name>?";
- about each event (:mod:`smallville.analysis.events`) it does not host: "Have you heard about
  the <name> at <place> on <day> at <HH:MM>?" (the host's name for it, its place and time, so a
  resident who calls it otherwise can still recognise it);
- about every other resident: "Do you know <name>?".

The asking is done at the command level (``smallville.measure``); this module plans the
questions and judges the answers, reading only the run store and the answers. An answer says
the resident **knows** when

- it drew on memories (the answer names the memory ids it used) and one of them holds the thing
  asked about — for a fact, a memory whose text has one of its keywords or whose structured
  facts name it, or (a fact stated only by ``meaning``) whose text is close in meaning (cosine
  of the run's embedder's vectors at least
  :data:`~smallville.analysis.source.MEANING_MIN_COSINE` for that embedder); for an event,
  a memory holding that event's facts (:func:`~smallville.analysis.events.event_facts`: having
  only seen it is not knowing of it); for a person, a memory naming them;
- or it drew on no memory, and its own words hold it (the same tests on the answer's text; for
  an event, one of the names residents gave it; for a person, their first name) and its first
  sentence is not a denial (:func:`denies`: "no", "I don't know…", "I haven't heard…",
  "not sure", "no idea").

So on the rules backend, whose answers name the memories they come from, awareness by interview
is never more than awareness by memory.

A network edge joins two residents when either says it knows the other (``density_either``),
or only when both do (``density_mutual``); the paper draws an edge when one knows the other.

Written by hand: the denial test is a short regular expression over the first sentence (no
library reads "no" from an answer; the interview verb's own reading of questions is the
interview room's), and a person is named by a whole-word match of the first name, as the rules
answers and the memories write it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable

import numpy as np

from smallville.analysis import diffusion, network
from smallville.analysis.events import event_facts, cluster, describe
from smallville.analysis.source import Fact, RunData
from smallville.world.clock import month

DEFINITION = ("an answer says the resident knows when a memory it drew on holds the fact, the event's facts or "
              "the person's name, or (drawing on none) its words name it without a denial; an edge joins two "
              "residents when either says it knows the other (both: the mutual density).")

_DENIAL = re.compile(
    r"^\s*(no\b|nope\b|not really\b)|\b(don't|do not|didn't|did not|haven't|have not|never|hadn't|can't|cannot)\b"
    r"[^.!?]*\b(know|knew|heard|hear|met|aware|recall|remember)\b|\bno idea\b|\bnot sure\b|\bnot aware\b"
    r"|\bnothing about\b", re.I)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", (text or "").strip(), maxsplit=1)[0]


def denies(text: str) -> bool:
    """Whether an answer's first sentence denies knowing ("No…", "I don't know…", "I haven't heard…")."""
    first = first_sentence(text)
    return not re.match(r"^\s*yes\b", first, re.I) and bool(_DENIAL.search(first))


def _event_when(start: str) -> str:
    t = dt.datetime.strptime(start, "%Y-%m-%d %H:%M")
    return f"{month(t)} {t.day} at {t:%H:%M}"


def plan(data: RunData, events: list[dict]) -> list[dict]:
    """The questions every resident is asked: ``{"about", "key", "question", "skip"}`` where
    ``skip`` is the resident not asked (an event's host, the person asked about)."""
    out = []
    for f in data.facts:
        out.append({"about": "fact", "key": f.name, "question": f.ask(), "skip": None})
    for ev in events:
        where = ev["place"].split(":")[0]
        out.append({"about": "event", "key": ev["key"], "skip": ev["host"],
                    "question": f"Have you heard about the {ev['name']} at {where} on {_event_when(ev['start'])}?"})
    for name in data.residents:
        out.append({"about": "person", "key": name, "question": f"Do you know {name}?", "skip": name})
    return out


class Judge:
    """Decides, from one recorded answer, whether the resident knows what it was asked about."""

    def __init__(self, data: RunData, events: list[dict], vectors: Callable[[list[str]], np.ndarray] | None = None):
        self.data = data
        self.facts = {f.name: f for f in data.facts}
        self.events = {ev["key"]: ev for ev in events}
        self.memory = {(m["agent"], m["id"]): m for m in data.memories}
        self.vectors = vectors
        self.least = data.least
        # memories holding each event's facts, by (agent, memory id): matched by the events' facts
        self.event_memories: dict[str, set[tuple[str, int]]] = {}
        groups = cluster(event_facts(data))
        for g in groups:
            d = describe(g)
            key = next((k for k, ev in self.events.items()
                        if ev["start"] == d["start_dt"].strftime("%Y-%m-%d %H:%M") and ev["place"] == d["place"]
                        and ev["name"] == d["name"]), None)
            if key is not None:
                self.event_memories[key] = {(f["agent"], f["id"]) for f in g if f.get("id") is not None}

    def _fact_in(self, fact: Fact, text: str | None, names: list[str] = ()) -> bool:
        """Keywords when the fact has any; else its meaning (see :meth:`Fact.matcher`)."""
        texts = [t for t in [text, *names] if t]
        matches = fact.matcher(texts, self.vectors, self.least)
        return any(matches(t) for t in texts)

    def knows(self, agent: str, q: dict, answer: dict) -> bool:
        drawn = [self.memory.get((agent, i)) for i in answer.get("memory_ids") or []]
        drawn = [m for m in drawn if m is not None]
        text = str(answer.get("answer") or "")
        if q["about"] == "fact":
            fact = self.facts[q["key"]]
            if drawn:
                return any(self._fact_in(fact, m["description"], diffusion._memory_names(m["facts"])) for m in drawn)
            return not denies(text) and self._fact_in(fact, text)
        if q["about"] == "event":
            ev = self.events[q["key"]]
            if drawn:
                held = self.event_memories.get(q["key"], set())
                return any((agent, m["id"]) in held for m in drawn)
            low = text.lower()
            return not denies(text) and any(n.lower() in low for n in ev["names"] or [ev["name"]])
        first = re.escape(q["key"].split()[0])
        if drawn:
            return any(re.search(rf"\b{first}\b", m["description"] or "") for m in drawn)
        return not denies(text) and bool(re.search(rf"\b{first}\b", text))


def summarize(data: RunData, result: dict, moments: list[dict], backend: str,
              vectors: Callable[[list[str]], np.ndarray] | None = None) -> dict:
    """``by_interview``: per moment (``{"tick", "answers": [{"agent", "about", "key", ...answer}]}``)
    who knows each fact and event, and the network both ways, beside the memory-based figures."""
    events = result.get("events") or []
    judge = Judge(data, events, vectors)
    questions = {(q["about"], q["key"]): q for q in plan(data, events)}
    out = []
    for mo in moments:
        tick = mo["tick"]
        known: dict[tuple[str, str], list[str]] = {}
        asked: dict[tuple[str, str], list[str]] = {}
        said_no: dict[tuple[str, str], list[str]] = {}
        judged = []
        for a in mo["answers"]:
            q = questions.get((a["about"], a["key"]))
            if q is None:
                continue
            yes = judge.knows(a["agent"], q, a)
            judged.append({**a, "knows": yes})
            asked.setdefault((a["about"], a["key"]), []).append(a["agent"])
            (known if yes else said_no).setdefault((a["about"], a["key"]), []).append(a["agent"])
        facts = {}
        for name, d in result["diffusion"].items():
            k = ("fact", name)
            by_memory = sorted(n["name"] for n in d["tree"] if n["tick"] <= tick)
            aware = sorted(known.get(k, []))
            facts[name] = {"question": questions[k]["question"] if k in questions else None,
                           "asked": len(asked.get(k, [])), "aware": aware, "count": len(aware),
                           "not_aware": sorted(said_no.get(k, [])), "by_memory": len(by_memory),
                           "aware_by_memory": by_memory}
        evs = []
        for ev in events:
            k = ("event", ev["key"])
            held = {m["agent"] for m in data.memories
                    if m["tick"] <= tick and (m["agent"], m["id"]) in judge.event_memories.get(ev["key"], set())}
            held.discard(ev["host"])
            aware = sorted(known.get(k, []))
            evs.append({"key": ev["key"], "name": ev["name"], "host": ev["host"],
                        "question": questions[k]["question"] if k in questions else None,
                        "asked": len(asked.get(k, [])), "aware": aware, "count": len(aware),
                        "not_aware": sorted(said_no.get(k, [])), "by_memory": len(held),
                        "aware_by_memory": sorted(held)})
        says: dict[str, set[str]] = {}
        for (about, key), names in known.items():
            if about == "person":
                for n in names:
                    says.setdefault(n, set()).add(key)
        either, mutual = set(), set()
        for a, knows in says.items():
            for b in knows:
                pair = tuple(sorted((a, b)))
                either.add(pair)
                if a in says.get(b, set()):
                    mutual.add(pair)
        n = len(data.residents)
        pairs = n * (n - 1) / 2 or 1
        out.append({"tick": tick, "time": data.stamp(tick), "facts": facts, "events": evs,
                    "network": {"edges_either": len(either), "edges_mutual": len(mutual),
                                "density_either": round(len(either) / pairs, 6),
                                "density_mutual": round(len(mutual) / pairs, 6),
                                "by_memory": network.density_at(data, tick),
                                "edges": sorted(list(p) for p in either)},
                    "answers": judged})
    return {"backend": backend, "definition": DEFINITION, "moments": out}
