"""Start a run: load the world, choose the backend, drive the engine, record into the store."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from smallville import __version__
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, embedder_for_model, make_embedder
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.agent import AgentPolicy
from smallville.engine.engine import BARRIER_SECONDS, Engine, Snapshot, TickRecord
from smallville.errors import RunStoreError, SmallvilleError
from smallville.llm import factory
from smallville.store.inbox import INBOX, Inbox
from smallville.store.runstore import RunReader, RunWriter
from smallville.world.clock import Clock
from smallville.world.config import TIME_FORMAT
from smallville.world.world import World, load_world
from smallville.world.clock import weekday

ABLATIONS = ("memory", "reflection", "planning", "conversation")
CHECKPOINT_EVERY_S = BARRIER_SECONDS  # game seconds between checkpoints: nothing is under way there (engine)


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
    stepping: str = "auto"  # the engine's stepping: "auto", "lockstep" or "ahead" (the same run either way)


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


def context_of(chosen, llm) -> dict:
    """The Decider's context window for a backend that has a small one (``local``): its size
    (``llm.context_tokens``) and its tokenizer."""
    count = getattr(chosen.lm, "count_tokens", None)
    if chosen.name != "local" or count is None:
        return {}
    return {"context_tokens": llm.context_tokens, "count_tokens": count}


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
    policy = AgentPolicy.for_world(world, ablations)
    memory = None
    if "memory" not in ablations:
        cache = EmbeddingCache(make_embedder(opts.embedder))
        memory = MemoryStreams.for_world(world, cache, reflect="reflection" not in ablations)
        meta["embedder"] = cache.model
    meta.update({"world": world_json, "start": cfg.start.isoformat(), "tick_seconds": cfg.tick_seconds, "seed": seed})
    manifest = {
        "run_id": run_id, "world_file": str(world.path), "world_hash": world.file_hash, "seed": seed,
        "smallville_version": __version__, "backend": backend, "model": model,
        "game_start": cfg.start.strftime(TIME_FORMAT), "game_end": clock.time_at(stop).strftime(TIME_FORMAT),
        "target_tick": stop, "tick_seconds": cfg.tick_seconds, "created": created.isoformat(timespec="seconds"), "ablations": ablations,
    }
    if chosen.lm is not None:
        manifest["llm_keyed_as"] = list(chosen.keyed_as or (backend, model))
    if opts.replay_calls:
        manifest["replay_calls"] = str(opts.replay_calls)
    writer = RunWriter.create(run_dir, manifest,
                              [(r.persona.name, r.persona.model_dump(mode="json")) for r in world.residents],
                              files, meta)
    stack = factory.wrap(chosen, cfg.llm, writer.add_llm_call) if chosen.lm is not None else None
    decider = Decider(stack.lm if stack else None, temperature=cfg.llm.temperature, max_tokens=cfg.llm.max_tokens,
                      **context_of(chosen, cfg.llm))
    engine = Engine(world, policy, seed, recorder=writer, concurrency=cfg.llm.concurrency, decider=decider,
                    memory=memory, stepping=opts.stepping)
    _simulate(engine, writer, memory, stack, chosen, stop, clock, opts.quiet,
              hint="raise llm.budget in the world file to go on",
              llm_totals=lambda: stack.usage.summary())
    return run_dir


def _simulate(engine: Engine, writer: RunWriter, memory, stack, chosen, stop: int, clock: Clock, quiet: bool,
              hint: str, llm_totals) -> None:
    """Drive the engine to ``stop``; whatever happens, close the run consistently.

    A run stopped at a tick boundary (done, out of budget, or a first Ctrl-C / SIGTERM, which
    lets the tick under way finish) gets a checkpoint there. A tick cut short (a second Ctrl-C)
    was never recorded: nothing of it is written, not even a checkpoint, and ``run --resume``
    goes on from the last checkpoint — as after a second Ctrl-C while a stopping run waits for
    the answers of its work under way (a checkpoint holds them). Raises KeyboardInterrupt after closing when interrupted."""
    status = "interrupted"
    signalled = False
    held = HeldSignals()  # a signal outside _drive's own handling (loop start and close, the closing writes) is noted
    try:
        with long_lived_gc():
            spent, signalled = asyncio.run(_drive(engine, writer, stop, clock, quiet, stack, held))
        if signalled:
            status = "interrupted"
        else:
            status = "budget_exhausted" if spent else "complete"
        if spent and not quiet:
            print(f"stopped at tick {engine.state.tick}: {spent}; {hint}", file=sys.stderr)
    except asyncio.CancelledError:
        signalled = True
    finally:
        st = engine.state
        if not engine.in_tick and engine.answered:  # (a second Ctrl-C while waiting for answers: no checkpoint)
            if memory is not None:  # the vectors still waiting for a batch
                writer.record_memory(memory.drain(final=True))
            writer.checkpoint(st.tick, snapshot_json(engine))
        extra = {"llm": llm_totals()} if stack else {}
        if memory is not None:
            extra["memory"] = memory.stats()
        writer.close(status=status, last_tick=st.tick, last_time=clock.time_at(st.tick).strftime(TIME_FORMAT),
                     digest=st.digest, **extra)
        if hasattr(chosen.lm, "close"):
            chosen.lm.close()
        held.restore()
    signalled = signalled or (held.count > 0 and status == "interrupted")
    if signalled:  # said even with --quiet: how to go on
        print(f"interrupted at tick {engine.state.tick}; go on with: python -m smallville run --resume {writer.dir}",
              file=sys.stderr)
        raise KeyboardInterrupt


@contextlib.contextmanager
def long_lived_gc(young: int = 20_000):
    """Python's cyclic garbage collector tuned for a simulation: what exists when the run starts
    (the world, its maps, personas and memory) lives to the end, so it is frozen out of the
    collector's passes, and collections of young objects start after ``young`` allocations
    instead of 700. A run of 1,000 residents spent about a tenth of its time in collections
    that found little; every collection still happens, only later. Restored on the way out."""
    saved = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(saved[0], young), max(saved[1], 20), max(saved[2], 20))
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()


class HeldSignals:
    """SIGINT and SIGTERM noted, not acted on, while installed: a run that stops closes its store
    (checkpoint, status) whole. Installed from construction to :meth:`restore`, except while
    :func:`_drive`'s event loop handles them itself; does nothing off the main thread."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.count = 0
        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            self.saved = {sig: signal.getsignal(sig) for sig in self.SIGNALS}
            self.install()

    def _note(self, signum, frame) -> None:
        self.count += 1

    def install(self) -> None:
        for sig in self.saved:
            signal.signal(sig, self._note)

    def restore(self) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        self.saved = {}


