"""The memory stream: every agent's record of what it observed, heard, thought and planned.

A :class:`MemoryNode` is one memory. Its vector lives in the agent's :class:`MemoryStream`
(a faiss inner-product flat index over unit vectors, in node order) and in the run's
:class:`~smallville.cognition.embedding.EmbeddingCache` under the node's ``embedding`` key.

:class:`MemoryStreams` holds the streams of all agents of a run. Nodes are added without a vector;
:meth:`MemoryStreams.flush` embeds every pending text of every agent in one batch. It runs when a
retrieval needs the vectors, or at the end of a tick once ``batch`` texts new to the cache
are waiting (a small batch costs nearly as much model time as a large one), or when the
runner asks (checkpoints, the end of the run) — a tick's texts are never split across
batches. ``drain`` hands the new nodes, accesses and vectors to the run store, from which
:meth:`MemoryStreams.load` rebuilds the memory of any past moment (``inspect --query``, resuming).

Times are ticks; the engine's clock converts them. Cognition reads memory through an
:class:`AgentMemory` view bound to one agent and the current tick.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import faiss
import numpy as np

from smallville.cognition.embedding import EmbeddingCache
from smallville.cognition.retrieve import Retrieved, Weights, rank
from smallville.world.clock import Clock
from smallville.world.config import (TIME_FORMAT, PerceptionSettings, Persona, ReflectionSettings,
                                     RetrievalSettings)

KINDS = ("observation", "chat", "thought", "plan", "interview", "whisper")
_WORD = re.compile(r"[a-z][a-z']+")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


@dataclass
class MemoryNode:
    id: int  # per agent, 0, 1, 2… in creation order
    created: int  # tick
    last_accessed: int  # tick
    kind: str
    description: str
    importance: int  # 1..10
    subject: str | None = None
    predicate: str | None = None
    object: str | None = None
    evidence: tuple[int, ...] = ()  # ids of the memories a thought rests on
    depth: int = 0  # 0 for observations; a thought is 1 + the deepest of its evidence
    facts: dict[str, Any] | None = None  # structured facts, e.g. {"event": {name, place, start, end}}
    embedding: str = ""  # key of the vector in the embedding cache

    def row(self, agent: str) -> dict:
        """The node as a run-store row."""
        return {"agent": agent, "id": self.id, "tick": self.created, "kind": self.kind,
                "description": self.description, "subject": self.subject, "predicate": self.predicate,
                "object": self.object, "importance": self.importance, "depth": self.depth,
                "evidence": json.dumps(list(self.evidence)) if self.evidence else None,
                "facts": json.dumps(self.facts, ensure_ascii=False, sort_keys=True) if self.facts else None,
                "embedding": self.embedding}

    @classmethod
    def from_row(cls, r: dict) -> "MemoryNode":
        return cls(id=r["id"], created=r["tick"], last_accessed=r["tick"], kind=r["kind"],
                   description=r["description"], importance=r["importance"], subject=r["subject"],
                   predicate=r["predicate"], object=r["object"],
                   evidence=tuple(json.loads(r["evidence"])) if r["evidence"] else (), depth=r["depth"],
                   facts=json.loads(r["facts"]) if r["facts"] else None, embedding=r["embedding"])


class MemoryStream:
    """One agent's memories: nodes, columnar arrays for scoring, and a faiss index of vectors."""

    def __init__(self, agent: str, dim: int):
        self.agent = agent
        self.dim = dim
        self.nodes: list[MemoryNode] = []
        self._last = np.zeros(64, dtype=np.int64)
        self._imp = np.zeros(64, dtype=np.float64)
        self.index = faiss.IndexFlatIP(dim)  # row i is node i's unit vector
        self.importance_cache: dict[str, int] = {}  # description -> importance (first rating)
        # importance summed over the memories (all but thoughts) since the last reflection
        self.since_reflection = 0.0
        self.vocabulary: set[str] = set()  # words of every description (novelty, rules importance)

    def __len__(self) -> int:
        return len(self.nodes)

    def append(self, node: MemoryNode) -> MemoryNode:
        n = len(self.nodes)
        if n == self._last.shape[0]:
            self._last = np.concatenate([self._last, np.zeros_like(self._last)])
            self._imp = np.concatenate([self._imp, np.zeros_like(self._imp)])
        self._last[n], self._imp[n] = node.last_accessed, node.importance
        self.nodes.append(node)
        self.importance_cache.setdefault(node.description, node.importance)
        if node.kind != "thought":
            self.since_reflection += node.importance
        elif node.evidence:  # replaying a stored stream: a reflection's thoughts mark its reset
            self.since_reflection = 0.0
        self.vocabulary |= words(node.description)
        return node

    @property
    def last_accessed(self) -> np.ndarray:
        return self._last[:len(self.nodes)]

    @property
    def importance(self) -> np.ndarray:
        return self._imp[:len(self.nodes)]

    def pending(self) -> list[MemoryNode]:
        """Nodes whose vector is not in the index yet (always the newest ones)."""
        return self.nodes[self.index.ntotal:]

    def add_vectors(self, vectors: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def vectors(self) -> np.ndarray:
        """(n, dim) view of the index's vectors (no copy)."""
        n = self.index.ntotal
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return faiss.rev_swig_ptr(self.index.get_xb(), n * self.dim).reshape(n, self.dim)

    def relevance(self, queries: np.ndarray) -> np.ndarray:
        """(n, m) cosine similarity of every memory to each of ``m`` unit query vectors (one BLAS call)."""
        return self.vectors() @ np.asarray(queries, dtype=np.float32).T

    def set_importance(self, node_id: int, importance: int) -> int:
        """Give node ``node_id`` its rated importance (it was added with a provisional one);
        the description's cached score and the sum since the last reflection follow. Returns
        the old importance."""
        node = self.nodes[node_id]
        old, node.importance = node.importance, int(min(10, max(1, importance)))
        self._imp[node_id] = node.importance
        self.importance_cache[node.description] = node.importance
        if node.kind != "thought":
            self.since_reflection += node.importance - old
        return old

    def touch(self, ids: Iterable[int], tick: int) -> None:
        for i in ids:
            self.nodes[i].last_accessed = tick
            self._last[i] = tick

    def get(self, node_id: int) -> MemoryNode:
        return self.nodes[node_id]

    def recent(self, n: int) -> list[MemoryNode]:
        return self.nodes[-n:] if n > 0 else []

    def similar(self, vector: np.ndarray, k: int = 5) -> list[tuple[MemoryNode, float]]:
        """The ``k`` memories most similar to ``vector`` by relevance alone (faiss search)."""
        if self.index.ntotal == 0:
            return []
        d, i = self.index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), min(k, self.index.ntotal))
        return [(self.nodes[j], float(s)) for s, j in zip(d[0], i[0]) if j >= 0]


