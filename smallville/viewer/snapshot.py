"""The state of a run at a moment, as plain data, loaded from the run store.

A :class:`Snapshot` is what a frame is drawn from: agents (positions interpolated between
two ticks), object states, the timeline with its markers, and the side panel's details for
the followed agent. :class:`SnapshotSource` reads them from a :class:`RunReader`, caching
per tick. No pygame here.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from smallville.errors import RunStoreError
from smallville.store.runstore import RunReader, read_manifest
from smallville.viewer.scene import Scene
from smallville.world.clock import weekday

MARKER_KINDS = ("conversation", "gathering")  # events drawn on the timeline
MAX_STEP = 1.5  # tiles: a bigger jump between two ticks is a teleport, not a walk


@dataclass(frozen=True)
class AgentView:
    name: str
    x: float  # tile coordinates (interpolated)
    y: float
    tile: tuple[int, int]  # the stored tile at the snapshot's tick
    action: str
    emoji: str
    place: str
    target: str
    utterance: str | None


@dataclass(frozen=True)
class Marker:
    tick: int  # where it starts (a conversation's first line)
    kind: str
    label: str
    end: int | None = None  # where it ends, when it lasts


@dataclass(frozen=True)
class Timeline:
    first: int
    last: int
    markers: tuple[Marker, ...] = ()
    days: tuple[tuple[int, str], ...] = ()  # (tick of midnight, "Tue 14")


@dataclass(frozen=True)
class AgentDetail:
    """What the side panel shows about one resident at one moment."""

    name: str
    summary: str  # "30 · cafe owner"
    action: str
    emoji: str
    place: str
    target: str
    utterance: str | None
    today: tuple[tuple[str, str, str], ...]  # (HH:MM, description, place) of today's actions so far
    plan: tuple[tuple[str, str, str], ...]  # (start, end, activity) of today's latest plan, if the run has plans
    memories: tuple[tuple[str, str, str], ...] | None  # (HH:MM, kind, text), newest first; None: not readable
    reflections: tuple[tuple[str, str, str], ...] | None = None


@dataclass(frozen=True)
class Snapshot:
    scene: Scene
    t: float  # the playhead, in ticks (fractional between two ticks)
    tick: int
    time: dt.datetime
    agents: tuple[AgentView, ...]
    objects: dict[str, str]
    timeline: Timeline
    detail: AgentDetail | None = None
    status: str = "complete"  # the manifest's status: "running" while the run is being written
    live: bool = False  # the viewer is following the newest tick

    def agent(self, name: str) -> AgentView | None:
        for a in self.agents:
            if a.name == name:
                return a
        return None


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class SnapshotSource:
    """Snapshots of one stored run, cached per tick; ``refresh`` picks up new ticks of a live run."""

    def __init__(self, reader: RunReader, scene: Scene):
        self.reader = reader
        self.scene = scene
        self._agents: _LRU = _LRU(64)
        self._objects: _LRU = _LRU(16)
        self._details: _LRU = _LRU(32)
        first = reader.first_tick() if hasattr(reader, "first_tick") else 0
        self.first = int(first or 0)
        self.last = int(reader.last_tick() or 0)
        self.status = str(reader.manifest.get("status", "complete"))
        self._markers: list[Marker] = []
        self._marker_tick = -1
        self._gatherings_done = False
        self._load_markers()
        self._timeline = self._make_timeline()

    # -- live runs -----------------------------------------------------
    def refresh(self) -> bool:
        """Re-read the newest tick and the run's status; True if anything changed."""
        last = int(self.reader.last_tick() or 0)
        try:
            status = str(read_manifest(self.reader.dir).get("status", self.status))
        except RunStoreError:
            status = self.status
        changed = last != self.last or status != self.status
        if changed:
            self.last, self.status = last, status
            self._load_markers()
            self._timeline = self._make_timeline()
        return changed

    @property
    def running(self) -> bool:
        return self.status == "running"

    # -- time ------------------------------------------------------------
    def clamp(self, t: float) -> float:
        return min(max(t, float(self.first)), float(self.last))

    def tick_of(self, when: dt.datetime) -> float:
        return self.clamp(self.scene.tick_at(when))

    # -- state -------------------------------------------------------------
    def agents_at(self, tick: int) -> list[dict]:
        return self._agents.get_or(tick, lambda: self.reader.agents_at(tick))

    def objects_at(self, tick: int) -> dict[str, str]:
        return self._objects.get_or(tick, lambda: self.reader.object_states_at(tick))

    def snapshot(self, t: float, focus: str | None = None, live: bool = False) -> Snapshot:
        t = self.clamp(t)
        tick = int(math.floor(t))
        frac = t - tick
        rows = self.agents_at(tick)
        nxt = {r["name"]: r for r in self.agents_at(tick + 1)} if frac > 0 and tick < self.last else {}
        agents = []
        for r in rows:
            x, y = float(r["x"]), float(r["y"])
            n = nxt.get(r["name"])
            if n is not None and abs(n["x"] - x) <= MAX_STEP and abs(n["y"] - y) <= MAX_STEP:
                x += (n["x"] - x) * frac
                y += (n["y"] - y) * frac
            agents.append(AgentView(r["name"], x, y, (int(r["x"]), int(r["y"])), r["action"] or "",
                                    r["emoji"] or "", r["place"] or "", r["target"] or "", r["utterance"]))
        detail = self.detail(focus, tick) if focus else None
        return Snapshot(self.scene, t, tick, self.scene.time_at(t), tuple(agents), self.objects_at(tick),
                        self._timeline, detail, self.status, live)

    # -- timeline --------------------------------------------------------
    def _load_markers(self) -> None:
        since = self._marker_tick + 1
        for kind in MARKER_KINDS:
            for e in self.reader.events(kind=kind, since=since, until=self.last):
                start = e["tick"]
                d = e["data"] if isinstance(e["data"], dict) else {}
                if isinstance(d.get("start"), str):
                    try:
                        start = min(start, max(self.first, int(self.scene.tick_at(dt.datetime.fromisoformat(d["start"])))))
                    except ValueError:
                        pass
                self._markers.append(Marker(start, kind, _marker_label(e), e["tick"]))
        if not self._gatherings_done and self.status != "running":
            self._markers.extend(detected_gatherings(self.reader))
            self._gatherings_done = True
        self._markers.sort(key=lambda m: m.tick)
        self._marker_tick = self.last

    def _make_timeline(self) -> Timeline:
        start, end = self.scene.time_at(self.first), self.scene.time_at(self.last)
        days = []
        day = dt.datetime.combine(start.date(), dt.time()) + dt.timedelta(days=1)
        while day <= end:
            days.append((int(math.ceil(self.scene.tick_at(day))), f"{weekday(day)[:3]} {day.day:02d}"))
            day += dt.timedelta(days=1)
        return Timeline(self.first, self.last, tuple(self._markers), tuple(days))

    # -- the side panel ------------------------------------------------
    def detail(self, name: str, tick: int) -> AgentDetail | None:
        if name not in self.scene.names:
            return None
        return self._details.get_or((name, tick), lambda: self._detail(name, tick))

    def _detail(self, name: str, tick: int) -> AgentDetail:
        now = next((r for r in self.agents_at(tick) if r["name"] == name), None) or {}
        when = self.scene.time_at(tick)
        midnight = dt.datetime.combine(when.date(), dt.time())
        day_tick = max(self.first, int(math.ceil(self.scene.tick_at(midnight))))
        today = []
        for e in self.reader.events(kind="action", agent=name, since=day_tick, until=tick):
            d = e["data"] if isinstance(e["data"], dict) else {}
            today.append((self.scene.time_at(e["tick"]).strftime("%H:%M"), str(d.get("description", "")),
                          str(d.get("place", ""))))
        plan: list[tuple[str, str, str]] = []
        for e in self.reader.events(kind="plan", agent=name, since=day_tick, until=tick):
            plan = _plan_lines(e["data"])
        p = self.scene.personas.get(name, {})
        summary = " · ".join(str(v) for v in (p.get("age"), p.get("occupation")) if v)
        return AgentDetail(name, summary, now.get("action", ""), now.get("emoji", ""), now.get("place", ""),
                           now.get("target", ""), now.get("utterance"), tuple(today), tuple(plan),
                           _memories(self.reader, self.scene, name, tick, False),
                           _memories(self.reader, self.scene, name, tick, True))


