"""Command line: ``python -m smallville run|inspect|interview|whisper|branch|replay|analyze|multiverse|compare|
new-town|persona|survey``. Thin: parse, dispatch, report."""

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
    r.add_argument("--stepping", choices=["auto", "lockstep", "ahead"], default="auto",
                   help="lockstep: the whole town tick by tick; ahead: residents step ahead of the town while "
                        "no one could affect them (see docs/THROUGHPUT.md); auto (default): ahead with a model "
                        "that takes time to answer. The run is the same either way")

    i = sub.add_parser("inspect", help="show a stored run at a moment")
    i.add_argument("run", help="run directory")
    i.add_argument("--at", metavar='"YYYY-MM-DD HH:MM"', help="game time (default: the last tick)")
    i.add_argument("--agent", help="one resident's state")
    i.add_argument("--query", metavar="TEXT", help="with --agent: the memories retrieved for TEXT at that moment")
    i.add_argument("--json", action="store_true", help="machine-readable output")

    iv = sub.add_parser("interview", help="ask a resident questions, as of any moment of a stored or live run")
    iv.add_argument("run", help="run directory")
    iv.add_argument("name", help="the resident's full name")
    iv.add_argument("--at", metavar='"YYYY-MM-DD HH:MM"', help="game time (default: the newest recorded tick)")
    iv.add_argument("--question", action="append", default=[], metavar="TEXT",
                    help="ask TEXT and exit (repeatable); without it, an interactive session "
                         "(:at TIME, :who NAME, :history, Ctrl-D to leave)")
    iv.add_argument("--json", action="store_true", help="machine-readable output")
    iv.add_argument("--remember", action="store_true",
                    help="live runs: the exchange enters the resident's memory at the run's next tick")
    iv.add_argument("--llm", choices=["rules", "auto", "openai", "local"],
                    help="who answers (default: the run's backend; rules for a rules or replay run)")

    wh = sub.add_parser("whisper", help="an inner-voice thought for a resident of a live run (next tick)")
    wh.add_argument("run", help="run directory")
    wh.add_argument("name", help="the resident")
    wh.add_argument("thought", help="e.g. \"You will host a game night at the pub tomorrow at 18:00\"")
    wh.add_argument("--fact", action="append", default=None, metavar="JSON", type=_fact,
                    help='a fact the thought carries, as the rules read it (repeatable), e.g. {"type": "event", '
                         '"event": {"name": "game night", "place": "Sector:arena", "start": "YYYY-MM-DD HH:MM", '
                         '"end": "YYYY-MM-DD HH:MM"}}; without: extracted from the words')

    br = sub.add_parser("branch", help="a what-if: a new run from a stored run's state at a moment, with interventions")
    br.add_argument("run", help="the parent run directory (left untouched)")
    br.add_argument("--at", required=True, metavar='"YYYY-MM-DD HH:MM"', help="the branch point")
    br.add_argument("--out", required=True, metavar="NEW", help="the new run's directory")
    br.add_argument("--whisper", action=_WhisperAction, dest="whispers", default=[], metavar='"Name: thought"',
                    help="an inner voice applied at the branch point (repeatable)")
    br.add_argument("--fact", action=_WhisperAction, dest="whispers", metavar="JSON",
                    help="a fact the preceding --whisper carries (repeatable; see whisper --fact)")
    br.add_argument("--seed", type=int, help="reseed the run's RNG at the branch point (default: the parent's draws)")
    bspan = br.add_mutually_exclusive_group()
    bspan.add_argument("--hours", type=float, help="game hours after the branch point (default: the parent's end)")
    bspan.add_argument("--until", metavar='"YYYY-MM-DD HH:MM"', help="simulate until this game time")
    br.add_argument("--quiet", action="store_true", help="no progress bar")

    an = sub.add_parser("analyze", help="metrics of a stored run: diffusion, network, gatherings, model use")
    an.add_argument("run", help="run directory")
    an.add_argument("--json", action="store_true", help="machine-readable output")
    an.add_argument("--report", metavar="DIR", help="write DIR/report.md and a self-contained DIR/report.html")
    an.add_argument("--by-interview", action="store_true",
                    help="also interview every resident (at the end and at each --at) about each tracked fact, each "
                         "event and every other resident; awareness and density by interview beside those by memory "
                         "(answers recorded with the run's interviews)")
    an.add_argument("--at", action="append", default=[], metavar='"YYYY-MM-DD HH:MM"',
                    help="with --by-interview: another moment to interview at (repeatable)")
    an.add_argument("--llm", choices=["rules", "auto", "openai", "local"],
                    help="with --by-interview: who answers (default: the run's backend; rules for a rules run)")

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

    n = sub.add_parser("new-town", help="generate a town: a Tiled map, persona files and a world file")
    n.add_argument("--residents", type=int, required=True, metavar="N", help="how many residents")
    n.add_argument("--seed", type=int, default=0, help="the same seed and size give the same town (default 0)")
    n.add_argument("--out", required=True, metavar="DIR", help="directory to write (world.yaml, town.tmj, "
                                                               "tileset.png, personas/)")
    n.add_argument("--force", action="store_true", help="write into a directory that is not empty")

    _survey_parsers(sub)

    # the viewer parses its own options (python -m smallville replay --help lists them)
    v = sub.add_parser("replay", add_help=False, help="watch a stored run in a window (pygame)")
    v.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def _survey_parsers(sub) -> None:
    """``persona from-interview`` and ``survey`` (issue 21: people from interviews, surveys, scoring)."""
    pe = sub.add_parser("persona", help="make personas: persona from-interview TRANSCRIPT --name NAME --out FILE")
    pe_sub = pe.add_subparsers(dest="persona_command", required=True)
    fi = pe_sub.add_parser("from-interview", help="a resident made from a person's interview transcript")
    fi.add_argument("transcript", help="plain text with Interviewer:/Q: turns, or JSON question-answer pairs")
    fi.add_argument("--name", required=True, help="the person's name as a resident")
    fi.add_argument("--out", required=True, metavar="FILE", help="persona file to write (the transcript is copied beside it)")
    fi.add_argument("--demographics", action="append", default=[], metavar="FILE|k=v",
                    help="a YAML/JSON file of demographics, or key=value (repeatable); age is required")
    fi.add_argument("--id", dest="person", metavar="ID", help="the person's id in reference data (default: the name)")
    fi.add_argument("--world", metavar="FILE", help="give the resident a home, workplace and routine in this world")
    fi.add_argument("--llm", choices=["rules", "auto", "openai", "local"], default="rules",
                    help="who summarises and reflects (default: rules, extractive)")

    sv = sub.add_parser("survey", help="ask residents a questionnaire; score their answers against people's")
    sv.add_argument("target", help="a run directory, a world file or a folder of persona files")
    sv.add_argument("--instrument", action="append", required=True, metavar="FILE", help="instrument YAML (repeatable)")
    sv.add_argument("--at", action="append", default=[], metavar='"YYYY-MM-DD HH:MM"',
                    help="a run: the moment (repeatable: a panel over time; default the last tick)")
    sv.add_argument("--residents", action="append", default=[], metavar="NAME", help="only these residents (repeatable)")
    sv.add_argument("--condition", choices=["interview", "persona", "demographic"], default="interview",
                    help="what the answerer may see (default interview: everything)")
    sv.add_argument("--transcripts", choices=["keep", "remove", "shuffle"], default="keep",
                    help="counterfactuals: remove what the interviews gave, or shuffle it between people")
    sv.add_argument("--runs", type=int, default=1, metavar="N", help="answer N times, seeds S..S+N-1")
    sv.add_argument("--seed", type=int, default=0, help="the first seed (arms, draws, model sampling)")
    sv.add_argument("--workers", type=int, default=1, metavar="K", help="runs at once in local processes")
    sv.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS", help="the runs as Ray tasks")
    sv.add_argument("--llm", choices=["rules", "auto", "openai", "local"], default="rules", help="who answers")
    sv.add_argument("--embedder", choices=["hashing", "minilm"],
                    help="memory embeddings (default: a run's own; hashing for personas and worlds)")
    sv.add_argument("--reference", metavar="CSV", help="people's answers (id column + one per item) to score against")
    sv.add_argument("--retest", metavar="CSV", help="the same people's second wave (for normalized figures)")
    sv.add_argument("--group-by", metavar="COLUMN", help="bias: accuracy per group of this reference/demographic column")
    sv.add_argument("--aggregate-only", action="store_true", help="no individual answers; suppress small cells")
    sv.add_argument("--min-cell", type=int, default=5, metavar="K", help="smallest cell shown with --aggregate-only")
    sv.add_argument("--out", metavar="DIR", help="write answers.csv, summary.json, report.md/.html there")
    sv.add_argument("--json", action="store_true", help="print the summary as JSON")