@dataclass
class MemoryDelta:
    """What changed in memory since the last drain, for the run store."""

    memories: list[dict] = field(default_factory=list)  # node rows
    accesses: list[tuple[str, int, int]] = field(default_factory=list)  # (agent, node id, tick)
    embeddings: list[tuple[str, str, int, bytes]] = field(default_factory=list)  # (key, model, dim, vector)
    rescored: list[tuple[str, int, int]] = field(default_factory=list)  # (agent, node id, importance) rated later

    def __bool__(self) -> bool:
        return bool(self.memories or self.accesses or self.embeddings or self.rescored)


class MemoryStreams:
    """The memory of every agent of a run, with the settings its faculties use."""

    def __init__(self, cache: EmbeddingCache, clock: Clock, *, retrieval: RetrievalSettings | None = None,
                 perception: PerceptionSettings | None = None, reflection: ReflectionSettings | None = None,
                 reflect: bool = True, people: Sequence[str] = (), batch: int = 128):
        self.cache = cache
        self.batch = batch  # embed once this many pending texts are new to the cache
        self.clock = clock
        self.retrieval = retrieval or RetrievalSettings()
        self.perception = perception or PerceptionSettings()
        self.reflection = reflection or ReflectionSettings()
        self.reflect = reflect  # False under ``--ablate reflection``
        self.people = tuple(people)  # every resident's name
        self.hours_per_tick = clock.tick_seconds / 3600
        self.streams: dict[str, MemoryStream] = {}
        self._rows: list[dict] = []
        self._accesses: list[tuple[str, int, int]] = []
        self._rescored: list[tuple[str, int, int, int]] = []  # (agent, node id, importance, tick)
        self._unseen: set[str] = set()  # keys of pending texts not in the cache yet

    @classmethod
    def for_world(cls, world, cache: EmbeddingCache, reflect: bool = True) -> "MemoryStreams":
        """A run's memory, each resident's stream seeded with its first memories at tick 0."""
        cfg = world.config
        mem = cls(cache, Clock(cfg.start, cfg.tick_seconds), retrieval=cfg.retrieval, perception=cfg.perception,
                  reflection=cfg.reflection, reflect=reflect, people=[r.persona.name for r in world.residents])
        from smallville.cognition.extract import Gazetteer

        gazetteer = Gazetteer([a.address for a in world.map.arenas], {a.address: a.kind for a in world.map.arenas})
        for r in world.residents:
            mem.seed(r.persona, gazetteer=gazetteer, now=cfg.start)
        return mem

    # ------------------------------------------------------------------ writing
    def stream(self, agent: str) -> MemoryStream:
        s = self.streams.get(agent)
        if s is None:
            s = self.streams[agent] = MemoryStream(agent, self.cache.dim)
        return s

    def add(self, agent: str, tick: int, kind: str, description: str, importance: int, *,
            spo: tuple[str, str, str] | None = None, evidence: Sequence[int] = (), depth: int = 0,
            facts: dict | None = None) -> MemoryNode:
        if kind not in KINDS:
            raise ValueError(f"unknown memory kind {kind!r}")
        s = self.stream(agent)
        subject, predicate, obj = spo if spo else (None, None, None)
        node = MemoryNode(id=len(s), created=tick, last_accessed=tick, kind=kind, description=description,
                          importance=int(min(10, max(1, importance))), subject=subject, predicate=predicate,
                          object=obj, evidence=tuple(int(e) for e in evidence), depth=depth, facts=facts,
                          embedding=self.cache.key(description))
        s.append(node)
        self._rows.append(node.row(agent))
        if node.embedding not in self.cache:
            self._unseen.add(node.embedding)
        return node

    def rescore(self, agent: str, node_id: int, importance: int, tick: int = 0) -> None:
        """Node ``node_id`` of ``agent`` gets its rated importance (see :mod:`~smallville.cognition.importance`)
        at ``tick``; the run store's row is updated with the drain of that tick."""
        s = self.stream(agent)
        old = s.set_importance(node_id, importance)
        if s.nodes[node_id].importance != old:
            self._rescored.append((agent, node_id, s.nodes[node_id].importance, tick))

    def seed(self, persona: Persona, tick: int = 0, gazetteer: Any = None, now: Any = None) -> list[MemoryNode]:
        """The persona's first memories (kind ``thought``, depth 0), keeping structured event facts.
        Given the map's ``gazetteer`` and the world's start (``now``), an event stated in plain words
        is read from them (the rules' ``extract_facts``) and kept the same way; a private one is marked."""
        from smallville.cognition.importance import rules_importance  # rules scoring when none is given

        out = []
        for m in persona.memories:
            facts = None
            if m.event is not None:
                e = m.event
                facts = {"event": {"name": e.name, "place": e.place, "start": e.start.strftime(TIME_FORMAT),
                                   "end": e.end.strftime(TIME_FORMAT),
                                   "invite": e.invite if isinstance(e.invite, str) else list(e.invite)}}
            elif gazetteer is not None and now is not None:
                ev = plain_event(persona.name, m.text, gazetteer, now, self.people)
                if ev is not None:
                    facts = {"event": ev, "from_words": True}
            if m.private:
                facts = {**(facts or {}), "private": True}
            score = m.importance or rules_importance(persona.name, m.text, "thought", people=self.people,
                                                     friends=persona.relationships, known=set())
            out.append(self.add(persona.name, tick, "thought", m.text, score, facts=facts))
        return out

    def flush(self, extra: Sequence[str] = (), agent: str | None = None) -> np.ndarray:
        """Embed the pending texts of every stream (or only ``agent``'s) and index them, with
        ``extra`` texts (focal texts of a retrieval) in the same batch; returns their vectors."""
        streams = self.streams.values() if agent is None else [self.stream(agent)]
        pending = [(s, s.pending()) for s in streams]
        pending = [(s, p) for s, p in pending if p]
        texts = [n.description for _, p in pending for n in p]
        keys = [n.embedding for _, p in pending for n in p]
        if not texts and not extra:
            return np.zeros((0, self.cache.dim), dtype=np.float32)
        vecs = self.cache.vectors(texts + list(extra), keys + [self.cache.key(t) for t in extra])
        i = 0
        for s, p in pending:
            s.add_vectors(vecs[i:i + len(p)])
            i += len(p)
        self._unseen = {k for k in self._unseen if k not in self.cache} if agent is not None else set()
        return vecs[i:]

    def drain(self, final: bool = False, upto: int | None = None) -> MemoryDelta:
        """Everything new since the last drain (with ``upto``, only what happened at ticks up to
        it: residents stepping ahead of the town add memories of later ticks, drained with those);
        pending texts are embedded first when ``final`` or when ``batch`` of them are new to the
        cache."""
        if final or len(self._unseen) >= self.batch:
            self.flush()
        rows, accesses, rescored = self._rows, self._accesses, self._rescored
        if upto is not None and (any(r["tick"] > upto for r in rows) or any(x[2] > upto for x in accesses)
                                 or any(x[3] > upto for x in rescored)):
            self._rows = [r for r in rows if r["tick"] > upto]
            self._accesses = [x for x in accesses if x[2] > upto]
            self._rescored = [x for x in rescored if x[3] > upto]
            rows = [r for r in rows if r["tick"] <= upto]
            accesses = [x for x in accesses if x[2] <= upto]
            rescored = [x for x in rescored if x[3] <= upto]
        else:
            self._rows, self._accesses, self._rescored = [], [], []
        # in a fixed order, whatever order concurrent decisions finished in (stable: a node rated
        # twice in one tick keeps its ratings in the order they were given)
        rows = sorted(rows, key=lambda r: (r["agent"], r["id"]))
        accesses = sorted(accesses)
        rescored = [x[:3] for x in sorted(rescored, key=lambda x: (x[0], x[1]))]
        return MemoryDelta(rows, accesses, self.cache.drain_new(), rescored)

    # ------------------------------------------------------------------ reading
    def retrieve(self, agent: str, focal: Sequence[str], tick: int, k: int | None = None,
                 touch: bool = True) -> list[list[Retrieved]]:
        """For each focal text, the top ``k`` memories of ``agent`` at ``tick``, best first.

        All focal texts are scored against the same state; afterwards every retrieved
        memory's last-accessed time becomes ``tick`` (unless ``touch`` is False)."""
        s = self.stream(agent)
        if not focal or len(s) == 0:
            return [[] for _ in focal]
        q = self.flush(focal, agent)  # only this agent's vectors are needed now
        w = self.retrieval.weights
        ranked = rank(s.last_accessed, s.importance, s.relevance(q), now=tick, hours_per_tick=self.hours_per_tick,
                      decay=self.retrieval.recency_decay, weights=Weights(w.recency, w.importance, w.relevance),
                      k=k or self.retrieval.top_k)
        out = [[Retrieved(s.nodes[i], rec, imp, rel, score) for i, rec, imp, rel, score in hits] for hits in ranked]
        if touch:
            ids = sorted({r.node.id for hits in out for r in hits})
            s.touch(ids, tick)
            self._accesses.extend((agent, i, tick) for i in ids)
        return out

    def view(self, agent: str, tick: int) -> "AgentMemory":
        return AgentMemory(self, agent, tick)

    def stats(self) -> dict:
        return {"memories": sum(len(s) for s in self.streams.values()),
                "thoughts": sum(1 for s in self.streams.values() for n in s.nodes if n.kind == "thought" and n.depth > 0),
                "embeddings": self.cache.stats.as_dict()}

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_extras(self) -> dict:
        """What a checkpoint must add to the stored rows to give this memory back as of now:
        each node's importance (a rating arrives after its row was written), the sum since the
        last reflection, and cached ratings that differ from a description's first one."""
        out = {}
        for name, s in self.streams.items():
            first: dict[str, int] = {}
            for n in s.nodes:
                first.setdefault(n.description, n.importance)
            out[name] = {"importance": [n.importance for n in s.nodes], "since_reflection": s.since_reflection,
                         "importance_cache": {k: v for k, v in s.importance_cache.items() if first.get(k) != v}}
        return out

    def restore_extras(self, saved: dict) -> list[tuple[str, int, int]]:
        """Put a checkpoint's :meth:`checkpoint_extras` back (after :meth:`load` at its tick).
        Returns (agent, node id, importance) of the nodes whose stored row holds a rating made
        after the checkpoint, for the run store to set back."""
        fixes = []
        for name, m in saved.items():
            s = self.stream(name)
            imps = m.get("importance", [])
            if len(imps) != len(s):
                raise ValueError(f"checkpoint of {name!r}: {len(imps)} memories, the run store has {len(s)}")
            for n, imp in zip(s.nodes, imps):
                if n.importance != imp:
                    fixes.append((name, n.id, imp))
                    s.set_importance(n.id, imp)
            s.importance_cache = {}
            for n in s.nodes:
                s.importance_cache.setdefault(n.description, n.importance)
            s.importance_cache.update(m.get("importance_cache", {}))
            s.since_reflection = float(m.get("since_reflection", s.since_reflection))
        return fixes

    # ------------------------------------------------------------------ reading a run back
    @classmethod
    def load(cls, reader, tick: int, cache: EmbeddingCache, agents: Sequence[str] | None = None,
             reflect: bool = True) -> "MemoryStreams":
        """The memory of a stored run as it was at ``tick`` (nodes, last accesses, vectors)."""
        import datetime as dt

        world = reader.meta["world"]
        clock = Clock(dt.datetime.fromisoformat(reader.meta["start"]), int(reader.meta["tick_seconds"]))
        mem = cls(cache, clock, retrieval=RetrievalSettings.model_validate(world.get("retrieval", {})),
                  perception=PerceptionSettings.model_validate(world.get("perception", {})),
                  reflection=ReflectionSettings.model_validate(world.get("reflection", {})),
                  reflect=reflect, people=list(reader.agents.values()))
        names = list(agents) if agents is not None else list(reader.agents.values())
        for name in names:
            s = mem.stream(name)
            for r in reader.memories(name, until=tick):
                s.append(MemoryNode.from_row(r))
            for i, t in reader.memory_last_access(name, until=tick).items():
                if i < len(s):
                    s.touch([i], t)
        keys = sorted({n.embedding for s in mem.streams.values() for n in s.nodes})
        cache.preload(reader.embeddings(keys, model=cache.model).items())
        mem.flush()
        mem._rows, mem._accesses, mem._rescored = [], [], []
        cache.drain_new()
        return mem


