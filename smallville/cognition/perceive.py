"""Perception: what an awake agent notices each tick, and remembering it.

Events are the agent's own action, other agents' actions and the states of objects in use
("the stove … is in use: cooking lunch", "the bed … is being slept in"). Each tick the
engine hands an awake agent the events within its vision radius (Manhattan distance, as
the engine's sight) — of the residents in sight, only the nearest ``attention_bandwidth``
(attention bounded at the query: see ``Engine.observe``); :func:`attend` keeps the nearest
``attention_bandwidth`` of those events
(ties by description) and records only those it has not attended to within the last
``retention_minutes``: an event in view stays remembered as seen, so a continuing action is
recorded once, and again only after it was out of the agent's attention for a whole window.
The retention record (description → tick last attended) is plain data in the agent's
cognition state, so it survives a checkpoint.

:func:`remember` is the policy's perceive step for the events that survive: new observation
nodes in the stream (their vectors are embedded later, batched with every other agent's new
texts — see :mod:`~smallville.cognition.memory`; their importance is rated in batches — see
:mod:`~smallville.cognition.importance`), and a reflection when the importance of all memories
(chats too, not thoughts) summed since the last one reaches the threshold.
"""

from __future__ import annotations

import heapq
from typing import Any

from smallville.cognition import importance
from smallville.cognition.interface import DecisionContext, Observation, Percept
from smallville.world.config import PerceptionSettings, Persona

ASLEEP = ("sleeping", "asleep", "napping", "sleep")


def awake(action: str) -> bool:
    """False while the action is sleeping (perception is off then)."""
    return not action.lower().startswith(ASLEEP)


def object_sentence(address: str, state: str) -> str:
    """'the stove in Town Diner (kitchen) is in use: cooking lunch'."""
    parts = address.split(":")
    name = parts[-1]
    where = f" in {parts[0]} ({parts[1]})" if len(parts) >= 3 else ""
    return f"the {name}{where} is {state}"


def events_in_view(obs: Observation, max_distance: int | None = None) -> list[Percept]:
    """Every event the observation shows: the agent's own action, other agents' actions, object
    states (only those within ``max_distance``, when given)."""
    out = []
    if obs.action:
        out.append(Percept(obs.agent, "is", obs.action, f"{obs.agent} is {obs.action}", 0))
    far = max_distance if max_distance is not None else float("inf")
    for s in obs.nearby:
        if s.action and s.distance <= far:
            out.append(Percept(s.name, "is", s.action, f"{s.name} is {s.action}", s.distance))
    for o in obs.object_states:
        if o.state and o.distance <= far:
            out.append(Percept(o.address, "is", o.state, object_sentence(o.address, o.state), o.distance))
    return out


def attend(obs: Observation, recent: dict[str, int], settings: PerceptionSettings, tick_seconds: int) -> list[Percept]:
    """The new events the agent records this tick (nearest first); updates ``recent`` in place.

    ``recent`` maps a description to the tick the agent last attended to it; entries older
    than the retention window are dropped."""
    return attend_seen(obs, recent, settings, tick_seconds)[0]


def attend_seen(obs: Observation, recent: dict[str, int], settings: PerceptionSettings,
                tick_seconds: int) -> tuple[list[Percept], tuple[str, ...]]:
    """:func:`attend`, with the descriptions attended to (new or not): see :func:`attend_again`."""
    window = settings.retention_minutes * 60 // tick_seconds
    tick = obs.tick
    _forget(recent, tick, window)
    bandwidth = settings.attention_bandwidth
    # Only the nearest ``bandwidth`` events are attended to. In a crowd, sentences are built
    # only for the events no farther than the bandwidth-th nearest: sorted by (distance,
    # description), those are a prefix of all the events in view, so the result is the same.
    far = settings.vision_radius
    dists = [s.distance for s in obs.nearby if s.action and s.distance <= far]
    dists += [o.distance for o in obs.object_states if o.state and o.distance <= far]
    if obs.action:
        dists.append(0)
    if len(dists) > bandwidth:
        far = min(far, heapq.nsmallest(bandwidth, dists)[-1])
    events = [e for e in events_in_view(obs, far) if e.distance <= settings.vision_radius]
    events.sort(key=lambda e: (e.distance, e.description))
    new, seen = [], set()
    for e in events[:bandwidth]:
        if e.description in recent or e.description in seen:
            seen.add(e.description)
            continue
        seen.add(e.description)
        new.append(e)
    for d in seen:
        recent[d] = tick
    return new, tuple(seen)


def _forget(recent: dict[str, int], tick: int, window: int) -> None:
    """Drop what was last attended to a whole retention window ago."""
    if recent and tick - min(recent.values()) >= window:
        for d in [d for d, t in recent.items() if tick - t >= window]:
            del recent[d]


def attend_again(recent: dict[str, int], seen: tuple[str, ...], tick: int, settings: PerceptionSettings,
                 tick_seconds: int) -> bool:
    """:func:`attend` of an observation showing the same events as the one attended to at
    ``tick - 1`` (which attended to ``seen``), without building its events: with a retention
    window of two ticks or more, those are all still in ``recent``, so nothing is new; ``recent``
    is updated as :func:`attend` would. Returns False (and changes nothing) where that does not
    hold; call :func:`attend` then."""
    window = settings.retention_minutes * 60 // tick_seconds
    if window < 2:
        return False
    _forget(recent, tick, window)
    for d in seen:
        recent[d] = tick
    return True


async def remember(persona: Persona, obs: Observation, ctx: DecisionContext) -> list[Any]:
    """Store ``obs.events`` as observations and reflect when due.

    Importance (see :mod:`~smallville.cognition.importance`): routine observations get the
    rules' score; the others wait, and the agent's waiting memories are rated together once
    the oldest has waited long enough (ratings applied at a later tick) — or now, when their
    provisional scores bring the sum since the last reflection to the threshold, so that a
    reflection is triggered by rated importance (ratings still under way count with their
    provisional scores)."""
    from smallville.cognition import reflect  # reflect builds on retrieval; imported lazily

    mem = ctx.stream
    if mem is None or not obs.events:
        return []
    nodes = importance.add(persona, ctx, [importance.New("observation", p.description, p.subject,
                                                         spo=(p.subject, p.predicate, p.object)) for p in obs.events])
    reflecting = mem.memory.reflect
    threshold = reflecting and mem.stream.since_reflection >= mem.memory.reflection.threshold
    if importance.due(ctx) or threshold:  # rated at once only when a reflection may follow
        await importance.settle(persona, ctx, grace=0, wait=threshold)
    if reflecting and mem.stream.since_reflection >= mem.memory.reflection.threshold:
        nodes += await reflect.reflect(persona, ctx)
    return nodes
