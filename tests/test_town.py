"""The shipped worlds: the town's done-when checks from the foundation issue."""

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run_cli
from smallville.world.world import load_world


@pytest.fixture(scope="module")
def town_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("town")
    out = {}
    for key, seed in (("a", 7), ("b", 7), ("c", 8)):
        d = base / key
        r = run_cli("run", "worlds/town.yaml", "--llm", "rules", "--hours", "2", "--seed", str(seed),
                    "--out", str(d), "--quiet")
        assert r.returncode == 0, r.stderr
        out[key] = json.loads(run_cli("inspect", str(d), "--json").stdout)
    return out


def test_town_map_shape():
    w = load_world(ROOT / "worlds/town.yaml")
    m = w.map
    assert m.width >= 100 and m.height >= 70
    assert len(m.sectors) >= 15 and len(m.arenas) >= 40 and len(m.residents if hasattr(m, "residents") else w.residents) == 25
    arenas_with_objects = {o.arena for o in m.objects}
    assert len(arenas_with_objects) >= 40
    for name in ("Hobbs Cafe", "The Rose and Crown Pub", "Willows Market and Pharmacy", "Oak Hill College",
                 "Oak Hill College Dorm", "Johnson Park", "Harvey Oak Supply Store", "Town Hall", "Oak Hill Apartments"):
        assert name in m.sectors
    assert w.config.start.isoformat(" ") == "2023-02-13 07:00:00"
    assert w.config.end.isoformat(" ") == "2023-02-14 23:00:00"


def test_town_map_is_valid_tiled_json():
    doc = json.loads((ROOT / "worlds/town.tmj").read_text())
    assert doc["type"] == "map" and doc["orientation"] == "orthogonal" and doc["infinite"] is False
    names = {l["name"]: l for l in doc["layers"]}
    for n in ("ground", "collision"):
        assert names[n]["type"] == "tilelayer" and len(names[n]["data"]) == doc["width"] * doc["height"]
    for n in ("sectors", "arenas", "objects", "spawns"):
        assert names[n]["type"] == "objectgroup"
    ids = [o["id"] for l in doc["layers"] if l["type"] == "objectgroup" for o in l["objects"]]
    assert len(ids) == len(set(ids)) and doc["nextobjectid"] > max(ids)
    ts = doc["tilesets"][0]
    assert ts["firstgid"] == 1 and (ROOT / "worlds" / ts["image"]).exists()
    assert ts["tilecount"] == ts["columns"] * (ts["imageheight"] // ts["tileheight"])
    used = {g for n in ("ground", "collision") for g in names[n]["data"] if g}
    assert max(used) < ts["firstgid"] + ts["tilecount"]


def test_small_world_is_a_part_of_the_town():
    w = load_world(ROOT / "worlds/small.yaml")
    assert [r.persona.name for r in w.residents] == ["Isabella Rodriguez", "Maria Lopez", "Klaus Mueller"]
    assert (w.map.width, w.map.height) == (60, 45)


def test_town_two_hours(town_runs):
    a = town_runs["a"]
    assert a["tick"] == 720 and a["time"] == "2023-02-13T09:00:00"
    assert len(a["agents"]) == 25
    homes = {r.persona.name: r.persona.home.split(":")[0] for r in load_world(ROOT / "worlds/town.yaml").residents}
    left = [x["name"] for x in a["agents"] if not x["place"].startswith(homes[x["name"]])]
    assert len(left) > 25 / 2, left


def test_same_seed_same_digest_other_seed_differs(town_runs):
    assert town_runs["a"]["digest"] == town_runs["b"]["digest"]
    assert town_runs["a"]["agents"] == town_runs["b"]["agents"]
    assert town_runs["a"]["digest"] != town_runs["c"]["digest"]


def wait_for_ticks(db, n, proc, limit=120):
    t0 = time.time()
    while time.time() - t0 < limit:
        assert proc.poll() is None, proc.stderr.read()
        if db.exists():
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                got = con.execute("SELECT COUNT(*) FROM ticks").fetchone()[0]
                con.close()
                if got >= n:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError("run did not progress")


@pytest.mark.parametrize("sig, status", [(signal.SIGKILL, "running"), (signal.SIGINT, "interrupted")])
def test_killed_run_keeps_what_it_recorded(tmp_path, sig, status):
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "smallville", "run", "worlds/town.yaml", "--llm", "rules",
                             "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_ticks(out / "run.db", 300, proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Traceback" not in proc.stderr.read()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == status
    con = sqlite3.connect(out / "run.db")
    n, lo, hi = con.execute("SELECT COUNT(*), MIN(tick), MAX(tick) FROM ticks").fetchone()
    assert n >= 300 and lo == 0 and hi == n - 1  # contiguous: nothing recorded was lost
    view = json.loads(run_cli("inspect", str(out), "--json").stdout)
    assert view["tick"] == hi and len(view["agents"]) == 25
