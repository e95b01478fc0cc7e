"""A survey's outputs: ``answers.csv``, ``summary.json``, ``report.md`` and a self-contained
``report.html`` with plots (matplotlib, Agg): one bar chart per item (the people's first wave beside
the residents' when scored) and the experiments' effects with their 95 % intervals.

``--aggregate-only`` (the paper's access model): no ``answers.csv``, no individual row anywhere, and
every count below ``min_cell`` respondents is suppressed (null, marked ``suppressed``).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from smallville.people import scoring
from smallville.people.instrument import Instrument


def _suppress(counts: dict[str, int], min_cell: int) -> dict[str, Any]:
    return {k: (v if v == 0 or v >= min_cell else None) for k, v in counts.items()}


def summarise(instrument: Instrument, results: list[dict], keys: dict[str, str], opts: Any, seed: int = 0) -> dict:
    """Distributions per item, construct means, experiment effects (residents only), per wave and run."""
    out: dict[str, Any] = {"instrument": instrument.name, "condition": opts.condition, "runs": opts.runs,
                           "transcripts": opts.transcripts, "aggregate_only": opts.aggregate_only,
                           "min_cell": opts.min_cell, "waves": {}}
    by_wave: dict[str, list[dict]] = {}
    for r in results:
        by_wave.setdefault(r["wave"], []).append(r)
    for label, runs in by_wave.items():
        first = runs[0]
        names = sorted(first["answers"])
        w: dict[str, Any] = {"respondents": len(names), "items": {}, "constructs": {}, "experiments": {},
                             "usage": [r["usage"] for r in runs]}
        for item in instrument.items:
            if not item.scored:
                continue
            dists = [scoring.distribution(item, [r["answers"][n].get(item.id) for n in names]) for r in runs]
            d = dists[0]
            row: dict[str, Any] = {"counts": _suppress(d, opts.min_cell) if opts.aggregate_only else d}
            if len(runs) > 1:
                shares = np.array([[c / max(1, sum(x.values())) for c in x.values()] for x in dists])
                pooled = shares.mean(axis=0)
                row["share_mean"] = dict(zip(d, np.round(pooled, 4).tolist()))
                row["share_low"] = dict(zip(d, np.round(np.percentile(shares, 2.5, axis=0), 4).tolist()))
                row["share_high"] = dict(zip(d, np.round(np.percentile(shares, 97.5, axis=0), 4).tolist()))
                row["max_tvd_to_pooled"] = round(float(0.5 * np.abs(shares - pooled).sum(axis=1).max()), 4)
            w["items"][item.id] = row
        table = {keys.get(n, n): first["answers"][n] for n in names}
        people = sorted(table)
        for cid, vals in scoring.construct_scores(instrument, table, people).items():
            v = vals[~np.isnan(vals)]
            lo, hi = scoring.interval(v, lambda idx: v[idx].mean(axis=-1), seed + 7)
            w["constructs"][cid] = {"n": int(v.size), **scoring._fig(v.mean() if v.size else None, lo, hi)}
        for e in instrument.experiments:
            item = instrument.item(e.item)
            eff = scoring.effect(item, e.measure, list(e.arms), {n: a.get(item.id) for n, a in first["answers"].items()},
                                 first["arms"][e.id], seed + 11)
            if opts.aggregate_only:
                for a in eff["arms"].values():
                    if a["n"] < opts.min_cell:
                        a.update({"n": None, "mean": None, "suppressed": True})
            if len(runs) > 1:  # the multiverse of answers: the effect in each run
                per = [scoring.effect(item, e.measure, list(e.arms), {n: a.get(item.id) for n, a in r["answers"].items()},
                                      r["arms"][e.id], seed + 11)["effect"]["value"] for r in runs]
                vals = np.array([v for v in per if v is not None])
                eff["effect_by_run"] = per
                if vals.size:
                    eff["effect_over_runs"] = {"mean": round(float(vals.mean()), 4),
                                               "low": round(float(np.percentile(vals, 2.5)), 4),
                                               "high": round(float(np.percentile(vals, 97.5)), 4)}
            w["experiments"][e.id] = eff
        out["waves"][label] = w
    return out


def write(out: Path, instrument: Instrument, results: list[dict], keys: dict[str, str], summary: dict,
          opts: Any) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not opts.aggregate_only:
        cols = [i.id for i in instrument.items]
        exps = [e.id for e in instrument.experiments]
        with (out / "answers.csv").open("w", newline="", encoding="utf-8") as f:
            wr = csv.writer(f)
            cons = [c.id for c in instrument.constructs]
            wr.writerow(["wave", "seed", "resident", "id"] + [f"arm:{e}" for e in exps] + cols
                        + [f"construct:{c}" for c in cons])
            for r in results:
                names = sorted(r["answers"])
                scores = scoring.construct_scores(instrument, r["answers"], names)
                for j, n in enumerate(names):
                    a = r["answers"][n]
                    wr.writerow([r["wave"], r["seed"], n, keys.get(n, n)] + [r["arms"][e].get(n, "") for e in exps]
                                + ["" if a.get(c) is None else a[c] for c in cols]
                                + ["" if np.isnan(scores[c][j]) else round(float(scores[c][j]), 4) for c in cons])
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if opts.report:
        report(out, instrument, summary, opts)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def figures(instrument: Instrument, summary: dict, opts: Any) -> list[tuple[str, str, bytes]]:
    """(file name, caption, PNG) of every plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    people = None
    if "reference_counts" in summary:
        people = summary["reference_counts"]
    for label, w in summary["waves"].items():
        for iid, row in w["items"].items():
            counts = row["counts"]
            cats = list(counts)
            vals = [counts[c] or 0 for c in cats]
            total = max(1, sum(vals))
            fig, ax = plt.subplots(figsize=(6, 2.6))
            x = np.arange(len(cats))
            width = 0.4 if people and iid in people else 0.8
            ax.bar(x - (width / 2 if width < 0.8 else 0), [v / total for v in vals], width, label="residents",
                   color="#4C72B0")
            if people and iid in people:
                pc = people[iid]
                pt = max(1, sum(v or 0 for v in pc.values()))
                ax.bar(x + width / 2, [(pc.get(c) or 0) / pt for c in cats], width, label="people (wave 1)",
                       color="#DD8452")
                ax.legend(fontsize=7)
            ax.set_xticks(x)
            ax.set_xticklabels([c if len(c) < 30 else c[:28] + "…" for c in cats], rotation=30, ha="right", fontsize=7)
            ax.set_ylabel("share")
            ax.set_title(f"{iid} ({label})", fontsize=9)
            out.append((f"item-{iid}-{len(out)}.png", f"{iid}: {instrument.item(iid).text}", _png(fig)))
            plt.close(fig)
        effects = [(eid, arm_eff["effect"]) for eid, arm_eff in w["experiments"].items()]
        scored = summary.get("scores", {}).get("experiments", {})
        if effects:
            fig, ax = plt.subplots(figsize=(6, 1 + 0.6 * len(effects)))
            for i, (eid, f) in enumerate(effects):
                if f["value"] is not None:
                    lo, hi = f["low"] if f["low"] is not None else f["value"], f["high"] if f["high"] is not None else f["value"]
                    ax.errorbar(f["value"], i + 0.15, xerr=[[f["value"] - lo], [hi - f["value"]]], fmt="o",
                                color="#4C72B0", label="residents" if i == 0 else None)
                pf = scored.get(eid, {}).get("people", {}).get("effect")
                if pf and pf["value"] is not None:
                    lo, hi = pf["low"] if pf["low"] is not None else pf["value"], pf["high"] if pf["high"] is not None else pf["value"]
                    ax.errorbar(pf["value"], i - 0.15, xerr=[[pf["value"] - lo], [hi - pf["value"]]], fmt="s",
                                color="#DD8452", label="people" if i == 0 else None)
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_yticks(range(len(effects)))
            ax.set_yticklabels([e for e, _ in effects], fontsize=8)
            ax.set_xlabel("effect (second arm − first), 95 % interval")
            ax.set_ylim(-0.6, len(effects) - 0.4)
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
            out.append((f"effects-{len(out)}.png", f"experiment effects ({label})", _png(fig)))
            plt.close(fig)
    return out


