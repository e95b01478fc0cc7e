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
from smallville.cognition.rules import RulesPolicy
from smallville.engine.engine import Engine, TickRecord
from smallville.errors import ConfigError, SmallvilleError
from smallville.store.runstore import RunWriter
from smallville.world.clock import Clock
from smallville.world.config import TIME_FORMAT
from smallville.world.world import World, load_world

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


def choose_backend(requested: str, world: World) -> tuple[str, str, str]:
    """(backend, model, explanation) for ``--llm``/the world's setting."""
    settings = world.config.llm
    if requested == "auto":
        if os.environ.get("OPENAI_API_KEY") or os.environ.get("SMALLVILLE_LLM_BASE_URL"):
            requested = "openai"
        else:
            return "rules", "", ("LLM: rules baseline (no language model): neither OPENAI_API_KEY nor "
                                 "SMALLVILLE_LLM_BASE_URL is set; use --llm openai|local to use a model")
    if requested == "rules":
        return "rules", "", "LLM: rules baseline (no language model); use --llm openai|local to use a model"
    raise SmallvilleError(f"--llm {requested}: not available yet in this version; use --llm rules")


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
    backend, model, line = choose_backend(opts.llm or cfg.llm.backend, world)
    clock = Clock(cfg.start, cfg.tick_seconds)
    stop = end_tick(opts, world, clock)
    created = dt.datetime.now(dt.timezone.utc)
    run_id = f"{Path(opts.world).stem}-s{seed}-{created:%Y%m%d-%H%M%S}"
    run_dir = Path(opts.out) if opts.out else Path("replays") / run_id
    if not opts.quiet:
        print(line, file=sys.stderr)
    policy = RulesPolicy({r.persona.name: r.persona for r in world.residents})
    files, meta = run_files(world)
    world_json = cfg.model_dump(mode="json")
    world_json["llm"].pop("api_key", None)
    meta.update({"world": world_json, "start": cfg.start.isoformat(), "tick_seconds": cfg.tick_seconds, "seed": seed})
    manifest = {
        "run_id": run_id, "world_file": str(world.path), "world_hash": world.file_hash, "seed": seed,
        "smallville_version": __version__, "backend": backend, "model": model,
        "game_start": cfg.start.strftime(TIME_FORMAT), "game_end": clock.time_at(stop).strftime(TIME_FORMAT),
        "tick_seconds": cfg.tick_seconds, "created": created.isoformat(timespec="seconds"), "ablations": [],
    }
    writer = RunWriter.create(run_dir, manifest,
                              [(r.persona.name, r.persona.model_dump(mode="json")) for r in world.residents],
                              files, meta)
    engine = Engine(world, policy, seed, recorder=writer, concurrency=cfg.llm.concurrency)
    status = "interrupted"
    try:
        asyncio.run(_drive(engine, writer, stop, clock, opts.quiet))
        status = "complete"
    finally:
        st = engine.snapshot()
        writer.checkpoint(st.tick, st.to_json())
        writer.close(status=status, last_tick=st.tick, last_time=clock.time_at(st.tick).strftime(TIME_FORMAT),
                     digest=st.digest)
    return run_dir


async def _drive(engine: Engine, writer: RunWriter, stop: int, clock: Clock, quiet: bool) -> None:
    from tqdm import tqdm

    every = max(1, clock.ticks_in(CHECKPOINT_EVERY_S))
    bar = tqdm(total=stop, initial=engine.state.tick, unit="tick", disable=quiet, file=sys.stderr,
               dynamic_ncols=True, mininterval=0.5)
    t0, last_post = time.perf_counter(), 0.0

    def on_tick(rec: TickRecord) -> None:
        nonlocal last_post
        bar.update(1)
        if rec.tick % every == 0:
            st = engine.snapshot()
            writer.checkpoint(st.tick, st.to_json())
        now = time.perf_counter()
        if not quiet and now - last_post > 0.5:
            last_post = now
            bar.set_postfix_str(f"{rec.time:%a %Y-%m-%d %H:%M} | llm calls 0 tokens 0", refresh=False)

    try:
        await engine.run(stop, on_tick)
    finally:
        bar.close()
    if not quiet:
        el = time.perf_counter() - t0
        print(f"simulated {engine.state.tick} ticks in {el:.1f}s", file=sys.stderr)
