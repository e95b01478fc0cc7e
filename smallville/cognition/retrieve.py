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

Everything is vectorised: one BLAS matrix product for the relevance of every memory to every
focal text, numpy for the rest, ``argpartition`` for the top k — no Python loop per memory.
A full pass is needed anyway, because the min–max normalisation needs every candidate's
relevance; the vectors are read in place from the stream's faiss flat index.
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


def minmax(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Min–max normalise to [0, 1] along ``axis``; a constant slice becomes 0.5."""
    lo = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - lo
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (x - lo) / safe, 0.5)


def components(last_accessed: np.ndarray, importance: np.ndarray, vectors: np.ndarray, queries: np.ndarray,
               now: int, hours_per_tick: float, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised (recency (n,), importance (n,), relevance (n, m)) for ``m`` query vectors."""
    hours = np.maximum(now - last_accessed, 0) * hours_per_tick
    recency = np.exp(hours * np.log(decay))  # decay ** hours
    relevance = (vectors @ queries.T).astype(np.float64)  # (n, m)
    return minmax(recency), minmax(importance.astype(np.float64)), minmax(relevance, axis=0)


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


def rank(last_accessed: np.ndarray, importance: np.ndarray, vectors: np.ndarray, queries: np.ndarray, *,
         now: int, hours_per_tick: float, decay: float, weights: Weights, k: int
         ) -> list[list[tuple[int, float, float, float, float]]]:
    """For each query: the top ``k`` as (index, recency, importance, relevance, score)."""
    n = last_accessed.shape[0]
    if n == 0:
        return [[] for _ in range(queries.shape[0])]
    rec, imp, rel = components(last_accessed, importance, vectors, queries, now, hours_per_tick, decay)
    base = weights.recency * rec + weights.importance * imp  # (n,)
    out = []
    for j in range(queries.shape[0]):
        score = base + weights.relevance * rel[:, j]
        idx = top_k(score, k)
        out.append([(int(i), float(rec[i]), float(imp[i]), float(rel[i, j]), float(score[i])) for i in idx])
    return out
