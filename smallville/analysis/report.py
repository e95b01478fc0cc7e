"""``analyze --report DIR``: ``report.md`` (plots beside it as PNG files) and a self-contained
``report.html`` (the same plots embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from smallville.analysis import paper


def md_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def html_table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
         "th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:0.5em 0}")


class Doc:
    """A report written twice, as Markdown and as one HTML page."""

    def __init__(self, title: str):
        self.md = [f"# {title}", ""]
        self.html = [f"<h1>{html.escape(title)}</h1>"]
        self.images: dict[str, bytes] = {}

    def heading(self, text: str) -> None:
        self.md += [f"## {text}", ""]
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def para(self, text: str) -> None:
        self.md += [text, ""]
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, header: list[str], rows: list[list]) -> None:
        self.md += [md_table(header, rows), ""]
        self.html.append(html_table(header, rows))

    def image(self, name: str, png: bytes, alt: str) -> None:
        self.images[name] = png
        self.md += [f"![{alt}]({name})", ""]
        self.html.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')

    def write(self, out: Path, title: str) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, png in self.images.items():
            (out / name).write_bytes(png)
        (out / "report.md").write_text("\n".join(self.md))
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                f"<style>{STYLE}</style></head><body>{''.join(self.html)}</body></html>")
        (out / "report.html").write_text(page)
        return out


VIA = {"heard": "a heard record", "conversation": "a conversation line", "memory": "only the listener's memory"}


def _fact_words(d: dict) -> str:
    parts = []
    if d.get("keywords"):
        parts.append(f"keywords: {', '.join(d['keywords'])}")
    if d.get("meaning"):
        parts.append(f"meaning: {d['meaning']}")
    return "; ".join(parts)


def provenance(d: dict) -> str:
    """Where the told-by links of one fact's tree come from, in words."""
    via = d.get("told_via") or {}
    counts = ", ".join(f"{n} from {VIA.get(k, k)}" for k, n in via.items()) or "none"
    if d.get("told_source") == "none":
        return (f"This run has no conversations recorded: a told-by link can come only from the listener's own "
                f"memory (links: {counts}).")
    return f"Told-by links: {counts}."


def event_line(ev: dict) -> str:
    """One event in words: its facts, who had heard, who came (and who only by routine)."""
    names = [n for n in ev.get("names", []) if n != ev["name"]]
    aka = f", also called {', '.join(f'“{n}”' for n in names)}" if names else ""
    not_there = [n for n in ev["heard"] if n not in ev["came"]]
    if not ev.get("begun", True):
        return (f"Event “{ev['name']}”{aka} ({ev['place']}, {ev['start']} → {ev['end']}, host {ev['host'] or '?'}): "
                f"not begun by the run's end; {ev['heard_count']} had heard of it.")
    return (f"Event “{ev['name']}”{aka} ({ev['place']}, {ev['start']} → {ev['end']}, host {ev['host'] or '?'}"
            f"{'' if ev.get('host_present', True) else ', not there'}): {ev['heard_count']} had heard of it before "
            f"it began; came (there ≥ 10 minutes of its hours): {ev['came_count']} — {', '.join(ev['came']) or 'nobody'}"
            f"{' (by routine anyway: ' + ', '.join(ev['came_by_routine']) + ')' if ev.get('came_by_routine') else ''}; "
            f"heard but not there: {', '.join(not_there) or 'nobody'}; there without having heard: "
            f"{', '.join(ev.get('came_unheard') or []) or 'nobody'}.")


def interview_rows(result: dict) -> list[list]:
    """(measure, by interview, by memory) rows of ``analyze --by-interview`` at each moment asked."""
    rows = []
    for m in (result.get("by_interview") or {}).get("moments", []):
        for name, f in m["facts"].items():
            rows.append([m["time"], f"knew of “{name}”", f"{f['count']} of {f['asked']}",
                         f"{f['by_memory']} of {f['asked']}"])
        for ev in m["events"]:
            rows.append([m["time"], f"knew of event “{ev['name']}” (host aside)", f"{ev['count']} of {ev['asked']}",
                         f"{ev['by_memory']} of {ev['asked']}"])
        nw = m["network"]
        rows.append([m["time"], "network density η (either says yes / both say yes)",
                     f"{nw['density_either']:.3f} / {nw['density_mutual']:.3f}", f"{nw['by_memory']:.3f}"])
    return rows