class InboxPoll:
    """The live run's side of the command inbox (``<run>/inbox.db``, :mod:`smallville.store.inbox`):
    after each tick, the commands applied in it are marked with their tick, and the pending ones
    are scheduled for the next tick. A stat per tick while nobody has written an inbox."""

    def __init__(self, run_dir: Path, engine: Engine):
        self.path = Path(run_dir) / INBOX
        self.engine = engine
        self.inbox: Inbox | None = None
        self.taken: set[int] = set()

    def poll(self, rec: TickRecord) -> None:
        if self.inbox is None:
            if not self.path.exists():
                return
            self.inbox = Inbox(self.path.parent)
        try:
            done = [int(i["source"].split(":", 1)[1]) for i in rec.interventions
                    if str(i.get("source", "")).startswith("inbox:")]
            if done:
                self.inbox.mark_applied(done, rec.tick)
            for cmd in self.inbox.pending():
                if cmd["id"] not in self.taken:
                    self.taken.add(cmd["id"])
                    self.engine.add_command({"agent": cmd["agent"], "kind": cmd["kind"], "text": cmd["text"],
                                             "facts": cmd["facts"], "source": f"inbox:{cmd['id']}"})
        except sqlite3.OperationalError as e:  # busy past the timeout: try again after the next tick
            print(f"inbox: {e}; trying again next tick", file=sys.stderr)

    def close(self) -> None:
        if self.inbox is not None:
            self.inbox.close()


