"""Surveys of people made from interviews (issue 21), on a SYNTHETIC panel (smallville/people/synthetic.py:
invented people with latent attitudes, interview transcripts and two waves of answers — no real data).

1. Accuracy: N people (default 200) → transcripts → ``persona from-interview`` (rules) → ``survey`` under
   the three conditions (interview, persona, demographic) and the two counterfactuals (interview with the
   transcripts removed; shuffled between people), each scored against the people's wave 1 with their
   wave 2 as retest: accuracy, normalized accuracy, mean TVD and DPD by ideology, each with its 95 %
   bootstrap interval (scipy.stats.bootstrap, percentile, 1,000 resamples over people).
2. Cost: 1,000 residents × 40 items on the rules baseline, survey time only (personas built first and
   timed apart), with the hashing embedder and (``--minilm``) all-MiniLM-L6-v2.
3. With a model: requests and tokens per resident, against a loopback OpenAI-compatible server.

Run from the repository root: PYTHONPATH=$PWD python benchmarks/bench_survey.py [--people 200]
[--seeds 0 1] [--scale 1000] [--minilm]
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smallville.people import synthetic  # noqa: E402  (the people's side)
from smallville.people.instrument import load_instrument, merge  # noqa: E402
from smallville.persona import build  # noqa: E402
from smallville.survey import SurveyOptions, run_survey  # noqa: E402

INSTRUMENTS = tuple(sorted(glob.glob(str(ROOT / "surveys" / "*.yaml"))))


def make(n: int, seed: int, out: Path) -> Path:
    """The synthetic panel written as a study's files, and personas built from them."""
    inst = merge([load_instrument(f) for f in INSTRUMENTS])
    people = synthetic.make_panel(inst, n=n, seed=seed)
    synthetic.write_panel(people, inst, out)
    personas = out / "personas"
    personas.mkdir(exist_ok=True)
    for x in people:
        demo = dict(x.demographics)
        build(str(out / "transcripts" / f"{x.id}.txt"), x.name, demo, str(personas / f"{x.id}.yaml"), person=x.id)
    return personas


def fig(f: dict | None) -> str:
    if not f or f.get("value") is None:
        return "        —          "
    lo, hi = f.get("low"), f.get("high")
    return f"{f['value']:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None else f"{f['value']:.3f}"


def accuracy(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        personas = make(n, seed, out)
        built = time.perf_counter() - t0
        print(f"seed {seed}: {n} synthetic people, personas built in {built:.1f} s")
        print(f"  {'condition':<22} {'accuracy':<22} {'normalized accuracy':<22} {'mean TVD':<9} {'DPD (ideology)':<22}")
        rows = {}
        for label, cond, tr in (("interview", "interview", "keep"), ("persona", "persona", "keep"),
                                ("demographic", "demographic", "keep"),
                                ("interview, removed", "interview", "remove"),
                                ("interview, shuffled", "interview", "shuffle")):
            s = run_survey(SurveyOptions(str(personas), INSTRUMENTS, condition=cond, transcripts=tr, seed=seed,
                                         reference=str(out / "people.csv"), retest=str(out / "people_wave2.csv"),
                                         group_by="political_ideology", report=False))["scores"]
            rows[label] = s
            print(f"  {label:<22} {fig(s['accuracy']):<22} {fig(s['normalized_accuracy']):<22} "
                  f"{s['mean_tvd']:<9} {fig(s.get('dpd')):<22}")
        print(f"  people's own retest accuracy {fig(rows['interview']['retest_accuracy'])}")
        return rows


def cost(n: int, embedder: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        personas = make(n, 0, out)
        built = time.perf_counter() - t0
        inst = merge([load_instrument(f) for f in INSTRUMENTS])
        t0 = time.perf_counter()
        s = run_survey(SurveyOptions(str(personas), INSTRUMENTS, condition="interview", embedder=embedder,
                                     report=False))
        took = time.perf_counter() - t0
        usage = next(iter(s["waves"].values()))["usage"][0]
        print(f"cost ({embedder}): {n} residents × {len(inst.items)} items: survey {took:.1f} s "
              f"(answering {usage['seconds']:.1f} s, {usage['decisions']} decisions); personas built in {built:.1f} s")


def model_cost(n: int = 20) -> None:
    """Requests and tokens per resident through a model: a loopback OpenAI-compatible server answering
    schema-valid values (smallville.llm.testing), so the counts are the prompts' real sizes."""
    import os

    from smallville.llm.testing import LoopbackServer

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        personas = make(n, 0, out)
        server = LoopbackServer().start()
        old = {k: os.environ.get(k) for k in ("SMALLVILLE_LLM_BASE_URL", "SMALLVILLE_LLM_MODEL")}
        os.environ["SMALLVILLE_LLM_BASE_URL"] = server.base_url
        os.environ["SMALLVILLE_LLM_MODEL"] = "loopback-model"
        try:
            for cond in ("interview", "demographic"):
                s = run_survey(SurveyOptions(str(personas), INSTRUMENTS, condition=cond, llm="openai", report=False))
                u = next(iter(s["waves"].values()))["usage"][0]
                print(f"model ({cond}): {u['calls'] / n:.1f} requests, {u['tokens_in'] / n:.0f} tokens in and "
                      f"{u['tokens_out'] / n:.0f} out per resident; {u['fallbacks']} fallbacks of {u['decisions']}")
        finally:
            server.stop()
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--scale", type=int, default=1000)
    ap.add_argument("--minilm", action="store_true")
    ap.add_argument("--minilm-scale", type=int, help="residents for the MiniLM cost (default --scale)")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-model", action="store_true")
    args = ap.parse_args()
    if not args.skip_accuracy:
        for seed in args.seeds:
            accuracy(args.people, seed)
    if args.scale:
        cost(args.scale, "hashing")
        if args.minilm:
            cost(args.minilm_scale or args.scale, "minilm")
    if not args.skip_model:
        model_cost()


if __name__ == "__main__":
    main()