def _fmt(f: dict | None) -> str:
    if not f or f.get("value") is None:
        return "—"
    if f.get("low") is None:
        return f"{f['value']:.3f}"
    return f"{f['value']:.3f} [{f['low']:.3f}, {f['high']:.3f}]"


def render_text(summary: dict) -> str:
    lines = [f"{summary['instrument']} — condition {summary['condition']}, {summary['runs']} run(s)"]
    for label, w in summary["waves"].items():
        lines.append(f"[{label}] {w['respondents']} respondents")
        for cid, c in w["constructs"].items():
            lines.append(f"  construct {cid}: mean {_fmt(c)}")
        for eid, e in w["experiments"].items():
            arms = ", ".join(f"{a} {v['mean']}" for a, v in e["arms"].items())
            lines.append(f"  experiment {eid}: {arms}; effect {_fmt(e['effect'])}")
    s = summary.get("scores")
    if s:
        lines.append(f"scored against {s['people']} people: accuracy {_fmt(s['accuracy'])}")
        if "normalized_accuracy" in s:
            lines.append(f"  retest accuracy {_fmt(s['retest_accuracy'])}; normalized accuracy "
                         f"{_fmt(s['normalized_accuracy'])}")
        lines.append(f"  mean TVD {s['mean_tvd']}")
        if "dpd" in s:
            lines.append(f"  DPD {_fmt(s['dpd'])}")
    return "\n".join(lines)


