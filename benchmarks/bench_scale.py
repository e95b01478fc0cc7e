"""Cost per resident as the town grows: generated towns of 25 to 1,000 residents.

For each size, a town is generated (``python -m smallville new-town``) into a temporary
directory and run on the rules baseline (``--llm rules``) with each embedder, each run in a
fresh subprocess so that its peak memory (peak RSS) is its own. Printed per run: wall time
(world loading included), milliseconds per resident-tick and per resident-hour (wall, and the
process's CPU time, steadier on a shared machine; "sim cpu": CPU time less that of a run of 0.01
game hours, i.e. without start-up and world loading), peak RSS, run store size, and the embedder's
own seconds (the ``memory.embeddings`` stats of the run's manifest).

Goals (issue 14): per resident-tick at 1,000 within 2x of that at 25; a 1,000-resident game
day under 10 minutes on 2 cores with the hashing embedder; peak memory under 4 GB.

    python benchmarks/bench_scale.py                          # 25,100,250,1000; a game day; both embedders
    python benchmarks/bench_scale.py --sizes 25,100 --hours 2 --embedders hashing
    python benchmarks/bench_scale.py --sizes 1000 --hours 24 --minilm-hours 3   # MiniLM for 3 hours only
    python benchmarks/bench_scale.py --sizes 250 --hours 4 --profile /tmp/prof  # cProfile files per run
    python benchmarks/bench_scale.py --index-only     # who-is-near: a scan of everyone vs SpatialIndex
    python benchmarks/bench_scale.py --crowd --sizes 25,250 --hours 2 --embedders hashing

``--crowd``: N residents on a fixed map, the 25-resident town (``worlds/town.yaml``): copies of
its 25 personas (each copy named "NAME 2", "NAME 3", ..., same home and routine), so crowds
form where routines meet — a party or a festival. Goal (issue 22): per resident-hour at 250
within 2x of 25 — a resident's cost does not grow with how many others it sees.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(argv: list[str]) -> None:
    """Run ``python -m smallville ARGV`` in this process; print wall and CPU seconds and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    from smallville.cli import main

    profile = os.environ.get("BENCH_PROFILE")
    t0 = time.perf_counter()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        rc = prof.runcall(main, argv)
        prof.dump_stats(profile)
    else:
        rc = main(argv)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss  # KiB on Linux
    print(json.dumps({"rc": rc, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kb / 1024}))