def plain_event(agent: str, text: str, gazetteer: Any, now: Any, people: Sequence[str]) -> dict | None:
    """The event a first memory states in plain words ("Ann is hosting a reading night at the cafe
    on Tuesday at 6pm"), read by the rules' ``extract_facts``, as an ``event`` fact: without a
    ``host`` when it is the agent's own (like the structured form), else with it."""
    from smallville.cognition.extract import rules_extract

    found = rules_extract([(agent, text)], listener=None, now=now, gazetteer=gazetteer, people=people).events
    if not found:
        return None
    ev = {k: v for k, v in found[0].items() if k != "told_by"}
    if ev.get("host") in (None, agent):
        ev.pop("host", None)
    return ev


class AgentMemory:
    """One agent's memory as its cognition sees it at one tick (``ctx.stream``)."""

    def __init__(self, memory: MemoryStreams, agent: str, tick: int):
        self.memory = memory
        self.agent = agent
        self.tick = tick

    @property
    def stream(self) -> MemoryStream:
        return self.memory.stream(self.agent)

    @property
    def nodes(self) -> list[MemoryNode]:
        return self.stream.nodes

    @property
    def people(self) -> tuple[str, ...]:
        return self.memory.people

    def time(self, tick: int | None = None) -> str:
        return self.memory.clock.time_at(self.tick if tick is None else tick).strftime(TIME_FORMAT)

    def add(self, kind: str, description: str, importance: int, **kw) -> MemoryNode:
        return self.memory.add(self.agent, self.tick, kind, description, importance, **kw)

    def retrieve(self, focal: str | Sequence[str], k: int | None = None) -> Any:
        """``retrieve("text")`` → list of :class:`Retrieved`; a list of texts → one list per text."""
        if isinstance(focal, str):
            return self.memory.retrieve(self.agent, [focal], self.tick, k)[0]
        return self.memory.retrieve(self.agent, list(focal), self.tick, k)

    def recent(self, n: int) -> list[MemoryNode]:
        return self.stream.recent(n)

    def cached_importance(self, description: str) -> int | None:
        return self.stream.importance_cache.get(description)
