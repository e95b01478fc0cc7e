"""The tick loop. The engine owns the clock and the residents' seeded random streams.

Each tick: commands from outside → perceive → conversations → reactions → decide (agents whose
action ended, concurrently, bounded) → ground actions on the map → move each walking agent one
tile → take the outcomes of work for later due → record.

Stepping (docs/THROUGHPUT.md): lock-step, the whole town tick by tick (:meth:`Engine.step`), or
residents stepping ahead of the town in groups while no one else could affect them
(:meth:`Engine._run_ahead`); every read of others is within the vision radius, so the run is the
same either way. Each resident draws from random streams of its own (:meth:`Engine._rng`).

The engine carries the world state (:class:`~smallville.world.state.WorldState`) and each
resident's working state (:class:`~smallville.cognition.state.ResidentState`); it talks to
cognition only through the declared :class:`~smallville.cognition.interface.Policy`.

Sight: a resident sees what lies within the vision radius and in line of sight on the
collision layer (:mod:`smallville.world.sight`) — perception, the residents it may react to
or start a conversation with, and the arenas it learns. Attention is bounded at the query: of
the residents in sight it attends to the nearest :attr:`Engine.attention` (the world's
``attention_bandwidth``; :meth:`Engine.observe`), so its cost does not grow with a crowd.
Seats: an object holds ``capacity`` residents at once, each on a tile of its own
(:meth:`TileMap.seats`); a resident sees the seats taken around it, and takes another one a
step before a seat it finds held (:meth:`Engine._reseat`).

Work for later (docs/THROUGHPUT.md): a decision whose outcome is not needed at once (an
importance rating; the steps of the next stretch of a plan) is started during a tick through
:meth:`DecisionContext.later` and runs in the background; the engine fixes, when it starts, the
tick its outcome is taken at (``LATER_SECONDS`` later at most, before it is needed, and at the
latest at the next hourly barrier, where nothing is under way) and waits there only if the answer
is not in yet. So answers overlap across ticks, and the run never depends on when they arrive.

The digest (:meth:`Engine._record_tick`) chains, tick after tick, a blake2b over the whole
simulation state: see README "Run store" for exactly what it covers.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import datetime as dt
import hashlib
import itertools
import json
import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from smallville.cognition.decisions import Decider
from smallville.cognition.interface import (Action, ConversationView, DecisionContext, Later, Line, Observation,
                                           Policy, Seen, SeenObject)
from smallville.cognition.perceive import attend_again, attend_seen, awake
from smallville.cognition.state import ResidentState, StateError
from smallville.errors import RunStoreError
from smallville.llm.protocol import BACKGROUND
from smallville.world.clock import Clock
from smallville.world.pathfinding import Pathfinder
from smallville.world.sight import Sight
from smallville.world.spatial import SpatialIndex
from smallville.world.state import AgentState, WorldState
from smallville.world.world import World

CHECKPOINT_VERSION = 4  # of Snapshot.to_dict; 1 was the untyped state before ResidentState, 2 had no work for later,
# 3 had the run's one random sequence
LATER_SECONDS = 600  # game time from the start of work for later to its outcome, at most
BARRIER_SECONDS = 3600  # at every multiple of this game time nothing is under way (the runner checkpoints there)
LEAD_SECONDS = 900  # stepping ahead, no resident goes further than this past the last tick recorded
# decisions taken by work for later are recorded with its outcome, not at the tick they happened to finish
_LATER_DECISIONS: contextvars.ContextVar[list | None] = contextvars.ContextVar("later_decisions", default=None)


@dataclass
class TickRecord:
    """Everything that happened in one tick, as plain data for the run store."""

    tick: int
    time: dt.datetime
    digest: str
    agents: list[dict]  # rows of agents whose visible state changed
    events: list[dict] = field(default_factory=list)  # {agent, kind, data}
    object_changes: list[tuple[str, str | None]] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)  # {agent, name, backend, fallback}
    memory: Any = None  # cognition.memory.MemoryDelta: new memories, accesses and vectors of the tick
    interventions: list[dict] = field(default_factory=list)  # commands applied at this tick (see Engine.schedule)


# conversation mechanics (ticks are 10 game seconds in the shipped worlds; these are game times)
LINE_SECONDS = 30  # how long an utterance stays up before the other speaks
MAX_LINES = 10  # a conversation ends after this many lines at the latest
APPROACH_SECONDS = 600  # give up meeting after this long
PAIR_COOLDOWN_SECONDS = 8 * 3600  # two agents talk again only after this long


@dataclass
class Job:
    """Work for later under way (:meth:`DecisionContext.later`): its outcome ``value`` is taken at
    tick ``due`` by the policy's ``apply_later``; jobs due at one tick are taken in ``seq`` order."""

    agent: str
    kind: str
    payload: dict
    due: int
    seq: list  # [the tick it started at, the label of the context that started it, its rank among that call's work]
    decisions: list[dict] = field(default_factory=list)  # the decisions it took, recorded at ``due``
    events: list[dict] = field(default_factory=list)  # events its work emitted, recorded at ``due``
    task: Any = None  # the asyncio task doing the work (None once restored from a checkpoint)
    value: Any = None  # the outcome, once the task is done

    def result(self) -> Any:
        return self.value if self.task is None else self.task.result()

    def to_dict(self) -> dict:
        return {"agent": self.agent, "kind": self.kind, "payload": self.payload, "due": self.due, "seq": self.seq,
                "decisions": self.decisions, "events": self.events, "value": self.result()}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(str(d["agent"]), str(d["kind"]), dict(d["payload"]), int(d["due"]), list(d["seq"]),
                   list(d.get("decisions", [])), list(d.get("events", [])), None, d.get("value"))


def pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


