"""The seam between the engine and cognition: observation in, action out.

The engine builds an :class:`Observation` for each agent that is free to decide, calls
its policy's ``decide`` and grounds the returned :class:`Action` on the map (the tile to
walk to, the path). Cognition never moves the clock or touches the world state.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from smallville.cognition.state import ResidentState


@dataclass(frozen=True)
class Seen:
    """Another agent within the observer's vision radius."""

    name: str
    x: int
    y: int
    action: str
    distance: int
    asleep: bool = False
    talking: bool = False  # in a conversation (with anyone)


@dataclass(frozen=True)
class SeenObject:
    """An object in use within the observer's vision radius."""

    address: str  # "Sector:arena:object"
    state: str  # "being slept in", "in use: cooking lunch"
    x: int
    y: int
    distance: int


@dataclass(frozen=True)
class Percept:
    """An event the agent newly notices this tick, as subject–predicate–object and a sentence."""

    subject: str
    predicate: str
    object: str
    description: str
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
    object_states: tuple[SeenObject, ...] = ()  # objects in use within vision, nearest first
    events: tuple[Percept, ...] = ()  # what perception records this tick (see cognition.perceive)


@dataclass(frozen=True)
class Action:
    description: str  # "having breakfast", shown as the label
    place: str  # arena address "Sector:arena"
    end: dt.datetime  # when the agent decides again
    emoji: str = ""
    object: str | None = None  # object name inside the arena
    object_state: str | None = None  # what the object is doing while used ("being slept in")
    utterance: str | None = None
    asleep: bool = False  # not to be approached for a conversation


@dataclass(frozen=True)
class Reaction:
    """What an agent does about what it perceives: ``continue`` (the current action),
    ``talk`` (to ``target``), ``wait`` or ``replan`` (both with a new ``action``)."""

    kind: str  # "continue" | "talk" | "wait" | "replan"
    target: str | None = None
    action: Action | None = None


@dataclass(frozen=True)
class Line:
    speaker: str
    text: str
    facts: tuple[dict, ...] = ()  # what the line tells, as structured facts (news, an invitation, a reply)


@dataclass(frozen=True)
class ConversationView:
    """A conversation as its next speaker sees it."""

    id: int
    partner: str
    initiator: str
    lines: tuple[Line, ...]
    started: dt.datetime
    place: str


@dataclass(frozen=True)
class Turn:
    """One utterance; ``end`` closes the conversation after it."""

    text: str
    end: bool = False
    facts: tuple[dict, ...] = ()


@dataclass
class Later:
    """Work a decision starts now whose outcome the resident takes at a later tick (see
    :meth:`DecisionContext.later`): ``work(ctx)`` takes the decision(s) and returns plain data —
    from ``ctx.decide`` and ``ctx.rng`` only, never the working state or the memory stream, so its
    inputs are fixed when it starts; ``apply(ctx, payload, value)`` takes the outcome into the
    resident's state at the tick the engine chose; ``by`` is when the outcome is needed."""

    kind: str  # "rating", "steps": names ``apply`` (see RulesPolicy.apply_later)
    payload: dict  # plain data that ``apply`` needs besides the value
    work: Callable[["DecisionContext"], Awaitable[Any]]
    apply: Callable[["DecisionContext", dict, Any], None]
    by: dt.datetime | None = None  # needed by then at the latest (None: whenever the engine chooses)


