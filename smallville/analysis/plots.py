"""The report's figures (matplotlib, Agg backend), each returned as PNG bytes."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from smallville.analysis.source import TIME  # noqa: E402

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _when(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, TIME)


def _time_axis(ax, maxticks: int = 10) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=maxticks)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def diffusion(result: dict) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 4))
    pop = len(result["residents"])
    for i, (name, d) in enumerate(result["diffusion"].items()):
        xs = [_when(p["time"]) for p in d["timeline"]]
        ys = [p["count"] for p in d["timeline"]]
        ax.step(xs, ys, where="post", color=COLOURS[i % len(COLOURS)], lw=2,
                label=f"{name}: {d['start']} → {d['end']}")
    ax.set_ylim(0, max(pop, 1) + 0.5)
    ax.set_xlim(_when(result["start"]), _when(result["end"]))
    ax.set_ylabel(f"residents who know (of {pop})")
    ax.set_title("Information diffusion: who knows each tracked fact")
    _time_axis(ax)
    ax.grid(alpha=0.3)
    if result["diffusion"]:
        ax.legend(loc="upper left")
    else:
        ax.text(0.5, 0.5, "the world tracks no facts", ha="center", transform=ax.transAxes)
    return _png(fig)


def network(result: dict) -> bytes:
    names = list(result["residents"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    pos = nx.circular_layout(sorted(names))
    nd = result["network_density"]
    for ax, key, dens in ((axes[0], "start", nd["start"]), (axes[1], "end", nd["end"])):
        g = nx.Graph()
        g.add_nodes_from(names)
        edges = result["network"][key]
        g.add_edges_from((a, b) for a, b, _ in edges)
        persona_edges = [(a, b) for a, b, how in edges if how != "conversation"]
        talk_edges = [(a, b) for a, b, how in edges if how == "conversation"]
        nx.draw_networkx_edges(g, pos, edgelist=persona_edges, ax=ax, edge_color="#7f7f7f", width=1.2)
        nx.draw_networkx_edges(g, pos, edgelist=talk_edges, ax=ax, edge_color="#ff7f0e", width=1.2)
        nx.draw_networkx_nodes(g, pos, ax=ax, node_size=260, node_color="#1f77b4")
        labels = {n: n.split()[0] for n in names}
        label_pos = {n: (x * 1.16, y * 1.16) for n, (x, y) in pos.items()}
        nx.draw_networkx_labels(g, label_pos, labels=labels, ax=ax, font_size=8)
        ax.set_title(f"{'start' if key == 'start' else 'end'}: {g.number_of_edges()} edges, density {dens:.3f}")
        ax.set_xlim(-1.35, 1.35)
        ax.set_ylim(-1.35, 1.35)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("Relationship network (grey: persona relationships; orange: met in a conversation)")
    return _png(fig)


def gatherings(result: dict) -> bytes:
    gs = result["gatherings"]
    places = sorted({g["place"] for g in gs})
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.8 * len(places) + 1.5)))
    start, end = _when(result["start"]), _when(result["end"])
    span = end - start
    for g in gs:
        y = places.index(g["place"])
        s, e = _when(g["start"]), _when(g["end"])
        colour = "#d62728" if g["event"] else "#1f77b4"
        # at least 0.6 % of the axis wide, so a short gathering on a long run stays visible
        ax.barh(y, max(e - s, span * 0.006), left=s, height=0.5, color=colour, alpha=0.85)
        label = (f"{s:%H:%M}–{e:%H:%M}: {len(g['attendees'])} people"
                 + (f" ({g['event']['name']})" if g["event"] else ""))
        right = e + span * 0.01
        ha = "left" if right < end - span * 0.3 else "right"
        ax.text(right if ha == "left" else s - span * 0.01, y, label, va="center", ha=ha, fontsize=8)
    ax.set_yticks(range(len(places)), places)
    ax.set_xlim(start, end)
    ax.set_ylim(-0.8, max(len(places), 1) - 0.2)
    _time_axis(ax)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Emergent gatherings: ≥ 3 residents off their routines in one place for ≥ 30 min "
                 "(red: a known event)", fontsize=10)
    if not gs:
        ax.text(0.5, 0.5, "no gatherings found", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    return _png(fig)


def decisions(result: dict) -> bytes:
    by = result["llm"]["decisions_by_decision"]
    fac: dict[str, list[tuple[str, int, int]]] = {}
    for name, d in by.items():
        fac.setdefault(d["faculty"], []).append((name, d["decisions"], d["fallbacks"]))
    order = sorted(fac, key=lambda f: -sum(n for _, n, _ in fac[f]))
    colour = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(sorted(by))}
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for x, f in enumerate(order):
        bottom = 0
        for name, n, fb in sorted(fac[f]):
            ax.bar(x, n, bottom=bottom, color=colour[name], edgecolor="white",
                   label=f"{name}: {n}" + (f" ({fb} fell back to rules)" if fb else ""))
            if fb:
                ax.bar(x, fb, bottom=bottom + n - fb, color="none", edgecolor="black", hatch="///", lw=0)
            bottom += n
    days, people = result["llm"]["game_days"], len(result["residents"])
    ax.set_xticks(range(len(order)), order)
    ax.set_ylabel("decisions")
    ax.set_title(f"Decisions by faculty: {result['llm']['decisions']} in all, "
                 f"{result['llm']['decisions_per_resident_per_day']:.1f} per resident per game day "
                 f"({people} residents, {days:.2f} days)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if order:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="decision", title_fontsize=8)
    else:
        ax.text(0.5, 0.5, "no decisions recorded", ha="center", transform=ax.transAxes)
    return _png(fig)
