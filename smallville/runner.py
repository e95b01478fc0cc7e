"""Start a run: load the world, choose the backend, drive the engine, record into the store."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from smallville import __version__
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, make_embedder
from smallville.cognition.memory import Memory
from smallville.cognition.agent import AgentPolicy
from smallville.engine.engine import Engine, TickRecord
from smallville.errors import ConfigError, SmallvilleError
from smallville.llm import factory
from smallville.store.runstore import RunWriter
from smallville.world.clock import Clock
from smallville.world.config import TIME_FORMAT
from smallville.world.world import World, load_world

ABLATIONS = ("memory", "reflection", "planning", "conversation")
CHECKPOINT_EVERY_S = 3600  # game seconds between checkpoints


@dataclass
class RunOptions:
    world: str
    hours: float | None = None
    until: str | None = None
    seed: int | None = None
    llm: str | None = None
    out: str | None = None
    quiet: bool = False
    replay_calls: str | None = None  # run directory whose recorded calls ``--llm replay`` answers from
    ablate: tuple[str, ...] = ()  # "memory" (decisions see only the observation), "reflection",
    # "planning" (act from the routine only), "conversation" (never talk)
    embedder: str = "minilm"  # "minilm" (all-MiniLM-L6-v2) or "hashing" (fast, for tests)


def choose_backend(requested: str, world: World, replay_calls: str | None = None) -> factory.Chosen:
    """The backend for ``--llm``/the world's setting (with its startup line)."""
    return factory.choose(requested, world.config.llm, world_dir=world.path.parent, replay_calls=replay_calls)


def end_tick(opts: RunOptions, world: World, clock: Clock) -> int:
    last = clock.tick_at(world.config.end)
    if opts.hours is not None:
        if not opts.hours > 0:
            raise SmallvilleError(f"--hours: expected a positive number, got {opts.hours}")
        return min(last, clock.ticks_in(opts.hours * 3600))
    if opts.until is not None:
        try:
            until = dt.datetime.strptime(opts.until, TIME_FORMAT)
        except ValueError:
            raise SmallvilleError(f'--until: expected "YYYY-MM-DD HH:MM", got {opts.until!r}') from None
        if not world.config.start < until <= world.config.end:
            raise SmallvilleError(f"--until: {opts.until} is outside the world's time "
                                  f"({world.config.start:%Y-%m-%d %H:%M} to {world.config.end:%Y-%m-%d %H:%M})")
        return clock.tick_at(until)
    return last


def run_files(world: World) -> tuple[dict[str, bytes], dict]:
    """Copies of the files a viewer needs, so a run stays readable when the world changes."""
    files = {"world/" + world.path.name: world.path.read_bytes()}
    src = Path(world.map.source)
    files["map/" + src.name] = src.read_bytes()
    for ts in world.map.tilesets:
        p = Path(ts.image)
        if p.exists():
            files["map/" + os.path.relpath(p, src.parent)] = p.read_bytes()
    for r in world.residents:
        files["personas/" + r.persona_file.name] = r.persona_file.read_bytes()
    meta = {"map_file": "map/" + src.name, "region": world.config.region, "map_size": [world.map.width, world.map.height]}
    return files, meta


