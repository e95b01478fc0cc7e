"""``branch``: a what-if — a new run from a stored run's exact state at a moment, with interventions.

The parent's store is copied (read-only on the parent: its ``run.db`` and ``manifest.json`` are
left byte-identical), cut back to the checkpoint at or before the branch point, and the engine
re-simulates from there to the branch point with the parent's recorded model answers (the
``replay`` backend; the rules need none) and the commands the parent applied on the way. The
branch's state at the branch point is checked against the parent's digest there. Then the
interventions (inner voices, ``--whisper``) are applied at that tick boundary, the RNG is
reseeded if ``--seed`` asks, and the run goes on with the parent's backend. Commands the parent
applied after the branch point are applied in the branch at the same ticks too (they are inputs
from outside, like the world file), so a branch with no intervention and the same seed
reproduces the parent tick for tick.

The manifest names the parent, the branch tick and the interventions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from smallville import __version__
from smallville.cognition.agent import AgentPolicy
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, embedder_for_model
from smallville.cognition.memory import MemoryStreams
from smallville.engine.engine import Engine, Snapshot
from smallville.errors import RunStoreError, SmallvilleError
from smallville.inspect import resolve_tick
from smallville.llm import factory
from smallville.runner import RunOptions, _drive, _llm_totals, _simulate, choose_backend, end_tick, run_world
from smallville.store.runstore import RunReader, RunWriter
from smallville.world.clock import Clock
from smallville.world.config import TIME_FORMAT


@dataclass
class BranchOptions:
    run: str  # the parent run directory
    at: str  # the branch point, "YYYY-MM-DD HH:MM"
    out: str  # the new run's directory
    whispers: list[dict] = field(default_factory=list)  # {agent, text, facts|None}, applied at the branch point
    seed: int | None = None  # reseed the RNG at the branch point
    hours: float | None = None  # game hours after the branch point
    until: str | None = None
    quiet: bool = False


def _copy_store(parent: Path, out: Path) -> None:
    """``parent/run.db`` into ``out/run.db`` through SQLite's backup API, reading the parent only."""
    src = sqlite3.connect(f"{(parent / 'run.db').absolute().as_uri()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(out / "run.db")
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def branch_run(opts: BranchOptions) -> Path:
    parent, out = Path(opts.run), Path(opts.out)
    reader = RunReader(parent)
    try:
        manifest = dict(reader.manifest)
        tick = resolve_tick(reader, opts.at)
        if dt.datetime.strptime(opts.at, TIME_FORMAT) > dt.datetime.fromisoformat(reader.tick_info(tick)["time"]) \
                and tick == reader.last_tick():
            raise SmallvilleError(f"--at {opts.at}: after the parent's last tick "
                                  f"({reader.tick_info(tick)['time']}); branch at a recorded moment")
        parent_digest = reader.tick_info(tick)["digest"]
        names = set(reader.agents.values())
        for w in opts.whispers:
            if w["agent"] not in names:
                raise SmallvilleError(f"--whisper: no resident named {w['agent']!r} "
                                      f"(residents: {', '.join(reader.agents.values())})")
        cp = reader.checkpoint_at(tick)
        world = run_world(parent, manifest, "branch")
        recorded = reader.interventions()
    finally:
        reader.close()
    if (out / "run.db").exists():
        raise RunStoreError(f"{out}: a run is already stored there; choose another --out")
    cfg = world.config
    clock = Clock(cfg.start, cfg.tick_seconds)
    if opts.hours is not None:
        if not opts.hours > 0:
            raise SmallvilleError(f"--hours: expected a positive number, got {opts.hours}")
        stop = min(clock.tick_at(cfg.end), tick + clock.ticks_in(opts.hours * 3600))
    elif opts.until is not None:
        stop = end_tick(RunOptions(str(world.path), until=opts.until), world, clock)
    else:
        stop = int(manifest.get("target_tick") or clock.tick_at(cfg.end))
    if stop <= tick:
        raise SmallvilleError(f"the branch would end at {clock.time_at(stop):%Y-%m-%d %H:%M}, not after its branch "
                              f"point {clock.time_at(tick):%Y-%m-%d %H:%M}; give --hours or a later --until")

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    _copy_store(parent, out)
    created = dt.datetime.now(dt.timezone.utc)
    seed = int(manifest["seed"])
    branch_info = {"run": str(parent), "run_id": manifest.get("run_id"), "tick": tick,
                   "time": clock.time_at(tick).strftime(TIME_FORMAT), "digest": parent_digest,
                   "from_checkpoint": cp[0] if cp else None}
    new_manifest = {k: v for k, v in manifest.items() if k not in ("resumed", "llm", "memory", "last_tick",
                                                                    "last_time", "digest", "status")}
    new_manifest.update({
        "run_id": f"{out.name}", "created": created.isoformat(timespec="seconds"), "smallville_version": __version__,
        "parent": branch_info, "interventions": [{"tick": tick + 1, "kind": "whisper", **w} for w in opts.whispers],
        "target_tick": stop, "game_end": clock.time_at(stop).strftime(TIME_FORMAT)})
    if opts.seed is not None:
        new_manifest["branch_seed"] = opts.seed
    (out / "manifest.json").write_text("{}")
    writer = RunWriter.open_existing(out)
    writer.write_manifest(**new_manifest, status="running")

    ablations = list(manifest.get("ablations", []))
    policy = AgentPolicy.for_world(world, ablations)
    store = RunReader(out)
    try:
        memory = None
        model = store.meta.get("embedder")
        if "memory" not in ablations and model is None:
            raise RunStoreError(f"{parent}: the run names no embedder")
        if cp is not None:
            snap = Snapshot.from_json(cp[1], where=f"{parent / 'run.db'}: checkpoint at tick {cp[0]}")
            if model is not None:
                memory = MemoryStreams.load(store, cp[0], EmbeddingCache(embedder_for_model(model)),
                                            agents=[r.persona.name for r in world.residents],
                                            reflect="reflection" not in ablations)
            fixes = memory.restore_extras(snap.memory or {}) if memory is not None else []
        else:  # before the first checkpoint: from the start
            snap, fixes = None, []
            if model is not None:
                memory = MemoryStreams.for_world(world, EmbeddingCache(embedder_for_model(model)),
                                                 reflect="reflection" not in ablations)
    finally:
        store.close()
    writer.truncate_after(cp[0] if cp else -1, fixes)

    # up to the branch point: the parent's recorded answers
    replay = choose_backend("replay", world, str(parent)) if manifest.get("backend") != "rules" else \
        choose_backend("rules", world)
    stack1 = factory.wrap(replay, cfg.llm, writer.add_llm_call) if replay.lm is not None else None
    engine = Engine(world, policy, seed, recorder=writer, concurrency=cfg.llm.concurrency,
                    decider=Decider(stack1.lm if stack1 else None, temperature=cfg.llm.temperature,
                                    max_tokens=cfg.llm.max_tokens), memory=memory, snapshot=snap)
    for i in recorded:
        if i["tick"] > engine.state.tick:
            engine.add_command({k: i[k] for k in ("agent", "kind", "text", "facts", "source")}, tick=i["tick"])
    if not opts.quiet:
        print(f"branching {parent} at {clock.time_at(tick):%Y-%m-%d %H:%M} (tick {tick}): re-simulating from "
              f"tick {engine.state.tick}", file=sys.stderr)
    spent, signalled = asyncio.run(_drive(engine, writer, tick, clock, True, stack1))
    if signalled or spent or engine.state.tick != tick:
        writer.close(status="interrupted", last_tick=engine.state.tick)
        raise SmallvilleError(f"{out}: the re-simulation to the branch point stopped at tick {engine.state.tick} "
                              f"({spent or 'interrupted'})")
    reproduced = engine.state.digest == parent_digest
    resim_s = time.perf_counter() - t0
    writer.write_manifest(parent={**branch_info, "reproduced": reproduced, "resimulated_ticks": tick - (cp[0] if cp
                                                                                                       else 0),
                                  "resimulated_s": round(resim_s, 2)})
    if not reproduced:
        print(f"warning: the branch's state at tick {tick} differs from the parent's (digest {engine.state.digest[:12]}"
              f" vs {parent_digest[:12]}): the parent's answers could not all be replayed", file=sys.stderr)
    if not opts.quiet:
        print(f"at the branch point in {resim_s:.1f}s ({tick - (cp[0] if cp else 0)} ticks re-simulated); "
              f"applying {len(opts.whispers)} intervention(s)", file=sys.stderr)

    # the interventions, then on with the parent's backend
    for w in opts.whispers:
        engine.add_command({"agent": w["agent"], "kind": "whisper", "text": w["text"], "facts": w.get("facts"),
                            "source": "branch"}, tick=tick + 1)
    if opts.seed is not None:
        engine.seed = opts.seed  # the residents' random streams from here on
    chosen = choose_backend(manifest["backend"], world, manifest.get("replay_calls"))
    stack = factory.wrap(chosen, cfg.llm, writer.add_llm_call) if chosen.lm is not None else None
    engine.use_decider(Decider(stack.lm if stack else None, temperature=cfg.llm.temperature,
                               max_tokens=cfg.llm.max_tokens))
    _simulate(engine, writer, memory, stack, chosen, stop, clock, opts.quiet,
              hint="go on with: python -m smallville run --resume", llm_totals=lambda: _llm_totals(writer))
    return out

