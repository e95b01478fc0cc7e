"""``survey TARGET --instrument FILE``: ask a population a questionnaire, score it against people.

TARGET is a run directory (its residents as they were at ``--at``, repeatable: a panel over
time), a world file (fresh residents) or a folder of persona files (e.g. made by ``persona
from-interview``). The answerer sees what ``--condition`` allows (:mod:`smallville.people.respondent`)
and answers through decision ``answer_survey`` (:mod:`smallville.people.answer`). ``--runs N``
answers N times with seeds S..S+N−1 (local processes, or Ray tasks, as ``multiverse`` runs them).
Outputs (:mod:`smallville.people.writeup`): ``answers.csv``, ``summary.json``, ``report.md``/``.html``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, make_embedder
from smallville.cognition.memory import MemoryNode
from smallville.errors import SmallvilleError
from smallville.people import answer as A
from smallville.people import respondent as R
from smallville.people import scoring, writeup
from smallville.people.instrument import Instrument, assign_arms, load_instrument, merge
from smallville.world.clock import Clock
from smallville.world.config import LLMSettings, Persona, RetrievalSettings, load_persona


@dataclass
class SurveyOptions:
    target: str
    instruments: tuple[str, ...]
    out: str | None = None
    at: tuple[str, ...] = ()
    residents: tuple[str, ...] = ()
    condition: str = "interview"
    runs: int = 1
    seed: int = 0
    workers: int = 1
    ray: str | None = None
    llm: str | None = None
    embedder: str | None = None  # default: the run's; hashing for personas and worlds
    transcripts: str = "keep"  # keep | remove | shuffle (counterfactuals)
    reference: str | None = None
    retest: str | None = None
    group_by: str | None = None
    aggregate_only: bool = False
    min_cell: int = 5
    as_json: bool = False
    quiet: bool = False
    report: bool = True


@dataclass
class Wave:
    """A population at one moment: its respondents and the tick retrieval is scored at."""

    label: str
    respondents: list[R.Respondent]
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    clock: Clock | None = None
    embedder: str = "hashing"
    preload: dict = field(default_factory=dict)


# ---------------------------------------------------------------- targets


def _is_run(p: Path) -> bool:
    return p.is_dir() and (p / "manifest.json").exists()


def load_waves(opts: SurveyOptions) -> list[Wave]:
    p = Path(opts.target)
    if not p.exists():
        raise SmallvilleError(f"{p}: no such run, world file or persona folder")
    if _is_run(p):
        return _run_waves(p, opts)
    if opts.at:
        raise SmallvilleError("--at: only for a run (a world or a persona folder has no recorded moments)")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and not f.name.startswith("."))
        personas = [load_persona(f) for f in files]
        if not personas:
            raise SmallvilleError(f"{p}: no persona files (*.yaml) in the folder")
    else:
        from smallville.world.world import load_world

        world = load_world(p)
        personas = [r.persona for r in world.residents]
    rs = [R.of_persona(x) for x in personas]
    return [Wave("fresh", _pick(rs, opts.residents, opts.target), embedder=opts.embedder or "hashing")]


def _pick(rs: list[R.Respondent], names: tuple[str, ...], target: str) -> list[R.Respondent]:
    if not names:
        return rs
    by = {r.name: r for r in rs}
    missing = [n for n in names if n not in by]
    if missing:
        raise SmallvilleError(f"--residents: no resident named {missing[0]!r} in {target}")
    return [by[n] for n in names]


def _run_waves(run: Path, opts: SurveyOptions) -> list[Wave]:
    from smallville.cognition.memory import MemoryStreams
    from smallville.inspect import resolve_tick
    from smallville.store.runstore import RunReader

    reader = RunReader(run)
    try:
        names = list(reader.agents.values())
        chosen = list(opts.residents) or names
        for n in chosen:
            if n not in names:
                raise SmallvilleError(f"--residents: no resident named {n!r} in {run}")
        model = reader.meta.get("embedder") or "hashing-256"
        name = opts.embedder or ("hashing" if model.startswith("hashing") else "minilm")
        world = reader.meta["world"]
        waves = []
        for at in (opts.at or (None,)):
            tick = resolve_tick(reader, at)
            cache = EmbeddingCache(make_embedder(name))
            mem = MemoryStreams.load(reader, tick, cache, agents=chosen)
            rs = []
            for n in chosen:
                persona = Persona.model_validate({**reader.persona(n), "first_memories": []})
                r = R.of_persona(persona)
                r.nodes = [MemoryNode(x.id, x.created, tick, x.kind, x.description, x.importance, facts=x.facts,
                                      embedding=x.embedding) for x in mem.stream(n).nodes]
                rs.append(r)
            label = reader.tick_info(tick)["time"][:16].replace("T", " ")
            keys = {x.embedding for r in rs for x in r.nodes}
            waves.append(Wave(label, rs, RetrievalSettings.model_validate(world.get("retrieval", {})),
                              mem.clock, name, {k: cache.get(k) for k in keys if cache.get(k) is not None}))
        return waves
    finally:
        reader.close()


# ---------------------------------------------------------------- answering


def _decider(llm: str | None) -> tuple[Decider, Any]:
    if llm in (None, "rules"):
        return Decider(None), None
    from smallville.llm import factory

    settings = LLMSettings()
    chosen = factory.choose(llm, settings)
    if chosen.lm is None:
        return Decider(None), None
    stack = factory.wrap(chosen, settings)
    return Decider(stack.lm, context_tokens=settings.context_tokens, temperature=settings.temperature), stack


def llm_variables(ctx: A.Context, r: R.Respondent, condition: str, batch: list[A.Asked], decider: Decider) -> dict:
    about = R.demographic_texts(r)
    if condition != "demographic":
        about += R.persona_texts(r)
    memories = ""
    if condition == "interview":
        stream = ctx.memory.stream(r.name)
        allm = [n.description for n in stream.nodes]
        whole = "\n".join(f"- {t}" for t in allm)
        budget = (decider.context_tokens or 10**9) - A.ANSWER_TOKENS * len(batch) - 600
        if decider.count_tokens(whole) <= budget:
            memories = "What you remember:\n" + whole
        else:
            ctx.prefetch([a.text for a in batch])
            seen: dict[int, tuple[float, str]] = {}
            for a in batch:
                for h in ctx.retrieved(a.text):
                    if h.node.id not in seen or h.score > seen[h.node.id][0]:
                        seen[h.node.id] = (h.score, h.node.description)
            lines, used = [], 0
            for _, text in sorted(seen.values(), key=lambda t: -t[0]):
                k = decider.count_tokens(text) + 2
                if used + k > budget:
                    break
                lines.append(f"- {text}")
                used += k
            memories = "What you remember that bears on these questions (most relevant first):\n" + "\n".join(lines)
    example = ", ".join(f'"{a.item.id}": ...' for a in batch)
    return {"name": r.name, "about": " ".join(about), "memories": memories,
            "items": "\n".join(A.item_line(a) for a in batch), "example": example}


async def answer_all(wave: Wave, instrument: Instrument, condition: str, seed: int, decider: Decider,
                     arms: dict[str, dict[str, str]], transcripts: str = "keep") -> dict[str, dict]:
    """The answers: resident name -> item id -> value."""
    rs = wave.respondents
    if transcripts == "remove":
        rs = [R.remove_interview(r) for r in rs]
    elif transcripts == "shuffle":
        rs = R.shuffle_interviews(rs, seed)
    cache = EmbeddingCache(make_embedder(wave.embedder))
    if wave.preload:
        cache.preload(wave.preload.items())
    clock = wave.clock or Clock(dt.datetime(2000, 1, 1), 60)
    mem = R.evidence_memory(rs, condition, cache, clock, wave.retrieval)
    if decider.llm is None:  # what the rules compare, embedded up front in one call (MiniLM: full batches)
        texts = [t for r in rs for n in mem.stream(r.name).nodes
                 for t in (A.quoted(n.description), A.topic_text(n.description))]
        cache.vectors(list(dict.fromkeys(texts)))
    out: dict[str, dict] = {}
    memo: dict = {}  # label and item vectors, shared by every respondent

    async def one(r: R.Respondent):
        tick = max((n.created for n in mem.stream(r.name).nodes), default=0)
        ctx = A.Context(r.name, mem, tick, instrument, seed, memo=memo)
        asked = []
        for item in instrument.items:
            e = instrument.experiment_of(item.id)
            arm = arms.get(e.id, {}).get(r.name) if e else None
            asked.append(A.Asked(item, arm, e.arms[arm] if e and arm else None))
        ctx.prefetch([a.text for a in asked])
        got: dict[str, Any] = {}
        for i in range(0, len(asked), A.BATCH):
            batch = asked[i:i + A.BATCH]
            variables = llm_variables(ctx, r, condition, batch, decider) if decider.llm is not None else {}
            got.update(await decider.decide("answer_survey", agent=r.name, tick=tick, variables=variables,
                                            rules=lambda b=batch: A.rules_answers(ctx, b),
                                            parse=lambda v, b=batch: A.parse_answers(v, b),
                                            schema=A.batch_schema(batch), seed=seed,
                                            max_tokens=A.ANSWER_TOKENS * len(batch) + 32))
        out[r.name] = got

    if decider.llm is None:
        for r in rs:
            await one(r)
    else:
        await asyncio.gather(*(one(r) for r in rs))
    return out


def survey_once(wave: Wave, instrument: Instrument, opts: SurveyOptions, seed: int) -> dict:
    """One run of the survey on one wave: answers by resident name, arms, usage."""
    arms = {e.id: assign_arms(e, [r.name for r in wave.respondents], seed) for e in instrument.experiments}
    decider, stack = _decider(opts.llm)
    counts = {"decisions": 0, "fallbacks": 0}

    def record(**k):
        counts["decisions"] += 1
        counts["fallbacks"] += int(bool(k.get("fallback")))
    decider.set_recorder(record)
    t0 = time.perf_counter()
    # thousands of tiny matrix products: a BLAS thread pool only adds hand-offs (55x slower measured on
    # 2 shared cores for a 60x256 by 256x40 product), so one thread
    with threadpool_limits(1, "blas"):
        answers = asyncio.run(answer_all(wave, instrument, opts.condition, seed, decider, arms, opts.transcripts))
    usage = {"backend": decider.backend, "seconds": round(time.perf_counter() - t0, 3), **counts}
    if stack is not None:
        usage.update(stack.usage.summary())
    return {"seed": seed, "wave": wave.label, "answers": answers, "arms": arms, "usage": usage}


def _job(args: tuple) -> dict:
    wave, instrument_json, opts, seed = args
    return survey_once(wave, Instrument.model_validate_json(instrument_json), opts, seed)


def run_survey(opts: SurveyOptions) -> dict:
    if opts.condition not in R.CONDITIONS:
        raise SmallvilleError(f"--condition: expected one of {', '.join(R.CONDITIONS)}, got {opts.condition!r}")
    if opts.runs < 1:
        raise SmallvilleError(f"--runs: expected a positive number, got {opts.runs}")
    if opts.min_cell < 1:
        raise SmallvilleError(f"--min-cell: expected a positive number, got {opts.min_cell}")
    if opts.retest and not opts.reference:
        raise SmallvilleError("--retest: needs --reference (the first wave)")
    if opts.group_by and not opts.reference:
        raise SmallvilleError("--group-by: needs --reference")
    instrument = merge([load_instrument(f) for f in opts.instruments])
    waves = load_waves(opts)
    seeds = [opts.seed + i for i in range(opts.runs)]
    results: list[dict] = []
    jobs = [(w, instrument.model_dump_json(), opts, s) for w in waves for s in seeds]
    if len(jobs) > 1 and (opts.workers > 1 or opts.ray is not None):
        from smallville.multiverse import map_jobs

        results = [r for r in map_jobs(_job, jobs, opts.workers, opts.ray)]
        results.sort(key=lambda r: ([w.label for w in waves].index(r["wave"]), r["seed"]))
    else:
        results = [_job(j) for j in jobs]
    keys = {r.name: r.key for w in waves for r in w.respondents}
    groups = {r.name: r.demographics for w in waves for r in w.respondents}
    summary = writeup.summarise(instrument, results, keys, opts, seed=opts.seed)
    if opts.reference:
        summary["scores"] = score_against(instrument, results[0], keys, groups, opts)
        wave1 = scoring.read_answers(opts.reference, instrument)[0]
        summary["reference_counts"] = {
            i.id: (writeup._suppress(d, opts.min_cell) if opts.aggregate_only else d)
            for i in instrument.items if i.scored
            for d in [scoring.distribution(i, [a.get(i.id) for a in wave1.values()])]}
    out = Path(opts.out) if opts.out else None
    if out is not None:
        writeup.write(out, instrument, results, keys, summary, opts)
    return summary


def score_against(instrument: Instrument, result: dict, keys: dict[str, str], demo: dict[str, dict],
                  opts: SurveyOptions) -> dict:
    wave1, other = scoring.read_answers(opts.reference, instrument)
    wave2 = scoring.read_answers(opts.retest, instrument)[0] if opts.retest else None
    agents = {keys[n]: a for n, a in result["answers"].items()}
    group_of = None
    if opts.group_by:
        col = opts.group_by
        group_of = {}
        for n, k in keys.items():
            v = other.get(k, {}).get(col)
            if v is None:
                v = demo.get(n, {}).get(col)
            if v is not None and str(v) != "":
                group_of[k] = str(v)
        if not group_of:
            raise SmallvilleError(f"--group-by: no column {col!r} in {opts.reference} nor in the residents' "
                                  f"demographics")
    agent_arms = {e: {keys[n]: a for n, a in m.items()} for e, m in result["arms"].items()}
    people_arms = {}
    for e in instrument.experiments:
        col = f"arm:{e.id}"
        people_arms[e.id] = {k: o[col] for k, o in other.items() if o.get(col)}
    return scoring.score(scoring.Scoring(instrument, agents, wave1, wave2, seed=opts.seed), group_of,
                         opts.min_cell, agent_arms, people_arms)


def main(opts: SurveyOptions) -> int:
    summary = run_survey(opts)
    if opts.as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(writeup.render_text(summary))
    if opts.out:
        print(f"wrote {opts.out}", file=sys.stderr)
    return 0


__all__ = ["SurveyOptions", "run_survey", "main"]
