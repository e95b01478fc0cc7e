"""Answers scored against people's own answers, as docs/SURVEYS.md defines every figure.

Individual level (residents matched to people by id; an item counts for a person only when both
the resident and the person answered it; free-text items are never scored):

- item score ``s = 1 if a == p else 0`` for a categorical item (choice, and likert: a point is a
  category), ``s = 1 − |a − p| / span`` for a number item (``span = max − min``);
- a person's accuracy: the mean of ``s`` over the items both answered;
- **accuracy**: the mean over people of their accuracy; **retest accuracy**: the same with the
  people's second wave as the answers and the first wave as the truth;
- **normalized accuracy**: the mean over people of (their resident's accuracy / their own retest
  accuracy) — people with a retest accuracy of 0 or no retest are left out (counted);
- **MAE** per ordered or number item: mean ``|a − p|`` in the item's units (likert points, option
  steps, numbers);
- **construct correlation**: Pearson r (scipy.stats.pearsonr) across people between the residents'
  and the people's construct scores (mean of the construct's items, reverse-keyed ``points+1−v``);
  normalized by the people's own wave-2/wave-1 r.

Population level: **TVD** per item, ``½ Σ_c |P_residents(c) − P_people(c)|`` over the item's
categories (a number item: 10 equal bins of its range, the last closed).

Experiments: the **effect** is the outcome's mean in the second arm minus the first (outcome: 1 if
the ``measure`` option was chosen, else 0, for a choice item; the value for likert and number).
People's arms are read from the reference column ``arm:<experiment id>``.

Bias (``--group-by COLUMN``): accuracy per group, and the **demographic parity difference** ``DPD =
max − min`` of the groups' accuracies (groups smaller than ``min_cell`` are left out).

Intervals: 95 % percentile bootstrap, ``scipy.stats.bootstrap`` (``method="percentile"``, 1,000
resamples, seeded) resampling people (individual figures, TVD: residents paired with their people)
or, for effects, the respondents within each arm.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats

from smallville.errors import SmallvilleError
from smallville.people.instrument import Instrument, Item

RESAMPLES = 1000
NUMBER_BINS = 10


class ReferenceDataError(SmallvilleError):
    """A reference file of people's answers cannot be used."""


Table = dict[str, dict[str, Any]]  # person key -> item id (or column) -> value


def read_answers(path: str | Path, instrument: Instrument) -> tuple[Table, dict[str, dict[str, str]]]:
    """(answers by person id, other columns by person id) from a CSV with an ``id`` column and one
    column per item id (an empty cell is a missing answer)."""
    p = Path(path)
    try:
        f = p.open(newline="", encoding="utf-8")
    except OSError as e:
        raise ReferenceDataError(f"{p}: cannot read: {e.strerror or e}") from None
    with f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ReferenceDataError(f"{p}: no rows")
    if "id" not in rows[0]:
        raise ReferenceDataError(f"{p}: no 'id' column (people are matched to residents by id)")
    items = {i.id: i for i in instrument.items}
    answers: Table = {}
    other: dict[str, dict[str, str]] = {}
    for n, row in enumerate(rows, 2):
        key = (row.get("id") or "").strip()
        if not key:
            raise ReferenceDataError(f"{p}: line {n}: empty id")
        a, o = {}, {}
        for col, raw in row.items():
            if col == "id" or col is None:
                continue
            if col in items:
                try:
                    v = items[col].parse(raw or "")
                except ValueError as e:
                    raise ReferenceDataError(f"{p}: line {n}: column {col}: {e}") from None
                if v is not None:
                    a[col] = v
            else:
                o[col] = (raw or "").strip()
        answers[key] = a
        other[key] = o
    return answers, other


def item_score(item: Item, a, p) -> float:
    if item.kind == "number":
        return 1.0 - abs(float(a) - float(p)) / item.span()
    return 1.0 if a == p else 0.0


def scored_items(instrument: Instrument) -> list[Item]:
    return [i for i in instrument.items if i.scored]


