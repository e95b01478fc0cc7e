"""The seam between the engine and cognition: observation in, action out.

The engine builds an :class:`Observation` for each agent that is free to decide, calls
its policy's ``decide`` and grounds the returned :class:`Action` on the map (the tile to
walk to, the path). Cognition never moves the clock or touches the world state.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol


@dataclass(frozen=True)
class Seen:
    """Another agent within the observer's vision radius."""

    name: str
    x: int
    y: int
    action: str
    distance: int


@dataclass(frozen=True)
class Observation:
    agent: str
    tick: int
    now: dt.datetime
    x: int
    y: int
    place: str  # address of the tile the agent stands on
    action: str  # the action that just ended ("" at the start)
    nearby: tuple[Seen, ...] = ()
    object_states: tuple[tuple[str, str], ...] = ()  # (object address, state) within vision


@dataclass(frozen=True)
class Action:
    description: str  # "having breakfast", shown as the label
    place: str  # arena address "Sector:arena"
    end: dt.datetime  # when the agent decides again
    emoji: str = ""
    object: str | None = None  # object name inside the arena
    object_state: str | None = None  # what the object is doing while used ("being slept in")
    utterance: str | None = None


@dataclass
class DecisionContext:
    """What a policy may use besides the observation: its own memory, a seeded RNG
    private to this decision, and ``decide`` — :meth:`Decider.decide` bound to this agent
    and tick — through which every cognitive decision is taken and counted."""

    memory: dict[str, Any]  # the agent's plain-data cognition state (persisted in checkpoints)
    rng: random.Random
    decide: Callable[..., Awaitable[Any]]


class Policy(Protocol):
    backend: str

    async def decide(self, obs: Observation, ctx: DecisionContext) -> Action: ...
