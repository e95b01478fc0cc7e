"""Many runs of one world: every ``analyze`` metric aggregated (mean, 95 % bootstrap CI, the
distribution, convergent or divergent — see :mod:`smallville.analysis.stats`), the diffusion
and density curves of every run, and the multiverse's report. Reads only analyze results."""

from __future__ import annotations

import io
from pathlib import Path

from smallville.analysis import stats
from smallville.analysis.analyze import metrics
from smallville.analysis.report import Doc


def aggregate(results: list[dict], world: str | None = None) -> dict:
    """The summary of a multiverse from the ``analyze`` result of each run (in seed order)."""
    per_run = [{"seed": r.get("seed"), "run": r.get("run"), "status": r.get("status"), "metrics": metrics(r)}
               for r in results]
    names = sorted({k for p in per_run for k in p["metrics"]})
    summary = {name: stats.summarize([p["metrics"][name] for p in per_run if name in p["metrics"]])
               for name in names}
    curves: dict[str, dict] = {}
    for r in results:
        for fact, d in r["diffusion"].items():
            c = curves.setdefault(fact, {"population": d["population"], "runs": []})
            c["runs"].append({"seed": r.get("seed"), "times": [p["time"] for p in d["timeline"]],
                              "counts": [p["count"] for p in d["timeline"]]})
    density = [{"seed": r.get("seed"), "times": [p["time"] for p in r["network_density"]["timeline"]],
                "density": [p["density"] for p in r["network_density"]["timeline"]]} for r in results]
    return {
        "world": world or (results[0].get("world") if results else None),
        "runs": len(results), "seeds": [r.get("seed") for r in results],
        "statistics": {"ci": "95 % percentile bootstrap of the mean over runs", "resamples": stats.RESAMPLES,
                       "bootstrap_seed": stats.SEED,
                       "convergent_rule": f"convergent when the standard deviation across runs is at most "
                                          f"{stats.CONVERGENT_CV:.0%} of the absolute mean (or all runs agree), "
                                          f"else divergent"},
        "metrics": summary,
        "diffusion_curves": curves,
        "density_curves": density,
        "per_run": per_run,
    }


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def plot_curves(summary: dict) -> bytes:
    from smallville.analysis import plots  # the Agg backend
    import datetime as dt

    import matplotlib.pyplot as plt
    import numpy as np

    facts = summary["diffusion_curves"]
    panels = len(facts) + 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    axes = axes[0]
    for ax, (fact, c) in zip(axes, facts.items()):
        for i, run in enumerate(c["runs"]):
            xs = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M") for t in run["times"]]
            ax.step(xs, run["counts"], where="post", color="#1f77b4", alpha=0.45, lw=1.5,
                    label=f"each of {len(c['runs'])} runs" if i == 0 else None)
        same = [r for r in c["runs"] if r["times"] == c["runs"][0]["times"]]
        if same:
            xs = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M") for t in same[0]["times"]]
            ax.step(xs, np.mean([r["counts"] for r in same], axis=0), where="post", color="#d62728", lw=2,
                    ls="--", label="mean")
            ax.legend(loc="upper left")
        ax.set_ylim(0, c["population"] + 0.5)
        ax.set_title(f"who knows “{fact}” (each run, and the mean)")
        ax.set_ylabel(f"residents (of {c['population']})")
        plots._time_axis(ax, maxticks=5)
        ax.grid(alpha=0.3)
    ax = axes[-1]
    for run in summary["density_curves"]:
        xs = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M") for t in run["times"]]
        ax.plot(xs, run["density"], color="#2ca02c", alpha=0.6, lw=1.5)
    ax.set_ylim(0, 1.05)
    ax.set_title("network density, each run")
    ax.set_ylabel("density η")
    plots._time_axis(ax, maxticks=5)
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_metrics(summary: dict) -> bytes:
    from smallville.analysis import plots  # noqa: F401  (the Agg backend)

    import matplotlib.pyplot as plt

    items = [(k, v) for k, v in summary["metrics"].items() if v["n"]]
    cols = 4
    rows = max(1, -(-len(items) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat[len(items):]:
        ax.axis("off")
    for ax, (name, s) in zip(axes.flat, items):
        vals = s["values"]
        seen: dict[float, int] = {}
        ys = []
        for v in vals:  # equal values stack upwards, so every run shows
            ys.append(0.12 * seen.get(v, 0))
            seen[v] = seen.get(v, 0) + 1
        ax.scatter(vals, ys, color="#1f77b4", alpha=0.7, s=18, zorder=3)
        lo, hi = s["ci95"]
        top = max(ys) + 0.35
        ax.errorbar([s["mean"]], [top], xerr=[[s["mean"] - lo], [hi - s["mean"]]], fmt="o", color="#d62728",
                    capsize=4, zorder=4)
        ax.set_ylim(-0.25, top + 0.3)
        ax.set_yticks([])
        colour = "#2ca02c" if s["verdict"] == "convergent" else "#ff7f0e"
        ax.set_title(f"{name}\nmean {s['mean']:.4g} [{lo:.4g}, {hi:.4g}] · {s['verdict']}", fontsize=8, color=colour)
        ax.tick_params(axis="x", labelsize=7)
        span = (max(vals) - min(vals)) or max(1.0, abs(s["mean"]) * 0.1)
        ax.set_xlim(min(vals + [lo]) - 0.15 * span, max(vals + [hi]) + 0.15 * span)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Every metric: each run (blue dots; equal values stacked) and the mean with its 95 % bootstrap CI "
                 "(red). Title green: convergent, orange: divergent", y=1.0)
    fig.tight_layout()
    return _png(fig)


def write_report(summary: dict, out: str | Path) -> Path:
    title = f"Multiverse of “{summary['world']}”: {summary['runs']} runs"
    doc = Doc(title)
    st = summary["statistics"]
    doc.para(f"Seeds {', '.join(str(s) for s in summary['seeds'])}. Confidence intervals: {st['ci']} "
             f"({st['resamples']} resamples, seed {st['bootstrap_seed']}). A metric is {st['convergent_rule']}.")
    doc.heading("Metrics")
    doc.table(["metric", "mean", "95 % CI", "sd", "min – max", "verdict"],
              [[k, f"{v['mean']:g}", f"{v['ci95'][0]:g} – {v['ci95'][1]:g}", f"{v['sd']:g}",
                f"{v['min']:g} – {v['max']:g}", v["verdict"]] for k, v in summary["metrics"].items() if v["n"]])
    doc.heading("Diffusion and density, run by run")
    doc.image("curves.png", plot_curves(summary), "diffusion and density curves of every run")
    doc.heading("Distributions")
    doc.image("metrics.png", plot_metrics(summary), "every metric's runs, mean and CI")
    doc.heading("Runs")
    doc.table(["seed", "run", "status"], [[p["seed"], p["run"], p["status"]] for p in summary["per_run"]])
    return doc.write(Path(out), title)