def person_scores(instrument: Instrument, answers: Table, truth: Table, people: Sequence[str]) -> np.ndarray:
    """(people, items) item scores, NaN where either side has no answer."""
    items = scored_items(instrument)
    out = np.full((len(people), len(items)), np.nan)
    for r, key in enumerate(people):
        a, t = answers.get(key, {}), truth.get(key, {})
        for c, item in enumerate(items):
            if item.id in a and item.id in t:
                out[r, c] = item_score(item, a[item.id], t[item.id])
    return out


def _rowmean(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        n = (~np.isnan(x)).sum(axis=-1)
        return np.where(n > 0, np.nansum(x, axis=-1) / np.maximum(n, 1), np.nan)


def interval(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], np.ndarray],
             seed: int) -> tuple[float | None, float | None]:
    """95 % percentile bootstrap interval of ``statistic(indices)`` over the rows (scipy.stats.bootstrap).
    ``statistic`` takes index arrays of shape (..., n) and returns (...)."""
    n = len(values)
    if n < 2:
        return None, None
    res = stats.bootstrap((np.arange(n),), lambda idx, axis=-1: statistic(idx), vectorized=True,
                          n_resamples=RESAMPLES, method="percentile", random_state=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return (None if math.isnan(lo) else float(lo)), (None if math.isnan(hi) else float(hi))


def _fig(value, lo=None, hi=None) -> dict:
    r = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)  # noqa: E731
    return {"value": r(value), "low": r(lo), "high": r(hi)}


def distribution(item: Item, values: Sequence[Any]) -> dict[str, int]:
    """Counts per category (a number item: per bin, labelled by its range)."""
    vals = [v for v in values if v is not None]
    if item.kind == "number":
        edges = np.linspace(item.min, item.max, NUMBER_BINS + 1)
        idx = np.clip(np.searchsorted(edges, vals, side="right") - 1, 0, NUMBER_BINS - 1)
        counts = np.bincount(idx, minlength=NUMBER_BINS) if vals else np.zeros(NUMBER_BINS, int)
        return {f"{edges[i]:g}–{edges[i + 1]:g}": int(counts[i]) for i in range(NUMBER_BINS)}
    if item.kind == "text":
        return {}
    return {str(c): sum(1 for v in vals if v == c) for c in item.categories}


def codes(item: Item, values: Sequence[Any]) -> np.ndarray:
    """Each value's category index (bin for numbers), -1 when missing."""
    out = np.full(len(values), -1)
    cats = item.categories
    for i, v in enumerate(values):
        if v is None:
            continue
        if item.kind == "number":  # the same bins as distribution(): [edge_i, edge_i+1), the last closed
            edges = np.linspace(item.min, item.max, NUMBER_BINS + 1)
            out[i] = int(np.clip(np.searchsorted(edges, float(v), side="right") - 1, 0, NUMBER_BINS - 1))
        else:
            out[i] = cats.index(v)
    return out