def _survey_command(args) -> int:
    if args.command == "persona":
        from smallville.persona import build, parse_demographics

        files = [d for d in args.demographics if "=" not in d]
        if len(files) > 1:
            raise SmallvilleError("--demographics: at most one file")
        demo = parse_demographics([d for d in args.demographics if "=" in d], files[0] if files else None)
        p = build(args.transcript, args.name, demo, args.out, args.world, args.llm, args.person)
        print(f"{args.out}: {p.name}, {len(p.first_memories)} first memories", file=sys.stderr)
        print(args.out)
        return 0
    from smallville.survey import SurveyOptions, main as survey_main

    return survey_main(SurveyOptions(
        args.target, tuple(args.instrument), args.out, tuple(args.at), tuple(args.residents), args.condition,
        args.runs, args.seed, args.workers, args.ray, args.llm, args.embedder, args.transcripts, args.reference,
        args.retest, args.group_by, args.aggregate_only, args.min_cell, args.json))


def _fact(text: str) -> dict:
    try:
        fact = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"--fact: not JSON ({e.msg}): {text!r}") from None
    if not isinstance(fact, dict) or fact.get("type") not in ("event", "news"):
        raise argparse.ArgumentTypeError(f'--fact: expected an object with "type": "event" or "news", got {text!r}')
    return fact


