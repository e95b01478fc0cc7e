"""``multiverse WORLD --runs N``: N seeds of one world, each a normal run directory under
``OUT/runs/seed-S/`` (replayable like any run), in local worker processes or as Ray tasks,
then every ``analyze`` metric aggregated (:mod:`smallville.analysis.multiverse`) into
``OUT/summary.json``, ``OUT/report.md`` and ``OUT/report.html``.

An orchestrator beside ``runner.py``: each worker calls the runner, then analyses its own run
and returns the result, so on a cluster the driver needs only the results (the run
directories land on the path the workers share). Started again with the same ``--out``, a
multiverse skips the runs whose manifest says ``complete`` (analysing them afresh) and runs
the others again from the start.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from smallville.errors import SmallvilleError
from smallville.store.runstore import read_manifest
from smallville.world.config import TIME_FORMAT
from smallville.world.world import load_world


@dataclass(frozen=True)
class Job:
    world: str
    seed: int
    out: str
    hours: float | None = None
    until: str | None = None
    llm: str | None = None
    embedder: str = "minilm"
    ablate: tuple[str, ...] = ()


@dataclass
class MultiverseOptions:
    world: str
    runs: int
    out: str
    hours: float | None = None
    until: str | None = None
    seed_base: int | None = None
    workers: int = 1
    ray: str | None = None  # None: local processes; "": a local Ray; else a Ray address
    llm: str | None = None
    embedder: str = "minilm"
    ablate: tuple[str, ...] = field(default_factory=tuple)
    quiet: bool = False


def run_one(job: Job) -> dict:
    """Run one seed (in a worker) and return its ``analyze`` result."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from smallville.analysis.analyze import analyze
    from smallville.runner import RunOptions, start_run

    start_run(RunOptions(job.world, job.hours, job.until, job.seed, job.llm, job.out, quiet=True,
                         ablate=job.ablate, embedder=job.embedder))
    return analyze(job.out)


def is_complete(run_dir: Path) -> bool:
    try:
        return read_manifest(run_dir).get("status") == "complete"
    except SmallvilleError:
        return False


def plan_jobs(opts: MultiverseOptions) -> list[Job]:
    if opts.runs < 1:
        raise SmallvilleError(f"--runs: expected a positive number, got {opts.runs}")
    if opts.workers < 1:
        raise SmallvilleError(f"--workers: expected a positive number, got {opts.workers}")
    if opts.hours is not None and not opts.hours > 0:
        raise SmallvilleError(f"--hours: expected a positive number, got {opts.hours}")
    world = load_world(opts.world)
    if opts.until is not None:
        try:
            dt.datetime.strptime(opts.until, TIME_FORMAT)
        except ValueError:
            raise SmallvilleError(f'--until: expected "YYYY-MM-DD HH:MM", got {opts.until!r}') from None
    base = world.config.seed if opts.seed_base is None else opts.seed_base
    runs = Path(opts.out) / "runs"
    return [Job(str(Path(opts.world).resolve()), base + i, str((runs / f"seed-{base + i}").resolve()), opts.hours,
                opts.until, opts.llm, opts.embedder, tuple(opts.ablate)) for i in range(opts.runs)]


def run_multiverse(opts: MultiverseOptions) -> Path:
    from tqdm import tqdm

    from smallville.analysis.analyze import analyze
    from smallville.analysis.multiverse import aggregate, write_report

    jobs = plan_jobs(opts)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict] = {}
    todo = []
    for j in jobs:
        if is_complete(Path(j.out)):
            results[j.seed] = analyze(j.out)
        else:
            if Path(j.out).exists():  # an interrupted run: run it again from the start
                shutil.rmtree(j.out)
            todo.append(j)
    if not opts.quiet and results:
        print(f"{len(results)} of {len(jobs)} runs already complete; running {len(todo)}", file=sys.stderr)
    failed: list[str] = []
    bar = tqdm(total=len(jobs), initial=len(results), unit="run", disable=opts.quiet, file=sys.stderr,
               dynamic_ncols=True)
    try:
        runner = _ray_runs if opts.ray is not None else _local_runs
        for job, result, error in runner(todo, opts):
            if error is not None:
                failed.append(f"seed {job.seed}: {error}")
                bar.write(f"run with seed {job.seed} failed: {error}", file=sys.stderr)
            else:
                results[job.seed] = result
            bar.update(1)
    finally:
        bar.close()
    ordered = [results[j.seed] for j in jobs if j.seed in results]
    summary = aggregate(ordered, world=load_world(opts.world).config.name)
    summary["failed"] = failed
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if ordered:
        write_report(summary, out)
    if failed:
        raise SmallvilleError(f"{len(failed)} of {len(jobs)} runs failed ({'; '.join(failed)}); run the same "
                              f"command again to retry them")
    return out


def map_jobs(fn, jobs: list, workers: int = 1, ray: str | None = None):
    """``fn`` over ``jobs`` in local worker processes (or Ray tasks when ``ray`` is not None), as
    multiverse runs its seeds; yields the results as they finish and raises the first failure."""
    opts = MultiverseOptions("", len(jobs), "", workers=workers, ray=ray)
    runner = _ray_runs if ray is not None else _local_runs
    for job, result, error in runner(jobs, opts, fn):
        if error is not None:
            raise SmallvilleError(f"a worker failed: {error}")
        yield result


def _local_runs(todo: list, opts: MultiverseOptions, fn=run_one):
    """Yield (job, result, error) as local worker processes (spawned) finish."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not todo:
        return
    with ProcessPoolExecutor(max_workers=min(opts.workers, len(todo)), mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(fn, j): j for j in todo}
        for f in as_completed(futures):
            try:
                yield futures[f], f.result(), None
            except Exception as e:  # noqa: BLE001 - a failed run is reported, the others go on
                yield futures[f], None, f"{type(e).__name__}: {e}"


def _ray_runs(todo: list, opts: MultiverseOptions, fn=run_one):
    """Yield (job, result, error) as Ray tasks finish: a local Ray with ``--workers`` CPUs, or the
    cluster at ``opts.ray``."""
    try:
        import ray
    except ImportError:
        raise SmallvilleError("--ray needs Ray: pip install 'smallville[ray]'") from None
    if not todo:
        return
    import smallville

    here = str(Path(smallville.__file__).resolve().parent.parent)
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}}
    started = not ray.is_initialized()
    if started:
        if opts.ray:
            ray.init(address=opts.ray, runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=opts.workers, include_dashboard=False, runtime_env=env, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(fn)
        refs = {task.remote(j): j for j in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            job = refs[done[0]]
            try:
                yield job, ray.get(done[0]), None
            except Exception as e:  # noqa: BLE001 - a failed run is reported, the others go on
                yield job, None, f"{type(e).__name__}: {e}"
    finally:
        if started:
            ray.shutdown()
