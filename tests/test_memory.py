"""The memory stream: nodes, seeding, the embedding cache and batching, the run store, inspect, ablation."""

import asyncio
import hashlib
import json

import numpy as np
import pytest

from conftest import run_cli
from smallville.cognition.embedding import (EmbeddingCache, HashingEmbedder, MiniLMEmbedder, make_embedder,
                                            text_key)
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.rules import RulesPolicy
from smallville.engine.engine import Engine
from smallville.errors import SmallvilleError
from smallville.store.runstore import RunReader, RunWriter
from smallville.world.world import load_world


class Counting(HashingEmbedder):
    def __init__(self):
        super().__init__()
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return super().embed(texts)


def test_seed_keeps_first_memories_and_event_facts():
    w = load_world("worlds/small.yaml")
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder()))
    isa = mem.stream("Isabella Rodriguez").nodes
    assert [n.id for n in isa] == [0, 1, 2] and all(n.created == 0 and n.kind == "thought" for n in isa)
    party = isa[0]
    assert party.importance == 8 and party.depth == 0 and party.evidence == ()
    assert party.facts == {"event": {"name": "Valentine's Day party", "place": "Hobbs Cafe:cafe",
                                     "start": "2023-02-14 17:00", "end": "2023-02-14 19:00", "invite": "everyone"}}
    assert 1 <= isa[1].importance <= 10 and isa[1].facts is None  # rated by the rules when not given
    assert party.embedding == text_key("hashing-256", party.description)
    rows = mem.drain(final=True).memories
    assert len(rows) == sum(len(s) for s in mem.streams.values())
    assert json.loads(rows[0]["facts"])["event"]["name"] == "Valentine's Day party"


def test_cache_hits_and_one_batch_per_flush():
    emb = Counting()
    cache = EmbeddingCache(emb)
    v = cache.vectors(["a b", "c d", "a b"])
    assert emb.calls == [["a b", "c d"]] and np.allclose(v[0], v[2])
    cache.vectors(["a b", "e f"])
    assert emb.calls[-1] == ["e f"]
    assert (cache.stats.requests, cache.stats.hits, cache.stats.embedded, cache.stats.batches) == (5, 2, 3, 2)
    assert cache.stats.hit_rate == pytest.approx(0.4)
    rows = cache.drain_new()
    assert [r[0] for r in rows] == [cache.key(t) for t in ("a b", "c d", "e f")]
    assert np.allclose(np.frombuffer(rows[0][3], dtype="<f4"), v[0]) and cache.drain_new() == []
    assert cache.key("x") == hashlib.blake2b(b"hashing-256\0x", digest_size=16).hexdigest()


def test_hashing_embedder_is_deterministic_and_normalised():
    e = HashingEmbedder()
    a, b, c = e.embed(["Ann is serving coffee", "Ann is serving coffee", "Bob is asleep in bed"])
    assert np.array_equal(a, b) and np.linalg.norm(a) == pytest.approx(1.0)
    assert float(a @ e.embed(["serving coffee at the cafe"])[0]) > float(a @ c)
    with pytest.raises(SmallvilleError):
        make_embedder("nope")


def test_embedding_is_batched_across_agents_and_ticks():
    w = load_world("tests/data/tiny/world.yaml")
    emb = Counting()
    mem = MemoryStreams.for_world(w, EmbeddingCache(emb), reflect=False)
    e = Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), 3, memory=mem)

    async def go():
        return [await e.step() for _ in range(720)]

    recs = asyncio.run(go())
    with_new = sum(1 for r in recs if r.memory and r.memory.memories)
    mem.drain(final=True)
    texts = [t for call in emb.calls for t in call]
    assert len(texts) == len(set(texts))  # no text is embedded twice
    assert len(emb.calls) < with_new / 2  # far fewer model calls than ticks with new memories
    for s in mem.streams.values():
        assert s.index.ntotal == len(s)
        assert np.allclose(s.vectors(), HashingEmbedder().embed([n.description for n in s.nodes]), atol=1e-6)


