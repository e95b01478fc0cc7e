"""Retrieval: the score formula on constructed streams, recency over game time, top-k, access."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.retrieve import components, minmax, rank, top_k, Weights
from smallville.world.clock import Clock
from smallville.world.config import RetrievalSettings, RetrievalWeights

START = dt.datetime(2023, 2, 13, 7, 0)
HOUR = 360  # ticks of 10 s


def make_memory(weights=(1, 1, 1), decay=0.995, top_k=30) -> MemoryStreams:
    r = RetrievalSettings(recency_decay=decay, weights=RetrievalWeights(recency=weights[0], importance=weights[1],
                                                                        relevance=weights[2]), top_k=top_k)
    return MemoryStreams(EmbeddingCache(HashingEmbedder()), Clock(START, 10), retrieval=r, people=["Ann"])


def reference(mem: MemoryStreams, agent: str, focal: str, now: int) -> list[tuple[int, float]]:
    """The formula written out plainly, one memory at a time: [(id, score)] best first."""
    s = mem.stream(agent)
    q = mem.cache.embedder.embed([focal])[0]
    rows = []
    for n in s.nodes:
        v = mem.cache.embedder.embed([n.description])[0]
        hours = (now - n.last_accessed) * 10 / 3600
        rows.append((n.id, mem.retrieval.recency_decay ** hours, float(n.importance), float(v @ q)))

    def norm(xs):
        lo, hi = min(xs), max(xs)
        return [0.5 if hi == lo else (x - lo) / (hi - lo) for x in xs]

    rec, imp, rel = (norm([r[i] for r in rows]) for i in (1, 2, 3))
    w = mem.retrieval.weights
    scored = [(r[0], w.recency * a + w.importance * b + w.relevance * c) for r, a, b, c in zip(rows, rec, imp, rel)]
    return sorted(scored, key=lambda x: (-x[1], -x[0]))


STREAM = [  # (tick created, importance, description)
    (0, 8, "Ann is planning a Valentine's Day party at the cafe"),
    (1 * HOUR, 2, "the stove is in use: cooking lunch"),
    (2 * HOUR, 3, "Bob is writing a novel at home"),
    (3 * HOUR, 5, "Bob said he will come to the Valentine's Day party"),
    (4 * HOUR, 1, "Ann is sleeping"),
    (5 * HOUR, 6, "Carla is painting a mural in the park"),
    (6 * HOUR, 2, "Ann is serving coffee at the cafe"),
]


def build(weights=(1, 1, 1), decay=0.995) -> MemoryStreams:
    mem = make_memory(weights, decay)
    for tick, imp, text in STREAM:
        mem.add("Ann", tick, "observation", text, imp)
    return mem


@pytest.mark.parametrize("weights", [(1, 1, 1), (0.5, 3, 2), (0, 1, 0), (2, 0, 1)])
def test_constructed_stream_ranks_exactly_as_the_formula(weights):
    mem = build(weights, decay=0.9)
    now = 7 * HOUR
    expected = reference(mem, "Ann", "the party on Valentine's Day", now)
    got = mem.retrieve("Ann", ["the party on Valentine's Day"], now, k=len(STREAM), touch=False)[0]
    assert [r.node.id for r in got] == [i for i, _ in expected]
    for r, (_, score) in zip(got, expected):
        assert r.score == pytest.approx(score, abs=1e-9)
        w = weights
        assert r.score == pytest.approx(w[0] * r.recency + w[1] * r.importance + w[2] * r.relevance, abs=1e-9)


def test_components_are_min_max_normalised():
    mem = build()
    got = mem.retrieve("Ann", ["cafe"], 7 * HOUR, k=len(STREAM), touch=False)[0]
    for comp in ("recency", "importance", "relevance"):
        values = [getattr(r, comp) for r in got]
        assert min(values) == pytest.approx(0.0) and max(values) == pytest.approx(1.0)
    # the party memory is the most important one: importance 1.0; "Ann is sleeping" the least: 0.0
    by_id = {r.node.id: r for r in got}
    assert by_id[0].importance == 1.0 and by_id[4].importance == 0.0


def test_most_recently_accessed_memory_has_the_highest_recency():
    """The original code sorted by last access ascending and gave the top recency to the
    least recently accessed memory; here the newest access wins."""
    mem = build()
    got = mem.retrieve("Ann", ["anything"], 7 * HOUR, k=len(STREAM), touch=False)[0]
    by_id = {r.node.id: r.recency for r in got}
    assert by_id[6] == 1.0 and by_id[0] == 0.0
    assert [by_id[i] for i in range(7)] == sorted(by_id[i] for i in range(7))
    # touching the oldest memory makes it the most recent one
    mem.stream("Ann").touch([0], 7 * HOUR)
    got = mem.retrieve("Ann", ["anything"], 7 * HOUR + 1, k=len(STREAM), touch=False)[0]
    assert {r.node.id: r.recency for r in got}[0] == 1.0


def test_recency_falls_with_game_time():
    mem = build()
    q = mem.flush(["party"])
    s = mem.stream("Ann")
    raw = []
    for hours in (7, 8, 24, 100):
        hrs = (hours * HOUR - s.last_accessed) * 10 / 3600
        raw.append(np.power(0.995, hrs))
    for earlier, later in zip(raw, raw[1:]):
        assert np.all(later < earlier)
    assert raw[0][6] == pytest.approx(0.995 ** 1)  # one game hour after the last memory
    # normalised recency of a fixed memory falls too, relative to a newer one
    rec_then, _, _ = components(s.last_accessed, s.importance, s.relevance(q), 7 * HOUR, 10 / 3600, 0.995)
    assert rec_then[6] > rec_then[3] > rec_then[0]


def test_retrieved_nodes_are_accessed_now_and_recorded():
    mem = build()
    mem.drain(final=True)
    hits = mem.retrieve("Ann", ["party"], 9 * HOUR, k=3)[0]
    ids = sorted(r.node.id for r in hits)
    assert len(ids) == 3
    s = mem.stream("Ann")
    for i in range(len(s)):
        assert s.get(i).last_accessed == (9 * HOUR if i in ids else STREAM[i][0])
        assert s.last_accessed[i] == s.get(i).last_accessed
    delta = mem.drain()
    assert sorted(delta.accesses) == [("Ann", i, 9 * HOUR) for i in ids]


def test_top_k_default_and_ties_newest_first():
    mem = make_memory(top_k=30)
    for i in range(50):
        mem.add("Ann", 0, "observation", "Ann is reading", 3)  # all identical: every score ties
    got = mem.retrieve("Ann", ["reading"], 10, touch=False)[0]
    assert [r.node.id for r in got] == list(range(49, 19, -1))
    assert all(r.recency == r.importance == r.relevance == 0.5 for r in got)
    assert top_k(np.array([1.0, 3.0, 2.0]), 10).tolist() == [1, 2, 0]


def test_empty_stream_and_several_focal_texts():
    mem = make_memory()
    assert mem.retrieve("Nobody", ["x", "y"], 5) == [[], []]
    mem = build()
    party, coffee = mem.retrieve("Ann", ["Valentine's Day party", "serving coffee at the cafe"], 7 * HOUR, k=1,
                                 touch=False)
    assert party[0].node.id in (0, 3) and coffee[0].node.id == 6


def test_similar_uses_the_faiss_index():
    mem = build()
    mem.flush()
    s = mem.stream("Ann")
    assert s.index.ntotal == len(STREAM)
    best, sim = s.similar(mem.cache.vectors(["Ann is serving coffee at the cafe"])[0], k=2)[0]
    assert best.id == 6 and sim == pytest.approx(1.0, abs=1e-5)


def test_minmax_constant_is_half():
    assert minmax(np.array([2.0, 2.0])).tolist() == [0.5, 0.5]
    assert minmax(np.array([[1.0, 5.0], [3.0, 5.0]]), axis=0).tolist() == [[0.0, 0.5], [1.0, 0.5]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 10), st.integers(0, 30)), min_size=1, max_size=60),
       st.integers(1, 40), st.sampled_from([(1, 1, 1), (0.3, 2, 1.7), (1, 0, 0)]))
def test_vectorised_rank_matches_a_plain_loop(rows, k, weights):
    rng = np.random.default_rng(len(rows))
    vecs = rng.normal(size=(len(rows), 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    q = vecs[:1].copy()
    last = np.array([r[0] for r in rows], dtype=np.int64)
    imp = np.array([r[1] for r in rows], dtype=np.float64)
    now = 2500
    got = rank(last, imp, vecs @ q.T, now=now, hours_per_tick=1 / 360, decay=0.99, weights=Weights(*weights), k=k)[0]

    def norm(xs):
        lo, hi = min(xs), max(xs)
        return [0.5 if hi == lo else (x - lo) / (hi - lo) for x in xs]

    rec = norm([0.99 ** ((now - t) / 360) for t, _, _ in rows])
    im = norm([float(i) for _, i, _ in rows])
    rel = norm([float(np.dot(v.astype(np.float64), q[0].astype(np.float64))) for v in vecs])
    ref = [weights[0] * a + weights[1] * b + weights[2] * c for a, b, c in zip(rec, im, rel)]
    assert len(got) == min(k, len(rows))
    scores = [g[4] for g in got]
    assert scores == sorted(scores, reverse=True)
    for i, _, _, _, score in got:
        assert score == pytest.approx(ref[i], abs=1e-5)
    # nothing left out scores clearly better than the last one taken
    taken = {g[0] for g in got}
    assert all(ref[i] <= scores[-1] + 1e-5 for i in range(len(rows)) if i not in taken)
    assert math.isfinite(sum(scores))

