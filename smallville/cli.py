"""Command line: ``python -m smallville run|inspect|replay|analyze|multiverse|compare``. Thin: parse,
dispatch, report."""

from __future__ import annotations

import argparse
import json
import sys

from smallville import __version__
from smallville.errors import SmallvilleError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smallville", description="A small town of generative agents.")
    p.add_argument("--version", action="version", version=f"smallville {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a world headless and record it under replays/")
    r.add_argument("world", nargs="?", help="world file, e.g. worlds/town.yaml (not with --resume)")
    r.add_argument("--resume", metavar="RUN_DIR",
                   help="go on with a stored run from its last checkpoint (same world, seed, backend, ablations "
                        "and embedder); --hours counts from the checkpoint; the LLM budget is granted afresh")
    r.add_argument("--budget-calls", type=int, metavar="N",
                   help="with --resume: cap this session's LLM calls at N instead of the world's llm.budget.calls")
    span = r.add_mutually_exclusive_group()
    span.add_argument("--hours", type=float, help="game hours to simulate (default: to the world's end)")
    span.add_argument("--until", metavar='"YYYY-MM-DD HH:MM"', help="simulate until this game time")
    r.add_argument("--seed", type=int, help="override the world's seed")
    r.add_argument("--llm", choices=["auto", "rules", "openai", "local", "replay"],
                   help="decision backend (default: the world's llm.backend)")
    r.add_argument("--replay-calls", metavar="RUN_DIR",
                   help="with --llm replay: answer every model call from this recorded run")
    r.add_argument("--ablate", action="append", choices=["memory", "reflection", "planning", "conversation"],
                   default=[], help="switch a faculty off (repeatable): memory (decisions see only the current "
                                    "observation), reflection, planning (act from the routine only) or "
                                    "conversation (never talk); recorded in the manifest's ablations")
    r.add_argument("--embedder", choices=["minilm", "hashing"],
                   help="memory embeddings: all-MiniLM-L6-v2 (default) or a fast hashing embedder (tests)")
    r.add_argument("--out", help="run directory (default: replays/<run-id>)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    i = sub.add_parser("inspect", help="show a stored run at a moment")
    i.add_argument("run", help="run directory")
    i.add_argument("--at", metavar='"YYYY-MM-DD HH:MM"', help="game time (default: the last tick)")
    i.add_argument("--agent", help="one resident's state")
    i.add_argument("--query", metavar="TEXT", help="with --agent: the memories retrieved for TEXT at that moment")
    i.add_argument("--json", action="store_true", help="machine-readable output")

    an = sub.add_parser("analyze", help="metrics of a stored run: diffusion, network, gatherings, model use")
    an.add_argument("run", help="run directory")
    an.add_argument("--json", action="store_true", help="machine-readable output")
    an.add_argument("--report", metavar="DIR", help="write DIR/report.md and a self-contained DIR/report.html")

    mv = sub.add_parser("multiverse", help="run N seeds of one world and aggregate every metric")
    mv.add_argument("world", help="world file, e.g. worlds/small.yaml")
    mv.add_argument("--runs", type=int, required=True, metavar="N", help="how many seeds")
    mspan = mv.add_mutually_exclusive_group()
    mspan.add_argument("--hours", type=float, help="game hours each run simulates (default: to the world's end)")
    mspan.add_argument("--until", metavar='"YYYY-MM-DD HH:MM"', help="simulate each run until this game time")
    mv.add_argument("--seed-base", type=int, metavar="S", help="seeds S, S+1, … (default: the world's seed)")
    mv.add_argument("--workers", type=int, default=1, metavar="K", help="runs at once (local processes or Ray CPUs)")
    mv.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                    help="run the seeds as Ray tasks: a local Ray, or the cluster at ADDRESS")
    mv.add_argument("--llm", choices=["auto", "rules", "openai", "local"], help="decision backend of every run")
    mv.add_argument("--ablate", action="append", choices=["memory", "reflection", "planning", "conversation"],
                    default=[], help="switch a faculty off in every run (repeatable)")
    mv.add_argument("--embedder", choices=["minilm", "hashing"], help="memory embeddings of every run")
    mv.add_argument("--out", required=True, metavar="DIR", help="DIR/runs/seed-S/ per run, DIR/summary.json, reports")
    mv.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("compare", help="two runs side by side, or two multiverses with the difference of means")
    c.add_argument("a", help="run or multiverse directory")
    c.add_argument("b", help="run or multiverse directory")
    c.add_argument("--json", action="store_true", help="machine-readable output")

    # the viewer parses its own options (python -m smallville replay --help lists them)
    v = sub.add_parser("replay", add_help=False, help="watch a stored run in a window (pygame)")
    v.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replay"]:  # the viewer owns its options, --help included
        return _replay(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run" and args.resume is not None:
            from smallville.runner import ResumeOptions, resume_run

            if args.world is not None:
                raise SmallvilleError("--resume RUN_DIR continues a stored run with its own world; "
                                      "give no world file with it")
            fixed = [flag for flag, v in (("--seed", args.seed), ("--llm", args.llm),
                                          ("--replay-calls", args.replay_calls), ("--ablate", args.ablate or None),
                                          ("--embedder", args.embedder), ("--out", args.out)) if v is not None]
            if fixed:
                raise SmallvilleError(f"{', '.join(fixed)}: not with --resume (a resumed run keeps the settings "
                                      f"it was recorded with)")
            print(resume_run(ResumeOptions(args.resume, args.hours, args.until, args.quiet,
                                           budget_calls=args.budget_calls)))
        elif args.command == "run":
            from smallville.runner import RunOptions, start_run

            if args.world is None:
                raise SmallvilleError("run: a world file is required, e.g. `python -m smallville run "
                                      "worlds/town.yaml` (or --resume RUN_DIR to go on with a stored run)")
            if args.budget_calls is not None:
                raise SmallvilleError("--budget-calls: only with --resume (set llm.budget.calls in the world file)")
            run_dir = start_run(RunOptions(args.world, args.hours, args.until, args.seed, args.llm, args.out, args.quiet,
                                           replay_calls=args.replay_calls, ablate=tuple(args.ablate),
                                           embedder=args.embedder or "minilm"))
            print(run_dir)
        elif args.command == "inspect":
            from smallville.inspect import inspect_run, render_text

            if args.query is not None and not args.agent:
                raise SmallvilleError("--query needs --agent NAME")
            view = inspect_run(args.run, args.at, args.agent, query=args.query)
            print(json.dumps(view, indent=2, ensure_ascii=False) if args.json else render_text(view))
        elif args.command == "analyze":
            from smallville.analysis.analyze import analyze
            from smallville.analysis.report import render_text as summary_text, run_report

            result = analyze(args.run)
            if args.report:
                run_report(result, args.report)
            print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else summary_text(result))
        elif args.command == "multiverse":
            from smallville.multiverse import MultiverseOptions, run_multiverse

            print(run_multiverse(MultiverseOptions(args.world, args.runs, args.out, args.hours, args.until,
                                                   args.seed_base, args.workers, args.ray, args.llm,
                                                   args.embedder or "minilm", tuple(args.ablate), args.quiet)))
        elif args.command == "compare":
            from smallville.analysis.compare import compare, render_text as compare_text

            result = compare(args.a, args.b)
            print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else compare_text(result))
    except SmallvilleError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def _replay(argv: list[str]) -> int:
    try:
        from smallville.viewer.app import main as viewer_main
    except ImportError as e:
        print(f"error: the replay viewer is not available: {e}", file=sys.stderr)
        return 2
    try:
        return viewer_main(argv)
    except SmallvilleError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