def detected_gatherings(reader: RunReader) -> list[Marker]:
    """Markers for the gatherings analysis finds in a finished run (``smallville.analysis``, read
    from the same store, imported only here); none when the run cannot be analysed."""
    try:
        from smallville.analysis.gatherings import find
        from smallville.analysis.source import RunData

        found = find(RunData(reader))
    except (ImportError, RunStoreError, sqlite3.Error, KeyError, TypeError, AttributeError, ValueError):
        return []
    return [Marker(g["start_tick"], "gathering", f"gathering: {g['place']} ({', '.join(g['attendees'])})",
                   g["end_tick"]) for g in found]


def _marker_label(e: dict) -> str:
    d = e.get("data") if isinstance(e.get("data"), dict) else {}
    who = d.get("participants") or d.get("agents") or ([e["agent"]] if e.get("agent") else [])
    if isinstance(who, (list, tuple)):
        who = ", ".join(str(w) for w in who)
    return f"{e['kind']}: {who}" if who else str(e["kind"])


def _plan_lines(data: Any) -> list[tuple[str, str, str]]:
    items = (data.get("blocks") or []) if isinstance(data, dict) else []
    lines = []
    for b in items if isinstance(items, list) else []:
        if isinstance(b, dict) and b.get("activity"):
            lines.append((str(b.get("start", "")), str(b.get("end", "")), str(b["activity"])))
    return lines


def _memories(reader: RunReader, scene: Scene, name: str, tick: int, reflections: bool, limit: int = 6):
    """Newest memories (or reflections) at ``tick``, when the store can say (a later issue adds them)."""
    fn = getattr(reader, "recent_memories", None)
    if not callable(fn):
        return None
    try:
        rows = fn(name, tick, limit=limit, reflections=reflections)
    except (TypeError, ValueError, KeyError, sqlite3.Error):  # a store shape this viewer does not know
        return None
    out = []
    for r in rows:
        when = scene.time_at(r["tick"]).strftime("%H:%M") if isinstance(r.get("tick"), int) else ""
        out.append((when, str(r.get("kind", "")), str(r.get("description", ""))))
    return tuple(out)
