"""Emergent gatherings, found without being told what to look for.

The *routine baseline* puts each resident where its persona's usual weekday says (the
``lifestyle`` stored with the run: asleep and in gaps at home, else the routine block's
place), with the day's shift of up to :data:`ROUTINE_SLACK_MIN` minutes either way that the
rules routine draws. A resident in an arena at a moment is *unexplained* when no time of
its routine within that slack puts it in that arena.

A gathering is an arena where at least :data:`MIN_PEOPLE` unexplained residents are at
once, for at least :data:`MIN_MINUTES` game minutes (sampled every game minute: two samples
with that many are in one gathering when at most :data:`MAX_GAP_MIN` minutes apart, so a gap
of up to 4 minutes with fewer is bridged; a gathering runs from its first such sample to one
minute after its last, and lasts at least :data:`MIN_MINUTES` when it spans that many samples).
Its attendees are the unexplained residents there for at least :data:`MIN_STAY_MIN` of its
sampled minutes (gap minutes included); ``also_present`` those whose routine put them there
that long anyway.

Positions are sampled at every game minute from the run's first tick (a resident is where its
last stored row at or before the sample puts it). A gathering held at an event's place during
its hours is marked with that event (:mod:`smallville.analysis.events`); who heard of an event
and who came are decided there, from the event's facts, not from the gathering.
"""

from __future__ import annotations

import numpy as np

from smallville.analysis.source import RunData

MIN_PEOPLE = 3
MIN_MINUTES = 30
MAX_GAP_MIN = 5
MIN_STAY_MIN = 10
ROUTINE_SLACK_MIN = 15
DAY = 24 * 60


def arena_of(place: str) -> str | None:
    """``Sector:arena`` of a place address (None outside any arena)."""
    parts = (place or "").split(":")
    return ":".join(parts[:2]) if len(parts) >= 2 else None


def _minutes(v) -> int:
    if isinstance(v, str):
        h, m = v.split(":")
        return int(h) * 60 + int(m)
    return int(v)


def routine_places(persona: dict) -> list[str | None]:
    """Where the routine (unshifted) puts the persona at each minute of the day."""
    life = persona.get("lifestyle") or {}
    home = arena_of(persona.get("home") or "")
    try:
        wake, sleep = _minutes(life["wake"]), _minutes(life["sleep"])
        blocks = [(_minutes(b["start"]), _minutes(b["end"]), arena_of(b.get("place") or ""))
                  for b in life.get("routine") or []]
    except (KeyError, ValueError, TypeError):
        return [home] * DAY
    blocks.sort(key=lambda b: (b[0] - wake) % DAY)
    out: list[str | None] = []
    for m in range(DAY):
        asleep = (m < wake or m >= sleep) if sleep > wake else (sleep <= m < wake)
        where = home
        if not asleep:
            for s, e, place in blocks:
                e = e if e != s else s + 1
                if (s <= m < e) if e > s else (m >= s or m < e):
                    where = place
                    break
        out.append(where)
    return out


class RoutineBaseline:
    """Whether a resident's routine (with its daily slack) puts it in an arena at a minute of the day."""

    def __init__(self, personas: dict[str, dict], slack: int = ROUTINE_SLACK_MIN):
        self._ok: dict[str, dict[str, np.ndarray]] = {}
        k = np.ones(2 * slack + 1, dtype=int)
        for name, p in personas.items():
            arr = routine_places(p)
            per: dict[str, np.ndarray] = {}
            for place in set(a for a in arr if a):
                mask = np.array([a == place for a in arr], dtype=int)
                wrapped = np.concatenate([mask[-slack:], mask, mask[:slack]]) if slack else mask
                per[place] = np.convolve(wrapped, k, mode="valid") > 0
            self._ok[name] = per

    def explains(self, name: str, arena: str, minute_of_day: int) -> bool:
        ok = self._ok.get(name, {}).get(arena)
        return bool(ok is not None and ok[minute_of_day % DAY])


def presence(data: RunData, step: int) -> tuple[list[int], list[dict[str, str]]]:
    """Sample ticks (every ``step`` ticks) and, at each, resident -> arena (residents in an arena)."""
    rows = data.place_rows()
    samples = list(range(data.first, data.last + 1, step))
    out, where, i = [], {}, 0
    for t in samples:
        while i < len(rows) and rows[i][0] <= t:
            _, name, place = rows[i]
            where[name] = arena_of(place)
            i += 1
        out.append({n: a for n, a in where.items() if a})
    return samples, out


def find(data: RunData) -> list[dict]:
    """Every gathering of the run, in time order (without the event match)."""
    step = data.ticks_in(60)
    minutes = step * data.tick_seconds / 60
    base = RoutineBaseline(data.personas)
    samples, where = presence(data, step)
    crowd: dict[str, list[tuple[int, set[str], set[str]]]] = {}  # arena -> [(sample, unexplained, explained)]
    for i, (t, here) in enumerate(zip(samples, where)):
        now = data.time_at(t)
        mod = now.hour * 60 + now.minute
        by_arena: dict[str, tuple[set[str], set[str]]] = {}
        for name, arena in here.items():
            odd, usual = by_arena.setdefault(arena, (set(), set()))
            (usual if base.explains(name, arena, mod) else odd).add(name)
        for arena, (odd, usual) in by_arena.items():
            crowd.setdefault(arena, []).append((i, odd, usual))
    found = []
    gap = max(1, int(MAX_GAP_MIN / minutes))
    for arena, seq in crowd.items():
        active = [(i, odd, usual) for i, odd, usual in seq if len(odd) >= MIN_PEOPLE]
        runs: list[list[tuple[int, set[str], set[str]]]] = []
        for item in active:
            if runs and item[0] - runs[-1][-1][0] <= gap:
                runs[-1].append(item)
            else:
                runs.append([item])
        for run in runs:
            first_i, last_i = run[0][0], run[-1][0]
            if (last_i - first_i + 1) * minutes < MIN_MINUTES:
                continue
            stay: dict[str, int] = {}
            usual_stay: dict[str, int] = {}
            for i, odd, usual in seq:
                if first_i <= i <= last_i:
                    for n in odd:
                        stay[n] = stay.get(n, 0) + 1
                    for n in usual:
                        usual_stay[n] = usual_stay.get(n, 0) + 1
            need = MIN_STAY_MIN / minutes
            attendees = sorted(n for n, c in stay.items() if c >= need)
            also = sorted(n for n, c in usual_stay.items() if c >= need and n not in attendees)
            end_tick = min(data.last, samples[last_i] + step)
            found.append({"place": arena, "start": data.stamp(samples[first_i]), "end": data.stamp(end_tick),
                          "start_tick": samples[first_i], "end_tick": end_tick,
                          "minutes": round((end_tick - samples[first_i]) * data.tick_seconds / 60),
                          "attendees": attendees, "also_present": also,
                          "most_at_once": max(len(odd) for _, odd, _ in run), "event": None})
    return sorted(found, key=lambda g: (g["start_tick"], g["place"]))
