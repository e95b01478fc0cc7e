"""The tick loop. The engine owns the clock and the run's one seeded RNG.

Each tick: perceive → decide (agents whose action ended, concurrently, bounded) → ground
actions on the map → move each walking agent one tile → update object states → record.
"""

from __future__ import annotations

import asyncio
import functools
import datetime as dt
import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from smallville.cognition.decisions import Decider
from smallville.cognition.interface import Action, DecisionContext, Observation, Policy, Seen
from smallville.world.clock import Clock
from smallville.world.pathfinding import Pathfinder
from smallville.world.state import AgentState, WorldState, rng_from_state, rng_to_state
from smallville.world.world import World


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


class Recorder(Protocol):
    def record(self, rec: TickRecord) -> None: ...


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def visible_row(a: AgentState, place: str) -> dict:
    return {"name": a.name, "x": a.x, "y": a.y, "action": a.action, "emoji": a.emoji,
            "place": place, "target": a.target, "utterance": a.utterance}


class Engine:
    def __init__(self, world: World, policy: Policy, seed: int, recorder: Recorder | None = None,
                 concurrency: int = 16, state: WorldState | None = None, decider: Decider | None = None):
        self.world = world
        self.map = world.map
        self.policy = policy
        self.decider = decider or Decider()
        self._decisions: list[dict] = []
        self.decider.set_recorder(lambda **d: self._decisions.append(d))
        self.clock = Clock(world.config.start, world.config.tick_seconds)
        self.recorder = recorder
        self.concurrency = concurrency
        self.pathfinder = Pathfinder(self.map.walkable)
        self.vision = world.config.perception.vision_radius
        if state is None:
            self.rng = random.Random(seed)
            state = WorldState(tick=0, agents=[AgentState(r.persona.name, *r.start) for r in world.residents])
            for a, r in zip(state.agents, world.residents):  # spatial memory: the places it knows
                a.cognition["known_places"] = sorted({self.map.arenas[self.map.arena_index(p)].address
                                                      for _, p in r.persona.known_places()})
            state.digest = hashlib.blake2b(canonical(["smallville-run", seed]), digest_size=32).hexdigest()
            self.state = state
            self._last_rows: dict[str, dict] = {}
            self._record(self._visible(), [], [], [])
        else:
            self.rng = rng_from_state(state.rng_state)
            self.state = state
            self._last_rows = {r["name"]: r for r in self._visible()}

    # ------------------------------------------------------------------ queries
    @property
    def now(self) -> dt.datetime:
        return self.clock.time_at(self.state.tick)

    def _visible(self) -> list[dict]:
        return [visible_row(a, self.map.address_at(a.x, a.y)) for a in self.state.agents]

    def observe(self, a: AgentState, tick: int, now: dt.datetime) -> Observation:
        r = self.vision
        nearby = []
        for b in self.state.agents:
            if b is a:
                continue
            d = abs(b.x - a.x) + abs(b.y - a.y)
            if d <= r:
                nearby.append(Seen(b.name, b.x, b.y, b.action, d))
        nearby.sort(key=lambda s: (s.distance, s.name))
        return Observation(a.name, tick, now, a.x, a.y, self.map.address_at(a.x, a.y), a.action, tuple(nearby))

    # ------------------------------------------------------------------ the tick
    async def step(self) -> TickRecord:
        st = self.state
        tick = st.tick + 1
        now = self.clock.time_at(tick)
        deciding = [a for a in st.agents if a.action_end <= tick]
        self._decisions = decisions = []
        events: list[dict] = []
        if deciding:
            # one private RNG per decision, drawn in agent order: completion order cannot matter
            seeds = [self.rng.getrandbits(64) for _ in deciding]
            sem = asyncio.Semaphore(self.concurrency)

            async def decide(a: AgentState, seed: int) -> Action:
                ctx = DecisionContext(memory=a.cognition, rng=random.Random(seed),
                                      decide=functools.partial(self.decider.decide, agent=a.name, tick=tick))
                async with sem:
                    return await self.policy.decide(self.observe(a, tick, now), ctx)

            actions = await asyncio.gather(*(decide(a, s) for a, s in zip(deciding, seeds)))
            decisions.sort(key=lambda d: (d["agent"], d["name"]))
            for a, act in zip(deciding, actions):
                events += self._apply(a, act, tick)
        # move one tile; spatial memory grows with the arenas an agent sees on its way
        for a in st.agents:
            if a.path:
                a.x, a.y = a.path.pop(0)
                events += self._learn_places(a)
        # object states: an object is in use while an agent stands on it doing its action
        objects: dict[str, str] = {}
        for a in st.agents:
            if a.object and not a.path and a.goal == (a.x, a.y) and a.object_state:
                objects[a.object] = a.object_state
        changes = [(k, objects.get(k)) for k in sorted(set(objects) | set(st.object_states))
                   if objects.get(k) != st.object_states.get(k)]
        st.object_states = objects
        st.tick = tick
        return self._record(self._visible(), events, changes, decisions)

    def _apply(self, a: AgentState, act: Action, tick: int) -> list[dict]:
        events = []
        arena = self.map.arena_index(act.place)
        place = act.place
        if arena is None:  # an unknown place: stay where we are and say so
            here = int(self.map.arena_grid[a.y, a.x])
            events.append({"agent": a.name, "kind": "place_fallback", "data": {"asked": act.place}})
            arena = here if here >= 0 else None
            place = self.map.arenas[here].address if here >= 0 else self.map.address_at(a.x, a.y)
        goal, obj_addr = self._ground(a, arena, act.object)
        end = max(tick + 1, math.ceil((act.end - self.clock.start).total_seconds() / self.clock.tick_seconds))
        a.action, a.emoji, a.target = act.description, act.emoji, place
        a.object, a.object_state, a.utterance = obj_addr, act.object_state, act.utterance
        a.action_start, a.action_end = tick, end
        a.goal = goal
        a.path = list(self.pathfinder.path((a.x, a.y), goal))
        events.append({"agent": a.name, "kind": "action",
                       "data": {"description": act.description, "place": place, "object": obj_addr,
                                "until": act.end.strftime("%Y-%m-%d %H:%M")}})
        return events

    def _learn_places(self, a: AgentState) -> list[dict]:
        """Arenas within the vision radius join the agent's spatial memory (walls do not block sight)."""
        r = self.vision
        window = self.map.arena_grid[max(0, a.y - r):a.y + r + 1, max(0, a.x - r):a.x + r + 1]
        known = a.cognition.setdefault("known_places", [])
        new = [self.map.arenas[i].address for i in np.unique(window).tolist() if i >= 0]
        new = [p for p in new if p not in known]
        if not new:
            return []
        known.extend(new)
        known.sort()
        return [{"agent": a.name, "kind": "place_learned", "data": {"place": p}} for p in new]

    def _ground(self, a: AgentState, arena: int | None, obj: str | None) -> tuple[tuple[int, int], str | None]:
        """The tile to walk to for an action in ``arena`` (using ``obj`` if it is there)."""
        if arena is None:
            return (a.x, a.y), None
        m = self.map
        if obj:
            found = m.objects_in(arena, obj)
            if found:
                o = found[0] if len(found) == 1 else found[self.rng.randrange(len(found))]
                return o.tiles[0], f"{m.arenas[arena].address}:{o.name}"
        if int(m.arena_grid[a.y, a.x]) == arena:
            return (a.x, a.y), None
        tiles = [t for t in m.arenas[arena].tiles if m.walkable[t[1], t[0]] and m.object_grid[t[1], t[0]] < 0]
        tiles = tiles or [t for t in m.arenas[arena].tiles if m.walkable[t[1], t[0]]]
        return tiles[self.rng.randrange(len(tiles))], None

    def _record(self, rows: list[dict], events, changes, decisions) -> TickRecord:
        st = self.state
        now = self.clock.time_at(st.tick)
        body = canonical([st.tick, now.isoformat(), [[r["name"], r["x"], r["y"], r["action"], r["emoji"],
                          r["target"], r["utterance"]] for r in rows], sorted(st.object_states.items())])
        st.digest = hashlib.blake2b(bytes.fromhex(st.digest) + body, digest_size=32).hexdigest()
        changed = [r for r in rows if self._last_rows.get(r["name"]) != r]
        self._last_rows = {r["name"]: r for r in rows}
        rec = TickRecord(st.tick, now, st.digest, changed, events, changes, decisions)
        if self.recorder is not None:
            self.recorder.record(rec)
        return rec

    def snapshot(self) -> WorldState:
        """The whole state as plain data (with the RNG state), e.g. for a checkpoint."""
        self.state.rng_state = rng_to_state(self.rng)
        return WorldState.from_dict(json.loads(self.state.to_json()))

    async def run(self, until_tick: int, on_tick: Callable[[TickRecord], bool | None] | None = None) -> None:
        """Advance to ``until_tick``; ``on_tick`` may return True to stop early at a tick boundary."""
        while self.state.tick < until_tick:
            rec = await self.step()
            if on_tick is not None and on_tick(rec):
                break