def test_run_store_round_trip(tmp_path):
    """MemoryStreams.load(reader, tick) rebuilds exactly the memory the run had at that tick."""
    w = load_world("tests/data/tiny/world.yaml")
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder()))
    mem.reflection = mem.reflection.model_copy(update={"threshold": 20})
    meta = {"world": w.config.model_dump(mode="json"), "start": w.config.start.isoformat(),
            "tick_seconds": w.config.tick_seconds, "embedder": "hashing-256"}
    writer = RunWriter.create(tmp_path / "r", {"run_id": "t"}, [(r.persona.name, {}) for r in w.residents], {}, meta)
    e = Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), 3, recorder=writer, memory=mem)
    snapshots = {}

    async def go():
        for _ in range(900):
            rec = await e.step()
            if rec.tick in (400, 900):
                mem.retrieve("Ann Example", ["coffee"], rec.tick, k=5)  # accesses go to the store too
                writer.record_memory(mem.drain(final=True))
                snapshots[rec.tick] = {n: [(x.id, x.description, x.importance, x.last_accessed, x.depth, x.evidence)
                                           for x in s.nodes] for n, s in mem.streams.items()}

    asyncio.run(go())
    writer.close()
    reader = RunReader(tmp_path / "r")
    try:
        for tick, want in snapshots.items():
            back = MemoryStreams.load(reader, tick, EmbeddingCache(HashingEmbedder()))
            got = {n: [(x.id, x.description, x.importance, x.last_accessed, x.depth, x.evidence) for x in s.nodes]
                   for n, s in back.streams.items() if len(s)}
            assert got == want
            for s in back.streams.values():
                assert np.allclose(s.vectors(), HashingEmbedder().embed([n.description for n in s.nodes]), atol=1e-6)
        assert any(x[5] for x in snapshots[900]["Ann Example"])  # reflections were stored with their evidence
    finally:
        reader.close()


def test_cli_inspect_memories_reflections_and_query(tmp_path):
    out = tmp_path / "run"
    r = run_cli("run", "worlds/small.yaml", "--llm", "rules", "--hours", "12", "--embedder", "hashing",
                "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ablations"] == [] and manifest["memory"]["memories"] > 0
    assert 0 < manifest["memory"]["embeddings"]["hit_rate"] < 1
    r = run_cli("inspect", str(out), "--agent", "Isabella Rodriguez", "--query", "Valentine's Day party", "--json")
    assert r.returncode == 0, r.stderr
    view = json.loads(r.stdout)
    mems = view["memories"]
    assert [m["created"] for m in mems] == sorted((m["created"] for m in mems), reverse=True)
    assert set(mems[0]) >= {"created", "kind", "description", "importance"}
    assert mems[-1]["description"].startswith("Isabella Rodriguez is planning a Valentine's Day party")
    assert isinstance(view["reflections"], list)
    got = view["retrieved"]
    assert len(got) == 30
    assert all(set(x) >= {"description", "recency", "importance", "relevance", "score"} for x in got)
    assert [x["score"] for x in got] == sorted((x["score"] for x in got), reverse=True)
    assert any("Valentine" in x["description"] for x in got[:5])
    early = json.loads(run_cli("inspect", str(out), "--agent", "Isabella Rodriguez", "--at", "2023-02-13 08:00",
                               "--json").stdout)
    assert 0 < len(early["memories"]) < len(mems) and "retrieved" not in early
    assert all(m["created"] <= "2023-02-13 08:00" for m in early["memories"])
    text = run_cli("inspect", str(out), "--agent", "Isabella Rodriguez", "--query", "coffee").stdout
    assert "memories (" in text and "retrieved" in text
    bad = run_cli("inspect", str(out), "--query", "coffee")
    assert bad.returncode == 2 and "--agent" in bad.stderr


@pytest.mark.parametrize("ablate", ["memory", "reflection"])
def test_cli_ablations_are_recorded(tmp_path, ablate):
    out = tmp_path / ablate
    r = run_cli("run", "worlds/small.yaml", "--llm", "rules", "--hours", "24", "--embedder", "hashing",
                "--ablate", ablate, "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["ablations"] == [ablate]
    view = json.loads(run_cli("inspect", str(out), "--agent", "Isabella Rodriguez", "--json").stdout)
    assert view["reflections"] == []
    if ablate == "memory":
        assert view["memories"] == []
        q = run_cli("inspect", str(out), "--agent", "Isabella Rodriguez", "--query", "party")
        assert q.returncode == 2 and "ablate memory" in q.stderr
    else:
        assert view["memories"]


@pytest.mark.slow
def test_minilm_integration(tmp_path):
    """The real model: offline, 384 unit vectors, meaning-aware; a run with it records and retrieves."""
    e = MiniLMEmbedder()
    v = e.embed(["Isabella is making coffee", "Isabella is brewing espresso", "Klaus is asleep in bed"])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
    out = tmp_path / "run"
    r = run_cli("run", "tests/data/tiny/world.yaml", "--llm", "rules", "--hours", "3", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())["memory"]["embeddings"]
    assert m["embedded"] > 0 and m["requests"] > m["embedded"]
    view = json.loads(run_cli("inspect", str(out), "--agent", "Ann Example", "--query", "drinking espresso",
                              "--json").stdout)
    assert "coffee" in view["retrieved"][0]["description"]