def tvd_of(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """TVD between the category distributions of code arrays a and b (shape (..., n)), missing (-1) left out."""
    def dist(x):
        cnt = np.stack([(x == c).sum(axis=-1) for c in range(k)], axis=-1).astype(float)
        tot = cnt.sum(axis=-1, keepdims=True)
        return cnt / np.where(tot > 0, tot, 1)
    return 0.5 * np.abs(dist(a) - dist(b)).sum(axis=-1)


def construct_scores(instrument: Instrument, answers: Table, people: Sequence[str]) -> dict[str, np.ndarray]:
    out = {}
    for c in instrument.constructs:
        vals = np.full(len(people), np.nan)
        for r, key in enumerate(people):
            a = answers.get(key, {})
            xs = []
            for iid in c.items:
                item = instrument.item(iid)
                if iid in a:
                    v = float(a[iid]) if item.kind != "choice" else float(item.options.index(a[iid]) + 1)
                    if iid in c.reverse:
                        v = (item.points + 1 - v) if item.kind == "likert" else (
                            item.max + item.min - v if item.kind == "number" else len(item.options) + 1 - v)
                    xs.append(v)
            if xs:
                vals[r] = float(np.mean(xs))
        out[c.id] = vals
    return out


def outcome(item: Item, value, measure: str | None) -> float | None:
    if value is None:
        return None
    if item.kind == "choice":
        return 1.0 if value == (measure or item.options[0]) else 0.0
    return float(value)


def effect(item: Item, measure: str | None, arms: Sequence[str], answers: dict[str, Any], arm_of: dict[str, str],
           seed: int) -> dict:
    """Mean outcome per arm and the effect (second arm − first) with a bootstrap interval (resampling
    respondents within each arm: scipy.stats.bootstrap over two samples)."""
    groups = []
    out: dict = {"arms": {}}
    for arm in arms:
        ys = np.array([y for k, v in answers.items() if arm_of.get(k) == arm
                       for y in [outcome(item, v, measure)] if y is not None])
        groups.append(ys)
        out["arms"][arm] = {"n": int(len(ys)), "mean": round(float(ys.mean()), 4) if len(ys) else None}
    a, b = groups[0], groups[1]
    if len(a) < 2 or len(b) < 2:
        out["effect"] = _fig(None)
        return out
    value = b.mean() - a.mean()
    res = stats.bootstrap((a, b), lambda x, y, axis=-1: y.mean(axis=axis) - x.mean(axis=axis), vectorized=True,
                          n_resamples=RESAMPLES, method="percentile", random_state=np.random.default_rng(seed))
    out["effect"] = _fig(value, *res.confidence_interval)
    return out


@dataclass
class Scoring:
    instrument: Instrument
    agents: Table  # resident key -> item -> value
    wave1: Table
    wave2: Table | None
    seed: int = 0


def score(s: Scoring, group_of: dict[str, str] | None = None, min_cell: int = 5, agent_arms: dict | None = None,
          people_arms: dict | None = None) -> dict:
    """Every figure of the module doc, as a JSON-able dict."""
    inst = s.instrument
    people = sorted(k for k in s.agents if k in s.wave1)
    if not people:
        raise ReferenceDataError("no resident matches a person of the reference (ids differ?)")
    items = scored_items(inst)
    A = person_scores(inst, s.agents, s.wave1, people)
    acc = _rowmean(A)
    out: dict[str, Any] = {"people": len(people), "unmatched_residents": len(s.agents) - len(people)}
    ok = ~np.isnan(acc)
    accv = acc[ok]
    out["accuracy"] = _fig(accv.mean() if accv.size else None,
                           *interval(accv, lambda idx: accv[idx].mean(axis=-1), s.seed))
    R = None
    if s.wave2 is not None:
        R = person_scores(inst, s.wave2, s.wave1, people)
        ret = _rowmean(R)
        good = ok & ~np.isnan(ret) & (ret > 0)
        ratio = acc[good] / ret[good]
        retv = ret[~np.isnan(ret)]
        out["retest_accuracy"] = _fig(retv.mean() if retv.size else None,
                                      *interval(retv, lambda idx: retv[idx].mean(axis=-1), s.seed + 1))
        out["normalized_accuracy"] = _fig(ratio.mean() if ratio.size else None,
                                          *interval(ratio, lambda idx: ratio[idx].mean(axis=-1), s.seed + 2))
        out["normalized_left_out"] = int((ok & ~good).sum())
    # per item
    per_item = {}
    for c, item in enumerate(items):
        col = A[:, c]
        row: dict[str, Any] = {"n": int((~np.isnan(col)).sum())}
        row["accuracy"] = round(float(np.nanmean(col)), 4) if row["n"] else None
        if item.kind == "number" or item.ordinal:
            errs = [abs(_num(item, s.agents[k][item.id]) - _num(item, s.wave1[k][item.id])) for k in people
                    if item.id in s.agents.get(k, {}) and item.id in s.wave1.get(k, {})]
            row["mae"] = round(float(np.mean(errs)), 4) if errs else None
        if R is not None:
            rcol = R[:, c]
            row["retest_accuracy"] = round(float(np.nanmean(rcol)), 4) if (~np.isnan(rcol)).any() else None
        a_codes = codes(item, [s.agents[k].get(item.id) for k in people])
        p_codes = codes(item, [s.wave1[k].get(item.id) for k in people])
        k = NUMBER_BINS if item.kind == "number" else len(item.categories)
        t = float(tvd_of(a_codes, p_codes, k))
        row["tvd"] = _fig(t, *interval(a_codes, lambda idx: tvd_of(a_codes[idx], p_codes[idx], k), s.seed + 3 + c))
        per_item[item.id] = row
    out["items"] = per_item
    tv = [r["tvd"]["value"] for r in per_item.values() if r["tvd"]["value"] is not None]
    out["mean_tvd"] = round(float(np.mean(tv)), 4) if tv else None
    # constructs
    cons = {}
    ca, cp = construct_scores(inst, s.agents, people), construct_scores(inst, s.wave1, people)
    cr = construct_scores(inst, s.wave2, people) if s.wave2 is not None else None
    for c in inst.constructs:
        x, y = ca[c.id], cp[c.id]
        m = ~np.isnan(x) & ~np.isnan(y)
        row = {"n": int(m.sum()), "r": None, "retest_r": None, "normalized_r": None}
        if m.sum() >= 3 and np.std(x[m]) > 0 and np.std(y[m]) > 0:
            row["r"] = round(float(stats.pearsonr(x[m], y[m])[0]), 4)
        if cr is not None:
            z = cr[c.id]
            mm = ~np.isnan(z) & ~np.isnan(y)
            if mm.sum() >= 3 and np.std(z[mm]) > 0 and np.std(y[mm]) > 0:
                row["retest_r"] = round(float(stats.pearsonr(z[mm], y[mm])[0]), 4)
                if row["r"] is not None and row["retest_r"] > 0:
                    row["normalized_r"] = round(row["r"] / row["retest_r"], 4)
        cons[c.id] = row
    out["constructs"] = cons
    # experiments
    exps = {}
    for e in inst.experiments:
        item = inst.item(e.item)
        arms = list(e.arms)
        a_ans = {k: s.agents[k].get(item.id) for k in s.agents}
        p_ans = {k: s.wave1[k].get(item.id) for k in s.wave1}
        exps[e.id] = {"residents": effect(item, e.measure, arms, a_ans, (agent_arms or {}).get(e.id, {}), s.seed + 50),
                      "people": effect(item, e.measure, arms, p_ans, (people_arms or {}).get(e.id, {}), s.seed + 51)}
    out["experiments"] = exps
    pairs = [(v["residents"]["effect"]["value"], v["people"]["effect"]["value"]) for v in exps.values()
             if v["residents"]["effect"]["value"] is not None and v["people"]["effect"]["value"] is not None]
    out["effect_correlation"] = (round(float(stats.pearsonr(*zip(*pairs))[0]), 4)
                                 if len(pairs) >= 3 and np.std([p[0] for p in pairs]) > 0
                                 and np.std([p[1] for p in pairs]) > 0 else None)
    # bias
    if group_of is not None:
        labels = np.array([group_of.get(k, "") for k in people])
        groups = {}
        for g in sorted(set(labels) - {""}):
            m = (labels == g) & ok
            groups[g] = {"n": int(m.sum()), "accuracy": round(float(acc[m].mean()), 4) if m.sum() else None}
        kept = [g for g, v in groups.items() if v["n"] >= min_cell]
        out["groups"] = {g: (v if v["n"] >= min_cell else {"n": None, "accuracy": None, "suppressed": True})
                         for g, v in groups.items()}
        if len(kept) >= 2:
            lab = labels[ok]
            member = np.stack([(lab == g) for g in kept])  # (groups, n)

            def dpd(idx):
                vals = accv[idx]  # (..., n)
                memb = member[:, idx]  # (groups, ..., n)
                cnt = memb.sum(axis=-1)
                means = (memb * vals[None]).sum(axis=-1) / np.maximum(cnt, 1)
                return means.max(axis=0) - means.min(axis=0)
            value = max(groups[g]["accuracy"] for g in kept) - min(groups[g]["accuracy"] for g in kept)
            out["dpd"] = _fig(value, *interval(accv, dpd, s.seed + 90))
        else:
            out["dpd"] = _fig(None)
    return out


def _num(item: Item, v) -> float:
    if item.kind == "choice":
        return float(item.options.index(v))
    return float(v)
