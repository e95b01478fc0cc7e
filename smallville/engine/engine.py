"""The tick loop. The engine owns the clock and the run's one seeded RNG.

Each tick: perceive → decide (agents whose action ended, concurrently, bounded) → ground
actions on the map → move each walking agent one tile → update object states → record.

The engine carries the world state (:class:`~smallville.world.state.WorldState`) and each
resident's working state (:class:`~smallville.cognition.state.ResidentState`); it talks to
cognition only through the declared :class:`~smallville.cognition.interface.Policy`.

Sight: a resident sees what lies within the vision radius and in line of sight on the
collision layer (:mod:`smallville.world.sight`) — perception, the residents it may react to
or start a conversation with, and the arenas it learns. Attention is bounded at the query: of
the residents in sight it attends to the nearest :attr:`Engine.attention` (the world's
``attention_bandwidth``; :meth:`Engine.observe`), so its cost does not grow with a crowd.
Seats: an object holds ``capacity`` residents at once, each on a tile of its own
(:meth:`TileMap.seats`).

Work for later (docs/THROUGHPUT.md): a decision whose outcome is not needed at once (an
importance rating; the steps of the next stretch of a plan) is started during a tick through
:meth:`DecisionContext.later` and runs in the background; the engine fixes, when it starts, the
tick its outcome is taken at (``LATER_SECONDS`` later at most, before it is needed, and at the
latest at the next hourly barrier, where nothing is under way) and waits there only if the answer
is not in yet. So answers overlap across ticks, and the run never depends on when they arrive.

The digest (:meth:`Engine._record`) chains, tick after tick, a blake2b over the whole
simulation state: see README "Run store" for exactly what it covers.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import datetime as dt
import hashlib
import json
import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

import numpy as np

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
from smallville.world.state import AgentState, WorldState, rng_from_state, rng_to_state
from smallville.world.world import World

CHECKPOINT_VERSION = 3  # of Snapshot.to_dict; 1 was the untyped state before ResidentState, 2 had no work for later
LATER_SECONDS = 600  # game time from the start of work for later to its outcome, at most
BARRIER_SECONDS = 3600  # at every multiple of this game time nothing is under way (the runner checkpoints there)
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
    seq: list[int]  # [number of the context that started it, its rank among that call's work]
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
        return cls(str(d["agent"]), str(d["kind"]), dict(d["payload"]), int(d["due"]), [int(x) for x in d["seq"]],
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
        if version not in (2, CHECKPOINT_VERSION):  # a version 2 checkpoint has no work for later
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


class Engine:
    def __init__(self, world: World, policy: Policy, seed: int, recorder: Recorder | None = None,
                 concurrency: int = 16, snapshot: Snapshot | None = None, decider: Decider | None = None,
                 memory: Any = None):
        self.world = world
        self.map = world.map
        self.policy = policy
        self.decider = decider or Decider()
        self._decisions: list[dict] = []
        self.decider.set_recorder(lambda **d: (_LATER_DECISIONS.get() if _LATER_DECISIONS.get() is not None
                                               else self._decisions).append(d))
        self.clock = Clock(world.config.start, world.config.tick_seconds)
        self.recorder = recorder
        self.concurrency = concurrency
        self.pathfinder = Pathfinder(self.map.walkable)
        self.sight = _sight(self.map, world.config.perception.vision_radius)
        self.memory = memory  # cognition.memory.MemoryStreams of every agent, or None (``--ablate memory``)
        self._users: dict[str, tuple] | None = None  # objects in use this tick, by user (see _objects_by_user)
        # residents attended to (observe, react): the nearest this many in sight; None: everyone in sight
        self.attention: int | None = world.config.perception.attention_bandwidth
        self.in_tick = False  # True while a step is under way: the state is then half-applied
        self._near = SpatialIndex(self.map.width, self.map.height, cell=max(1, self.sight.radius))
        self._cell_content: dict[tuple[int, int], tuple] = {}  # see _cells
        self._seen_cache: dict[str, tuple] = {}  # resident -> ((x, y, action), cells around, observation)
        self._places: dict[str, tuple[int, int, str]] = {}  # see _visible
        self.seen_reused = 0  # observations reused by perception (for tests and profiles)
        self.attended_again = 0  # of those, attended to without building their events (attend_again)
        self.attended_same = 0  # observations made again, equal to the last tick's: attended to as those
        self._index_stale = True
        # commands from outside the simulation (a whisper, an interview to remember), by the tick whose
        # step applies them first thing: {agent, kind, text, facts, source}; see apply_commands
        self.schedule: dict[int, list[dict]] = {}
        self.barrier = max(1, self.clock.ticks_in(BARRIER_SECONDS))
        self._jobs: list[Job] = []  # work for later under way, in start order
        self._later_json: str | None = None  # the digest's JSON of the work under way, until it changes
        self._seq = 0  # contexts made so far: the first part of a work's seq
        self._started: dict[int, int] = {}  # context number -> work started by its call so far (this tick)
        if snapshot is not None and snapshot.later:
            self._jobs = [Job.from_dict(j) for j in snapshot.later["jobs"]]
            self._seq = int(snapshot.later["seq"])
        if snapshot is None:
            self.rng = random.Random(seed)
            state = WorldState(tick=0, agents=[AgentState(r.persona.name, *r.start) for r in world.residents])
            # each resident's working state; spatial memory starts with the places its persona names
            self.residents = {r.persona.name: ResidentState(known_places=sorted(
                {self.map.arenas[self.map.arena_index(p)].address for _, p in r.persona.known_places()}))
                for r in world.residents}
            state.digest = hashlib.blake2b(canonical(["smallville-run", seed]), digest_size=32).hexdigest()
            self.state = state
            self._init_digests()
            self._last_rows: dict[str, dict] = {}
            self._record(self._visible(), [], [], [])
        else:
            state = snapshot.world
            names = [a.name for a in state.agents]
            if sorted(snapshot.residents) != sorted(names):
                raise RunStoreError("checkpoint: its residents' working states do not match its agents")
            self.rng = rng_from_state(state.rng_state)
            self.state = state
            self.residents = dict(snapshot.residents)
            self._init_digests()
            self._last_rows = {r["name"]: r for r in self._visible()}

    # ------------------------------------------------------------------ queries
    @property
    def state(self) -> WorldState:
        return self._state

    @state.setter
    def state(self, state: WorldState) -> None:
        self._state = state
        self._agents = {a.name: a for a in state.agents}  # by name (the list's order is the agents' order)
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

    def _visible(self) -> list[dict]:
        places = self._places  # name -> (x, y, address): most residents stand still in a tick
        out = []
        for a in self.state.agents:
            p = places.get(a.name)
            if p is None or p[0] != a.x or p[1] != a.y:
                p = places[a.name] = (a.x, a.y, self.map.address_at(a.x, a.y))
            out.append(visible_row(a, p[2]))
        return out

    def observe(self, a: AgentState, tick: int, now: dt.datetime) -> Observation:
        """What ``a`` sees: the nearest :attr:`attention` residents within the vision radius and in
        line of sight, nearest first (ties by name), and the objects in use by ``a`` and by them
        (an object in use is on its user's tile), nearest first (ties by address, then the users'
        order). Who is near comes from the spatial index (:mod:`smallville.world.spatial`), which
        stops at the nearest ``attention``, so the cost follows neither the size of the town nor
        the crowd around ``a``. Where fewer than ``attention`` are in sight, that is everyone in
        sight and every object in use in sight."""
        talking = self._talking
        r = self.sight.radius
        vis, k_of = self.sight.row(a.x, a.y), self.sight.offset_k  # vis[k_of[dy + r][dx + r]]: can_see
        ax, ay = a.x - r, a.y - r
        index = self._index()
        agents = self._agents
        k = self.attention if self.attention is not None else len(agents)
        nearby = []
        users = self._users if self._users is not None else self._objects_by_user()
        found = []
        own = users.get(a.name)
        if own is not None:
            found.append((0,) + own)
        for d, name in index.nearest(a.x, a.y, r, k + 1, lambda x, y: vis[k_of[y - ay][x - ax]],
                                     self.sight.in_view(a.x, a.y)):
            b = agents[name]
            if b is a:
                continue
            if len(nearby) == k:
                break
            nearby.append(Seen(b.name, b.x, b.y, b.action, d, asleep=b.asleep, talking=b.name in talking))
            used = users.get(name)
            if used is not None:
                found.append((d,) + used)
        found.sort()  # (distance, address) and, as before, the users' order for the same address
        seen = [SeenObject(addr, state, x, y, d) for d, addr, _, state, x, y in found]
        return Observation(a.name, tick, now, a.x, a.y, self.map.address_at(a.x, a.y), a.action, tuple(nearby),
                           tuple(seen))

    def _attended(self, a: AgentState, tick: int) -> list[str]:
        """The names of the residents ``a`` attends to (:meth:`observe`'s ``nearby``: the nearest
        :attr:`attention` in sight). Positions do not change between perception and the step
        phase, so what perception observed at this tick is still the answer."""
        hit = self._seen_cache.get(a.name)
        if hit is not None and hit[3] == tick and self.in_tick:
            return [s.name for s in hit[2].nearby]
        r, k_of = self.sight.radius, self.sight.offset_k
        vis, ax, ay = self.sight.row(a.x, a.y), a.x - r, a.y - r  # vis[k_of[dy + r][dx + r]]: can_see
        k = self.attention if self.attention is not None else len(self._agents)
        return [n for _, n in self._index().nearest(a.x, a.y, r, k + 1, lambda x, y: vis[k_of[y - ay][x - ax]],
                                                    self.sight.in_view(a.x, a.y)) if n != a.name][:k]

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

    def _objects_by_user(self) -> dict[str, tuple[str, int, str, int, int]]:
        """user -> (address, the user's place in the agents' order, state, x, y) of each object in
        use: on the tile of the agent using it."""
        st = self.state
        return {a.name: (a.object, i, st.object_states[a.object], a.x, a.y) for i, a in enumerate(st.agents)
                if a.object in st.object_states and not a.path and a.goal == (a.x, a.y)}

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
            if a.object in st.object_states and not a.path and a.goal == (a.x, a.y):
                item += (i, a.object, st.object_states[a.object])
            content.setdefault(key, []).append(item)
        old = self._cell_content
        cells = {}
        for key, items in content.items():
            t = tuple(items)
            prev = old.get(key)
            cells[key] = prev if prev == t else t
        self._cell_content = cells
        return cells

    async def _perceive(self, tick: int, now: dt.datetime, events: list[dict]) -> None:
        """Perception phase: each awake agent notices what is new within its vision
        (:func:`~smallville.cognition.perceive.attend`) and its policy remembers it. The
        contexts' RNGs derive from the state digest: the run's RNG is not drawn from, so the
        rest of the tick gets the same draws whether memory is on or off (``--ablate memory``)."""
        if self.memory is None:
            return
        settings, seconds = self.world.config.perception, self.clock.tick_seconds
        todo = []
        cells = None  # made when the first awake resident needs them (nobody perceives at night)
        r = max(1, self.sight.radius)
        cache = self._seen_cache
        for a in self.state.agents:
            if not a.asleep and awake(a.action):
                # what it can see comes from the cells around it: unchanged cells (the same objects),
                # the same tile and action => the same observation as last time, but for its time
                if cells is None:
                    cells = self._cells()
                cx0, cy0 = (a.x - r) // r, (a.y - r) // r
                around = tuple(cells.get((cx, cy)) for cy in range(cy0, cy0 + 3) for cx in range(cx0, cx0 + 3))
                hit = cache.get(a.name)
                recent = self.residents[a.name].perceived
                self._perceived_dirty.add(a.name)
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
                    obs = self.observe(a, tick, now)
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
        ctxs = []
        for a, _ in todo:
            seed = hashlib.blake2b(f"{self.state.digest}:{a.name}:perceive".encode(), digest_size=8).digest()
            self._dirty.add(a.name)
            ctxs.append(DecisionContext(state=self.residents[a.name], rng=random.Random(int.from_bytes(seed, "little")),
                                        decide=functools.partial(self.decider.decide, agent=a.name, tick=tick),
                                        stream=self.memory.view(a.name, tick), backend=self.decider.backend,
                                        defer=self._deferrer(a.name, tick)))

        async def one(obs: Observation, ctx: DecisionContext) -> None:
            async with sem:
                await self.policy.perceive(obs, ctx)

        await asyncio.gather(*(one(obs, ctx) for (_, obs), ctx in zip(todo, ctxs)))
        for (a, _), ctx in zip(todo, ctxs):
            events += [{"agent": a.name, **e} for e in ctx.events]

    @property
    def _talking(self) -> set[str]:
        return {n for c in self.state.conversations for n in (c["a"], c["b"])}

    def _context(self, a: AgentState, tick: int) -> DecisionContext:
        # one private RNG per call, drawn from the run's RNG in a fixed order: completion order cannot matter
        self._dirty.add(a.name)
        self._rng_dirty = True
        return DecisionContext(state=self.residents[a.name], rng=random.Random(self.rng.getrandbits(64)),
                               decide=functools.partial(self.decider.decide, agent=a.name, tick=tick),
                               stream=self.memory.view(a.name, tick) if self.memory is not None else None,
                               backend=self.decider.backend, defer=self._deferrer(a.name, tick))

    async def _calls(self, calls: list[tuple[AgentState, Callable[[DecisionContext], Any]]], tick: int,
                     events: list[dict]) -> list[Any]:
        """Run policy calls concurrently (bounded); their events are recorded in call order."""
        sem = asyncio.Semaphore(self.concurrency)
        ctxs = [self._context(a, tick) for a, _ in calls]

        async def one(fn, ctx):
            async with sem:
                return await fn(ctx)

        out = await asyncio.gather(*(one(fn, ctx) for (_, fn), ctx in zip(calls, ctxs)))
        for (a, _), ctx in zip(calls, ctxs):
            events += [{"agent": a.name, **e} for e in ctx.events]
        return out

    # ------------------------------------------------------------------ work for later
    def _deferrer(self, agent: str, tick: int) -> Callable[[Later, DecisionContext], None]:
        """The ``defer`` of a policy call's context. Contexts are numbered in the order the engine
        makes them (a fixed order), and the work a call starts in the order it starts it, so the
        work's ``seq`` never depends on which concurrent call got its answers first."""
        order = self._seq
        self._seq += 1
        self._started[order] = 0
        return functools.partial(self._later, agent, tick, order)

    def _later(self, agent: str, tick: int, order: int, item: Later, ctx: DecisionContext) -> None:
        """Start work for later (see the module doc) and fix the tick its outcome is taken at."""
        limit = tick + max(1, self.clock.ticks_in(LATER_SECONDS))
        if item.by is not None:  # before the tick it is needed at
            limit = min(limit, math.ceil((item.by - self.clock.start).total_seconds() / self.clock.tick_seconds) - 1)
        barrier = -(-tick // self.barrier) * self.barrier  # the next barrier (this tick when it is one)
        job = Job(agent, item.kind, item.payload, max(tick, min(limit, barrier)), [order, self._started[order]],
                  events=ctx.events)
        self._started[order] += 1

        async def work() -> Any:
            _LATER_DECISIONS.set(job.decisions)
            BACKGROUND.set(True)  # its requests wait behind those a tick waits for
            return await item.work(ctx)

        job.task = asyncio.ensure_future(work())
        self._jobs.append(job)
        self._later_json = None

    async def _take_later(self, tick: int, now: dt.datetime, events: list[dict]) -> None:
        """Take the outcomes due at ``tick`` (every one at a barrier), in the order their work
        started, waiting only for answers not in yet."""
        barrier = tick % self.barrier == 0
        if not self._jobs or not (barrier or min(j.due for j in self._jobs) <= tick):
            return
        due = [j for j in self._jobs if barrier or j.due <= tick]
        waiting = [j.task for j in due if j.task is not None and not j.task.done()]
        if waiting:
            await asyncio.wait(waiting)
        taken = set(map(id, due))
        self._jobs = [j for j in self._jobs if id(j) not in taken]
        self._later_json = None
        for job in sorted(due, key=lambda j: j.seq):
            value = job.result()
            seed = hashlib.blake2b(f"{self.state.digest}:{job.agent}:later:{job.seq}".encode(), digest_size=8).digest()
            ctx = DecisionContext(state=self.residents[job.agent], rng=random.Random(int.from_bytes(seed, "little")),
                                  decide=functools.partial(self.decider.decide, agent=job.agent, tick=tick),
                                  stream=self.memory.view(job.agent, tick) if self.memory is not None else None,
                                  backend=self.decider.backend)
            self.policy.apply_later(job.kind, job.payload, value, ctx)
            self._dirty.add(job.agent)
            events += [{"agent": job.agent, **e} for e in job.events + ctx.events]
            self._decisions.extend(job.decisions)

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
        """Advance one tick. While it runs :attr:`in_tick` is True: a tick cut short (an
        interrupt) leaves a half-applied state that must not be recorded or checkpointed."""
        self.in_tick = True
        rec = await self._step()
        self.in_tick = False
        return rec

    async def _step(self) -> TickRecord:
        st = self.state
        tick = st.tick + 1
        now = self.clock.time_at(tick)
        self._decisions = decisions = []
        self._started = {}
        events: list[dict] = []
        self._users = self._objects_by_user()
        applied = await self._apply_commands(tick, now, events)
        await self._perceive(tick, now, events)
        await self._conversations(tick, now, events)
        await self._react(tick, now, events)
        talking = self._talking
        deciding = [a for a in st.agents if a.action_end <= tick and a.name not in talking]
        if deciding:
            actions = await self._calls([(a, functools.partial(self.policy.decide, self.observe(a, tick, now)))
                                         for a in deciding], tick, events)
            for a, act in zip(deciding, actions):
                events += self._apply(a, act, tick)
        decisions.sort(key=lambda d: (d["agent"], d["name"]))
        # move one tile; spatial memory grows with the arenas an agent sees on its way
        for a in st.agents:
            if a.path:
                a.x, a.y = a.path.pop(0)
                self._index_stale = True
                events += self._learn_places(a)
        # object states: an object is in use while an agent stands on it doing its action
        objects: dict[str, str] = {}
        for a in st.agents:
            if a.object and not a.path and a.goal == (a.x, a.y) and a.object_state:
                objects[a.object] = a.object_state
        changes = [(k, objects.get(k)) for k in sorted(set(objects) | set(st.object_states))
                   if objects.get(k) != st.object_states.get(k)]
        st.object_states = objects
        await self._take_later(tick, now, events)
        decisions.sort(key=lambda d: (d["agent"], d["name"]))
        st.tick = tick
        self._users = None
        return self._record(self._visible(), events, changes, decisions, applied)

    # ------------------------------------------------------------------ commands from outside (the inbox hook)
    def add_command(self, cmd: dict, tick: int | None = None) -> int:
        """Schedule ``cmd`` ({agent, kind, text, facts, source}) for the step of ``tick`` (default:
        the next tick, i.e. at this tick boundary); returns that tick."""
        tick = self.state.tick + 1 if tick is None else tick
        if tick <= self.state.tick:
            raise ValueError(f"command for tick {tick}: the run is already at tick {self.state.tick}")
        self.schedule.setdefault(tick, []).append(dict(cmd))
        return tick

    async def _apply_commands(self, tick: int, now: dt.datetime, events: list[dict]) -> list[dict]:
        """The commands scheduled for ``tick``, applied before anything else of the tick through
        the policy's ``hear``; each resident's context RNG derives from the state digest (the
        run's RNG is not drawn from). Returns them for the record (table ``interventions``)."""
        cmds = self.schedule.pop(tick, [])
        names = {a.name for a in self.state.agents}
        applied = []
        for cmd in cmds:
            if cmd["agent"] not in names:
                continue
            a = self.state.agent(cmd["agent"])
            seed = hashlib.blake2b(f"{self.state.digest}:{a.name}:{cmd['kind']}:{len(applied)}".encode(),
                                   digest_size=8).digest()
            self._dirty.add(a.name)
            ctx = DecisionContext(state=self.residents[a.name], rng=random.Random(int.from_bytes(seed, "little")),
                                  decide=functools.partial(self.decider.decide, agent=a.name, tick=tick),
                                  stream=self.memory.view(a.name, tick) if self.memory is not None else None,
                                  backend=self.decider.backend, defer=self._deferrer(a.name, tick))
            await self.policy.hear(self.observe(a, tick, now), ctx, cmd["text"], cmd["kind"], cmd.get("facts"))
            events += [{"agent": a.name, **e} for e in ctx.events]
            applied.append({k: cmd.get(k) for k in ("agent", "kind", "text", "facts", "source")})
        return applied

    def _apply(self, a: AgentState, act: Action, tick: int) -> list[dict]:
        events = []
        arena = self.map.arena_index(act.place)
        place = act.place
        if arena is None:  # an unknown place: stay where we are and say so
            here = int(self.map.arena_grid[a.y, a.x])
            events.append({"agent": a.name, "kind": "place_fallback", "data": {"asked": act.place}})
            arena = here if here >= 0 else None
            place = self.map.arenas[here].address if here >= 0 else self.map.address_at(a.x, a.y)
        goal, obj_addr, taken = self._ground(a, arena, act.object)
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
    async def _react(self, tick: int, now: dt.datetime, events: list[dict]) -> None:
        """Free, awake agents that see another free, awake agent may react: talk, wait, replan."""
        talking = self._talking
        awake_ = [a for a in self.state.agents if not a.asleep]
        free = [i for i, a in enumerate(awake_) if a.name not in talking]
        if len(awake_) < 2 or not free:
            return
        ready = self.policy.may_react  # a cheap gate, so most ticks build no observation
        agents = self._agents
        cand = []
        for i in free:
            a = awake_[i]
            seen = [n for n in self._attended(a, tick) if not agents[n].asleep]
            if seen and ready(self.residents[a.name], now, seen):
                cand.append(a)
        if not cand:
            return
        out = await self._calls([(a, functools.partial(self.policy.react, self.observe(a, tick, now)))
                                 for a in cand], tick, events)
        for a, re_ in zip(cand, out):
            if re_ is None or re_.kind == "continue":
                continue
            if re_.kind == "talk":
                self._start_conversation(a, re_.target, tick, events)
            elif re_.action is not None and a.name not in self._talking:
                events += self._apply(a, re_.action, tick)

    def can_talk(self, a: AgentState, b: AgentState, tick: int) -> bool:
        """The gate: both awake and free, not already talking, and not talked lately."""
        talking = self._talking
        if a is b or a.asleep or b.asleep or a.name in talking or b.name in talking:
            return False
        last = self.state.talked.get(pair_key(a.name, b.name))
        return last is None or tick - last >= self.clock.ticks_in(PAIR_COOLDOWN_SECONDS)

    def _start_conversation(self, a: AgentState, partner: str | None, tick: int, events: list[dict]) -> None:
        try:
            b = self.state.agent(partner or "")
        except KeyError:
            return
        if not self.can_talk(a, b, tick):
            return
        st = self.state
        st.conversation_count += 1
        place = self.map.address_at(b.x, b.y)
        st.conversations.append({"id": st.conversation_count, "a": a.name, "b": b.name, "start": tick,
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
        events.append({"agent": a.name, "kind": "conversation_start", "data": {"with": b.name, "place": place}})

    def _view(self, conv: dict, speaker: str, now: dt.datetime) -> ConversationView:
        partner = conv["b"] if speaker == conv["a"] else conv["a"]
        lines = tuple(Line(l["speaker"], l["text"], tuple(l.get("facts", ()))) for l in conv["lines"])
        return ConversationView(conv["id"], partner, conv["a"], lines, self.clock.time_at(conv["start"]), conv["place"])

    async def _conversations(self, tick: int, now: dt.datetime, events: list[dict]) -> None:
        """Advance every conversation: meet, take turns (one utterance at a time), end."""
        st = self.state
        line_ticks = max(1, self.clock.ticks_in(LINE_SECONDS))
        speaking: list[tuple[dict, AgentState, AgentState]] = []
        ending: list[dict] = []
        for conv in st.conversations:
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
            turns = await self._calls([(s, functools.partial(self.policy.converse, self.observe(s, tick, now),
                                                             conv=self._view(conv, s.name, now)))
                                       for conv, s, _ in speaking], tick, events)
            for (conv, s, other), turn in zip(speaking, turns):
                text = " ".join(str(turn.text).split())[:500] or "..."
                conv["lines"].append({"speaker": s.name, "text": text, "facts": [dict(f) for f in turn.facts]})
                s.utterance, other.utterance = text, None
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
                    calls.append((x, functools.partial(self.policy.end_conversation, self.observe(x, tick, now),
                                                       conv=self._view(conv, name, now))))
                st.talked[pair_key(conv["a"], conv["b"])] = tick
                if conv["lines"]:
                    events.append({"agent": conv["a"], "kind": "conversation", "data": {
                        "id": conv["id"], "participants": [conv["a"], conv["b"]], "place": conv["place"],
                        "start": self.clock.time_at(conv["start"]).strftime("%Y-%m-%d %H:%M"),
                        "end": now.strftime("%Y-%m-%d %H:%M"),
                        "lines": [{"speaker": l["speaker"], "text": l["text"]} for l in conv["lines"]]}})
            await self._calls(calls, tick, events)

    def _ground(self, a: AgentState, arena: int | None, obj: str | None
                ) -> tuple[tuple[int, int], str | None, bool]:
        """(the tile to walk to, the object address used, whether the object wanted was taken)
        for an action in ``arena`` using ``obj`` if it is there. An object holds ``capacity``
        residents, each on a seat of its own: a free seat of the objects of that name in the
        arena (chosen with the run's RNG when several objects have one); when every seat is
        taken, a free tile of the arena, and the action says the object is taken."""
        if arena is None:
            return (a.x, a.y), None, False
        m = self.map
        others = [b for b in self.state.agents if b is not a and b.goal is not None]
        seated = {b.goal for b in others if b.object}  # tiles of residents using (or heading to) an object
        if obj:
            found = m.object_indices(arena, obj)
            if found:
                free = [(i, t) for i in found for t in m.seats(i) if t not in seated]
                if free:
                    objs = list(dict.fromkeys(i for i, _ in free))
                    self._rng_dirty = True
                    pick = objs[0] if len(objs) == 1 else objs[self.rng.randrange(len(objs))]
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
        self._rng_dirty = True
        return tiles[self.rng.randrange(len(tiles))], None, taken

    # ------------------------------------------------------------------ digest and snapshots
    def _init_digests(self) -> None:
        """Per-part digests, recomputed only for what changed (see :meth:`_record`)."""
        self._mind_digest: dict[str, bytes] = {}
        self._perceived_digest: dict[str, bytes] = {}
        self._dirty: set[str] = set(self.residents)  # working state touched this tick (contexts, places)
        self._perceived_dirty: set[str] = set(self.residents)  # perception retention updated this tick
        self._rng_dirty = True
        self._rng_digest = b""
        self._json_rows: dict[str, tuple] = {}  # name -> (values, their types, their JSON): see _json_list
        self._json_hidden: dict[str, tuple] = {}
        self._json_talked: tuple[dict, str] = ({}, "[]")
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

    def _state_digest(self, memory_delta: Any) -> bytes:
        """blake2b of everything the visible rows do not show: each agent's hidden state, the
        conversations, each resident's working state, the tick's memory changes, the RNG."""
        st = self.state
        for name in self._dirty:
            mind = self.residents[name].to_dict(copy=False)  # written out at once: no deep copy
            self._mind_digest[name] = _blake(canonical({k: v for k, v in mind.items() if k != "perceived"}))
        for name in self._perceived_dirty:
            self._perceived_digest[name] = _blake(self._perceived_json(self.residents[name].perceived, name))
        self._dirty, self._perceived_dirty = set(), set()
        if self._rng_dirty:
            self._rng_digest = _blake(canonical(rng_to_state(self.rng)))
            self._rng_dirty = False
        hidden = _json_list(self._json_hidden, ((a.name, (a.name, None if a.goal is None else tuple(a.goal),
                                                          len(a.path), a.action_start, a.action_end, a.object,
                                                          a.object_state, a.asleep)) for a in st.agents))
        if st.talked != self._json_talked[0]:
            self._json_talked = (dict(st.talked), _json(sorted(st.talked.items())))
        if self._later_json is None:  # what is under way (not its answers), remade only when it changes
            self._later_json = _json(sorted([j.seq, j.agent, j.kind, j.due, j.payload] for j in self._jobs))
        # canonical([hidden, conversations, talked, count, later]), from the parts' JSON
        parts = [("[" + ",".join((hidden, _json(st.conversations), self._json_talked[1], _json(st.conversation_count),
                                  self._later_json)) + "]").encode(),
                 b"".join(self._mind_digest[a.name] + self._perceived_digest[a.name] for a in st.agents),
                 self._rng_digest]
        if memory_delta is not None:
            parts.append(canonical([
                [[m["agent"], m["id"], m["tick"], m["kind"], m["description"], m["subject"], m["predicate"],
                  m["object"], m["importance"], m["depth"], m["evidence"], m["facts"]] for m in memory_delta.memories],
                [list(x) for x in memory_delta.accesses], [list(x) for x in memory_delta.rescored]]))
        return _blake(b"".join(parts))

    def _record(self, rows: list[dict], events, changes, decisions, applied: list[dict] | None = None) -> TickRecord:
        st = self.state
        now = self.clock.time_at(st.tick)
        delta = self.memory.drain() if self.memory is not None else None
        # canonical([tick, time, rows' values, object states]), each row's JSON made once while it is unchanged
        visible = _json_list(self._json_rows, ((r["name"], (r["name"], r["x"], r["y"], r["action"], r["emoji"],
                                                            r["target"], r["utterance"])) for r in rows))
        body = ("[" + ",".join((_json(st.tick), _json(now.isoformat()), visible,
                                _json(sorted(st.object_states.items())))) + "]").encode()
        if applied:  # commands from outside change the chain (a tick without any is hashed as before)
            body += canonical(applied)
        st.digest = hashlib.blake2b(bytes.fromhex(st.digest) + body + self._state_digest(delta),
                                    digest_size=32).hexdigest()
        changed = [r for r in rows if self._last_rows.get(r["name"]) != r]
        self._last_rows = {r["name"]: r for r in rows}
        rec = TickRecord(st.tick, now, st.digest, changed, events, changes, decisions, memory=delta,
                         interventions=list(applied or []))
        if self.recorder is not None:
            self.recorder.record(rec)
        return rec

    def snapshot(self) -> Snapshot:
        """The whole state as plain data (a deep copy, with the RNG state), e.g. for a checkpoint.
        Only at a tick boundary: during a step the state is half-applied."""
        if self.in_tick:
            raise RuntimeError("snapshot during a tick: the state is half-applied")
        if not self.answered:
            raise RuntimeError("snapshot with work for later still waiting for answers: await quiesce() first")
        self.state.rng_state = rng_to_state(self.rng)
        jobs = sorted(self._jobs, key=lambda j: j.seq)
        later = {"seq": self._seq, "jobs": json.loads(json.dumps([j.to_dict() for j in jobs]))}
        return Snapshot(WorldState.from_dict(json.loads(self.state.to_json())),
                        {n: ResidentState.from_dict(s.to_dict()) for n, s in self.residents.items()}, later=later)

    async def run(self, until_tick: int, on_tick: Callable[[TickRecord], bool | None] | None = None) -> None:
        """Advance to ``until_tick``; ``on_tick`` may return True to stop early at a tick boundary."""
        try:
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


def _json_list(cache: dict[str, tuple], items) -> str:
    """The canonical JSON of the list of ``values`` of ``(key, values)`` items (``values`` a
    tuple, written as a list), reusing ``cache[key]`` while an item's values are unchanged (of
    the same types too, so ``1`` never stands for ``True``)."""
    out = []
    for key, values in items:
        hit = cache.get(key)
        typed = tuple(map(type, values))
        if hit is None or hit[0] != values or hit[1] != typed:
            hit = cache[key] = (values, typed, _json(list(values)))
        out.append(hit[2])
    return "[" + ",".join(out) + "]"


def _blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


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
