"""Respondents: a resident, and what an answerer may see of it under a condition.

The paper's baselines (Park et al. 2024) are conditions on what the answerer sees:

- ``interview`` — everything: the memory stream (for a persona made from an interview, the
  transcript's answers in the person's words and the expert reflections; for a resident of a run,
  every memory it holds at that moment), the persona paragraph and traits, the demographics;
- ``persona`` — the persona paragraph (``background``: for a persona from an interview, the summary
  ``summarize_interview`` wrote), its traits, and the demographics;
- ``demographic`` — the demographics only (age and occupation when a persona has none).

Each condition is a memory stream per respondent (:class:`Evidence`): the demographics as one
memory per attribute ("Ana Lopez's political ideology: liberal."), the persona paragraph as one
memory per sentence, the traits as one memory, and under ``interview`` the resident's own memories.

Counterfactuals (``transcripts``): ``remove`` takes away everything the interview gave (its
memories, the reflections, the summary and the traits read from it), leaving what the demographic
condition sees; ``shuffle`` gives each respondent the interview-made parts of another (a seeded
derangement), keeping its own demographics.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Sequence

from smallville.cognition.memory import MemoryNode, MemoryStreams
from smallville.world.config import Persona

CONDITIONS = ("interview", "persona", "demographic")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")


@dataclass
class Respondent:
    name: str
    key: str  # the person's id in reference data: the interview's ``person`` id, else the name
    persona: Persona
    memories: list[str] = field(default_factory=list)  # what it remembers (texts), oldest first
    importances: list[int] = field(default_factory=list)
    nodes: list[MemoryNode] | None = None  # a run's resident: its stream as of the moment surveyed
    removed: bool = False  # the counterfactual without its interview: only the demographics are seen

    @property
    def demographics(self) -> dict:
        d = dict(self.persona.demographics)
        d.setdefault("age", self.persona.age)
        return d

    @property
    def from_interview(self) -> bool:
        return self.persona.interview is not None


def of_persona(persona: Persona) -> Respondent:
    mems = persona.memories
    key = persona.interview.person if persona.interview and persona.interview.person else persona.name
    return Respondent(persona.name, str(key), persona, [m.text for m in mems], [m.importance or 5 for m in mems])


def demographic_texts(r: Respondent) -> list[str]:
    d = r.demographics
    if "occupation" not in d and not r.from_interview:
        d["occupation"] = r.persona.occupation
    return [f"{r.name}'s {str(k).replace('_', ' ')}: {v}." for k, v in d.items() if k not in ("id", "name")]


def persona_texts(r: Respondent) -> list[str]:
    p = r.persona
    out = [s for s in _SENT.split(p.background.strip()) if s]
    out.append(f"{r.name} is {', '.join(p.traits)}.")
    if not r.from_interview:
        out.append(f"{r.name} works as {p.occupation}.")
    return out


def evidence_texts(r: Respondent, condition: str) -> list[tuple[str, int]]:
    """(text, importance) of what the answerer sees of ``r`` under ``condition``."""
    if condition not in CONDITIONS:
        raise ValueError(condition)
    out = [(t, 5) for t in demographic_texts(r)]
    if r.removed:
        return out
    if condition in ("persona", "interview"):
        out += [(t, 6) for t in persona_texts(r)]
    if condition == "interview":
        out += list(zip(r.memories, r.importances))
    return out


def remove_interview(r: Respondent) -> Respondent:
    """``r`` without anything its interview gave: a demographic-only persona."""
    return Respondent(r.name, r.key, r.persona, [], [], None, removed=True)


def shuffle_interviews(rs: Sequence[Respondent], seed: int) -> list[Respondent]:
    """Each respondent gets another's interview-made parts (memories, summary, traits), names swapped
    to its own; a seeded derangement, so nobody keeps their own."""
    n = len(rs)
    if n < 2:
        return list(rs)
    rng = random.Random(int.from_bytes(hashlib.blake2b(f"shuffle:{seed}".encode(), digest_size=8).digest(), "little"))
    perm = list(range(n))
    rng.shuffle(perm)
    donor = {perm[i]: perm[(i + 1) % n] for i in range(n)}  # one cycle: nobody keeps their own
    out = []
    for i, r in enumerate(rs):
        d = rs[donor[i]]
        swap = (lambda t, a=d.name, b=r.name: t.replace(a, b))
        p = r.persona.model_copy(update={"background": swap(d.persona.background), "traits": list(d.persona.traits),
                                         "interview": d.persona.interview})
        out.append(Respondent(r.name, r.key, p, [swap(t) for t in d.memories], list(d.importances)))
    return out


def evidence_memory(rs: Sequence[Respondent], condition: str, cache, clock, retrieval=None) -> MemoryStreams:
    """One memory stream per respondent holding what ``condition`` lets the answerer see, embedded in
    one batch. A run's resident (``nodes``) keeps its stored stream under ``interview``, with the
    demographic and persona memories added after it."""
    mem = MemoryStreams(cache, clock, retrieval=retrieval, reflect=False, people=[r.name for r in rs])
    for r in rs:
        s = mem.stream(r.name)
        if condition == "interview" and r.nodes is not None:
            for n in r.nodes:
                s.append(MemoryNode(n.id, n.created, n.last_accessed, n.kind, n.description, n.importance,
                                    embedding=n.embedding or cache.key(n.description), facts=n.facts))
            texts = [(t, i) for t, i in evidence_texts(r, "persona")]
            tick = max((n.created for n in r.nodes), default=0)
        else:
            texts = evidence_texts(r, condition)
            tick = 0
        for t, imp in texts:
            mem.add(r.name, tick, "thought", t, imp)
    mem.flush()
    return mem
