"""Retrieval: the memories that matter for a focal text, scored as the paper says.

    score = w_recency · recency + w_importance · importance + w_relevance · relevance

over every memory of the agent (the candidates), where

- recency   = decay ** (game hours since the memory was last accessed) — the most recently
  accessed memory gets the highest recency (the original code gave it to the *least*
  recently accessed one);
- importance = the memory's 1–10 rating;
- relevance = cosine similarity of the memory's vector and the focal text's vector
  (inner product of unit vectors);

and each component is min–max normalised to [0, 1] over the candidates (all 0.5 when the
candidates do not differ). The top ``k`` are returned, best first (ties: newest first).

Everything is vectorised: one matrix product for the relevance of every memory to every
focal text (:meth:`MemoryStream.relevance`), numpy for the rest, ``argpartition`` for the top
k — no Python loop per memory. A full pass over the vectors is needed anyway, because the
min–max normalisation needs every candidate's relevance, so an approximate nearest-neighbour
index (HNSW) cannot help. The pass reads the float32 vectors in place from the stream's faiss
flat index and is memory-bound (154 MB at 100k memories); a bfloat16 copy was measured
(half the bytes, relevance within 1e-3) and gained only 25–50 % on the shared 2-core
machine, so retrieval stays exact (figures: benchmarks/bench_retrieval.py).

What a prompt shows of a retrieval (:func:`relevant`) is cut by relevance, not by a fixed
count: the hits whose score is within :data:`MARGIN` of the best one (under a third of one
normalised component), and never fewer than :data:`AT_LEAST` of them. A focal text that singles
out a few memories shows those few; one that matches many about as well shows more, up to ``k``.
The retrieval itself (what counts as accessed, what the rules implementations read) is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from smallville.cognition.memory import MemoryNode


@dataclass(frozen=True)
class Weights:
    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0


@dataclass(frozen=True)
class Retrieved:
    """A retrieved memory with its normalised components and score."""

    node: "MemoryNode"
    recency: float
    importance: float
    relevance: float
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.node.id, "description": self.node.description, "recency": round(self.recency, 4),
                "importance": round(self.importance, 4), "relevance": round(self.relevance, 4),
                "score": round(self.score, 4)}


MARGIN = 0.3  # what a prompt shows: the hits scoring at least the best score minus this ...
AT_LEAST = 3  # ... and at least this many of them (a young stream's min–max scores are all 0, ½ or 1)


def relevant(hits: "list[Retrieved]", margin: float = MARGIN, at_least: int = AT_LEAST) -> "list[Retrieved]":
    """The best of ``hits`` (best first) worth a place in a prompt: those scoring within ``margin``
    of the best, and at least the first ``at_least``."""
    if not hits:
        return []
    floor = hits[0].score - margin
    return [r for i, r in enumerate(hits) if i < at_least or r.score >= floor]


def minmax(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Min–max normalise to [0, 1] along ``axis``; a constant slice becomes 0.5."""
    lo = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - lo
    flat = span <= 0
    out = (x - lo) / np.where(flat, 1.0, span)
    return np.where(flat, 0.5, out) if flat.any() else out


def components(last_accessed: np.ndarray, importance: np.ndarray, relevance: np.ndarray, now: int,
               hours_per_tick: float, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised (recency (n,), importance (n,), relevance (n, m)) from raw relevance (n, m)."""
    hours = np.maximum(now - last_accessed, 0) * hours_per_tick
    recency = np.exp(hours * np.log(decay))  # decay ** hours
    return minmax(recency), minmax(importance.astype(np.float64)), minmax(relevance.astype(np.float64), axis=0)


def top_k(score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best scores, best first; equal scores: the higher index (newer) first."""
    n = score.shape[0]
    if k >= n:
        cand = np.arange(n)
    else:
        cand = np.argpartition(-score, k - 1)[:k]
        # include every index tied with the k-th score, so the tie-break below is exact
        kth = score[cand].min()
        cand = np.flatnonzero(score >= kth)
    order = np.lexsort((-cand, -score[cand]))
    return cand[order][:k]


def rank(last_accessed: np.ndarray, importance: np.ndarray, relevance: np.ndarray, *,
         now: int, hours_per_tick: float, decay: float, weights: Weights, k: int
         ) -> list[list[tuple[int, float, float, float, float]]]:
    """For each column of ``relevance`` (n memories × m focal texts, cosine similarities): the
    top ``k`` as (index, recency, importance, relevance, score), the components normalised."""
    n, m = relevance.shape
    if n == 0:
        return [[] for _ in range(m)]
    rec, imp, rel = components(last_accessed, importance, relevance, now, hours_per_tick, decay)
    base = weights.recency * rec + weights.importance * imp  # (n,)
    out = []
    for j in range(m):
        score = base + weights.relevance * rel[:, j]
        idx = top_k(score, k)
        out.append([(int(i), float(rec[i]), float(imp[i]), float(rel[i, j]), float(score[i])) for i in idx])
    return out
