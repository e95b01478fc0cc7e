"""A stored run as analysis reads it: game time of a tick, residents, personas, tracked facts,
and the bulk rows (places, events, memories, decisions) each metric needs, read once.

Analysis reads only the run store (:class:`~smallville.store.runstore.RunReader`); it never
imports the engine, the runner or cognition.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from smallville.errors import RunStoreError
from smallville.store.runstore import RunReader

TIME = "%Y-%m-%d %H:%M"


REQUIRED_TABLES = ("ticks", "agents", "agent_states", "events")
# the least cosine for "close in meaning" by the run's embedder, for a fact stated only by its
# meaning; measured on the town's texts: paraphrases of "Sam Moore is running for mayor" score
# 0.88-0.90 with MiniLM and 0.55-0.72 with the hashing embedder, other sentences about Sam at most
# 0.67 and 0.45 (and a loose paraphrase, "Sam is standing in the election for mayor", 0.68 and
# 0.38: missed). Approximate by nature; keywords, when a fact has them, decide instead.
MEANING_MIN_COSINE = {"all-MiniLM-L6-v2": 0.75, "hashing": 0.5}
Vectors = Callable[[list[str]], np.ndarray]


def min_cosine(embedder: str | None) -> float | None:
    """The least cosine for a run recorded with ``embedder`` (None: unknown embedder)."""
    for prefix, v in MEANING_MIN_COSINE.items():
        if embedder and embedder.startswith(prefix):
            return v
    return None


def close_in_meaning(vectors: np.ndarray, to: np.ndarray, least: float) -> np.ndarray:
    """Which rows of ``vectors`` have a cosine of at least ``least`` with ``to``."""
    v = np.asarray(vectors, dtype=float)
    t = np.asarray(to, dtype=float)
    norms = np.linalg.norm(v, axis=1) * (np.linalg.norm(t) or 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norms > 0, v @ t / np.where(norms > 0, norms, 1.0), 0.0)
    return cos >= least


@dataclass(frozen=True)
class Fact:
    """A fact the world tracks (``facts:``): its name, keywords (lower case), the sentence that
    states it (``meaning``, matched by meaning where vectors are at hand) and the question an
    interview asks about it."""

    name: str
    keywords: tuple[str, ...]
    meaning: str | None = None
    question: str | None = None

    def matches(self, text: str | None) -> bool:
        low = (text or "").lower()
        return any(k in low for k in self.keywords)

    def matcher(self, texts: list[str], vectors: Vectors | None, least: float | None) -> Callable[[str | None], bool]:
        """Whether a text holds the fact: its keywords when it has any; else (stated only by
        meaning) a cosine with the meaning of at least ``least``, over ``texts`` embedded at once
        by ``vectors`` (the run's embedder, from the command level); without them, never."""
        if self.keywords or not self.meaning:
            return self.matches
        if vectors is None or least is None:
            return lambda text: False
        uniq = sorted({t for t in texts if t})
        if not uniq:
            return lambda text: False
        vecs = vectors([self.meaning] + uniq)
        hits = {t for t, ok in zip(uniq, close_in_meaning(vecs[1:], vecs[0], least)) if ok}
        return lambda text: bool(text) and text in hits

    def ask(self) -> str:
        """The question ``analyze --by-interview`` asks: the world's, else one about its meaning or name."""
        if self.question:
            return self.question
        if self.meaning:
            m = self.meaning.strip().rstrip(".")
            first, _, rest = m.partition(" ")
            if first.lower() in ("the", "a", "an", "there", "it", "someone", "some", "this"):
                m = f"{first.lower()} {rest}"  # not a name: lower case inside the question
            return f"Have you heard that {m}?"
        return f"Have you heard anything about the {self.name}?"


class RunData:
    """One run, read-only, with the rows analysis needs cached."""

    def __init__(self, run: str | Path | RunReader, vectors: Vectors | None = None):
        self.reader = run if isinstance(run, RunReader) else RunReader(run)
        # texts -> vectors with the run's embedder, given by the command level for facts stated by meaning
        self.vectors = vectors
        r = self.reader
        try:
            self.start = dt.datetime.fromisoformat(r.meta["start"])
            self.tick_seconds = int(r.meta["tick_seconds"])
        except (KeyError, ValueError, TypeError):
            raise RunStoreError(f"{r.dir}: the run store names no start time or tick length") from None
        missing = [t for t in REQUIRED_TABLES if not r._has_table(t)]
        if missing:
            raise RunStoreError(f"{r.dir / 'run.db'}: the run store has no {', '.join(missing)} table "
                                f"(not a complete run store)")
        self.world = r.meta.get("world") or {}
        if not isinstance(self.world, dict):
            raise RunStoreError(f"{r.dir / 'run.db'}: meta.world is not a world (expected a JSON object)")
        self.residents: list[str] = list(r.agents.values())
        self.first = int(r.first_tick() or 0)
        self.last = int(r.last_tick() or 0)
        self.least = min_cosine(r.meta.get("embedder"))

    def close(self) -> None:
        self.reader.close()

    # -- time ------------------------------------------------------------
    def time_at(self, tick: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=tick * self.tick_seconds)

    def stamp(self, tick: int) -> str:
        return self.time_at(tick).strftime(TIME)

    def tick_of(self, when: dt.datetime) -> int:
        """The first tick at or after ``when``."""
        s = (when - self.start).total_seconds()
        return int(-(-s // self.tick_seconds))

    def ticks_in(self, seconds: float) -> int:
        return max(1, int(round(seconds / self.tick_seconds)))

    def hour_ticks(self) -> list[int]:
        """The ticks of every whole game hour from the first tick to the last, and the last tick."""
        first_hour = self.start.replace(minute=0, second=0, microsecond=0)
        t0 = self.time_at(self.first)
        if first_hour < t0:
            first_hour += dt.timedelta(hours=-(-(t0 - first_hour).total_seconds() // 3600))
        out, h = [], first_hour
        while (tick := self.tick_of(h)) <= self.last:
            out.append(tick)
            h += dt.timedelta(hours=1)
        if not out or out[0] != self.first:
            out.insert(0, self.first)
        if out[-1] != self.last:
            out.append(self.last)
        return out

    @property
    def days(self) -> float:
        """Game days the run spans (at least one tick)."""
        return max(1, self.last - self.first) * self.tick_seconds / 86400

    # -- what the world declares ----------------------------------------------
    @cached_property
    def facts(self) -> list[Fact]:
        out = []
        for f in self.world.get("facts") or []:
            if not isinstance(f, dict):
                continue
            words = tuple(str(k).lower() for k in f.get("keywords") or [] if str(k).strip())
            meaning = str(f["meaning"]).strip() if f.get("meaning") else None
            if f.get("name") and (words or meaning):
                out.append(Fact(str(f["name"]), words, meaning, str(f["question"]) if f.get("question") else None))
        return out

    @cached_property
    def personas(self) -> dict[str, dict]:
        return {n: self.reader.persona(n) for n in self.residents}

    # -- bulk rows -------------------------------------------------------------
    def events(self, kind: str) -> list[dict]:
        return self._events.get(kind, [])

    @cached_property
    def _events(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for e in self.reader.events(until=self.last):
            if e["kind"] in ("action", "place_learned", "place_fallback"):
                continue
            out.setdefault(e["kind"], []).append(e)
        return out

    @cached_property
    def memories(self) -> list[dict]:
        """Every memory node up to the last tick, in tick order: agent, tick, kind, description, facts."""
        if not self.reader._has_table("memories"):
            return []
        rows = self.reader.con.execute(
            """SELECT a.name AS agent, m.id, m.tick, m.kind, m.description, m.facts FROM memories m
               JOIN agents a ON a.id = m.agent WHERE m.tick <= ? ORDER BY m.tick, m.agent, m.id""", (self.last,))
        out = []
        for r in rows:
            d = dict(r)
            try:
                d["facts"] = json.loads(d["facts"]) if d["facts"] else None
            except json.JSONDecodeError:
                d["facts"] = None
            out.append(d)
        return out

    def place_rows(self) -> list[tuple[int, str, str]]:
        """(tick, agent, place) of every stored agent row, in tick order."""
        rows = self.reader.con.execute(
            """SELECT s.tick, a.name, s.place FROM agent_states s JOIN agents a ON a.id = s.agent
               WHERE s.tick <= ? ORDER BY s.tick, s.agent""", (self.last,))
        return [(t, n, p or "") for t, n, p in rows]

    def decision_rows(self) -> list[tuple[int, str, str, str, int]]:
        """(tick, agent, decision, backend, fallback) of every decision."""
        rows = self.reader.con.execute(
            """SELECT d.tick, COALESCE(a.name, ''), d.name, d.backend, d.fallback FROM decisions d
               LEFT JOIN agents a ON a.id = d.agent WHERE d.tick <= ? ORDER BY d.id""", (self.last,))
        return [tuple(r) for r in rows]

    def llm_rows(self) -> list[dict]:
        """Per recorded call: decision, cached, requests, tokens, error kind (no prompts)."""
        if not self.reader._has_table("llm_calls"):
            return []
        rows = self.reader.con.execute(
            """SELECT decision, cached, requests, tokens_in, tokens_out, error, error_kind, latency_s
               FROM llm_calls WHERE tick <= ? ORDER BY id""", (self.last,))
        return [dict(r) for r in rows]
