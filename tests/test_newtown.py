"""Generated towns (`python -m smallville new-town`): valid worlds that run and look like towns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from smallville.runner import RunOptions, start_run
from smallville.store.runstore import RunReader
from smallville.world.config import load_persona
from smallville.world.newtown import generate
from smallville.world.world import load_world

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"ground": "tilelayer", "collision": "tilelayer", "sectors": "objectgroup", "arenas": "objectgroup",
          "objects": "objectgroup", "spawns": "objectgroup"}


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "town100"
    made = generate(100, 3, out)
    assert made.residents == 100
    return out


@pytest.fixture(scope="module")
def runs(town: Path, tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("runs")
    dirs = []
    for i in range(2):
        d = base / f"run{i}"
        start_run(RunOptions(str(town / "world.yaml"), hours=1, llm="rules", out=str(d), quiet=True,
                             embedder="hashing"))
        dirs.append(d)
    return dirs


def test_a_generated_town_validates_with_a_bed_for_everyone(town: Path) -> None:
    world = load_world(town / "world.yaml")  # the validation of hand-written worlds: places, objects, reachability
    assert len(world.residents) == 100
    homes = Counter(r.persona.home for r in world.residents)
    assert max(homes.values()) == 1, "two residents share a bedroom"
    for r in world.residents:
        a = world.map.arena_index(r.persona.home)
        assert len(world.map.objects_in(a, "bed")) == 1
    assert len({r.start for r in world.residents}) == 100  # each starts in its own bed
    people = [r.persona for r in world.residents]
    assert len({p.occupation for p in people}) >= 10
    assert sum(1 for p in people if p.workplace) >= 50
    households = Counter(p.home.split(":")[0] for p in people)
    assert any(n >= 3 for n in households.values()) and any(n == 1 for n in households.values())
    names = {p.name for p in people}
    linked = [p for p in people if set(p.relationships) & names]
    assert len(linked) >= 90 and all(set(p.relationships) <= names for p in people)
    kinds = Counter(a.kind for a in world.map.arenas)
    for kind in ("bedroom", "kitchen", "living", "cafe", "shop", "park", "classroom", "office", "library"):
        assert kinds[kind] >= 1, kind


def test_the_map_is_tiled_json_with_the_layer_convention(town: Path) -> None:
    m = json.loads((town / "town.tmj").read_text(encoding="utf-8"))
    assert m["type"] == "map" and m["orientation"] == "orthogonal" and m["infinite"] is False
    layers = {layer["name"]: layer for layer in m["layers"]}
    for name, kind in LAYERS.items():
        assert layers[name]["type"] == kind, name
    for name in ("ground", "collision"):
        assert len(layers[name]["data"]) == m["width"] * m["height"]
    ids = [o["id"] for layer in m["layers"] if layer["type"] == "objectgroup" for o in layer["objects"]]
    assert len(ids) == len(set(ids)) and m["nextobjectid"] > max(ids)
    ts = m["tilesets"][0]
    assert (town / ts["image"]).is_file() and ts["tilecount"] == len(ts["tiles"])
    assert max(layers["ground"]["data"]) <= ts["tilecount"]


def test_the_same_seed_gives_the_same_files(town: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(100, 3, again)
    for f in ("world.yaml", "town.tmj", "tileset.png"):
        assert (again / f).read_bytes() == (town / f).read_bytes(), f
    assert sorted(p.name for p in (again / "personas").iterdir()) == sorted(p.name for p in (town / "personas").iterdir())
    other = tmp_path / "other"
    generate(100, 4, other)
    assert (other / "town.tmj").read_bytes() != (town / "town.tmj").read_bytes()


def test_personas_are_plain_persona_files(town: Path) -> None:
    files = sorted((town / "personas").iterdir())
    assert len(files) == 100
    p = load_persona(files[0])
    data = yaml.safe_load(files[0].read_text(encoding="utf-8"))
    assert data["name"] == p.name and p.lifestyle.routine


def test_it_runs_the_same_twice_and_people_go_out_to_work(runs: list[Path]) -> None:
    digests = [json.loads((d / "manifest.json").read_text())["digest"] for d in runs]
    assert digests[0] == digests[1]
    r = RunReader(runs[0])
    try:
        last = r.last_tick()
        assert last == 360  # one game hour, 07:00 to 08:00 on a Monday
        home = {name: r.persona(name)["home"].split(":")[0] for name in r.agents.values()}
        left = set()
        for tick in range(0, last + 1, 6):
            for a in r.agents_at(tick):
                if a["place"].split(":")[0] != home[a["name"]]:
                    left.add(a["name"])
        assert len(left) > len(home) // 2, f"only {len(left)} of {len(home)} left home by 08:00"
        workplaces = Counter(a["place"].split(":")[0] for a in r.agents_at(last))
        assert len(workplaces) >= 20  # spread over the town, not one crowd
    finally:
        r.close()


@pytest.fixture(scope="module")
def seen_whole(runs: list[Path]):
    """(scene, snapshot, view): the first run's last tick in a 1200x800 view of the whole map."""
    pytest.importorskip("pygame")
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("SMALLVILLE_EMOJI_FONT", "none")
    from smallville.viewer.render import View, fit
    from smallville.viewer.scene import load_scene
    from smallville.viewer.snapshot import SnapshotSource

    reader = RunReader(runs[0])
    try:
        src = SnapshotSource(reader, load_scene(reader))
        snap = src.snapshot(reader.last_tick())
    finally:
        reader.close()
    return src.scene, snap, fit(src.scene, View(1200, 800))