def snapshot_json(engine: Engine) -> str:
    """The checkpoint text: the engine's :class:`Snapshot` with what of memory the stored rows
    cannot give back as of its tick (see :meth:`MemoryStreams.checkpoint_extras`)."""
    snap = engine.snapshot()
    if engine.memory is not None:
        snap.memory = engine.memory.checkpoint_extras()
    return snap.to_json()


@dataclass
class ResumeOptions:
    run: str
    hours: float | None = None  # game hours more, from the checkpoint resumed from
    until: str | None = None
    quiet: bool = False
    budget_calls: int | None = None  # a calls cap for this session instead of the world's llm.budget.calls
    stepping: str = "auto"  # the engine's stepping (see RunOptions)


def resume_run(opts: ResumeOptions) -> Path:
    """Go on with a stored run from its last checkpoint (a run the budget stopped, one that
    was interrupted, or a complete one, to a later time), recording into the same store.

    Without ``hours``/``until`` it goes on to the target the run was started with (its
    ``--hours``/``--until``, the manifest's ``target_tick``); a run already there is complete
    and nothing is done. The rows recorded after the checkpoint are deleted first, in one
    transaction, so the log stays contiguous. The world file, seed, backend, ablations and
    embedder are the run's. The LLM budget is per session: a resumed run gets a fresh budget
    of the world's size (``llm.budget``), or ``budget_calls`` calls."""
    run_dir = Path(opts.run)
    if not (run_dir / "run.db").exists():
        raise RunStoreError(f"{run_dir}: not a run directory (no run.db); --resume needs a directory "
                            f"written by `smallville run`")
    reader = RunReader(run_dir)
    try:
        manifest = dict(reader.manifest)
        last = reader.last_tick()
        cp = reader.checkpoint_at(last) if last is not None else None
        if cp is None:
            raise RunStoreError(f"{run_dir}: no checkpoint to resume from")
        tick, state_json = cp
        snap = Snapshot.from_json(state_json, where=f"{run_dir / 'run.db'}: checkpoint at tick {tick}")
        world = run_world(run_dir, manifest, "resume")
        cfg = world.config
        clock = Clock(cfg.start, cfg.tick_seconds)
        stop = _resume_end(opts, manifest, world, clock, tick)
        if stop is None:  # already at its target
            # said even with --quiet: it is the command's whole answer
            print(f"{run_dir}: the run is complete (at {clock.time_at(tick):%Y-%m-%d %H:%M}, tick {tick}, its "
                  f"target); --hours or --until extends it", file=sys.stderr)
            return run_dir
        ablations = list(manifest.get("ablations", []))
        seed = int(manifest["seed"])
        memory = None
        if "memory" not in ablations:
            model = reader.meta.get("embedder")
            if model is None:
                raise RunStoreError(f"{run_dir}: the run names no embedder")
            cache = EmbeddingCache(embedder_for_model(model))
            memory = MemoryStreams.load(reader, tick, cache, agents=[r.persona.name for r in world.residents],
                                        reflect="reflection" not in ablations)
        try:
            fixes = memory.restore_extras(snap.memory or {}) if memory is not None else []
        except ValueError as e:
            raise RunStoreError(f"{run_dir}: {e}") from None
        replayed = reader.interventions(since=tick + 1)  # applied after the checkpoint: applied again
    finally:
        reader.close()

    if opts.budget_calls is not None:
        if opts.budget_calls < 1:
            raise SmallvilleError(f"--budget-calls: expected a positive number, got {opts.budget_calls}")
    llm = cfg.llm if opts.budget_calls is None else cfg.llm.model_copy(
        update={"budget": cfg.llm.budget.model_copy(update={"calls": opts.budget_calls})})
    chosen = choose_backend(manifest["backend"], world, manifest.get("replay_calls"))
    if not opts.quiet:
        print(chosen.line, file=sys.stderr)
        print(f"resuming {run_dir} at tick {tick} ({clock.time_at(tick):%Y-%m-%d %H:%M})", file=sys.stderr)

    writer = RunWriter.open_existing(run_dir)
    writer.truncate_after(tick, fixes)
    resumed = list(manifest.get("resumed", [])) + [
        {"from_tick": tick, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}]
    writer.write_manifest(status="running", resumed=resumed, target_tick=stop,
                          game_end=clock.time_at(stop).strftime(TIME_FORMAT))

    policy = AgentPolicy.for_world(world, ablations)
    stack = factory.wrap(chosen, llm, writer.add_llm_call) if chosen.lm is not None else None
    decider = Decider(stack.lm if stack else None, temperature=llm.temperature, max_tokens=llm.max_tokens,
                      **context_of(chosen, llm))
    engine = Engine(world, policy, seed, recorder=writer, concurrency=llm.concurrency, decider=decider,
                    memory=memory, snapshot=snap, stepping=opts.stepping)
    for i in replayed:
        engine.add_command({k: i[k] for k in ("agent", "kind", "text", "facts", "source")}, tick=i["tick"])
    _simulate(engine, writer, memory, stack, chosen, stop, clock, opts.quiet,
              hint="resume again (--budget-calls N raises the calls cap)",
              llm_totals=lambda: _llm_totals(writer))
    return run_dir


