"""A resident's working state: what its cognition carries from one decision to the next.

Three things are easy to confuse, and are named apart everywhere:

- the **working state** (:class:`ResidentState`, ``ctx.state``): today's plan, the steps queued
  for the current block, what it has told whom, when it last reacted, which memories wait for
  their importance rating, the places it knows, what it perceived lately. Small, plain, typed;
  owned by cognition, carried by the engine, written whole into every checkpoint.
- the **memory stream** (``ctx.stream``, :mod:`~smallville.cognition.memory`): every memory
  node the resident ever made, with vectors, retrieved by recency, importance and relevance.
- the **run store** (:mod:`~smallville.store.runstore`): the SQLite log a run is recorded in.

Every field is JSON-ready data (str, int, None, lists and dicts of them), so
:meth:`ResidentState.to_dict` / :meth:`ResidentState.from_dict` round-trip exactly, and
:meth:`ResidentState.digest` is a stable blake2b over its canonical JSON.

The day plan and the step queue stay JSON-shaped dicts (documented as :class:`Plan`,
:class:`Block`, :class:`StepQueue`): their layout is what the planning prompts and the run
store's ``plan`` events use, and :mod:`~smallville.cognition.plan` works on them directly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

from smallville.errors import SmallvilleError

STATE_VERSION = 1  # of ResidentState.to_dict (and so of checkpoints: see engine.snapshot)


class Block(TypedDict, total=False):
    """One block of a day plan; times are minutes since the plan day's midnight."""

    id: str  # "<revision>.<index>"
    start: int
    end: int
    activity: str
    place: str  # arena address "Sector:arena"
    object: str | None  # object name inside the arena
    event: str | None  # key of the event this block attends or hosts


class Plan(TypedDict, total=False):
    """Today's plan (see :mod:`~smallville.cognition.plan`)."""

    day: str  # ISO date of the plan's day
    wake: int
    sleep: int
    revision: int  # 0 for the morning's plan, +1 per replan
    blocks: list[Block]


class Step(TypedDict):
    start: int
    end: int
    description: str


class StepQueue(TypedDict):
    """The decomposed steps of the current block, up to minute ``until``."""

    block: str  # Block id
    until: int
    steps: list[Step]


class AheadQueue(TypedDict):
    """The steps of the stretch of the plan after the current one (minutes ``start``–``until`` of
    block ``block`` of the plan of ``day``), decomposed before the resident gets there."""

    day: str
    block: str
    start: int
    until: int
    steps: list[Step]


@dataclass
class ReactMemo:
    """When the resident last took a ``react`` decision (minutes since 2000), and about whom."""

    last: int | None = None
    pairs: dict[str, int] = field(default_factory=dict)  # other resident -> minute


@dataclass
class Unrated:
    """Memories waiting for their importance rating (see :mod:`~smallville.cognition.importance`)."""

    ids: list[int] = field(default_factory=list)  # node ids, oldest first
    since: int | None = None  # tick the oldest waiting memory arrived
    rated: int | None = None  # tick of the resident's last rating


@dataclass
class ResidentState:
    """One resident's working state (see the module doc). Every field is documented."""

    plan: Plan | None = None  # today's plan, or None before the first plan
    queue: StepQueue | None = None  # decomposed steps of the current block
    ahead: AheadQueue | None = None  # the steps of the plan's next stretch, decomposed ahead
    # the day's plan made in the night, before waking: {"day", "plan" (None while being made), "steps"}
    next_plan: dict | None = None
    salient: list[str] = field(default_factory=list)  # event keys heard of, to consider replanning for
    told: dict[str, list[str]] = field(default_factory=dict)  # partner -> keys of news told to them
    react: ReactMemo = field(default_factory=ReactMemo)
    unrated: Unrated = field(default_factory=Unrated)
    known_places: list[str] = field(default_factory=list)  # arena addresses seen or heard of (sorted)
    perceived: dict[str, int] = field(default_factory=dict)  # event description -> tick last attended
    routine_day: str | None = None  # ISO date the routine offset was drawn for
    routine_offset: int = 0  # minutes the routine is shifted that day

    # ------------------------------------------------------------------ spatial memory
    def learn_place(self, address: str) -> bool:
        """Add an arena address to the known places (kept sorted); whether it was new."""
        if address in self.known_places:
            return False
        self.known_places.append(address)
        self.known_places.sort()
        return True

    # ------------------------------------------------------------------ serialisation
    def to_dict(self, copy: bool = True) -> dict[str, Any]:
        """The state as plain data; with ``copy=False`` the plans and the queues are the state's own
        (not copied), for writing it out at once — the same JSON, without the deep copy."""
        plan, queue, ahead, next_plan = ((_copy(self.plan), _copy(self.queue), _copy(self.ahead), _copy(self.next_plan))
                                         if copy else (self.plan, self.queue, self.ahead, self.next_plan))
        return {
            "version": STATE_VERSION,
            "plan": plan, "queue": queue, "ahead": ahead, "next_plan": next_plan,
            "salient": list(self.salient),
            "told": {k: list(v) for k, v in self.told.items()},
            "react": {"last": self.react.last, "pairs": dict(self.react.pairs)},
            "unrated": {"ids": list(self.unrated.ids), "since": self.unrated.since, "rated": self.unrated.rated},
            "known_places": list(self.known_places), "perceived": dict(self.perceived),
            "routine_day": self.routine_day, "routine_offset": self.routine_offset,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ResidentState":
        if not isinstance(d, dict):
            raise StateError(f"a resident's state must be an object, got {type(d).__name__}")
        version = d.get("version")
        if version != STATE_VERSION:
            raise StateError(f"resident state version {version!r} is not {STATE_VERSION} (written by another "
                             f"version of smallville)")
        known = {f.name for f in fields(cls)} | {"version"}
        extra = sorted(set(d) - known)
        if extra:
            raise StateError(f"unknown key(s) in a resident's state: {', '.join(extra)}")
        try:
            react, unrated = d.get("react") or {}, d.get("unrated") or {}
            return cls(plan=_copy(d.get("plan")), queue=_copy(d.get("queue")), ahead=_copy(d.get("ahead")),
                       next_plan=_copy(d.get("next_plan")),
                       salient=list(d.get("salient", [])),
                       told={str(k): list(v) for k, v in (d.get("told") or {}).items()},
                       react=ReactMemo(react.get("last"), dict(react.get("pairs", {}))),
                       unrated=Unrated(list(unrated.get("ids", [])), unrated.get("since"), unrated.get("rated")),
                       known_places=list(d.get("known_places", [])), perceived=dict(d.get("perceived", {})),
                       routine_day=d.get("routine_day"), routine_offset=int(d.get("routine_offset", 0)))
        except (AttributeError, TypeError, ValueError) as e:
            raise StateError(f"malformed resident state ({e})") from None

    def digest(self) -> bytes:
        """blake2b (16 bytes) of the canonical JSON of :meth:`to_dict`."""
        return hashlib.blake2b(canonical(self.to_dict()), digest_size=16).digest()


class StateError(SmallvilleError):
    """A stored working state that cannot be read back (unknown version, malformed)."""


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, tuples as lists, scalars)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value