def run_child(argv: list[str], profile: str | None = None) -> dict:
    env = dict(os.environ)
    if profile:
        env["BENCH_PROFILE"] = profile
    p = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True, env=env,
                       cwd=ROOT)
    if p.returncode != 0 or not p.stdout.strip():
        raise SystemExit(f"failed: smallville {' '.join(argv)}\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def index_figures(world_file: Path, radius: int = 8, ticks: int = 20) -> tuple[float, float]:
    """ms per tick for "who is within ``radius`` of each resident": a scan of everyone (as
    Engine.observe does today) vs :class:`~smallville.world.spatial.SpatialIndex`, on
    residents spread over random walkable tiles of the town, each moving a tile per tick."""
    import random

    sys.path.insert(0, str(ROOT))
    from smallville.world.spatial import SpatialIndex
    from smallville.world.world import load_world

    world = load_world(world_file)
    m = world.map
    rng = random.Random(0)
    floor = [(x, y) for y in range(m.height) for x in range(m.width) if m.walkable[y, x]]
    pos = {r.persona.name: rng.choice(floor) for r in world.residents}
    index = SpatialIndex.of(m.width, m.height, radius, ((n, x, y) for n, (x, y) in pos.items()))
    brute_s = index_s = 0.0
    for _ in range(ticks):
        for n, (x, y) in list(pos.items()):
            dx, dy = rng.choice([(1, 0), (-1, 0), (0, 1), (0, -1)])
            if m.is_walkable(x + dx, y + dy):
                pos[n] = (x + dx, y + dy)
        t0 = time.perf_counter()
        for n, (x, y) in pos.items():
            index.move(n, x, y)
        fast = [index.within(x, y, radius) for x, y in pos.values()]
        t1 = time.perf_counter()
        slow = [sorted((abs(bx - x) + abs(by - y), b) for b, (bx, by) in pos.items()
                       if abs(bx - x) + abs(by - y) <= radius) for x, y in pos.values()]
        t2 = time.perf_counter()
        assert fast == slow
        index_s += t1 - t0
        brute_s += t2 - t1
    return brute_s * 1000 / ticks, index_s * 1000 / ticks


def crowd_world(n: int, out: Path) -> Path:
    """A world file in ``out``: the town's map and settings with ``n`` residents, the town's 25
    personas and then copies of them in turn (copy k of a persona is named "NAME k")."""
    import yaml

    town = ROOT / "worlds" / "town.yaml"
    config = yaml.safe_load(town.read_text())
    originals = [(town.parent / r["persona"]).resolve() for r in config["residents"]]
    (out / "personas").mkdir(parents=True, exist_ok=True)
    residents = []
    for i in range(n):
        src = originals[i % len(originals)]
        copy = i // len(originals) + 1
        if copy == 1:
            residents.append({"persona": str(src)})
            continue
        persona = yaml.safe_load(src.read_text())
        persona["name"] = f"{persona['name']} {copy}"
        dest = out / "personas" / f"{src.stem}_{copy}.yaml"
        dest.write_text(yaml.safe_dump(persona, sort_keys=False, allow_unicode=True))
        residents.append({"persona": str(dest)})
    config["residents"] = residents
    config["map"] = str((town.parent / config["map"]).resolve())
    config["name"] = f"{config['name']}, {n} residents"
    world = out / "world.yaml"
    world.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return world


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="25,100,250,1000", help="comma-separated resident counts")
    ap.add_argument("--hours", type=float, default=24, help="game hours per run (default: a game day)")
    ap.add_argument("--minilm-hours", type=float, help="game hours of the MiniLM runs (default: --hours)")
    ap.add_argument("--embedders", default="hashing,minilm", help="comma-separated: hashing, minilm")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", metavar="DIR", help="write a cProfile file per run into DIR")
    ap.add_argument("--crowd", action="store_true",
                    help="N residents on the 25-resident town's map (copies of its personas), not generated towns")
    ap.add_argument("--index-only", action="store_true",
                    help="only compare who-is-near by a scan of everyone with the spatial index (no runs)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    embedders = [e.strip() for e in args.embedders.split(",") if e.strip()]
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    if not args.index_only:
        print(f"{'residents':>9} {'embedder':>8} {'hours':>5} {'ticks':>6} {'wall s':>8} {'ms/res-tick':>11} "
              f"{'ms/res-hour':>11} {'cpu ms/r-h':>10} {'sim cpu':>10} {'peak MB':>8} {'store MB':>8} {'embed s':>8} "
              f"{'embedded':>8}  map")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            town = Path(tmp) / f"town{n}"
            t0 = time.perf_counter()
            if args.crowd:
                crowd_world(n, town)
            else:
                gen = subprocess.run([sys.executable, "-m", "smallville", "new-town", "--residents", str(n),
                                      "--seed", str(args.seed), "--out", str(town)], capture_output=True,
                                     text=True, cwd=ROOT)
                if gen.returncode != 0:
                    raise SystemExit(gen.stderr)
            gen_s = time.perf_counter() - t0
            if args.index_only:
                brute, fast = index_figures(town / "world.yaml")
                print(f"{n:>9} residents: who is within 8 tiles of each resident, per tick: scan of everyone "
                      f"{brute:.1f} ms, SpatialIndex {fast:.1f} ms (moves included)", flush=True)
                continue
            for emb in embedders:
                hours = args.minilm_hours if emb == "minilm" and args.minilm_hours else args.hours
                out = Path(tmp) / f"run{n}-{emb}"
                prof = os.path.join(args.profile, f"scale{n}-{emb}.prof") if args.profile else None
                r = run_child(["run", str(town / "world.yaml"), "--llm", "rules", "--embedder", emb,
                               "--hours", f"{hours:g}", "--out", str(out), "--quiet"], prof)
                manifest = json.loads((out / "manifest.json").read_text())
                ticks = int(manifest["last_tick"])
                emb_stats = manifest.get("memory", {}).get("embeddings", {})
                ms = r["wall"] * 1000 / (n * ticks)
                per_hour = r["wall"] * 1000 / (n * hours)
                cpu_hour = r["cpu"] * 1000 / (n * hours)  # steadier than wall on a shared machine
                # the same less start-up (imports, loading the world, the first ticks): a run of 0.01 game hours
                r0 = run_child(["run", str(town / "world.yaml"), "--llm", "rules", "--embedder", emb,
                                "--hours", "0.01", "--out", str(out) + "-start", "--quiet"])
                ticks0 = int(json.loads((Path(str(out) + "-start") / "manifest.json").read_text())["last_tick"])
                shutil_rmtree(Path(str(out) + "-start"))
                sim_hour = (r["cpu"] - r0["cpu"]) * 1000 / (n * (hours - hours * ticks0 / ticks))
                row = {"residents": n, "embedder": emb, "hours": hours, "ticks": ticks, "wall_s": round(r["wall"], 1),
                       "ms_per_resident_tick": round(ms, 3),
                       "ms_per_resident_hour": round(per_hour, 1), "cpu_ms_per_resident_hour": round(cpu_hour, 1),
                       "sim_cpu_ms_per_resident_hour": round(sim_hour, 1),
                       "peak_mb": round(r["peak_mb"]),
                       "store_mb": round(dir_size(out) / 1e6, 1), "embed_s": emb_stats.get("model_seconds"),
                       "embedded": emb_stats.get("embedded"), "generate_s": round(gen_s, 1)}
                rows.append(row)
                note = " (fewer hours than the others)" if hours != args.hours else ""
                where = "the town's map" if args.crowd else f"generated in {gen_s:.1f} s"
                print(f"{n:>9} {emb:>8} {hours:>5g} {ticks:>6} {r['wall']:>8.1f} {ms:>11.3f} {per_hour:>11.1f} "
                      f"{cpu_hour:>10.1f} {sim_hour:>10.1f} "
                      f"{r['peak_mb']:>8.0f} {row['store_mb']:>8.1f} {row['embed_s'] or 0:>8.1f} "
                      f"{row['embedded'] or 0:>8}  {where}{note}", flush=True)
                if emb == "minilm" and hours != args.hours and emb_stats.get("model_seconds") is not None:
                    per_day = emb_stats["model_seconds"] * 24 / hours
                    print(f"{'':>9} {'':>8} MiniLM embedding time extrapolated to a game day: ~{per_day:.0f} s "
                          f"(linear in hours; the cache hit rate grows over a day, so this is an upper bound)",
                          flush=True)
                shutil_rmtree(out)
    small = [r for r in rows if r["embedder"] == "hashing"]
    if len(small) >= 2:
        first, last = small[0], small[-1]
        what = "on the town's map" if args.crowd else "generated towns"
        print(f"hashing, {what}: ms per resident-hour at {last['residents']} is "
              f"{last['ms_per_resident_hour'] / first['ms_per_resident_hour']:.2f}x that at {first['residents']} "
              f"(CPU time: {last['cpu_ms_per_resident_hour'] / first['cpu_ms_per_resident_hour']:.2f}x; CPU time "
              f"less start-up: {last['sim_cpu_ms_per_resident_hour'] / first['sim_cpu_ms_per_resident_hour']:.2f}x; "
              f"goal: within 2x)")
    if rows:
        print(json.dumps(rows))


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
