"""How well the rules baseline understands interview questions (issue 19).

The paraphrase set (tests/data/interview_paraphrases.yaml: >= 10 phrasings per intent, written
apart from the prototypes) is asked of several residents of a stored run at several moments;
each answer is *right* when the question's intent is read right and the answer agrees with the
store (:func:`check`: the recorded action at the time asked, the plan's blocks, the persona's
facts, the people and events the resident's memories name, a first-person reaction, …).
Prints accuracy per intent and per category (self, memory, plans, reactions, reflections).

``--before PATH``: also the category accuracy of another checkout's keyword reader
(``smallville/cognition/interview.py:category`` of e.g. /work/main), on the same questions.

Run from the repository root:
    PYTHONPATH=$PWD python benchmarks/bench_understanding.py [--run RUN_DIR] [--before /work/main]
    PYTHONPATH=$PWD python benchmarks/bench_understanding.py --speed RUN_DIR   # interview wall times
Without --run it makes one: the town to 2023-02-14 19:00 on the rules baseline (hashing embedder).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "data" / "interview_paraphrases.yaml"
RESIDENTS = ("Klaus Mueller", "Maria Lopez", "Sam Moore")
MOMENTS = ("2023-02-13 10:00", "2023-02-14 16:00")
OLD_TO_NEW = {"self": "self", "now": "plans", "plans": "plans", "tomorrow": "plans", "person": "memory",
              "reflections": "reflections", "reaction": "reactions", "memory": "memory"}


def questions(persona_rel: dict[str, str]) -> list[tuple[str, str]]:
    data = yaml.safe_load(SET.read_text(encoding="utf-8"))
    friend = next(iter(persona_rel), "Klaus Mueller")
    return [(intent, q.replace("{friend}", friend).replace("{first}", friend.split()[0]))
            for intent, qs in data.items() for q in qs]


def low(s: str) -> str:
    return s.lower()


def check(intent: str, q: str, ex: dict, ctx: dict) -> bool:
    """Whether the answer agrees with the store (the intent is checked apart)."""
    a = low(ex["answer"])
    p = ctx["persona"]
    if re.search(rf"\b{re.escape(p['name'].split()[0].lower())} (is|has|keeps|was)\b", a) and intent != "self.intro":
        return False  # speaks of itself in the third person
    if intent == "self.intro":
        return low(p["name"]) in a and low(p["occupation"]) in a
    if intent == "self.personality":
        return any(low(t) in a for t in p["traits"])
    if intent == "self.occupation":
        return low(p["occupation"]) in a
    if intent == "self.typical_day":
        w = p["lifestyle"]["wake"]
        w = w if isinstance(w, str) else f"{w // 60:02d}:{w % 60:02d}"
        return w in a or any(low(b["activity"])[:15] in a for b in p["lifestyle"]["routine"])
    if intent == "self.home":
        return low(p["home"].split(":")[0]) in a
    if intent == "self.age":
        return str(p["age"]) in a
    if intent == "now":
        return low(ctx["action"])[:12].replace(" his ", " my ").replace(" her ", " my ") in a or \
            low(ctx["action"]).split()[0] in a
    if intent == "past":
        return a.startswith(("this", "yesterday", "today", "earlier", "i was", "on ", "last")) or " i was " in a \
            or "i can't remember" in a
    if intent in ("future", "next", "today"):
        mine = lambda t: re.sub(r"\b(his|her|their)\b", "my", low(t))[:12]  # noqa: E731
        acts = [mine(b["activity"]) for b in ctx["blocks"]] + [mine(b["activity"]) for b in p["lifestyle"]["routine"]]
        return any(x in a for x in acts) or "asleep" in a or "bed" in a or "hosting" in a
    if intent == "tomorrow":
        return "tomorrow" in a or "usual" in a
    if intent.startswith("person."):
        return ctx["friend"].lower() in a or ctx["friend"].split()[0].lower() in a
    if intent in ("know.topic", "know.source", "know.when", "event.going", "event.who"):
        knows = ctx["knows_party"]
        if not knows:
            return bool(re.search(r"\b(don't|haven't|no|nobody|not)\b", a))
        if intent == "know.source":
            return ctx["host"].lower() in a or any(t.lower() in a for t in ctx["tellers"]) or "hosting" in a
        if intent == "know.when":
            return bool(re.search(r"\d\d:\d\d|yesterday|today|this|start", a))
        if intent == "event.going":
            return bool(re.search(r"\b(yes|no|going|decided|hosting|over)\b", a))
        if intent == "event.who":
            return ctx["host"].lower() in a or "going" in a or "coming" in a
        return "party" in a or ctx["host"].lower() in a
    if intent in ("talk.last", "talk.today"):
        return any(n.lower() in a for n in ctx["partners"]) or ("haven't" in a and not ctx["partners_today"])
    if intent == "react":
        return a.startswith("i'd") and len(a) > 40
    if intent == "reflect.mind":
        return a.startswith(("lately", "i'm looking", "mostly", "nothing")) and "i " in a
    if intent == "reflect.company":
        return "i'd spend" in a or "closest" in a
    if intent == "reflect.learned":
        return a.startswith(("i've noticed", "i haven't learned"))
    if intent == "reflect.values":
        return "matters most to me" in a
    return False


def context(reader, tick: int, name: str) -> dict:
    from smallville.inspect import plan_view

    info = reader.tick_info(tick)
    row = next(r for r in reader.agents_at(tick) if r["name"] == name)
    persona = reader.persona(name)
    plan = plan_view(reader, tick, name, info["time"]) or {"blocks": []}
    mems = reader.memories(name, until=tick)
    host, tellers, knows = "", [], False
    for m in mems:
        f = json.loads(m["facts"]) if m["facts"] else {}
        ev = f.get("event")
        if isinstance(ev, dict) and "party" in ev.get("name", "").lower():
            knows = True
            host = ev.get("host", name)
            if f.get("heard_from"):
                tellers.append(f["heard_from"])
    day = info["time"][:10]
    partners, partners_today = [], []
    for m in mems:
        mm = re.match(rf"{re.escape(name)} talked with (\w+ \w+)", m["description"])
        if mm:
            partners.append(mm.group(1))
            if reader.tick_info(m["tick"])["time"][:10] == day:
                partners_today.append(mm.group(1))
    rel = persona.get("relationships") or {}
    return {"persona": persona, "action": row["action"], "blocks": plan["blocks"], "knows_party": knows,
            "host": host or "isabella", "tellers": tellers, "partners": partners[-1:] + partners_today,
            "partners_today": partners_today, "friend": next(iter(rel), "Klaus Mueller")}


def old_category(path: Path):
    sys.path.insert(0, str(path))
    spec = importlib.util.spec_from_file_location("old_interview", path / "smallville/cognition/interview.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_interview"] = mod
    spec.loader.exec_module(mod)
    sys.path.pop(0)
    return mod.category


def speed(run: str) -> None:
    """One-shot interviews through the CLI (wall s, a fresh process each) and answers after the
    first in one session (ms), on ``run``."""
    import statistics

    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "smallville", "interview", run, "Klaus Mueller", "--question",
                        "What were you doing an hour ago?"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
    from smallville.interview import ask, moment_tick, open_session

    s = open_session(run, store=False)
    tick = moment_tick(s.reader, None)
    ask(s, tick, "Klaus Mueller", "Tell me about yourself.")
    times = []
    for q in ("What were you doing two hours ago?", "Who told you about the party?", "What's on your mind?",
              "Your kitchen is on fire! What would you do?", "Where will you be at 6pm tomorrow?",
              "Who is Maria Lopez?", "What matters most to you?", "Who did you talk to today?"):
        t0 = time.perf_counter()
        ask(s, tick, "Klaus Mueller", q)
        times.append(1000 * (time.perf_counter() - t0))
    print(f"speed on {run} (embedder {s.reader.meta.get('embedder')}): one-shot CLI interview "
          f"{statistics.median(walls):.2f} s (median of 3: {', '.join(f'{w:.2f}' for w in walls)}); "
          f"answers after the first {statistics.median(times):.0f} ms median, {max(times):.0f} ms max")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run")
    ap.add_argument("--speed", metavar="RUN", help="only time interviews of RUN (a MiniLM run shows the embedder's cost)")
    ap.add_argument("--before", help="a checkout whose keyword reader to measure too (e.g. /work/main)")
    args = ap.parse_args()
    if args.speed:
        speed(args.speed)
        return
    run = args.run
    if run is None:
        run = str(Path(tempfile.mkdtemp(prefix="bench-understanding-")) / "town")
        subprocess.run([sys.executable, "-m", "smallville", "run", "worlds/town.yaml", "--until", "2023-02-14 19:00",
                        "--out", run, "--llm", "rules", "--embedder", "hashing", "--seed", "7", "--quiet"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    from smallville.cognition.understand import load_library
    from smallville.interview import ask, open_session

    lib = load_library()
    s = open_session(run, store=False)
    right: collections.Counter = collections.Counter()
    intent_ok: collections.Counter = collections.Counter()
    total: collections.Counter = collections.Counter()
    cat_right: collections.Counter = collections.Counter()
    cat_total: collections.Counter = collections.Counter()
    old_right: collections.Counter = collections.Counter()
    old = old_category(Path(args.before)) if args.before else None
    wrong: list[str] = []
    t0 = time.perf_counter()
    n = 0
    for name in RESIDENTS:
        for at in MOMENTS:
            tick = s.reader.tick_at(dt.datetime.strptime(at, "%Y-%m-%d %H:%M"))
            if tick is None:
                continue
            ctx = context(s.reader, tick, name)
            for intent, q in questions(ctx["persona"].get("relationships") or {}):
                ex = ask(s, tick, name, q)
                n += 1
                cat = lib[intent].category
                got = ex["intent"] == intent
                ok = got and check(intent, q, ex, ctx)
                total[intent] += 1
                intent_ok[intent] += got
                right[intent] += ok
                cat_total[cat] += 1
                cat_right[cat] += ok
                if old is not None:
                    old_right[cat] += OLD_TO_NEW[old(q, name, list(s.reader.agents.values()))[0]] == cat
                if not ok and len(wrong) < 400:
                    wrong.append(f"  {intent:16s} got {ex['intent']:16s} {name.split()[0]:9s} {at[5:]}: {q} -> "
                                 f"{ex['answer'][:110]}")
    took = time.perf_counter() - t0
    print(f"{n} answers ({len(RESIDENTS)} residents x {len(MOMENTS)} moments x {sum(total.values()) // max(1, len(RESIDENTS) * len(MOMENTS))} "
          f"questions) in {took:.1f} s ({1000 * took / max(1, n):.0f} ms an answer); run {run}")
    print(f"{'intent':18s} {'intent read':>11s} {'right':>7s}")
    for intent in lib:
        if total[intent]:
            print(f"{intent:18s} {100 * intent_ok[intent] / total[intent]:10.0f}% {100 * right[intent] / total[intent]:6.0f}%")
    print(f"{'category':18s} {'right':>7s}" + (f" {'before (category read)':>24s}" if old else ""))
    for cat in ("self", "memory", "plans", "reactions", "reflections"):
        line = f"{cat:18s} {100 * cat_right[cat] / max(1, cat_total[cat]):6.0f}%"
        if old:
            line += f" {100 * old_right[cat] / max(1, cat_total[cat]):23.0f}%"
        print(line)
    allr = sum(cat_right.values()) / max(1, sum(cat_total.values()))
    print(f"{'all':18s} {100 * allr:6.0f}%" + (f" {100 * sum(old_right.values()) / max(1, sum(cat_total.values())):23.0f}%"
                                                if old else ""))
    print("not right (first 40):")
    print("\n".join(wrong[:40]))


if __name__ == "__main__":
    main()