class Recorder(Protocol):
    def record(self, rec: TickRecord) -> None: ...


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Snapshot:
    """The whole simulation state at a tick boundary: the world, every resident's working
    state, and (added by the runner) what of the memory streams the stored rows cannot give
    back. Written as a checkpoint; ``version`` is checked when read."""

    world: WorldState
    residents: dict[str, ResidentState]
    memory: dict | None = None
    later: dict | None = None  # work for later under way: {"seq": next seq, "jobs": [Job.to_dict()]}

    def to_dict(self) -> dict:
        return {"version": CHECKPOINT_VERSION, "world": self.world.to_dict(),
                "residents": {n: s.to_dict() for n, s in self.residents.items()}, "memory": self.memory,
                "later": self.later}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, where: str = "checkpoint") -> "Snapshot":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise RunStoreError(f"{where}: malformed JSON ({e.msg})") from None
        version = d.get("version") if isinstance(d, dict) else None
        if version not in (2, 3, CHECKPOINT_VERSION):  # a version 2 checkpoint has no work for later
            raise RunStoreError(f"{where}: checkpoint version {version!r} is not {CHECKPOINT_VERSION}; it was "
                                f"written by another version of smallville (run it with that version)")
        try:
            world = WorldState.from_dict(d["world"])
            residents = {str(n): ResidentState.from_dict(s) for n, s in d["residents"].items()}
        except StateError as e:
            raise RunStoreError(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise RunStoreError(f"{where}: malformed checkpoint ({e})") from None
        later = d.get("later")
        if later is not None:
            try:
                [Job.from_dict(j) for j in later["jobs"]], int(later["seq"])
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise RunStoreError(f"{where}: malformed work for later ({e})") from None
        return cls(world, residents, d.get("memory"), later)


def visible_row(a: AgentState, place: str) -> dict:
    return {"name": a.name, "x": a.x, "y": a.y, "action": a.action, "emoji": a.emoji,
            "place": place, "target": a.target, "utterance": a.utterance}


@dataclass
class _Step:
    """Residents advancing one tick together: everyone (lock-step), or a group stepping ahead of
    the town (see :meth:`Engine._run_ahead`). What a step reads of others, it reads of these."""

    tick: int
    now: dt.datetime
    agents: list[AgentState]  # in the agents' order
    names: set[str] | None  # None: everyone (lock-step)
    users: dict = field(default_factory=dict)  # see Engine._objects_by_user
    events: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    applied: list[dict] = field(default_factory=list)


@dataclass
class _Pending:
    """A tick some residents have passed and others not yet: their parts of its record."""

    frames: dict[str, tuple] = field(default_factory=dict)  # name -> Engine._frame
    events: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    applied: list[dict] = field(default_factory=list)


# the decisions of a step (a contextvar: groups stepping ahead run concurrently)
_STEP_DECISIONS: contextvars.ContextVar[list | None] = contextvars.ContextVar("step_decisions", default=None)
STEPPINGS = ("auto", "lockstep", "ahead")


def _record_decision(**d: Any) -> None:
    """A decision goes into the record of the work for later or the step that took it (one taken
    outside both belongs to no tick)."""
    into = _LATER_DECISIONS.get()
    if into is None:
        into = _STEP_DECISIONS.get()
    if into is not None:
        into.append(d)



class Engine:
    def __init__(self, world: World, policy: Policy, seed: int, recorder: Recorder | None = None,
                 concurrency: int = 16, snapshot: Snapshot | None = None, decider: Decider | None = None,
                 memory: Any = None, stepping: str = "auto"):
        if stepping not in STEPPINGS:
            raise ValueError(f"stepping {stepping!r} is not one of {', '.join(STEPPINGS)}")
        self.world = world
        self.map = world.map
        self.policy = policy
        self.seed = seed  # every resident's random stream derives from it (see _rng)
        self.stepping = stepping
        self.use_decider(decider or Decider())
        self.clock = Clock(world.config.start, world.config.tick_seconds)
        self.recorder = recorder
        self.concurrency = concurrency
        self.pathfinder = Pathfinder(self.map.walkable)
        self.sight = _sight(self.map, world.config.perception.vision_radius)
        self.memory = memory  # cognition.memory.MemoryStreams of every agent, or None (``--ablate memory``)
        # residents attended to (observe, react): the nearest this many in sight; None: everyone in sight
        self.attention: int | None = world.config.perception.attention_bandwidth
        self.in_tick = False  # True while a step is under way (or residents stand at different ticks)
        self._near = SpatialIndex(self.map.width, self.map.height, cell=max(1, self.sight.radius))
        self._cell_content: dict[tuple[int, int], tuple] = {}  # see _cells
        self._seen_cache: dict[str, tuple] = {}  # resident -> ((x, y, action), cells around, observation)
        self._places: dict[str, tuple[int, int, str]] = {}  # see _place
        self.seen_reused = 0  # observations reused by perception (for tests and profiles)
        self.attended_again = 0  # of those, attended to without building their events (attend_again)
        self.attended_same = 0  # observations made again, equal to the last tick's: attended to as those
        self.groups_stepped = 0  # steps of groups ahead of the town (stepping "ahead"; for tests and profiles)
        self._index_stale = True
        # commands from outside the simulation (a whisper, an interview to remember), by the tick whose
        # step applies them first thing: {agent, kind, text, facts, source}; see apply_commands
        self.schedule: dict[int, list[dict]] = {}
        self._commands = 0  # commands scheduled so far (their order in a tick's record)
        self.barrier = max(1, self.clock.ticks_in(BARRIER_SECONDS))
        self._jobs: list[Job] = []  # work for later under way, in start order
        self._counts: dict[str, list[int]] = {}  # name -> [tick, contexts made, draws made] (see _count)
        if snapshot is not None and snapshot.later:
            self._jobs = [Job.from_dict(j) for j in snapshot.later["jobs"]]
        if snapshot is None:
            state = WorldState(tick=0, agents=[AgentState(r.persona.name, *r.start) for r in world.residents])
            # each resident's working state; spatial memory starts with the places its persona names
            self.residents = {r.persona.name: ResidentState(known_places=sorted(
                {self.map.arenas[self.map.arena_index(p)].address for _, p in r.persona.known_places()}))
                for r in world.residents}
            state.digest = hashlib.blake2b(canonical(["smallville-run", seed]), digest_size=32).hexdigest()
            self.state = state
            self._init_digests()
            self._last_rows: dict[str, dict] = {}
            self._capture(_Step(0, self.clock.time_at(0), state.agents, None))
            self._record_tick(0)
        else:
            state = snapshot.world
            names = [a.name for a in state.agents]
            if sorted(snapshot.residents) != sorted(names):
                raise RunStoreError("checkpoint: its residents' working states do not match its agents")
            self.state = state
            self.residents = dict(snapshot.residents)
            self._init_digests()
            self._last_rows = {a.name: visible_row(a, self._place(a)) for a in state.agents}

    def use_decider(self, decider: Decider) -> None:
        """Take decisions through ``decider`` from now on (a branch changes backends at its point)."""
        self.decider = decider
        decider.set_recorder(_record_decision)

    @property
    def ahead(self) -> bool:
        """Whether :meth:`run` lets residents step ahead of the town (see :meth:`_run_ahead`):
        ``stepping`` "ahead", or "auto" with a model that takes time to answer (not the rules, not a
        replay, where nothing waits and lock-step is the fastest)."""
        return self.stepping == "ahead" or (self.stepping == "auto" and self.decider.backend not in ("rules", "replay"))

    # ------------------------------------------------------------------ queries
    @property
    def state(self) -> WorldState:
        return self._state

    @state.setter
    def state(self, state: WorldState) -> None:
        self._state = state
        self._agents = {a.name: a for a in state.agents}  # by name (the list's order is the agents' order)
        self._order = {a.name: i for i, a in enumerate(state.agents)}
        self._at = {a.name: state.tick for a in state.agents}  # the last tick each resident has passed
        self._pending: dict[int, _Pending] = {}
        self._index_stale = True

    @property
    def vision(self) -> int:
        """The vision radius (tiles, Manhattan); setting it recomputes the line of sight."""
        return self.sight.radius

    @vision.setter
    def vision(self, radius: int) -> None:
        self.sight = _sight(self.map, radius)
        self._cell_content, self._seen_cache = {}, {}  # cells are of the radius's size

    @property
    def now(self) -> dt.datetime:
        return self.clock.time_at(self.state.tick)

    @property
    def ticks(self) -> dict[str, int]:
        """The last tick each resident has passed (all equal to ``state.tick`` between steps in
        lock-step; stepping ahead, some may be further on than the tick recorded last)."""
        return dict(self._at)

    def _place(self, a: AgentState) -> str:
        p = self._places.get(a.name)  # name -> (x, y, address): most residents stand still in a tick
        if p is None or p[0] != a.x or p[1] != a.y:
            p = self._places[a.name] = (a.x, a.y, self.map.address_at(a.x, a.y))
        return p[2]

    def _rng(self, name: str, tick: int, label: str) -> random.Random:
        """A resident's random stream: draws keyed by the run's seed, the resident, the tick and
        what draws (a context, a seat…) — never by the order residents ran in, so a resident's
        draws are the same in lock-step and stepping ahead of others."""
        h = hashlib.blake2b(f"{self.seed}:{name}:{tick}:{label}".encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(h, "little"))

    def _count(self, name: str, tick: int, which: int) -> int:
        """The number of the resident's next context (``which`` 1) or draw (2) in ``tick``."""
        c = self._counts.get(name)
        if c is None or c[0] != tick:
            c = self._counts[name] = [tick, 0, 0]
        n = c[which]
        c[which] += 1
        return n

    def observe(self, a: AgentState, tick: int, now: dt.datetime) -> Observation:
        """What ``a`` sees: the nearest :attr:`attention` residents within the vision radius and in
        line of sight, nearest first (ties by name), and the objects in use by ``a`` and by them
        (an object in use is on its user's tile), nearest first (ties by address, then the users'
        order). Who is near comes from the spatial index (:mod:`smallville.world.spatial`), which
        stops at the nearest ``attention``, so the cost follows neither the size of the town nor
        the crowd around ``a``. Where fewer than ``attention`` are in sight, that is everyone in
        sight and every object in use in sight."""
        return self._observe(a, self._lockstep(tick, now))

    def _lockstep(self, tick: int, now: dt.datetime | None = None) -> _Step:
        """A step of everyone at ``tick`` (for a query outside a step)."""
        return _Step(tick, now or self.clock.time_at(tick), self.state.agents, None,
                     users=self._objects_by_user(self.state.agents))

    def _observe(self, a: AgentState, s: _Step) -> Observation:
        talking = self._talking
        agents = self._agents
        users = s.users
        found = []
        own = users.get(a.name)
        if own is not None:
            found.append((0,) + own)
        nearby = []
        for d, name in self._nearest(a, s):
            b = agents[name]
            nearby.append(Seen(b.name, b.x, b.y, b.action, d, asleep=b.asleep, talking=b.name in talking))
            used = users.get(name)
            if used is not None:
                found.append((d,) + used)
        found.sort()  # (distance, address) and, as before, the users' order for the same address
        seen = [SeenObject(addr, state, x, y, d) for d, addr, _, state, x, y in found]
        return Observation(a.name, s.tick, s.now, a.x, a.y, self.map.address_at(a.x, a.y), a.action, tuple(nearby),
                           tuple(seen))

    def _nearest(self, a: AgentState, s: _Step) -> list[tuple[int, str]]:
        """(distance, name) of the nearest :attr:`attention` residents ``a`` sees, nearest first,
        ties by name: from the spatial index in lock-step, from the step's group stepping ahead
        (everyone ``a`` could see is in it; the others stand at other ticks)."""
        k = self.attention if self.attention is not None else len(self._agents)
        r = self.sight.radius
        if s.names is None:
            k_of = self.sight.offset_k
            vis, ax, ay = self.sight.row(a.x, a.y), a.x - r, a.y - r  # vis[k_of[dy + r][dx + r]]: can_see
            return [(d, n) for d, n in self._index().nearest(a.x, a.y, r, k + 1,
                                                             lambda x, y: vis[k_of[y - ay][x - ax]],
                                                             self.sight.in_view(a.x, a.y)) if n != a.name][:k]
        out = []
        see = self.sight.can_see
        for b in s.agents:
            if b is not a:
                d = abs(b.x - a.x) + abs(b.y - a.y)
                if d <= r and see(a.x, a.y, b.x, b.y):
                    out.append((d, b.name))
        out.sort()
        return out[:k]

    def _attended(self, a: AgentState, s: _Step) -> list[str]:
        """The names of the residents ``a`` attends to (:meth:`observe`'s ``nearby``: the nearest
        :attr:`attention` in sight). Positions do not change between perception and the step
        phase, so what perception observed at this tick is still the answer."""
        if s.names is None:
            hit = self._seen_cache.get(a.name)
            if hit is not None and hit[3] == s.tick:
                return [x.name for x in hit[2].nearby]
        return [n for _, n in self._nearest(a, s)]

    def _index(self) -> SpatialIndex:
        """The spatial index of residents' tiles, up to date. During a tick positions change
        only in the step phase, which marks the index stale; outside a tick (a caller that moved
        residents by hand) it is brought up to date on every call."""
        idx = self._near
        if self._index_stale or not self.in_tick:
            for a in self.state.agents:
                idx.move(a.name, a.x, a.y)
            self._index_stale = False
        return idx

    def _objects_by_user(self, agents: list[AgentState]) -> dict[str, tuple[str, int, str, int, int]]:
        """user -> (address, the user's place in the agents' order, state, x, y) of each object in
        use: on the tile of the agent using it, in the state its user gives it."""
        order = self._order
        return {a.name: (a.object, order[a.name], a.object_state, a.x, a.y) for a in agents
                if a.object and a.object_state and not a.path and a.goal == (a.x, a.y)}

    def _cells(self) -> dict[tuple[int, int], tuple]:
        """What an observer could see in each cell of the vision radius's grid: the residents there
        (name, tile, action, asleep, talking) and the objects in use (the user's place in the
        agents' order, address, state, tile). A cell whose content is equal to last tick's is the
        very same object as last tick (so observers compare cells by identity)."""
        r = max(1, self.sight.radius)
        talking = self._talking
        st = self.state
        content: dict[tuple[int, int], list] = {}
        for i, a in enumerate(st.agents):
            key = (a.x // r, a.y // r)
            item = (a.name, a.x, a.y, a.action, a.asleep, a.name in talking)
            if a.object and a.object_state and not a.path and a.goal == (a.x, a.y):
                item += (i, a.object, a.object_state)
            content.setdefault(key, []).append(item)
        old = self._cell_content
        cells = {}
        for key, items in content.items():
            t = tuple(items)
            prev = old.get(key)
            cells[key] = prev if prev == t else t
        self._cell_content = cells
        return cells

    async def _perceive(self, s: _Step) -> None:
        """Perception phase: each awake agent notices what is new within its vision
        (:func:`~smallville.cognition.perceive.attend`) and its policy remembers it. Its context's
        random stream has a label of its own, so the rest of the tick gets the same draws whether
        memory is on or off (``--ablate memory``)."""
        if self.memory is None:
            return
        tick, now = s.tick, s.now
        settings, seconds = self.world.config.perception, self.clock.tick_seconds
        todo = []
        cells = None  # made when the first awake resident needs them (nobody perceives at night)
        r = max(1, self.sight.radius)
        cache = self._seen_cache
        lockstep = s.names is None
        for a in s.agents:
            if not a.asleep and awake(a.action):
                recent = self.residents[a.name].perceived
                self._perceived_dirty.add(a.name)
                if not lockstep:  # a group ahead: the cells around hold residents at other ticks
                    cache.pop(a.name, None)
                    obs = self._observe(a, s)
                    new, _ = attend_seen(obs, recent, settings, seconds)
                    if new:
                        todo.append((a, replace(obs, events=tuple(new))))
                    continue
                # what it can see comes from the cells around it: unchanged cells (the same objects),
                # the same tile and action => the same observation as last time, but for its time
                if cells is None:
                    cells = self._cells()
                cx0, cy0 = (a.x - r) // r, (a.y - r) // r
                around = tuple(cells.get((cx, cy)) for cy in range(cy0, cy0 + 3) for cx in range(cx0, cx0 + 3))
                hit = cache.get(a.name)
                if hit is not None and hit[0] == (a.x, a.y, a.action) and all(
                        x is y for x, y in zip(hit[1], around)):
                    self.seen_reused += 1
                    # attended to last tick, the same events are all still retained: nothing new
                    if hit[3] == tick - 1 and hit[4] is recent and attend_again(recent, hit[5], tick, settings,
                                                                                seconds):
                        cache[a.name] = hit[:3] + (tick, recent, hit[5])
                        self.attended_again += 1
                        continue
                    obs = replace(hit[2], tick=tick, now=now)
                else:
                    obs = self._observe(a, s)
                    # the cells around changed, but not what it attends to (in a crowd, someone
                    # else moved): the same events as it attended to last tick, nothing new
                    if hit is not None and hit[3] == tick - 1 and hit[4] is recent and hit[0] == (a.x, a.y, a.action) \
                            and obs.nearby == hit[2].nearby and obs.object_states == hit[2].object_states \
                            and attend_again(recent, hit[5], tick, settings, seconds):
                        cache[a.name] = (hit[0], around, obs, tick, recent, hit[5])
                        self.attended_same += 1
                        continue
                new, seen = attend_seen(obs, recent, settings, seconds)
                cache[a.name] = ((a.x, a.y, a.action), around, obs, tick, recent, seen)
                if new:
                    todo.append((a, replace(obs, events=tuple(new))))
        if not todo:
            return
        sem = asyncio.Semaphore(self.concurrency)
        ctxs = [self._context(a, s, "p") for a, _ in todo]

        async def one(obs: Observation, ctx: DecisionContext) -> None:
            async with sem:
                await self.policy.perceive(obs, ctx)

        await asyncio.gather(*(one(obs, ctx) for (_, obs), ctx in zip(todo, ctxs)))
        for (a, _), ctx in zip(todo, ctxs):
            s.events += [{"agent": a.name, **e} for e in ctx.events]

    @property
    def _talking(self) -> set[str]:
        return {n for c in self.state.conversations for n in (c["a"], c["b"])}

    def _context(self, a: AgentState, s: _Step, label: str | None = None) -> DecisionContext:
        """A policy call's context: a private random stream of the resident's (numbered in the
        order the step makes its contexts, so completion order cannot matter)."""
        if label is None:
            label = f"d{self._count(a.name, s.tick, 1)}"
        self._dirty.add(a.name)
        return DecisionContext(state=self.residents[a.name], rng=self._rng(a.name, s.tick, label),
                               decide=functools.partial(self.decider.decide, agent=a.name, tick=s.tick),
                               stream=self.memory.view(a.name, s.tick) if self.memory is not None else None,
                               backend=self.decider.backend, defer=self._deferrer(a.name, s.tick, label))

    async def _calls(self, s: _Step, calls: list[tuple[AgentState, Callable[[DecisionContext], Any]]]) -> list[Any]:
        """Run policy calls concurrently (bounded); their events are recorded in call order."""
        sem = asyncio.Semaphore(self.concurrency)
        ctxs = [self._context(a, s) for a, _ in calls]

        async def one(fn, ctx):
            async with sem:
                return await fn(ctx)

        out = await asyncio.gather(*(one(fn, ctx) for (_, fn), ctx in zip(calls, ctxs)))
        for (a, _), ctx in zip(calls, ctxs):
            s.events += [{"agent": a.name, **e} for e in ctx.events]
        return out

    # ------------------------------------------------------------------ work for later
    def _deferrer(self, agent: str, tick: int, label: str) -> Callable[[Later, DecisionContext], None]:
        """The ``defer`` of a policy call's context. A work's ``seq`` is [the tick, the context's
        label, its rank among that call's work]: it never depends on which concurrent call got its
        answers first, nor on other residents."""
        rank = itertools.count()
        return lambda item, ctx: self._later(agent, tick, [tick, label, next(rank)], item, ctx)

    def _later(self, agent: str, tick: int, seq: list, item: Later, ctx: DecisionContext) -> None:
        """Start work for later (see the module doc) and fix the tick its outcome is taken at."""
        limit = tick + max(1, self.clock.ticks_in(LATER_SECONDS))
        if item.by is not None:  # before the tick it is needed at
            limit = min(limit, math.ceil((item.by - self.clock.start).total_seconds() / self.clock.tick_seconds) - 1)
        barrier = -(-tick // self.barrier) * self.barrier  # the next barrier (this tick when it is one)
        job = Job(agent, item.kind, item.payload, max(tick, min(limit, barrier)), seq, events=ctx.events)

        async def work() -> Any:
            _LATER_DECISIONS.set(job.decisions)
            BACKGROUND.set(True)  # its requests wait behind those a tick waits for
            return await item.work(ctx)

        job.task = asyncio.ensure_future(work())
        self._jobs.append(job)
        self._jobs_json.pop(agent, None)

    async def _take_later(self, s: _Step) -> None:
        """Take the outcomes due at the step's tick (every one at a barrier) of its residents, each
        resident's in the order its work started, waiting only for answers not in yet."""
        if not self._jobs:
            return
        tick = s.tick
        barrier = tick % self.barrier == 0
        names = s.names
        due = [j for j in self._jobs if (barrier or j.due <= tick) and (names is None or j.agent in names)]
        if not due:
            return
        waiting = [j.task for j in due if j.task is not None and not j.task.done()]
        if waiting:
            await asyncio.wait(waiting)
        taken = set(map(id, due))
        self._jobs = [j for j in self._jobs if id(j) not in taken]
        order = self._order
        for job in sorted(due, key=lambda j: (order[j.agent], j.seq)):
            self._jobs_json.pop(job.agent, None)
            value = job.result()
            ctx = DecisionContext(state=self.residents[job.agent],
                                  rng=self._rng(job.agent, tick, "l" + _json(job.seq)),
                                  decide=functools.partial(self.decider.decide, agent=job.agent, tick=tick),
                                  stream=self.memory.view(job.agent, tick) if self.memory is not None else None,
                                  backend=self.decider.backend)
            self.policy.apply_later(job.kind, job.payload, value, ctx)
            self._dirty.add(job.agent)
            s.events += [{"agent": job.agent, **e} for e in job.events + ctx.events]
            s.decisions.extend(job.decisions)

    async def quiesce(self) -> None:
        """Wait until the work for later under way has its answers (its outcomes are still taken
        at their ticks): a snapshot needs them."""
        waiting = [j.task for j in self._jobs if j.task is not None and not j.task.done()]
        if waiting:
            await asyncio.wait(waiting)

    @property
    def answered(self) -> bool:
        """Whether every work for later under way has its answer (a snapshot needs them). Work
        cancelled (the event loop closed under a run stopped while it waited) has none."""
        return all(j.task is None or (j.task.done() and not j.task.cancelled()) for j in self._jobs)

    @property
    def later(self) -> list[Job]:
        """Work for later under way, in start order."""
        return list(self._jobs)

    # ------------------------------------------------------------------ the tick
    async def step(self) -> TickRecord:
        """Advance the whole town one tick (lock-step). While it runs :attr:`in_tick` is True: a
        tick cut short (an interrupt) leaves a half-applied state that must not be recorded or
        checkpointed."""
        if len(set(self._at.values())) > 1:
            raise RuntimeError("step() with residents at different ticks")
        self.in_tick = True
        tick = self.state.tick + 1
        await self._advance(_Step(tick, self.clock.time_at(tick), self.state.agents, None))
        rec = self._record_tick(tick)
        self.in_tick = False
        return rec

    async def _advance(self, s: _Step) -> None:
        """The step of ``s``'s residents from the tick before ``s.tick`` to it: commands from
        outside, perception, conversations, reactions, decisions, a tile of walking, the outcomes
        of work for later due; then each resident's part of the tick's record is taken."""
        token = _STEP_DECISIONS.set(s.decisions)
        try:
            tick = s.tick
            s.users = self._objects_by_user(s.agents)
            await self._apply_commands(s)
            await self._perceive(s)
            await self._conversations(s)
            await self._react(s)
            talking = self._talking
            deciding = [a for a in s.agents if a.action_end <= tick and a.name not in talking]
            if deciding:
                actions = await self._calls(s, [(a, functools.partial(self.policy.decide, self._observe(a, s)))
                                                for a in deciding])
                for a, act in zip(deciding, actions):
                    s.events += self._apply(a, act, s)
            # move one tile; spatial memory grows with the arenas an agent sees on its way; a resident a
            # step from a seat someone already holds takes another (it could not see them when it chose)
            for a in s.agents:
                if a.path:
                    seat = a.path[0]
                    if len(a.path) == 1 and a.object and seat == a.goal and any(
                            b is not a and b.object and not b.path and b.goal == seat and (b.x, b.y) == seat
                            for b in s.agents):
                        s.events += self._reseat(a, s)
                        if not a.path:
                            continue
                    a.x, a.y = a.path.pop(0)
                    self._index_stale = True
                    s.events += self._learn_places(a)
            await self._take_later(s)
        finally:
            _STEP_DECISIONS.reset(token)
        self._capture(s)

    # ------------------------------------------------------------------ stepping ahead
    async def _run_ahead(self, until_tick: int, on_tick: Callable[[TickRecord], bool | None] | None) -> None:
        """Advance to ``until_tick`` letting residents step ahead of the town's slowest tick.

        A group of residents at one tick steps on while no one outside it could affect it: the
        group is a connected set of residents at that tick within the vision radius of one another
        (and both sides of every conversation); every resident at an earlier tick stands further
        from each member than the vision radius plus the tiles it could walk meanwhile (one a
        tick). Everything a step reads of others (what a resident sees, whom it may talk to, the
        seats taken around it) lies within the vision radius, so each group's step is the
        lock-step one: the same world + seed + answers give the same run at any latency and
        arrival order, and the same as :meth:`step` tick by tick. Each tick's record and digest
        are written once every resident has passed it. Nobody passes a barrier (the hourly
        checkpoints) before everyone has reached it, nor goes more than ``LEAD_SECONDS`` past the
        last tick recorded; a stop (``on_tick`` True) lets the residents behind catch up with the
        furthest (at most that far on), and stops there."""
        running: dict[asyncio.Future, list[str]] = {}
        busy: set[str] = set()

        cap = until_tick
        stopping = False
        at = self._at
        self.in_tick = True
        try:
            while True:
                low = min(at.values())
                while self.state.tick < low:
                    rec = self._record_tick(self.state.tick + 1)
                    self.in_tick = bool(running) or min(at.values()) != max(at.values())
                    if on_tick is not None and on_tick(rec) and not stopping:
                        stopping = True  # (a group stepping now ends a tick further on)
                        cap = min(until_tick, max(t + (n in busy) for n, t in at.items()))
                    self.in_tick = True
                if low >= cap and not running:
                    break
                limit = min(cap, -(-(self.state.tick + 1) // self.barrier) * self.barrier,
                            self.state.tick + max(1, self.clock.ticks_in(LEAD_SECONDS)))
                for group, tick in self._ready(limit, busy):
                    agents = [self.state.agents[i] for i in group]
                    names = {a.name for a in agents}
                    s = _Step(tick + 1, self.clock.time_at(tick + 1), agents, names)
                    running[asyncio.ensure_future(self._advance(s))] = list(names)
                    busy |= names
                    self.groups_stepped += 1
                if not running:
                    raise RuntimeError(f"stepping ahead: nobody can step at tick {low}")  # (cannot happen)
                done, _ = await asyncio.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    busy -= set(running.pop(task))
                    task.result()  # a step's error stops the run
        except BaseException:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            raise
        self.in_tick = False

    def _ready(self, limit: int, busy: set[str]) -> list[tuple[list[int], int]]:
        """The groups that may step now (as indices into the agents, and the tick they stand at).

        A group at tick ``t`` is a connected set of residents at ``t`` within the vision radius of
        one another (and both sides of every conversation). It may step while every resident
        ``j`` behind it (at an earlier tick) stays further from each member than the vision
        radius plus the tiles ``j`` could walk by the end of ``t``: none before the first step
        ``first[j]`` at which it could leave its tile (see :meth:`_first_moves`), one a step
        after. A resident in a step under way counts as one tile nearer (it may have walked)."""
        agents = self.state.agents
        n = len(agents)
        at = self._at
        ts = np.fromiter((at[a.name] for a in agents), dtype=np.int64, count=n)
        idle = np.fromiter((a.name not in busy for a in agents), dtype=bool, count=n)
        if not (idle & (ts < limit)).any():
            return []
        xs = np.fromiter((a.x for a in agents), dtype=np.int64, count=n)
        ys = np.fromiter((a.y for a in agents), dtype=np.int64, count=n)
        dist = np.abs(xs[:, None] - xs[None, :]) + np.abs(ys[:, None] - ys[None, :])
        dist -= (~idle)[:, None].astype(np.int64) + (~idle)[None, :]  # (a step under way may have walked)
        reach = self.sight.radius
        near = (dist <= reach) & (ts[:, None] == ts[None, :])
        for c in self.state.conversations:
            i, j = self._order[c["a"]], self._order[c["b"]]
            near[i, j] = near[j, i] = True
        first = self._first_moves(ts, dist, idle)
        count, labels = connected_components(csr_matrix(near), directed=False)
        out = []
        for comp in range(count):
            members = np.flatnonzero(labels == comp)
            t = int(ts[members[0]])
            if t >= limit or not idle[members].all() or (ts[members] != t).any():
                continue
            behind = np.flatnonzero(ts < t)
            if behind.size:
                walk = np.maximum(0, t - first[behind] + 1)  # tiles each could walk by the end of t
                ok = dist[np.ix_(members, behind)].min(axis=0) > reach + walk
                for x in np.flatnonzero(~ok):  # near as the crow flies: as one walks (walls between)?
                    ok[x] = self._walk_to_sight(agents[int(behind[x])], xs[members], ys[members]) > walk[x]
                if not ok.all():
                    continue
            out.append((members.tolist(), t))
        return out

    def _walk_to_sight(self, j: AgentState, xs: np.ndarray, ys: np.ndarray) -> float:
        """The fewest steps ``j`` needs to walk from its tile to a tile within the vision radius
        of any of the tiles (xs, ys) (inf beyond what stepping ahead could need), over the
        walkable tiles; the steps from a tile are searched once (and kept for 512 tiles)."""
        field = self._walks.get((j.x, j.y))
        if field is None:
            if self._walk_graph is None:
                self._walk_graph = _walk_graph(self.map.walkable)
            if len(self._walks) > 512:
                self._walks.clear()
            w = self.map.width
            limit = max(1, self.clock.ticks_in(LEAD_SECONDS)) + 2
            field = self._walks[(j.x, j.y)] = dijkstra(self._walk_graph, indices=j.y * w + j.x, limit=limit,
                                                       unweighted=True).reshape(self.map.height, w)
        tx = (xs[:, None] + self.sight.offset_dx[None, :]).ravel()  # the tiles within the radius of each
        ty = (ys[:, None] + self.sight.offset_dy[None, :]).ravel()
        inside = (tx >= 0) & (ty >= 0) & (tx < self.map.width) & (ty < self.map.height)
        return float(field[ty[inside], tx[inside]].min())

    def _first_moves(self, ts: np.ndarray, dist: np.ndarray, idle: np.ndarray) -> np.ndarray:
        """For each resident, a step before which it surely stays on its tile (a lower bound of
        the first step at whose end it may stand elsewhere).

        A resident in a step under way is judged as it stands (its step moves it only as the
        same rules say: its reaction, its decision once its action ends, a conversation's end),
        counting one tile nearer to others (it may have walked already; see :meth:`_ready`).
        Walking, it may move at once. Talking, it moves once the
        conversation is over: a line, then a line's time, at the soonest. Otherwise it moves when
        its action ends (where it decides again), when a command from outside reaches it, or —
        awake — when it reacts: not before its policy could react to someone in sight
        (:meth:`Policy.react_after`) nor before anyone could come into sight (someone's first
        move plus the tiles between them beyond the radius); or when someone starts talking with
        it (then a line and a line's time). Asleep, it reacts to no one and no one talks to it."""
        agents = self.state.agents
        n = len(agents)
        big = np.iinfo(np.int64).max // 4
        conv_of = {}
        for c in self.state.conversations:
            conv_of[c["a"]] = conv_of[c["b"]] = c
        line = max(1, self.clock.ticks_in(LINE_SECONDS))
        approach = self.clock.ticks_in(APPROACH_SECONDS)
        asleep = np.fromiter((a.asleep for a in agents), dtype=bool, count=n)
        ends = np.fromiter((a.action_end for a in agents), dtype=np.int64, count=n)
        commands = np.full(n, big, dtype=np.int64)
        for tick, cmds in self.schedule.items():
            for c in cmds:
                i = self._order.get(c["agent"])
                if i is not None and tick > ts[i]:
                    commands[i] = min(commands[i], tick)
        base = np.maximum(ts + 1, np.minimum(ends, commands))
        first = np.where(asleep, base, ts + 1)  # sound from the start; each round below sounder
        awake = ~asleep
        for i, a in enumerate(agents):
            c = conv_of.get(a.name)
            if c is not None:
                now = int(ts[i]) + 1
                if c["phase"] == "talk":
                    e = max(now, c["next"]) + line
                elif c["phase"] == "closing":
                    e = max(now, c["next"])
                elif a.name == c["a"]:  # walking up to the other
                    e = now
                else:  # waiting for the other to come: a line at the soonest, or the approach given up
                    e = max(now, min(c["start"] + approach + 1, now + line))
                first[i] = max(now, min(e, commands[i]))
                awake[i] = False
            elif a.path:
                first[i] = ts[i] + 1
                awake[i] = False
        if not awake.any():
            return first
        ready = self._react_ready(ts)
        reach = self.sight.radius
        other = ~np.eye(n, dtype=bool)
        within = dist <= reach
        for _ in range(3):  # each round a sounder bound on when someone could come into sight
            close = first[None, :] + dist - reach  # [j, k]: k could be in j's sight at the end of this - 1
            react = np.maximum(ready, np.where(within, ts[:, None] + 1, close))
            talked_to = np.maximum(ready.T, np.where(within, ts[None, :] + 1, close)) + line
            soonest = np.where(other, np.minimum(react, talked_to), big).min(axis=1)
            better = np.where(awake, np.maximum(ts + 1, np.minimum(base, soonest)), first)
            if (better == first).all():
                break
            first = better
        return first

    def _react_ready(self, ts: np.ndarray) -> np.ndarray:
        """[j, k]: a step before which resident j surely does not react with only k near
        (:meth:`Policy.react_after`), its rows remade only when a resident's working state changed."""
        agents = self.state.agents
        n = len(agents)
        names = [a.name for a in agents]
        rows = self._ready_rows
        big = np.iinfo(np.int64).max // 4
        out = np.empty((n, n), dtype=np.int64)
        start, seconds = self.clock.start, self.clock.tick_seconds
        for j, a in enumerate(agents):
            key = self._mind_digest.get(a.name) if a.name not in self._dirty else None
            hit = rows.get(a.name)
            if hit is None or key is None or hit[0] != key:
                after = self.policy.react_after(self.residents[a.name], names)
                row = np.array([big if t is None else math.ceil((t - start).total_seconds() / seconds)
                                for t in after], dtype=np.int64)
                hit = rows[a.name] = (key, row)
            out[j] = hit[1]
        return out

    # ------------------------------------------------------------------ commands from outside (the inbox hook)
    def add_command(self, cmd: dict, tick: int | None = None) -> int:
        """Schedule ``cmd`` ({agent, kind, text, facts, source}) for the step of ``tick`` (default:
        the next tick boundary — stepping ahead, the one after the furthest resident's tick, as
        residents ahead went on knowing of no command to come); returns that tick."""
        furthest = max(self._at.values(), default=self.state.tick)
        if tick is None:
            tick = furthest + (2 if self.in_tick else 1)  # (a group may be stepping to furthest + 1)
        if tick <= furthest:
            raise ValueError(f"command for tick {tick}: the run is already at tick {furthest}")
        self._commands += 1
        self.schedule.setdefault(tick, []).append({**cmd, "_n": self._commands})
        return tick

    async def _apply_commands(self, s: _Step) -> None:
        """The commands scheduled for the step's tick for its residents, applied before anything
        else of the tick through the policy's ``hear``, each with a random stream of its own.
        They go into the record (table ``interventions``)."""
        cmds = self.schedule.get(s.tick)
        if not cmds:
            return
        mine = [c for c in cmds if c["agent"] in self._agents and (s.names is None or c["agent"] in s.names)]
        if not mine:
            return
        rest = [c for c in cmds if c not in mine]
        if rest:
            self.schedule[s.tick] = rest
        else:
            del self.schedule[s.tick]
        seen: dict[str, int] = {}
        for cmd in mine:
            a = self._agents[cmd["agent"]]
            i = seen[a.name] = seen.get(a.name, -1) + 1
            ctx = self._context(a, s, f"c{i}")
            await self.policy.hear(self._observe(a, s), ctx, cmd["text"], cmd["kind"], cmd.get("facts"))
            s.events += [{"agent": a.name, **e} for e in ctx.events]
            s.applied.append({**{k: cmd.get(k) for k in ("agent", "kind", "text", "facts", "source")},
                              "_n": cmd["_n"]})

    def _apply(self, a: AgentState, act: Action, s: _Step) -> list[dict]:
        events = []
        tick = s.tick
        arena = self.map.arena_index(act.place)
        place = act.place
        if arena is None:  # an unknown place: stay where we are and say so
            here = int(self.map.arena_grid[a.y, a.x])
            events.append({"agent": a.name, "kind": "place_fallback", "data": {"asked": act.place}})
            arena = here if here >= 0 else None
            place = self.map.arenas[here].address if here >= 0 else self.map.address_at(a.x, a.y)
        goal, obj_addr, taken = self._ground(a, arena, act.object, s)
        end = max(tick + 1, math.ceil((act.end - self.clock.start).total_seconds() / self.clock.tick_seconds))
        description = act.description
        if taken:  # every seat of the object it wanted is in use
            description = f"{description} (the {act.object} is taken)"
            events.append({"agent": a.name, "kind": "object_taken", "data": {"object": act.object, "place": place}})
        a.action, a.emoji, a.target = description, act.emoji, place
        a.object, a.object_state, a.utterance = obj_addr, act.object_state, act.utterance
        a.asleep = act.asleep
        a.action_start, a.action_end = tick, end
        a.goal = goal
        a.path = list(self.pathfinder.path((a.x, a.y), goal))
        events.append({"agent": a.name, "kind": "action",
                       "data": {"description": description, "place": place, "object": obj_addr,
                                "tile": list(goal), "until": act.end.strftime("%Y-%m-%d %H:%M")}})
        return events

    def _reseat(self, a: AgentState, s: _Step) -> list[dict]:
        """``a``, a step from its seat, finds it held: another seat of that object in the arena,
        or a free tile there and the object is taken (an ``action`` event says where it goes)."""
        obj = a.object.rsplit(":", 1)[-1]
        arena = self.map.arena_index(a.target) if a.target else None
        goal, obj_addr, taken = self._ground(a, arena, obj, s)
        events = []
        if taken:
            a.action = f"{a.action} (the {obj} is taken)"
            events.append({"agent": a.name, "kind": "object_taken", "data": {"object": obj, "place": a.target}})
        a.object, a.goal = obj_addr, goal
        a.path = list(self.pathfinder.path((a.x, a.y), goal))
        events.append({"agent": a.name, "kind": "action",
                       "data": {"description": a.action, "place": a.target, "object": obj_addr, "tile": list(goal),
                                "until": self.clock.time_at(a.action_end).strftime("%Y-%m-%d %H:%M")}})
        return events

    def _learn_places(self, a: AgentState) -> list[dict]:
        """Arenas the agent sees (within the vision radius, in line of sight) join its spatial memory."""
        xs, ys = self.sight.visible_tiles(a.x, a.y)
        mind = self.residents[a.name]
        new = [p for p in (self.map.arenas[i].address for i in np.unique(self.map.arena_grid[ys, xs]).tolist()
                           if i >= 0) if p not in mind.known_places]
        if not new:
            return []
        for p in new:
            mind.learn_place(p)
        self._dirty.add(a.name)
        return [{"agent": a.name, "kind": "place_learned", "data": {"place": p}} for p in new]

    # ------------------------------------------------------------------ reacting and conversing
    async def _react(self, s: _Step) -> None:
        """Free, awake agents that see another free, awake agent may react: talk, wait, replan."""
        talking = self._talking
        awake_ = [a for a in s.agents if not a.asleep]
        free = [a for a in awake_ if a.name not in talking]
        if len(awake_) < 2 or not free:
            return
        ready = self.policy.may_react  # a cheap gate, so most ticks build no observation
        agents = self._agents
        cand = []
        for a in free:
            seen = [n for n in self._attended(a, s) if not agents[n].asleep]
            if seen and ready(self.residents[a.name], s.now, seen):
                cand.append(a)
        if not cand:
            return
        out = await self._calls(s, [(a, functools.partial(self.policy.react, self._observe(a, s))) for a in cand])
        for a, re_ in zip(cand, out):
            if re_ is None or re_.kind == "continue":
                continue
            if re_.kind == "talk":
                self._start_conversation(a, re_.target, s)
            elif re_.action is not None and a.name not in self._talking:
                s.events += self._apply(a, re_.action, s)

    def can_talk(self, a: AgentState, b: AgentState, tick: int) -> bool:
        """The gate: both awake and free, not already talking, and not talked lately."""
        talking = self._talking
        if a is b or a.asleep or b.asleep or a.name in talking or b.name in talking:
            return False
        last = self.state.talked.get(pair_key(a.name, b.name))
        return last is None or tick - last >= self.clock.ticks_in(PAIR_COOLDOWN_SECONDS)

    def _start_conversation(self, a: AgentState, partner: str | None, s: _Step) -> None:
        b = self._agents.get(partner or "")
        # only someone it attends to (a model may name anyone)
        if b is None or not self.can_talk(a, b, s.tick) or b.name not in self._attended(a, s):
            return
        tick = s.tick
        st = self.state
        st.conversation_count += 1
        place = self.map.address_at(b.x, b.y)
        # numbered by when and by whom it started: the same whatever else the town did first
        cid = tick * len(self._order) + self._order[a.name] + 1
        st.conversations.append({"id": cid, "a": a.name, "b": b.name, "start": tick,
                                 "phase": "approach", "lines": [], "next": tick, "place": place})
        until = tick + self.clock.ticks_in(APPROACH_SECONDS) + MAX_LINES * self.clock.ticks_in(LINE_SECONDS) + 2
        for x, y in ((a, b), (b, a)):
            x.action, x.emoji, x.target = f"talking with {y.name}", "💬", place
            x.object = x.object_state = x.utterance = None
            x.action_start, x.action_end = tick, until
        b.goal, b.path = (b.x, b.y), []
        path = list(self.pathfinder.path((a.x, a.y), (b.x, b.y)))
        a.path = path[:-1]  # stop next to the partner
        a.goal = a.path[-1] if a.path else (a.x, a.y)
        s.events.append({"agent": a.name, "kind": "conversation_start", "data": {"with": b.name, "place": place}})

    def _view(self, conv: dict, speaker: str, now: dt.datetime) -> ConversationView:
        partner = conv["b"] if speaker == conv["a"] else conv["a"]
        lines = tuple(Line(l["speaker"], l["text"], tuple(l.get("facts", ()))) for l in conv["lines"])
        return ConversationView(conv["id"], partner, conv["a"], lines, self.clock.time_at(conv["start"]), conv["place"])

    async def _conversations(self, s: _Step) -> None:
        """Advance the step's conversations (in the order they started): meet, take turns (one
        utterance at a time), end."""
        st = self.state
        tick, now = s.tick, s.now
        mine = sorted((c for c in st.conversations if s.names is None or c["a"] in s.names), key=lambda c: c["id"])
        if not mine:
            return
        line_ticks = max(1, self.clock.ticks_in(LINE_SECONDS))
        speaking: list[tuple[dict, AgentState, AgentState]] = []
        ending: list[dict] = []
        for conv in mine:
            a, b = self._agents[conv["a"]], self._agents[conv["b"]]
            if conv["phase"] == "approach":
                if abs(a.x - b.x) + abs(a.y - b.y) <= 2 or not a.path:
                    conv["phase"], conv["next"] = "talk", tick
                elif tick - conv["start"] > self.clock.ticks_in(APPROACH_SECONDS):
                    ending.append(conv)
                    continue
            if conv["phase"] == "talk" and tick >= conv["next"]:
                speaker, listener = (a, b) if len(conv["lines"]) % 2 == 0 else (b, a)
                speaking.append((conv, speaker, listener))
            elif conv["phase"] == "closing" and tick >= conv["next"]:
                ending.append(conv)
        if speaking:
            turns = await self._calls(s, [(sp, functools.partial(self.policy.converse, self._observe(sp, s),
                                                                  conv=self._view(conv, sp.name, now)))
                                          for conv, sp, _ in speaking])
            for (conv, sp, other), turn in zip(speaking, turns):
                text = " ".join(str(turn.text).split())[:500] or "..."
                conv["lines"].append({"speaker": sp.name, "text": text, "facts": [dict(f) for f in turn.facts]})
                sp.utterance, other.utterance = text, None
                conv["next"] = tick + line_ticks
                if turn.end or len(conv["lines"]) >= MAX_LINES:
                    conv["phase"] = "closing"
        if ending:
            calls = []
            for conv in ending:
                st.conversations.remove(conv)
                for name in (conv["a"], conv["b"]):
                    x = self._agents[name]
                    x.utterance, x.action_end = None, tick  # back to the plan this very tick
                    calls.append((x, functools.partial(self.policy.end_conversation, self._observe(x, s),
                                                       conv=self._view(conv, name, now))))
                key = pair_key(conv["a"], conv["b"])
                st.talked[key] = tick
                self._talked_json.pop(key.split("|", 1)[0], None)
                if conv["lines"]:
                    s.events.append({"agent": conv["a"], "kind": "conversation", "data": {
                        "id": conv["id"], "participants": [conv["a"], conv["b"]], "place": conv["place"],
                        "start": self.clock.time_at(conv["start"]).strftime("%Y-%m-%d %H:%M"),
                        "end": now.strftime("%Y-%m-%d %H:%M"),
                        "lines": [{"speaker": l["speaker"], "text": l["text"]} for l in conv["lines"]]}})
            await self._calls(s, calls)

    def _ground(self, a: AgentState, arena: int | None, obj: str | None, s: _Step
                ) -> tuple[tuple[int, int], str | None, bool]:
        """(the tile to walk to, the object address used, whether the object wanted was taken)
        for an action in ``arena`` using ``obj`` if it is there. An object holds ``capacity``
        residents, each on a seat of its own: a free seat of the objects of that name in the
        arena (chosen with the resident's random stream when several objects have one); when every
        seat is taken, a free tile of the arena, and the action says the object is taken. Seats
        and tiles count as taken when a resident within the vision radius holds or heads for
        them: a resident sees what is taken around it, and finds out about the rest when it gets
        there (:meth:`_reseat`)."""
        if arena is None:
            return (a.x, a.y), None, False
        m = self.map
        r = self.sight.radius
        others = [b for b in s.agents if b is not a and b.goal is not None and abs(b.x - a.x) + abs(b.y - a.y) <= r]
        seated = {b.goal for b in others if b.object}  # tiles of residents using (or heading to) an object
        if obj:
            found = m.object_indices(arena, obj)
            if found:
                free = [(i, t) for i in found for t in m.seats(i) if t not in seated]
                if free:
                    objs = list(dict.fromkeys(i for i, _ in free))
                    pick = objs[0] if len(objs) == 1 else objs[self._draw(a, s).randrange(len(objs))]
                    tile = next(t for i, t in free if i == pick)
                    return tile, f"{m.arenas[arena].address}:{obj}", False
        taken = bool(obj) and bool(m.objects_in(arena, obj))
        here = (a.x, a.y)
        if int(m.arena_grid[a.y, a.x]) == arena and here not in seated:
            return here, None, taken
        goals = {b.goal for b in others}
        tiles = [t for t in m.arenas[arena].tiles if m.walkable[t[1], t[0]] and m.object_grid[t[1], t[0]] < 0]
        tiles = ([t for t in tiles if t not in goals] or [t for t in tiles if t not in seated] or tiles
                 or [t for t in m.arenas[arena].tiles if m.walkable[t[1], t[0]]])
        return tiles[self._draw(a, s).randrange(len(tiles))], None, taken

    def _draw(self, a: AgentState, s: _Step) -> random.Random:
        return self._rng(a.name, s.tick, f"g{self._count(a.name, s.tick, 2)}")

    # ------------------------------------------------------------------ digest and snapshots
    def _init_digests(self) -> None:
        """Per-part digests and JSON, remade only for what changed (see :meth:`_capture`)."""
        self._mind_digest: dict[str, bytes] = {}
        self._perceived_digest: dict[str, bytes] = {}
        self._dirty: set[str] = set(self.residents)  # working state touched (contexts, places)
        self._perceived_dirty: set[str] = set(self.residents)  # perception retention updated
        self._json_rows: dict[str, tuple] = {}  # name -> (values, their types, their JSON): see _cached_json
        self._json_hidden: dict[str, tuple] = {}
        self._talked_json: dict[str, str] = {}  # name -> its pairs' entries (as the pair's first name)
        self._jobs_json: dict[str, str] = {}  # name -> its work under way
        self._ready_rows: dict[str, tuple] = {}  # name -> (its working state's digest, react_after in ticks)
        self._walk_graph = None  # the walkable tiles as a graph (see _walk_to_sight)
        self._walks: dict[tuple[int, int], np.ndarray] = {}  # tile -> steps to every tile from it
        self._json_keys: dict[str, str] = {}  # a description's JSON (see _perceived_json)
        self._perceived_sorted: dict[str, tuple[set[str], list[tuple[str, str]]]] = {}  # see _perceived_json

    def _perceived_json(self, recent: dict[str, int], name: str | None = None) -> bytes:
        """:func:`canonical` of a resident's ``perceived`` (description -> tick), from each
        description's JSON made once (the same bytes, twice as fast); with the resident's
        ``name``, its descriptions stay sorted while they are the same ones (most ticks)."""
        keys = self._json_keys
        if len(keys) > 200_000:  # descriptions long gone: start again
            keys.clear()
            self._perceived_sorted.clear()
        hit = self._perceived_sorted.get(name) if name is not None else None
        if hit is None or hit[0] != recent.keys():
            pairs = []
            for d in sorted(recent):
                kj = keys.get(d)
                if kj is None:
                    kj = keys[d] = json.dumps(d, ensure_ascii=False)
                pairs.append((d, kj))
            hit = (set(recent), pairs)
            if name is not None:
                self._perceived_sorted[name] = hit
        return ("{" + ",".join([f"{kj}:{recent[d]}" for d, kj in hit[1]]) + "}").encode()

    def _frame(self, a: AgentState, conversations: list[dict]) -> tuple:
        """A resident's part of a tick's record, taken when it has passed the tick: (its visible
        row, the row's JSON, its hidden state's JSON, its working state's digests, the object it
        uses, the conversations it started that go on, its pairs' last talks, its work under way)."""
        name = a.name
        if name in self._dirty:
            mind = self.residents[name].to_dict(copy=False)  # written out at once: no deep copy
            self._mind_digest[name] = _blake(canonical({k: v for k, v in mind.items() if k != "perceived"}))
            self._dirty.discard(name)
        if name in self._perceived_dirty:
            self._perceived_digest[name] = _blake(self._perceived_json(self.residents[name].perceived, name))
            self._perceived_dirty.discard(name)
        row = visible_row(a, self._place(a))
        row_json = _cached_json(self._json_rows, name, (name, a.x, a.y, a.action, a.emoji, a.target, a.utterance))
        hidden_json = _cached_json(self._json_hidden, name, (name, None if a.goal is None else tuple(a.goal),
                                                             len(a.path), a.action_start, a.action_end, a.object,
                                                             a.object_state, a.asleep))
        obj = (a.object, a.object_state) if a.object and a.object_state and not a.path and a.goal == (a.x, a.y) \
            else None
        talked = self._talked_json.get(name)
        if talked is None:
            mine = sorted((k, v) for k, v in self.state.talked.items() if k.split("|", 1)[0] == name)
            talked = self._talked_json[name] = ",".join(_json([k, v]) for k, v in mine)
        jobs = self._jobs_json.get(name)
        if jobs is None:
            mine = sorted(([j.seq, j.agent, j.kind, j.due, j.payload] for j in self._jobs if j.agent == name),
                          key=lambda x: x[0])
            jobs = self._jobs_json[name] = ",".join(_json(x) for x in mine)
        convs = [(c["id"], _json(c)) for c in conversations if c["a"] == name] if conversations else ()
        return (row, row_json, hidden_json, self._mind_digest[name] + self._perceived_digest[name], obj, convs,
                talked, jobs)

    def _capture(self, s: _Step) -> None:
        """The step's residents have passed ``s.tick``: their parts of its record."""
        p = self._pending.get(s.tick)
        if p is None:
            p = self._pending[s.tick] = _Pending()
        convs = self.state.conversations
        frames = p.frames
        for a in s.agents:
            frames[a.name] = self._frame(a, convs)
            self._at[a.name] = s.tick
        p.events += s.events
        p.decisions += s.decisions
        p.applied += s.applied

    def _record_tick(self, tick: int) -> TickRecord:
        """Record ``tick``, which every resident has passed: its rows, events, decisions and the
        digest, chained from the last tick's over the whole simulation state at ``tick`` — the
        visible rows and the objects in use; then each resident's hidden state, the conversations
        going on, when pairs last talked, the work under way (not its answers), each resident's
        working state; the tick's memory changes; and the commands from outside applied."""
        st = self.state
        p = self._pending.pop(tick)
        now = self.clock.time_at(tick)
        order = self._order
        frames = [p.frames[a.name] for a in st.agents]
        objects: dict[str, str] = {}
        for f in frames:
            if f[4] is not None:
                objects[f[4][0]] = f[4][1]
        changes = [(k, objects.get(k)) for k in sorted(set(objects) | set(st.object_states))
                   if objects.get(k) != st.object_states.get(k)]
        st.object_states = objects
        applied = [{k: v for k, v in c.items() if k != "_n"} for c in sorted(p.applied, key=lambda c: c["_n"])]
        self.schedule.pop(tick, None)  # commands for residents the world does not have
        delta = self.memory.drain(upto=tick) if self.memory is not None else None
        body = ("[" + ",".join((_json(tick), _json(now.isoformat()), "[" + ",".join(f[1] for f in frames) + "]",
                                _json(sorted(objects.items())))) + "]").encode()
        if applied:  # commands from outside change the chain
            body += canonical(applied)
        convs = sorted(c for f in frames for c in f[5])
        state = "[" + ",".join(("[" + ",".join(f[2] for f in frames) + "]",
                                "[" + ",".join(j for _, j in convs) + "]",
                                "[" + ",".join(f[6] for f in frames if f[6]) + "]",
                                "[" + ",".join(f[7] for f in frames if f[7]) + "]")) + "]"
        parts = [state.encode(), b"".join(f[3] for f in frames)]
        if delta is not None:
            parts.append(canonical([
                [[m["agent"], m["id"], m["tick"], m["kind"], m["description"], m["subject"], m["predicate"],
                  m["object"], m["importance"], m["depth"], m["evidence"], m["facts"]] for m in delta.memories],
                [list(x) for x in delta.accesses], [list(x) for x in delta.rescored]]))
        st.digest = hashlib.blake2b(bytes.fromhex(st.digest) + body + _blake(b"".join(parts)),
                                    digest_size=32).hexdigest()
        st.tick = tick
        rows = [f[0] for f in frames]
        last = self._last_rows
        changed = [r for r in rows if last.get(r["name"]) != r]
        for r in changed:
            last[r["name"]] = r
        # each resident's events in the order it had them, residents in the agents' order (whichever
        # group stepped first); decisions by resident and name
        events = sorted(p.events, key=lambda e: order.get(e["agent"], -1))
        decisions = sorted(p.decisions, key=lambda d: (d["agent"], d["name"]))
        rec = TickRecord(tick, now, st.digest, changed, events, changes, decisions, memory=delta,
                         interventions=applied)
        if self.recorder is not None:
            self.recorder.record(rec)
        return rec

    def snapshot(self) -> Snapshot:
        """The whole state as plain data (a deep copy), e.g. for a checkpoint. Only at a tick
        boundary that every resident stands at: during a step the state is half-applied."""
        if self.in_tick or any(t != self.state.tick for t in self._at.values()):
            raise RuntimeError("snapshot during a tick: the state is half-applied")
        if not self.answered:
            raise RuntimeError("snapshot with work for later still waiting for answers: await quiesce() first")
        self.state.rng_state = None  # (each resident's random stream derives from the seed: nothing to keep)
        jobs = sorted(self._jobs, key=lambda j: (self._order[j.agent], j.seq))
        later = {"seq": 0, "jobs": json.loads(json.dumps([j.to_dict() for j in jobs]))}
        return Snapshot(WorldState.from_dict(json.loads(self.state.to_json())),
                        {n: ResidentState.from_dict(s.to_dict()) for n, s in self.residents.items()}, later=later)

    async def run(self, until_tick: int, on_tick: Callable[[TickRecord], bool | None] | None = None) -> None:
        """Advance to ``until_tick``; ``on_tick`` may return True to stop early at a tick boundary.
        Lock-step, or stepping ahead (:attr:`ahead`, :meth:`_run_ahead`): the same run either way."""
        try:
            if self.ahead:
                await self._run_ahead(until_tick, on_tick)
            else:
                while self.state.tick < until_tick:
                    rec = await self.step()
                    if on_tick is not None and on_tick(rec):
                        break
        finally:
            if not self.in_tick:
                await self.quiesce()


def _json(obj: Any) -> str:
    """:func:`canonical` as text: JSON lists are their items' JSON joined by commas, so a
    canonical list can be put together from the canonical JSON of its parts."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _cached_json(cache: dict[str, tuple], key: str, values: tuple) -> str:
    """The canonical JSON of ``values`` (written as a list), reusing ``cache[key]`` while they
    are unchanged (of the same types too, so ``1`` never stands for ``True``)."""
    hit = cache.get(key)
    if hit is None or hit[0] != values or hit[1] != tuple(map(type, values)):
        hit = cache[key] = (values, tuple(map(type, values)), _json(list(values)))
    return hit[2]


def _blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _walk_graph(walkable: np.ndarray) -> csr_matrix:
    """The walkable tiles (flat indices) and their four neighbours, as a graph."""
    h, w = walkable.shape
    idx = np.arange(h * w).reshape(h, w)
    across = walkable[:, :-1] & walkable[:, 1:]
    down = walkable[:-1, :] & walkable[1:, :]
    a = np.concatenate([idx[:, :-1][across], idx[:-1, :][down]])
    b = np.concatenate([idx[:, 1:][across], idx[1:, :][down]])
    return csr_matrix((np.ones(2 * len(a)), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(h * w, h * w))


_SIGHT_CACHE: dict[tuple, Sight] = {}


def _sight(tile_map, radius: int) -> Sight:
    """The map's line of sight, computed once per collision layer and radius in a process."""
    key = (tile_map.walkable.shape, radius, hashlib.blake2b(tile_map.walkable.tobytes(), digest_size=16).digest())
    s = _SIGHT_CACHE.get(key)
    if s is None:
        if len(_SIGHT_CACHE) > 8:
            _SIGHT_CACHE.clear()
        s = _SIGHT_CACHE[key] = Sight(tile_map.walkable, radius)
    return s