def report(out: Path, instrument: Instrument, summary: dict, opts: Any) -> None:
    figs = figures(instrument, summary, opts)
    md = [f"# Survey: {summary['instrument']}", "",
          f"Condition `{summary['condition']}`, {summary['runs']} run(s), transcripts {summary['transcripts']}"
          + (f"; aggregate only (cells under {summary['min_cell']} suppressed)" if summary["aggregate_only"] else ""),
          "", "```", render_text(summary), "```", ""]
    s = summary.get("scores")
    if s:
        md += ["## Items scored against people", "", "| item | n | accuracy | retest | MAE | TVD [95 %] |",
               "|---|---|---|---|---|---|"]
        for iid, r in s["items"].items():
            md.append(f"| {iid} | {r['n']} | {r['accuracy']} | {r.get('retest_accuracy', '—')} | "
                      f"{r.get('mae', '—')} | {_fmt(r['tvd'])} |")
        if s.get("constructs"):
            md += ["", "| construct | r | retest r | normalized r |", "|---|---|---|---|"]
            md += [f"| {c} | {v['r']} | {v['retest_r']} | {v['normalized_r']} |" for c, v in s["constructs"].items()]
        if s.get("groups"):
            md += ["", "| group | n | accuracy |", "|---|---|---|"]
            md += [f"| {g} | {v['n'] if v['n'] is not None else f'< {opts.min_cell}'} | {v['accuracy']} |"
                   for g, v in s["groups"].items()]
        md.append("")
    md.append("## Plots")
    for name, caption, png in figs:
        (out / name).write_bytes(png)
        md += ["", f"![{caption}]({name})"]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    body = [f"<h1>Survey: {html.escape(summary['instrument'])}</h1>",
            f"<pre>{html.escape(render_text(summary))}</pre>"]
    for name, caption, png in figs:
        body.append(f"<figure><img alt=\"{html.escape(caption)}\" src=\"data:image/png;base64,"
                    f"{base64.b64encode(png).decode()}\"><figcaption>{html.escape(caption)}</figcaption></figure>")
    (out / "report.html").write_text("<!doctype html><meta charset=utf-8><title>survey</title>"
                                     "<style>body{font-family:sans-serif;max-width:900px;margin:auto}</style>"
                                     + "\n".join(body) + "\n", encoding="utf-8")