def run_world(run_dir: Path, manifest: dict, verb: str) -> World:
    """The world a stored run was recorded with, loaded from the path its manifest names and
    checked against the recorded hash (``verb``, "resume" or "branch", goes into the errors)."""
    world_file = manifest.get("world_file")
    if not world_file or not Path(world_file).exists():
        raise RunStoreError(f"{run_dir}: the run's world file {world_file!r} is not there ({verb} from the "
                            f"directory the run was started in)")
    world = load_world(world_file)
    if manifest.get("world_hash") and world.file_hash != manifest["world_hash"]:
        raise RunStoreError(f"{world_file}: the world (or a file it names) changed since the run was recorded; "
                            f"{verb} needs the same world")
    return world


def _resume_end(opts: ResumeOptions, manifest: dict, world: World, clock: Clock, tick: int) -> int | None:
    """The tick a resume goes to: ``--hours`` more or ``--until``, else the run's own target
    (None when the run is already there)."""
    last = clock.tick_at(world.config.end)
    if opts.hours is not None:
        if not opts.hours > 0:
            raise SmallvilleError(f"--hours: expected a positive number, got {opts.hours}")
        stop = min(last, tick + clock.ticks_in(opts.hours * 3600))
    elif opts.until is not None:
        stop = end_tick(RunOptions(str(world.path), until=opts.until), world, clock)
    else:
        target = manifest.get("target_tick")
        if target is None and manifest.get("game_end"):  # runs recorded before target_tick was kept
            target = clock.tick_at(dt.datetime.strptime(manifest["game_end"], TIME_FORMAT))
        stop = min(last, int(target)) if target is not None else last
        return stop if stop > tick else None
    if stop <= tick:
        raise SmallvilleError(f"the run is already at {clock.time_at(tick):%Y-%m-%d %H:%M} (tick {tick}); "
                              f"nothing to resume up to {clock.time_at(stop):%Y-%m-%d %H:%M}")
    return stop