def test_the_viewer_draws_it(seen_whole) -> None:
    import dataclasses

    import numpy as np

    from smallville.viewer import palette
    from smallville.viewer.render import agent_positions, frame_array, sprite_radius

    _, snap, view = seen_whole
    arr = frame_array(snap, view)
    empty = frame_array(dataclasses.replace(snap, agents=()), view)
    assert len(np.unique(empty.reshape(-1, 3), axis=0)) > 50  # the tileset is drawn, not flat colours
    r = sprite_radius(view)
    drawn = 0
    for name, (sx, sy) in agent_positions(snap, view).items():
        x, y = int(sx), int(sy)
        patch = arr[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
        drawn += bool(np.all(patch == np.array(palette.agent_colour(name), dtype=np.uint8), axis=-1).any())
    assert len(snap.agents) == 100 and drawn >= 80  # sprites of residents at the same spot overlap


def test_a_crowd_seen_whole_leaves_the_map_readable(seen_whole) -> None:
    """Seen whole, a town of hundreds is not a wall of labels: place signs never cover each other
    and residents' labels are a sample covering a bounded share of the map (before, 600
    residents covered 96 % of it)."""
    import dataclasses

    import numpy as np
    import pygame

    from smallville.viewer import hud
    from smallville.viewer.render import frame_array, layout, renderer_for

    scene, snap, view = seen_whole
    area = layout(view).map
    signs = hud.draw_places(pygame.Surface((view.width, view.height)), renderer_for(scene), snap, view, area)
    assert len(signs) > len(scene.sector_labels) // 2
    assert not any(a.colliderect(b) for i, a in enumerate(signs) for b in signs[i + 1:])
    rng = np.random.default_rng(0)
    w, h = scene.map.width, scene.map.height
    crowd = tuple(dataclasses.replace(a, name=f"{a.name} {k}", x=float(rng.integers(0, w)), y=float(rng.integers(0, h)))
                  for k in range(6) for a in snap.agents)
    on_map = (slice(area.top, area.bottom), slice(area.left, area.right))
    empty = frame_array(dataclasses.replace(snap, agents=()), view)[on_map]
    covered = np.any(frame_array(dataclasses.replace(snap, agents=crowd), view)[on_map] != empty, axis=-1).mean()
    assert covered < 0.6, f"600 residents cover {covered:.0%} of the map"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smallville", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--residents", "0"], "--residents: expected a number from 1"),
    (["--residents", "-3"], "--residents: expected a number from 1"),
    (["--residents", "6000"], "--residents: expected a number from 1"),
])
def test_bad_sizes_are_refused(tmp_path: Path, args, message) -> None:
    p = _cli("new-town", *args, "--out", str(tmp_path / "t"))
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "t").exists()


def test_an_existing_out_needs_force_and_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert _cli("new-town", "--residents", "5", "--out", str(out)).returncode == 0
    p = _cli("new-town", "--residents", "5", "--out", str(out))
    assert p.returncode == 2 and "not empty (pass --force" in p.stderr and "Traceback" not in p.stderr
    p = _cli("new-town", "--residents", "4", "--seed", "2", "--out", str(out), "--force")
    assert p.returncode == 0 and len(list((out / "personas").iterdir())) == 4
    (tmp_path / "file").write_text("x")
    p = _cli("new-town", "--residents", "5", "--out", str(tmp_path / "file"))
    assert p.returncode == 2 and "not a directory" in p.stderr
    p = _cli("new-town", "--residents", "5", "--out", str(tmp_path / "file" / "sub"))
    assert p.returncode == 2 and "cannot write" in p.stderr and "Traceback" not in p.stderr
