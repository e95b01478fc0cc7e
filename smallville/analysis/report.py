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
        doc.para(f"“{name}” (keywords: {', '.join(d['keywords'])}): {d['start']} → {d['end']} of {d['population']}; "
                 f"{len(told)} told by someone, longest chain {d['max_hops']} hops (told-by records: "
                 f"{d['told_source']}).")
        doc.table(["resident", "knew from", "told by", "hops", "how"],
                  [[n["name"], n["time"], n["told_by"] or "—", n["hops"], n["source"]] for n in d["tree"]])

    doc.heading("Relationship network")
    nd = result["network_density"]
    doc.para(f"Density {nd['start']:.3f} at the start ({nd['edges_start']} edges) → {nd['end']:.3f} at the end "
             f"({nd['edges_end']} edges) over {nd['nodes']} residents.")
    doc.image("network.png", plots.network(result), "relationship graph at the start and at the end")

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
        doc.para(f"Known event “{ev['name']}” ({ev['place']}, {ev['start']} → {ev['end']}, host {ev['host'] or '?'}): "
                 f"{ev['heard_count']} had heard of it before it began; came: {', '.join(ev['came']) or 'nobody'}; "
                 f"not there: {', '.join(n for n in ev['heard'] if n not in ev['came']) or 'nobody'}.")

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
    for g in result["gatherings"]:
        ev = f" [{g['event']['name']}: {g['event']['came_count']} of {g['event']['heard_count']} who heard came]" \
            if g["event"] else ""
        lines.append(f"gathering {g['place']} {g['start']} → {g['end']}: {', '.join(g['attendees'])}{ev}")
    llm = result["llm"]
    lines.append(f"llm: {llm['calls']} calls, {llm['cache_hits']} cache hits, tokens {llm['tokens_in']}+"
                 f"{llm['tokens_out']}, {llm['decisions']} decisions ({llm['fallbacks']} fallbacks), "
                 f"{llm['decisions_per_resident_per_day']:.1f} per resident per day")
    return "\n".join(lines)
