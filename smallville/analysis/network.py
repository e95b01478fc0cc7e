"""The relationship network: who knows whom, at the start and as conversations link residents.

An undirected edge joins two residents when either persona names the other in its
``relationships`` (at the start: one knowing the other is enough), or from the tick a
conversation between them is recorded. Density η = 2|E| / (|V|(|V|−1)) over every resident
(Park et al. 2023 report 0.167 → 0.74, from interviews: see ``analyze --by-interview``).
``edges_start_mutual`` / ``start_mutual`` count only pairs that name each other both ways.
"""

from __future__ import annotations

import networkx as nx

from smallville.analysis.source import RunData


def start_graph(data: RunData) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(data.residents)
    for name, p in data.personas.items():
        for other in (p.get("relationships") or {}):
            if other in g and other != name:
                g.add_edge(name, other, tick=data.first, how="persona")
    return g


def conversation_edges(data: RunData) -> list[tuple[int, str, str]]:
    """(tick, a, b) of every recorded conversation between two residents, in tick order."""
    out = []
    for e in data.events("conversation"):
        d = e["data"] if isinstance(e["data"], dict) else {}
        people = [p for p in d.get("participants") or [] if p in data.personas]
        for i, a in enumerate(people):
            for b in people[i + 1:]:
                if a != b:
                    out.append((e["tick"], a, b))
    return sorted(out)


def network(data: RunData) -> tuple[dict, nx.Graph, nx.Graph]:
    """``network_density`` (start, end, timeline per game hour) and the start and end graphs."""
    g0 = start_graph(data)
    g = g0.copy()
    edges = conversation_edges(data)
    timeline, i = [], 0
    for h in data.hour_ticks():
        while i < len(edges) and edges[i][0] <= h:
            t, a, b = edges[i]
            if not g.has_edge(a, b):
                g.add_edge(a, b, tick=t, how="conversation")
            i += 1
        timeline.append({"time": data.stamp(h), "tick": h, "density": round(nx.density(g), 6),
                         "edges": g.number_of_edges()})
    for t, a, b in edges[i:]:
        if not g.has_edge(a, b):
            g.add_edge(a, b, tick=t, how="conversation")
    mutual = sum(1 for a, b in g0.edges() if a in (data.personas.get(b, {}).get("relationships") or {})
                 and b in (data.personas.get(a, {}).get("relationships") or {}))
    n = g0.number_of_nodes()
    out = {"start": round(nx.density(g0), 6), "end": round(nx.density(g), 6), "nodes": n,
           "edges_start": g0.number_of_edges(), "edges_end": g.number_of_edges(),
           "edges_start_mutual": mutual, "start_mutual": round(2 * mutual / (n * (n - 1)), 6) if n > 1 else 0.0,
           "timeline": timeline}
    return out, g0, g


def edge_list(g: nx.Graph) -> list[list]:
    return sorted([a, b, d.get("how", "")] if a < b else [b, a, d.get("how", "")] for a, b, d in g.edges(data=True))


def density_at(data: RunData, tick: int) -> float:
    """The memory-based density at ``tick``: the start edges and conversations recorded by then."""
    g = start_graph(data)
    for t, a, b in conversation_edges(data):
        if t <= tick:
            g.add_edge(a, b)
    return round(nx.density(g), 6)
