"""World state as plain data: it can be written out whole (JSON) and read back.

The engine advances a :class:`WorldState`; cognition only ever sees observations
derived from it. Each resident's working state (its plan, what it told whom…) belongs to
cognition (:mod:`smallville.cognition.state`) and travels beside this in a checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AgentState:
    name: str
    x: int
    y: int
    action: str = ""
    emoji: str = ""
    target: str = ""  # address the current action takes place at
    object: str | None = None  # object (address) the action uses, if any
    object_state: str | None = None
    goal: tuple[int, int] | None = None  # tile the agent is walking to
    path: list[tuple[int, int]] = field(default_factory=list)
    action_start: int = 0  # tick
    action_end: int = 0  # tick at which the agent decides again
    utterance: str | None = None
    asleep: bool = False


AGENT_FIELDS = frozenset(f.name for f in dataclasses.fields(AgentState))


@dataclass
class WorldState:
    tick: int
    agents: list[AgentState]
    object_states: dict[str, str] = field(default_factory=dict)
    rng_state: Any = None
    digest: str = ""
    conversations: list[dict] = field(default_factory=list)  # the ones going on (engine/engine.py)
    talked: dict[str, int] = field(default_factory=dict)  # "A|B" -> tick their last conversation ended
    conversation_count: int = 0

    def agent(self, name: str) -> AgentState:
        for a in self.agents:
            if a.name == name:
                return a
        raise KeyError(name)

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict) -> "WorldState":
        agents = []
        for a in d["agents"]:
            a = dict(a)
            a["path"] = [tuple(p) for p in a.get("path", [])]
            a["goal"] = tuple(a["goal"]) if a.get("goal") else None
            extra = sorted(set(a) - AGENT_FIELDS)
            if extra:
                raise ValueError(f"unknown agent state key(s): {', '.join(extra)}")
            agents.append(AgentState(**a))
        rng = d.get("rng_state")
        return cls(tick=d["tick"], agents=agents, object_states=dict(d.get("object_states", {})),
                   rng_state=rng, digest=d.get("digest", ""), conversations=list(d.get("conversations", [])),
                   talked=dict(d.get("talked", {})), conversation_count=d.get("conversation_count", 0))

    @classmethod
    def from_json(cls, text: str) -> "WorldState":
        return cls.from_dict(json.loads(text))


def rng_to_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_from_state(state: list) -> random.Random:
    rng = random.Random()
    rng.setstate((state[0], tuple(state[1]), state[2]))
    return rng