class _WhisperAction(argparse.Action):
    """``--whisper "Name: thought"`` adds one; ``--fact JSON`` attaches to the last one."""

    def __call__(self, parser, ns, value, option_string=None):
        whispers = list(getattr(ns, self.dest) or [])
        if option_string == "--fact":
            if not whispers:
                parser.error("--fact: give it after the --whisper it belongs to")
            try:
                fact = _fact(value)
            except argparse.ArgumentTypeError as e:
                parser.error(str(e))
            whispers[-1] = {**whispers[-1], "facts": (whispers[-1].get("facts") or []) + [fact]}
        else:
            name, sep, thought = value.partition(":")
            if not sep or not name.strip() or not thought.strip():
                parser.error(f'--whisper: expected "Name: thought", got {value!r}')
            whispers.append({"agent": name.strip(), "text": thought.strip(), "facts": None})
        setattr(ns, self.dest, whispers)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replay"]:  # the viewer owns its options, --help included
        return _replay(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("persona", "survey"):
            return _survey_command(args)
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
                                           budget_calls=args.budget_calls, stepping=args.stepping)))
        elif args.command == "run":
            from smallville.runner import RunOptions, start_run

            if args.world is None:
                raise SmallvilleError("run: a world file is required, e.g. `python -m smallville run "
                                      "worlds/town.yaml` (or --resume RUN_DIR to go on with a stored run)")
            if args.budget_calls is not None:
                raise SmallvilleError("--budget-calls: only with --resume (set llm.budget.calls in the world file)")
            run_dir = start_run(RunOptions(args.world, args.hours, args.until, args.seed, args.llm, args.out, args.quiet,
                                           replay_calls=args.replay_calls, ablate=tuple(args.ablate),
                                           embedder=args.embedder or "minilm", stepping=args.stepping))
            print(run_dir)
        elif args.command == "new-town":
            from smallville.world.newtown import generate

            made = generate(args.residents, args.seed, args.out, force=args.force)
            print(f"{made.residents} residents, {sum(made.buildings.values())} buildings, "
                  f"{made.size[0]}x{made.size[1]} tiles", file=sys.stderr)
            print(made.world_file)
        elif args.command == "inspect":
            from smallville.inspect import inspect_run, render_text

            if args.query is not None and not args.agent:
                raise SmallvilleError("--query needs --agent NAME")
            view = inspect_run(args.run, args.at, args.agent, query=args.query)
            print(json.dumps(view, indent=2, ensure_ascii=False) if args.json else render_text(view))
        elif args.command == "interview":
            from smallville.interview import run_interview

            return run_interview(args.run, args.name, args.at, args.question, args.json, args.remember, args.llm)
        elif args.command == "whisper":
            from smallville.interview import whisper

            cid = whisper(args.run, args.name, args.thought, args.fact)
            print(f"whisper {cid} queued for {args.name}: applied at the run's next tick")
        elif args.command == "branch":
            from smallville.branch import BranchOptions, branch_run

            print(branch_run(BranchOptions(args.run, args.at, args.out, args.whispers, args.seed, args.hours,
                                           args.until, args.quiet)))
        elif args.command == "analyze":
            from smallville.analysis.report import render_text as summary_text, run_report

            if (args.at or args.llm) and not args.by_interview:
                raise SmallvilleError("--at and --llm: only with --by-interview")
            from smallville.measure import analyze_by_interview, analyze_run

            result = analyze_by_interview(args.run, args.at, args.llm) if args.by_interview else analyze_run(args.run)
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