def start_run(opts: RunOptions) -> Path:
    world = load_world(opts.world)
    cfg = world.config
    seed = cfg.seed if opts.seed is None else opts.seed
    chosen = choose_backend(opts.llm or ("replay" if opts.replay_calls else cfg.llm.backend), world,
                            opts.replay_calls)
    backend, model = chosen.name, chosen.model
    clock = Clock(cfg.start, cfg.tick_seconds)
    stop = end_tick(opts, world, clock)
    created = dt.datetime.now(dt.timezone.utc)
    run_id = f"{Path(opts.world).stem}-s{seed}-{created:%Y%m%d-%H%M%S}"
    run_dir = Path(opts.out) if opts.out else Path("replays") / run_id
    if not opts.quiet:
        print(chosen.line, file=sys.stderr)
        note = factory.budget_note(chosen, cfg.llm)
        if note:
            print(note, file=sys.stderr)
    files, meta = run_files(world)
    if cfg.llm.api_key:  # the key never reaches the run store
        files = {k: v.replace(cfg.llm.api_key.encode(), b"***") for k, v in files.items()}
    world_json = cfg.model_dump(mode="json")
    world_json["llm"].pop("api_key", None)
    ablations = sorted(set(opts.ablate))
    for a in ablations:
        if a not in ABLATIONS:
            raise SmallvilleError(f"--ablate {a}: expected one of {', '.join(ABLATIONS)}")
    policy = AgentPolicy({r.persona.name: r.persona for r in world.residents}, ablations)
    memory = None
    if "memory" not in ablations:
        cache = EmbeddingCache(make_embedder(opts.embedder))
        memory = Memory.for_world(world, cache, reflect="reflection" not in ablations)
        meta["embedder"] = cache.model
    meta.update({"world": world_json, "start": cfg.start.isoformat(), "tick_seconds": cfg.tick_seconds, "seed": seed})
    manifest = {
        "run_id": run_id, "world_file": str(world.path), "world_hash": world.file_hash, "seed": seed,
        "smallville_version": __version__, "backend": backend, "model": model,
        "game_start": cfg.start.strftime(TIME_FORMAT), "game_end": clock.time_at(stop).strftime(TIME_FORMAT),
        "tick_seconds": cfg.tick_seconds, "created": created.isoformat(timespec="seconds"), "ablations": ablations,
    }
    if chosen.lm is not None:
        manifest["llm_keyed_as"] = list(chosen.keyed_as or (backend, model))
    if opts.replay_calls:
        manifest["replay_calls"] = str(opts.replay_calls)
    writer = RunWriter.create(run_dir, manifest,
                              [(r.persona.name, r.persona.model_dump(mode="json")) for r in world.residents],
                              files, meta)
    stack = factory.wrap(chosen, cfg.llm, writer.add_llm_call) if chosen.lm is not None else None
    decider = Decider(stack.lm if stack else None, temperature=cfg.llm.temperature, max_tokens=cfg.llm.max_tokens)
    engine = Engine(world, policy, seed, recorder=writer, concurrency=cfg.llm.concurrency, decider=decider,
                    memory=memory)
    status = "interrupted"
    try:
        spent = asyncio.run(_drive(engine, writer, stop, clock, opts.quiet, stack))
        status = "budget_exhausted" if spent else "complete"
        if spent and not opts.quiet:
            print(f"stopped at tick {engine.state.tick}: {spent}; raise llm.budget in the world file to go on",
                  file=sys.stderr)
    finally:
        st = engine.snapshot()
        if memory is not None:  # the vectors still waiting for a batch
            writer.record_memory(memory.drain(final=True))
        writer.checkpoint(st.tick, st.to_json())
        extra = {"llm": stack.usage.summary()} if stack else {}
        if memory is not None:
            extra["memory"] = memory.stats()
        writer.close(status=status, last_tick=st.tick, last_time=clock.time_at(st.tick).strftime(TIME_FORMAT),
                     digest=st.digest, **extra)
        if hasattr(chosen.lm, "close"):
            chosen.lm.close()
    return run_dir


async def _drive(engine: Engine, writer: RunWriter, stop: int, clock: Clock, quiet: bool,
                 stack: factory.Stack | None = None) -> str | None:
    """Run to ``stop``; returns why the budget stopped the run early, or None."""
    from tqdm import tqdm

    every = max(1, clock.ticks_in(CHECKPOINT_EVERY_S))
    bar = tqdm(total=stop, initial=engine.state.tick, unit="tick", disable=quiet, file=sys.stderr,
               dynamic_ncols=True, mininterval=0.5)
    t0, last_post = time.perf_counter(), 0.0

    spent: str | None = None

    def on_tick(rec: TickRecord) -> bool:
        nonlocal last_post, spent
        bar.update(1)
        if rec.tick % every == 0:
            st = engine.snapshot()
            if engine.memory is not None:
                writer.record_memory(engine.memory.drain(final=True))
            writer.checkpoint(st.tick, st.to_json())
        now = time.perf_counter()
        if stack is not None:
            spent = stack.budget.spent
        if not quiet and (now - last_post > 0.5 or spent):
            last_post = now
            u = stack.usage if stack is not None else None
            llm = (f"llm calls {u.calls} cached {u.cache_hits} tokens {u.tokens_in}+{u.tokens_out} errors {u.errors}"
                   if u else "llm calls 0 tokens 0")
            bar.set_postfix_str(f"{rec.time:%a %Y-%m-%d %H:%M} | {llm}", refresh=False)
        return spent is not None

    try:
        await engine.run(stop, on_tick)
    finally:
        bar.close()
        if stack is not None:
            await stack.aclose()
    if not quiet:
        el = time.perf_counter() - t0
        print(f"simulated {engine.state.tick} ticks in {el:.1f}s", file=sys.stderr)
    return spent