@dataclass
class DecisionContext:
    """What a policy may use besides the observation: the resident's working state, a seeded
    RNG private to this decision, and ``decide`` — :meth:`Decider.decide` bound to this agent
    and tick — through which every cognitive decision is taken and counted."""

    state: ResidentState  # the resident's working state (cognition.state; written into checkpoints)
    rng: random.Random
    decide: Callable[..., Awaitable[Any]]
    # the agent's memory stream at this tick (a cognition.memory.AgentMemory: add, retrieve,
    # recent); None when the run has no memory (``--ablate memory``)
    stream: Any = None
    events: list[dict] = field(default_factory=list)  # recorded by the engine after the call
    backend: str = "rules"  # the run's decision backend: what a listener learns from words depends on it
    # takes work that may finish at a later tick (see later); None: the work is done and applied at once
    defer: Callable[[Later, "DecisionContext"], None] | None = None

    async def later(self, kind: str, payload: dict, work: Callable[["DecisionContext"], Awaitable[Any]],
                    apply: Callable[["DecisionContext", dict, Any], None], by: dt.datetime | None = None) -> None:
        """Start ``work`` — a decision whose outcome is not needed now — and have ``apply`` take its
        outcome at a later tick that the engine fixes when it starts (never when the answer
        arrives; see docs/THROUGHPUT.md). The work gets a context of its own: this decision's
        ``decide`` and a private RNG seeded from this one's state (not advancing it). Without an engine (``defer`` None) the work
        is done and applied at once."""
        saved = self.rng.getstate()  # the work's RNG is read off this one without advancing it, so
        seed = self.rng.getrandbits(64)  # the rest of this decision draws what it would have drawn
        self.rng.setstate(saved)
        job = DecisionContext(state=self.state, rng=random.Random(f"{seed}:{kind}"), decide=self.decide,
                              backend=self.backend)
        item = Later(kind, payload, work, apply, by)
        if self.defer is None:
            value = await work(job)
            self.events += job.events
            apply(self, payload, value)
        else:
            self.defer(item, job)

    def emit(self, kind: str, data: dict) -> None:
        """Record an event of this agent (``plan``, ``place_fallback``…) in the run log."""
        self.events.append({"kind": kind, "data": data})


class Policy(Protocol):
    """What the engine calls, all of it declared (the engine never probes a policy with
    ``hasattr``). :class:`~smallville.cognition.rules.RulesPolicy` implements every method; a
    policy that never reacts returns None from ``react`` and False from ``may_react``, and then
    ``converse``/``end_conversation`` are never called."""

    backend: str

    async def decide(self, obs: Observation, ctx: DecisionContext) -> Action:
        """The next action of a resident whose action ended."""
        ...

    async def perceive(self, obs: Observation, ctx: DecisionContext) -> None:
        """Remember ``obs.events`` (called each tick for awake residents that noticed something
        new, before any resident decides; only when the run has memory)."""
        ...

    def may_react(self, state: ResidentState, now: dt.datetime, nearby: list[str]) -> bool:
        """A cheap gate (no decision, no observation): could :meth:`react` do anything now?"""
        ...

    def react_after(self, state: ResidentState, others: list[str]) -> list[dt.datetime | None]:
        """For each of ``others``, a time before which :meth:`may_react` is surely False with only
        them near (None: never), as long as the resident takes no ``react`` meanwhile: how long
        a resident surely goes on with what it does (the engine, stepping residents ahead)."""
        ...

    async def react(self, obs: Observation, ctx: DecisionContext) -> Reaction | None:
        """For a free, awake resident that sees another free, awake resident: talk, wait, replan."""
        ...

    async def converse(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> Turn:
        """The next line of a conversation, by its next speaker."""
        ...

    async def end_conversation(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> None:
        """Called once for each participant when a conversation is over (to remember it)."""
        ...

    async def hear(self, obs: Observation, ctx: DecisionContext, text: str, kind: str,
                   facts: list[dict] | None = None) -> None:
        """Words from outside the simulation (``kind`` "whisper": an inner voice; "interview": an
        interview it remembers), applied at a tick boundary; ``facts`` None: extract them from ``text``."""
        ...

    def apply_later(self, kind: str, payload: dict, value: Any, ctx: DecisionContext) -> None:
        """Take the outcome of work started at an earlier tick (:meth:`DecisionContext.later`) into
        the resident's state, at the tick the engine fixed for it."""
        ...
