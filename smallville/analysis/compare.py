"""``compare A B``: two runs side by side (branches, ablations), or two multiverses with the
difference of their means (B − A) and its 95 % bootstrap CI."""

from __future__ import annotations

import json
from pathlib import Path

from smallville.analysis import stats
from smallville.analysis.analyze import analyze, metrics
from smallville.errors import RunStoreError, SmallvilleError


def kind_of(path: str | Path) -> str:
    p = Path(path)
    if (p / "summary.json").exists():
        return "multiverse"
    if (p / "run.db").exists():
        return "run"
    raise RunStoreError(f"{p}: neither a run directory (run.db) nor a multiverse (summary.json)")


def _summary(path: Path) -> dict:
    try:
        return json.loads((path / "summary.json").read_text())
    except json.JSONDecodeError as e:
        raise RunStoreError(f"{path / 'summary.json'}: malformed JSON ({e.msg})") from None


def _describe(r: dict) -> dict:
    return {k: r.get(k) for k in ("run", "world", "seed", "backend", "model", "ablations", "start", "end", "status")}


def compare(a: str | Path, b: str | Path) -> dict:
    ka, kb = kind_of(a), kind_of(b)
    if ka != kb:
        raise SmallvilleError(f"compare: {a} is a {ka} and {b} a {kb}; compare two runs or two multiverses")
    if ka == "run":
        ra, rb = analyze(a), analyze(b)
        ma, mb = metrics(ra), metrics(rb)
        rows = {}
        for name in sorted(set(ma) | set(mb)):
            va, vb = ma.get(name), mb.get(name)
            rows[name] = {"a": va, "b": vb,
                          "difference": None if va is None or vb is None else round(vb - va, 6)}
        return {"kind": "runs", "a": _describe(ra), "b": _describe(rb), "metrics": rows}
    sa, sb = _summary(Path(a)), _summary(Path(b))
    rows = {}
    for name in sorted(set(sa["metrics"]) | set(sb["metrics"])):
        xa = sa["metrics"].get(name, {}).get("values", [])
        xb = sb["metrics"].get(name, {}).get("values", [])
        d = stats.difference(xa, xb)
        rows[name] = {"a_mean": sa["metrics"].get(name, {}).get("mean"), "b_mean": sb["metrics"].get(name, {}).get("mean"),
                      "n_a": len(xa), "n_b": len(xb), **d}
    return {"kind": "multiverses", "a": {"dir": str(a), "world": sa.get("world"), "runs": sa.get("runs")},
            "b": {"dir": str(b), "world": sb.get("world"), "runs": sb.get("runs")},
            "statistics": {"difference": "mean of B minus mean of A", "ci": "95 % percentile bootstrap, each side "
                           "resampled independently", "resamples": stats.RESAMPLES}, "metrics": rows}


def _fmt(v) -> str:
    if v is None:
        return "—"
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def render_text(c: dict) -> str:
    if c["kind"] == "runs":
        lines = [f"A: {c['a']['run']} (seed {c['a']['seed']}, ablations {','.join(c['a']['ablations'] or []) or 'none'})",
                 f"B: {c['b']['run']} (seed {c['b']['seed']}, ablations {','.join(c['b']['ablations'] or []) or 'none'})",
                 f"{'metric':44} {'A':>12} {'B':>12} {'B − A':>12}"]
        for name, r in c["metrics"].items():
            lines.append(f"{name:44} {_fmt(r['a']):>12} {_fmt(r['b']):>12} {_fmt(r['difference']):>12}")
        return "\n".join(lines)
    lines = [f"A: {c['a']['dir']} ({c['a']['runs']} runs)", f"B: {c['b']['dir']} ({c['b']['runs']} runs)",
             f"{'metric':44} {'mean A':>10} {'mean B':>10} {'B − A':>10}  95 % CI"]
    for name, r in c["metrics"].items():
        ci = f"[{_fmt(r['ci95'][0])}, {_fmt(r['ci95'][1])}]" if r.get("ci95") else "—"
        mark = " *" if r.get("excludes_zero") else ""
        lines.append(f"{name:44} {_fmt(r['a_mean']):>10} {_fmt(r['b_mean']):>10} {_fmt(r['difference']):>10}  {ci}{mark}")
    lines.append("* the CI excludes zero")
    return "\n".join(lines)
