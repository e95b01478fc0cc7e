"""The figures Park et al. 2023 ("Generative Agents: Interactive Simulacra of Human Behavior",
section 7) report for their two-day, 25-resident run, set beside a run's own.

The paper tracked two pieces of information; a world's tracked facts (``facts:``) are set
beside them in the order the world lists them, under the world's own names.
"""

from __future__ import annotations

CITATION = "Park et al. 2023"
POPULATION = 25
# (start, end) residents who knew each tracked piece of information, in the paper's order
DIFFUSION = [(1, "12–13"), (1, "8")]
DENSITY = (0.167, 0.74)
ATTENDANCE = ("5", "12")  # invitees who came, of those invited


def table(result: dict) -> list[tuple[str, str, str]]:
    """(measure, this run, the paper) rows."""
    rows = []
    facts = list(result["diffusion"].items())
    for i, (name, d) in enumerate(facts):
        paper = f"{DIFFUSION[i][0]} → {DIFFUSION[i][1]} of {POPULATION}" if i < len(DIFFUSION) else "—"
        rows.append((f"knew of “{name}”, by memory (start → end)", f"{d['start']} → {d['end']} of {d['population']}",
                     paper))
    moments = (result.get("by_interview") or {}).get("moments") or []
    if moments:  # the paper's own method: interviews (the first and the last moment asked)
        first, last = moments[0], moments[-1]
        when = f"{first['time']} → {last['time']}" if len(moments) > 1 else f"at {last['time']}"

        def span(a, b, fmt="{}") -> str:
            return f"{fmt.format(a)} → {fmt.format(b)}" if len(moments) > 1 else fmt.format(b)

        for i, (name, _) in enumerate(facts):
            paper = f"{DIFFUSION[i][0]} → {DIFFUSION[i][1]} of {POPULATION}" if i < len(DIFFUSION) else "—"
            a, b = first["facts"][name], last["facts"][name]
            rows.append((f"knew of “{name}”, by interview ({when})", f"{span(a['count'], b['count'])} of {b['asked']}",
                         paper))
        rows.append((f"network density η by interview, either says yes ({when})",
                     span(first["network"]["density_either"], last["network"]["density_either"], "{:.3f}"),
                     f"{DENSITY[0]} → {DENSITY[1]}"))
    nd = result["network_density"]
    rows.append(("network density η by memory (start → end)", f"{nd['start']:.3f} → {nd['end']:.3f}",
                 f"{DENSITY[0]} → {DENSITY[1]}"))
    events = [e for e in result.get("events", []) if e.get("heard_count")]
    for i, ev in enumerate(events):
        routine = len(ev.get("came_by_routine") or [])
        rows.append((f"heard of “{ev['name']}” and came", f"{ev['came_count']} of {ev['heard_count']}"
                     + (f" ({routine} there by routine anyway)" if routine else ""),
                     f"{ATTENDANCE[0]} of {ATTENDANCE[1]}" if i == 0 else "—"))
    if not events:
        rows.append(("invitees who came to an event", "no event heard of", f"{ATTENDANCE[0]} of {ATTENDANCE[1]}"))
    rows.append(("game time", f"{result['start']} → {result['end']}", "2 game days"))
    return rows
