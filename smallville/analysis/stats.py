"""Bootstrap statistics over runs: mean, 95 % percentile confidence interval, and whether a
metric converges across runs.

- The CI is the 2.5th and 97.5th percentiles of :data:`RESAMPLES` bootstrap means (resampling
  the runs with replacement), from a generator seeded with :data:`SEED`, so a summary is
  reproducible.
- A metric is **convergent** when the runs agree: the standard deviation across runs is at
  most :data:`CONVERGENT_CV` (10 %) of the absolute mean, or every run gave the same value;
  otherwise **divergent**.
- The difference of two groups' means (``compare``) has its CI from resampling each group
  independently, with the same seed and count.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000
SEED = 12345
CONVERGENT_CV = 0.10
LEVEL = 0.95


def bootstrap_means(values: list[float], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(resamples, len(x)))
    return x[idx].mean(axis=1)


def _ci(samples: np.ndarray) -> list[float]:
    a = (1 - LEVEL) / 2
    lo, hi = np.quantile(samples, [a, 1 - a])
    return [round(float(lo), 6), round(float(hi), 6)]


def verdict(values: list[float]) -> str:
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return "divergent"
    sd, mean = float(x.std(ddof=1)) if len(x) > 1 else 0.0, float(x.mean())
    if np.all(x == x[0]) or sd <= CONVERGENT_CV * abs(mean):
        return "convergent"
    return "divergent"


def summarize(values: list[float]) -> dict:
    """Mean, 95 % bootstrap CI, the distribution and the convergence verdict of one metric."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return {"n": 0, "mean": None, "ci95": None, "sd": None, "values": [], "verdict": "divergent"}
    return {"n": int(len(x)), "mean": round(float(x.mean()), 6), "ci95": _ci(bootstrap_means(values)),
            "sd": round(float(x.std(ddof=1)), 6) if len(x) > 1 else 0.0,
            "min": float(x.min()), "median": float(np.median(x)), "max": float(x.max()),
            "values": [float(v) for v in values], "verdict": verdict(values)}


def difference(a: list[float], b: list[float]) -> dict:
    """Mean of ``b`` minus mean of ``a``, with its 95 % bootstrap CI."""
    if not a or not b:
        return {"difference": None, "ci95": None}
    da = bootstrap_means(a, seed=SEED)
    db = bootstrap_means(b, seed=SEED + 1)
    diff = float(np.mean(b) - np.mean(a))
    ci = _ci(db - da)
    return {"difference": round(diff, 6), "ci95": ci, "excludes_zero": bool(ci[0] > 0 or ci[1] < 0)}