def _llm_totals(writer: RunWriter) -> dict:
    """The run's language-model totals over every session, from the calls on record."""
    row = writer.con.execute(
        """SELECT COALESCE(SUM(requests * (cached = 0)), 0), COALESCE(SUM(cached), 0),
                  COALESCE(SUM(tokens_in * (cached = 0)), 0), COALESCE(SUM(tokens_out * (cached = 0)), 0),
                  COALESCE(SUM(error IS NOT NULL AND error_kind IS NOT 'budget'), 0) FROM llm_calls""").fetchone()
    return dict(zip(("calls", "cache_hits", "tokens_in", "tokens_out", "errors"), (int(v) for v in row)))


async def _drive(engine: Engine, writer: RunWriter, stop: int, clock: Clock, quiet: bool,
                 stack: factory.Stack | None = None, held: HeldSignals | None = None) -> tuple[str | None, bool]:
    """Run to ``stop``; returns (why the budget stopped the run early or None, whether a signal
    stopped it). A first SIGINT/SIGTERM stops at the end of the tick under way; a second one
    cancels the tick (the engine is then left mid-tick: see :func:`_simulate`)."""
    from tqdm import tqdm

    every = max(1, clock.ticks_in(CHECKPOINT_EVERY_S))
    bar = tqdm(total=stop, initial=engine.state.tick, unit="tick", disable=quiet, file=sys.stderr,
               dynamic_ncols=True, mininterval=0.5)
    t0, last_post = time.perf_counter(), 0.0
    spent: str | None = None
    signals = held.count if held is not None else 0  # (one while the loop started: stop after the first tick)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            if not quiet:
                bar.write("stopping at the end of this tick (Ctrl-C again to stop at once)", file=sys.stderr)
        else:
            task.cancel()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal here
            pass

    inbox = InboxPoll(writer.dir, engine)
    shown: list[dt.datetime] = []  # the game time of the last tick shown

    def show(refresh: bool) -> None:
        """The bar's postfix: game time, LLM totals and, with a model, the requests in flight and the
        effective parallelism (the finished requests' wall time over the wall time since the start)."""
        u = stack.usage if stack is not None else None
        llm = (f"llm calls {u.calls} cached {u.cache_hits} tokens {u.tokens_in}+{u.tokens_out} errors {u.errors}"
               if u else "llm calls 0 tokens 0")
        if u is not None and (u.calls or u.in_flight):  # a model is asked (not the rules, not a replay)
            llm += f" | in flight {u.in_flight}, parallelism {u.busy_s / max(1e-9, time.perf_counter() - t0):.1f}"
        when = shown[-1]
        bar.set_postfix_str(f"{weekday(when)[:3]} {when:%Y-%m-%d %H:%M} | {llm}", refresh=refresh)

    async def refresher() -> None:
        """Twice a second while a tick waits on its requests (the bar otherwise moves only per tick)."""
        while True:
            await asyncio.sleep(0.5)
            if shown and time.perf_counter() - last_post >= 0.5:
                show(refresh=True)

    ticker = asyncio.ensure_future(refresher()) if not quiet and stack is not None else None

    def on_tick(rec: TickRecord) -> bool:
        nonlocal last_post, spent
        bar.update(1)
        if rec.tick % every == 0:
            if engine.memory is not None:
                writer.record_memory(engine.memory.drain(final=True))
            writer.checkpoint(rec.tick, snapshot_json(engine))
        inbox.poll(rec)
        now = time.perf_counter()
        if stack is not None:
            spent = stack.budget.spent
        if not quiet and (now - last_post > 0.5 or spent or rec.tick >= stop):
            last_post = now
            shown[:] = [rec.time]
            show(refresh=False)
        return spent is not None or signals > 0

    try:
        await engine.run(stop, on_tick)
    finally:
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        inbox.close()
        for sig in installed:
            loop.remove_signal_handler(sig)  # (puts back Python's defaults, not what was there)
        if held is not None:
            held.install()
        bar.close()
        if stack is not None:
            await stack.aclose()
    if not quiet:
        el = time.perf_counter() - t0
        print(f"simulated {engine.state.tick} ticks in {el:.1f}s", file=sys.stderr)
    return spent, signals > 0
