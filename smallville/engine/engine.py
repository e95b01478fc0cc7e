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
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

import numpy as np

from smallville.cognition.decisions import Decider
from smallville.cognition.interface import (Action, ConversationView, DecisionContext, Line, Observation, Policy,
                                           Seen, SeenObject)
from smallville.cognition.perceive import attend, awake
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
    memory: Any = None  # cognition.memory.MemoryDelta: new memories, accesses and vectors of the tick


# conversation mechanics (ticks are 10 game seconds in the shipped worlds; these are game times)
LINE_SECONDS = 30  # how long an utterance stays up before the other speaks
MAX_LINES = 10  # a conversation ends after this many lines at the latest
APPROACH_SECONDS = 600  # give up meeting after this long
PAIR_COOLDOWN_SECONDS = 8 * 3600  # two agents talk again only after this long


def pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


class Recorder(Protocol):
    def record(self, rec: TickRecord) -> None: ...


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def visible_row(a: AgentState, place: str) -> dict:
    return {"name": a.name, "x": a.x, "y": a.y, "action": a.action, "emoji": a.emoji,
            "place": place, "target": a.target, "utterance": a.utterance}


class Engine:
    def __init__(self, world: World, policy: Policy, seed: int, recorder: Recorder | None = None,
                 concurrency: int = 16, state: WorldState | None = None, decider: Decider | None = None,
                 memory: Any = None):
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
        self.memory = memory  # cognition.memory.Memory of every agent, or None (``--ablate memory``)
        self._objects: list[tuple[str, str, int, int]] | None = None  # objects in use this tick, with their tile
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
        talking = self._talking
        for b in self.state.agents:
            if b is a:
                continue
            d = abs(b.x - a.x) + abs(b.y - a.y)
            if d <= r:
                nearby.append(Seen(b.name, b.x, b.y, b.action, d, asleep=b.asleep, talking=b.name in talking))
        nearby.sort(key=lambda s: (s.distance, s.name))
        objects = self._objects if self._objects is not None else self._objects_in_use()
        seen = [SeenObject(addr, state, x, y, abs(x - a.x) + abs(y - a.y)) for addr, state, x, y in objects
                if abs(x - a.x) + abs(y - a.y) <= r]
        seen.sort(key=lambda o: (o.distance, o.address))
        return Observation(a.name, tick, now, a.x, a.y, self.map.address_at(a.x, a.y), a.action, tuple(nearby),
                           tuple(seen))

    def _objects_in_use(self) -> list[tuple[str, str, int, int]]:
        """(address, state, x, y) of each object in use: the tile of the agent using it."""
        st = self.state
        return [(a.object, st.object_states[a.object], a.x, a.y) for a in st.agents
                if a.object in st.object_states and not a.path and a.goal == (a.x, a.y)]

    async def _perceive(self, tick: int, now: dt.datetime, events: list[dict]) -> None:
        """Perception phase: each awake agent notices what is new within its vision
        (:func:`~smallville.cognition.perceive.attend`) and its policy remembers it. The
        contexts' RNGs derive from the state digest: the run's RNG is not drawn from, so the
        rest of the tick gets the same draws whether memory is on or off (``--ablate memory``)."""
        perceive = getattr(self.policy, "perceive", None)
        if self.memory is None or perceive is None:
            return
        settings, seconds = self.world.config.perception, self.clock.tick_seconds
        todo = []
        for a in self.state.agents:
            if not a.asleep and awake(a.action):
                obs = self.observe(a, tick, now)
                new = attend(obs, a.cognition.setdefault("perceived", {}), settings, seconds)
                if new:
                    todo.append((a, replace(obs, events=tuple(new))))
        if not todo:
            return
        sem = asyncio.Semaphore(self.concurrency)
        ctxs = []
        for a, _ in todo:
            seed = hashlib.blake2b(f"{self.state.digest}:{a.name}:perceive".encode(), digest_size=8).digest()
            ctxs.append(DecisionContext(memory=a.cognition, rng=random.Random(int.from_bytes(seed, "little")),
                                        decide=functools.partial(self.decider.decide, agent=a.name, tick=tick),
                                        stream=self.memory.view(a.name, tick), backend=self.decider.backend))

        async def one(obs: Observation, ctx: DecisionContext) -> None:
            async with sem:
                await perceive(obs, ctx)

        await asyncio.gather(*(one(obs, ctx) for (_, obs), ctx in zip(todo, ctxs)))
        for (a, _), ctx in zip(todo, ctxs):
            events += [{"agent": a.name, **e} for e in ctx.events]

    @property
    def _talking(self) -> set[str]:
        return {n for c in self.state.conversations for n in (c["a"], c["b"])}

    def _context(self, a: AgentState, tick: int) -> DecisionContext:
        # one private RNG per call, drawn from the run's RNG in a fixed order: completion order cannot matter
        return DecisionContext(memory=a.cognition, rng=random.Random(self.rng.getrandbits(64)),
                               decide=functools.partial(self.decider.decide, agent=a.name, tick=tick),
                               stream=self.memory.view(a.name, tick) if self.memory is not None else None,
                               backend=self.decider.backend)

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

    # ------------------------------------------------------------------ the tick
    async def step(self) -> TickRecord:
        st = self.state
        tick = st.tick + 1
        now = self.clock.time_at(tick)
        self._decisions = decisions = []
        events: list[dict] = []
        self._objects = self._objects_in_use()
        await self._perceive(tick, now, events)
        if hasattr(self.policy, "converse"):
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
        self._objects = None
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
        a.asleep = act.asleep
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

    # ------------------------------------------------------------------ reacting and conversing
    async def _react(self, tick: int, now: dt.datetime, events: list[dict]) -> None:
        """Free, awake agents that see another free, awake agent may react: talk, wait, replan."""
        talking = self._talking
        awake_ = [a for a in self.state.agents if not a.asleep]
        free = [i for i, a in enumerate(awake_) if a.name not in talking]
        if len(awake_) < 2 or not free:
            return
        xy = np.array([(a.x, a.y) for a in awake_])
        near = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2) <= self.vision
        np.fill_diagonal(near, False)
        ready = getattr(self.policy, "may_react", None)  # a cheap gate, so most ticks build no observation
        cand = [awake_[i] for i in free if near[i].any() and
                (ready is None or ready(awake_[i].cognition, now, [awake_[j].name for j in np.flatnonzero(near[i])]))]
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
            a, b = st.agent(conv["a"]), st.agent(conv["b"])
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
                    x = st.agent(name)
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
        rec = TickRecord(st.tick, now, st.digest, changed, events, changes, decisions,
                         memory=self.memory.drain() if self.memory is not None else None)
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