def run_report(result: dict, out: str | Path) -> Path:
    from smallville.analysis import plots

    title = f"Run {result.get('run_id') or result['run']}"
    doc = Doc(title)
    doc.para(f"World “{result.get('world')}”, seed {result.get('seed')}, backend {result.get('backend')}"
             f"{' (' + str(result['model']) + ')' if result.get('model') else ''}, "
             f"ablations: {', '.join(result.get('ablations') or []) or 'none'}; "
             f"{result['start']} → {result['end']}, {len(result['residents'])} residents, status {result.get('status')}.")
    doc.heading(f"Beside {paper.CITATION}")
    doc.table(["measure", "this run", paper.CITATION], [list(r) for r in paper.table(result)])

    doc.heading("Information diffusion")
    doc.image("diffusion.png", plots.diffusion(result), "diffusion curves")
    for name, d in result["diffusion"].items():
        told = [n for n in d["tree"] if n["told_by"]]
        doc.para(f"“{name}” ({_fact_words(d)}), by memory: {d['start']} → {d['end']} of {d['population']}; "
                 f"{len(told)} told by someone, longest chain {d['max_hops']} hops. {provenance(d)}")
        doc.table(["resident", "knew from", "told by", "told-by link from", "hops", "how"],
                  [[n["name"], n["time"], n["told_by"] or "—", VIA.get(n.get("told_via"), "—"), n["hops"], n["source"]]
                   for n in d["tree"]])

    doc.heading("Relationship network")
    nd = result["network_density"]
    doc.para(f"Density {nd['start']:.3f} at the start ({nd['edges_start']} edges) → {nd['end']:.3f} at the end "
             f"({nd['edges_end']} edges) over {nd['nodes']} residents.")
    doc.image("network.png", plots.network(result), "relationship graph at the start and at the end")
    if result.get("by_interview"):
        bi = result["by_interview"]
        doc.heading("By interview and by memory")
        doc.para(f"By interview: every resident was asked at each moment below (backend {bi['backend']}); "
                 f"{bi['definition']} By memory: the figures above (a memory holding the fact; edges from "
                 f"relationships and conversations).")
        doc.table(["moment", "measure", "by interview", "by memory"], interview_rows(result))

    doc.heading("Emergent gatherings")
    doc.image("gatherings.png", plots.gatherings(result), "timeline of gatherings")
    if result["gatherings"]:
        doc.table(["place", "start", "end", "attendees", "also there by routine", "event"],
                  [[g["place"], g["start"], g["end"], ", ".join(g["attendees"]), ", ".join(g["also_present"]) or "—",
                    (f"{g['event']['name']}: {g['event']['came_count']} of {g['event']['heard_count']} who had "
                     f"heard came") if g["event"] else "—"] for g in result["gatherings"]])
    else:
        doc.para("No gathering beyond what the residents' routines explain.")
    for ev in result.get("events", []):
        doc.para(event_line(ev))

    doc.heading("Model use")
    llm = result["llm"]
    doc.para(f"{llm['calls']} calls sent, {llm['cache_hits']} cache hits, tokens {llm['tokens_in']} in + "
             f"{llm['tokens_out']} out, {llm['errors']} errors; {llm['decisions']} decisions "
             f"({llm['fallbacks']} fell back to rules), {llm['decisions_per_resident_per_day']:.1f} per resident "
             f"per game day.")
    doc.image("decisions.png", plots.decisions(result), "decisions by faculty")
    doc.table(["decision", "faculty", "decisions", "fallbacks", "per resident per day", "calls", "cache hits",
               "tokens in", "tokens out"],
              [[name, d["faculty"], d["decisions"], d["fallbacks"], d["per_resident_per_day"],
                llm["calls_by_decision"].get(name, {}).get("calls", 0),
                llm["calls_by_decision"].get(name, {}).get("cache_hits", 0),
                llm["calls_by_decision"].get(name, {}).get("tokens_in", 0),
                llm["calls_by_decision"].get(name, {}).get("tokens_out", 0)]
               for name, d in llm["decisions_by_decision"].items()])
    return doc.write(Path(out), title)


def render_text(result: dict) -> str:
    """The short plain-text summary ``analyze`` prints without ``--json``."""
    lines = [f"{result['run']}: {result['start']} → {result['end']}, {len(result['residents'])} residents"]
    for name, d in result["diffusion"].items():
        lines.append(f"diffusion {name}: {d['start']} → {d['end']} of {d['population']} "
                     f"(longest chain {d['max_hops']} hops)")
    nd = result["network_density"]
    lines.append(f"network density: {nd['start']:.3f} → {nd['end']:.3f}")
    for ev in result.get("events", []):
        if not ev.get("begun", True):
            lines.append(f"event {ev['name']} ({ev['place']} {ev['start']} → {ev['end']}, host {ev['host']}): "
                         f"not begun by the run's end; {ev['heard_count']} have heard of it")
            continue
        lines.append(f"event {ev['name']} ({ev['place']} {ev['start']} → {ev['end']}, host {ev['host']}): "
                     f"{ev['came_count']} of {ev['heard_count']} who heard came"
                     f"{' (' + str(len(ev['came_by_routine'])) + ' by routine)' if ev['came_by_routine'] else ''}")
    for row in interview_rows(result):
        lines.append(f"at {row[0]}: {row[1]}: by interview {row[2]}, by memory {row[3]}")
    for g in result["gatherings"]:
        ev = f" [{g['event']['name']}: {g['event']['came_count']} of {g['event']['heard_count']} who heard came]" \
            if g["event"] else ""
        lines.append(f"gathering {g['place']} {g['start']} → {g['end']}: {', '.join(g['attendees'])}{ev}")
    llm = result["llm"]
    lines.append(f"llm: {llm['calls']} calls, {llm['cache_hits']} cache hits, tokens {llm['tokens_in']}+"
                 f"{llm['tokens_out']}, {llm['decisions']} decisions ({llm['fallbacks']} fallbacks), "
                 f"{llm['decisions_per_resident_per_day']:.1f} per resident per day")
    return "\n".join(lines)
