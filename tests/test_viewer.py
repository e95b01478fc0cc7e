"""The replay viewer: frames checked on pixels, the window driven by posted pygame events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SMALLVILLE_EMOJI_FONT", "none")  # drawn glyphs: the same pixels on every machine

import pygame  # noqa: E402

from smallville.store.runstore import RunReader, RunWriter  # noqa: E402
from smallville.viewer import palette  # noqa: E402
from smallville.viewer.app import App, main as replay_main  # noqa: E402
from smallville.viewer.hud import timeline_x  # noqa: E402
from smallville.viewer.icons import GLYPHS, Icons  # noqa: E402
from smallville.viewer.render import (PANEL_W, View, agent_positions, fit, frame_array, layout,  # noqa: E402
                                      render_frame, sprite_radius, to_screen)
from smallville.viewer.scene import load_scene  # noqa: E402
from smallville.viewer.snapshot import SnapshotSource  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny"
START = dt.datetime(2023, 2, 13, 6, 50)
ANN, BOB = "Ann Example", "Bob Example"


def _ann_at(tick: int) -> tuple[int, int]:
    """Ann walks the street from (6, 3) to (11, 3) during ticks 10..15, then stays."""
    return (6 + min(5, max(0, tick - 10)), 3)


def write_run(run_dir: Path, ticks: range, status: str = "complete", writer: RunWriter | None = None) -> RunWriter:
    if writer is None:
        files = {"map/map.yaml": (TINY / "map.yaml").read_bytes()}
        meta = {"map_file": "map/map.yaml", "region": None, "map_size": [20, 8],
                "start": START.isoformat(), "tick_seconds": 10, "seed": 1}
        writer = RunWriter.create(run_dir, {"run_id": "synthetic", "tick_seconds": 10},
                                  [(ANN, {"name": ANN, "age": 30, "occupation": "cafe owner"}),
                                   (BOB, {"name": BOB, "age": 40, "occupation": "writer"})], files, meta)
    for tick in ticks:
        ax, ay = _ann_at(tick)
        talking = 30 <= tick < 40
        agents = [
            {"name": ANN, "x": ax, "y": ay, "action": "chatting with Bob" if talking else "walking to the cafe",
             "emoji": "💬" if talking else "🚶", "place": "", "target": "Cafe:cafe",
             "utterance": "Good morning Bob! Coffee at the cafe?" if talking else None},
            {"name": BOB, "x": 14, "y": 5, "action": "writing his novel", "emoji": "✍️",
             "place": "", "target": "", "utterance": None},
        ]
        events = []
        if tick in (1, 30):
            events.append({"agent": ANN, "kind": "action",
                           "data": {"description": agents[0]["action"], "place": "Cafe:cafe"}})
        if tick == 30:
            events.append({"agent": ANN, "kind": "conversation", "data": {"participants": [ANN, BOB]}})
        writer.record(SimpleNamespace(tick=tick, time=START + dt.timedelta(seconds=10 * tick), digest="0" * 64,
                                      agents=agents, events=events, object_changes=[], decisions=[]))
    writer.write_manifest(status=status, last_tick=ticks[-1])
    return writer


@pytest.fixture
def run(tmp_path: Path) -> Path:
    w = write_run(tmp_path / "run", range(0, 61))
    w.close()
    return tmp_path / "run"


@pytest.fixture
def source(run: Path) -> SnapshotSource:
    reader = RunReader(run)
    return SnapshotSource(reader, load_scene(reader))


def _view(source: SnapshotSource, **kw) -> View:
    return fit(source.scene, View(1000, 700, **kw))


def _colour_count(arr: np.ndarray, centre: tuple[float, float], radius: int, colour) -> int:
    x, y = int(centre[0]), int(centre[1])
    patch = arr[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1]
    return int(np.all(patch == np.array(colour, dtype=np.uint8), axis=-1).sum())


# ---------------------------------------------------------------- frames


def test_each_agent_colour_is_drawn_at_its_stored_tile(source: SnapshotSource) -> None:
    view = _view(source)
    snap = source.snapshot(20)
    arr = frame_array(snap, view)
    assert arr.shape == (700, 1000, 3)
    area = layout(view).map
    r = sprite_radius(view)
    for a in source.reader.agents_at(20):
        centre = to_screen(view, area, a["x"], a["y"])
        n = _colour_count(arr, centre, r, palette.agent_colour(a["name"]))
        assert n > r * r, f"{a['name']}: its colour is not drawn at tile ({a['x']}, {a['y']})"
        far = to_screen(view, area, a["x"] + 4, a["y"])  # and not four tiles away
        assert _colour_count(arr, far, r, palette.agent_colour(a["name"])) < n // 4


def test_agent_colours_are_stable_and_distinct() -> None:
    assert palette.agent_colour(ANN) == palette.agent_colour("Ann Example")
    assert palette.agent_colour(ANN) != palette.agent_colour(BOB)
    # blake2b of the name, never hash(): the same in a fresh interpreter with another hash seed
    code = "from smallville.viewer.palette import agent_colour; print(agent_colour('Ann Example'))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "123"},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(palette.agent_colour(ANN))


def test_labels_are_drawn_above_agents(source: SnapshotSource) -> None:
    view = _view(source)
    snap = source.snapshot(20)
    with_agents = frame_array(snap, view)
    empty = frame_array(dataclasses.replace(snap, agents=()), view)
    area = layout(view).map
    r = sprite_radius(view)
    for a in snap.agents:
        sx, sy = to_screen(view, area, a.x, a.y)
        box = (slice(int(sy - r - 24), int(sy - r - 2)), slice(int(sx - 40), int(sx + 40)))
        diff = np.any(with_agents[box] != empty[box], axis=-1)
        assert diff.mean() > 0.3, f"no label above {a.name}"
        # light text on the dark pill
        assert (with_agents[box].max(axis=-1) > 200).sum() > 20


def test_clock_region_changes_with_time_and_frames_are_pure(source: SnapshotSource) -> None:
    view = _view(source)
    a1 = frame_array(source.snapshot(6), view)  # 06:51
    a2 = frame_array(source.snapshot(60), view)  # 07:00
    a1_again = frame_array(source.snapshot(6), view)
    assert render_frame(source.snapshot(6), view).get_size() == (1000, 700)
    assert np.array_equal(a1, a1_again), "the same snapshot and view must give the same pixels"
    clock = layout(view).timeline
    box = (slice(clock.y, clock.bottom), slice(clock.x, clock.x + 140))
    assert not np.array_equal(a1[box], a2[box])


def test_movement_is_interpolated_between_ticks(source: SnapshotSource) -> None:
    half = source.snapshot(12.5).agent(ANN)
    assert half is not None and half.x == pytest.approx(8.5) and half.tile == (8, 3)
    assert source.snapshot(12).agent(ANN).x == 8 and source.snapshot(13).agent(ANN).x == 9
    view = _view(source)
    arr = frame_array(source.snapshot(12.5), view)
    mid = to_screen(view, layout(view).map, 8.5, 3)
    assert _colour_count(arr, mid, 3, palette.agent_colour(ANN)) > 10


def test_speech_bubble_and_conversation_marker(source: SnapshotSource) -> None:
    view = _view(source)
    snap = source.snapshot(35)
    assert snap.agent(ANN).utterance
    arr = frame_array(snap, view)
    quiet = frame_array(source.snapshot(45), view)
    area = layout(view).map
    sx, sy = to_screen(view, area, *_ann_at(35))
    box = (slice(max(0, int(sy) - 110), int(sy) - 20), slice(int(sx) - 120, int(sx) + 120))
    white = lambda a: int(np.all(a[box] >= 250, axis=-1).sum())  # noqa: E731
    assert white(arr) > 800 > white(quiet), "a white speech bubble above the speaker"
    assert [m.tick for m in snap.timeline.markers] == [30]
    lay = layout(view)
    x = timeline_x(snap.timeline, lay.track, 30)
    column = arr[lay.track.y - 6:lay.track.bottom + 6, x - 1:x + 2]
    assert np.any(np.all(column == (250, 165, 60), axis=-1)), "conversation marker on the timeline"


def test_side_panel_shows_the_followed_agent(source: SnapshotSource) -> None:
    view = _view(source, follow=ANN)
    snap = source.snapshot(35, focus=ANN)
    d = snap.detail
    assert d is not None and d.action == "chatting with Bob" and d.summary == "30 · cafe owner"
    assert [t[1] for t in d.today] == ["walking to the cafe", "chatting with Bob"]
    assert d.memories == () and d.plan == ()  # none stored: the panel says so instead of failing
    arr = frame_array(snap, view)
    panel = layout(view).panel
    assert panel is not None and panel.w == PANEL_W
    assert np.all(arr[panel.y + 5, panel.x + 1] == palette.agent_colour(ANN))
    text = arr[panel.y + 60:panel.bottom, panel.x + 10:panel.right - 10]
    assert (text.max(axis=-1) > 200).sum() > 500, "panel text"


def test_icons_without_any_emoji_font() -> None:
    pygame.font.init()
    icons = Icons(font_path=None)
    assert not icons.emoji_font
    for e in ["😴", "☕", "🍽️", "🧑‍🏫", "✍️", "🛋️", "❓"]:
        s = icons.icon(e, 18)
        assert max(s.get_size()) == 18
        alpha = pygame.surfarray.array_alpha(s)
        assert (alpha > 0).sum() > 20, f"glyph for {e!r} is empty"
    assert Icons(font_path="/no/such/font.ttf").emoji_font is False
    from smallville.cognition.rules import EMOJI

    missing = [e for _, e in EMOJI if not Icons(font_path=None).has_glyph(e)]
    assert not missing, f"no drawn glyph for {missing}"
    assert len(GLYPHS) >= 20


def test_side_panel_plan_memories_and_reflections(tmp_path: Path) -> None:
    writer = write_run(tmp_path / "m", range(0, 5))
    plan = {"day": "2023-02-13", "revision": 0, "wake": "06:30", "sleep": "22:00", "reason": "day",
            "blocks": [{"start": "06:30", "end": "07:30", "activity": "walking to the cafe", "place": "Cafe:cafe"},
                       {"start": "07:30", "end": "12:00", "activity": "serving coffee", "place": "Cafe:cafe"}]}
    mem = lambda i, tick, kind, text, depth=0: {  # noqa: E731
        "agent": ANN, "id": i, "tick": tick, "kind": kind, "description": text, "subject": None, "predicate": None,
        "object": None, "importance": 3, "depth": depth, "evidence": None, "facts": None, "embedding": "[]"}
    delta = SimpleNamespace(memories=[mem(0, 5, "observation", "Bob Example is writing his novel"),
                                      mem(1, 5, "thought", "Bob seems to enjoy mornings", 1),
                                      mem(2, 9, "observation", "the cafe is empty")], accesses=[], embeddings=[])
    writer.record(SimpleNamespace(tick=5, time=START + dt.timedelta(seconds=50), digest="0" * 64, agents=[],
                                  events=[{"agent": ANN, "kind": "plan", "data": plan}], object_changes=[],
                                  decisions=[], memory=delta))
    writer.close(status="complete", last_tick=5)
    reader = RunReader(tmp_path / "m")
    src = SnapshotSource(reader, load_scene(reader))
    d = src.snapshot(5, focus=ANN).detail
    assert d.plan == (("06:30", "07:30", "walking to the cafe"), ("07:30", "12:00", "serving coffee"))
    assert [m[2] for m in d.memories] == ["Bob Example is writing his novel"]  # tick 9 is still to come
    assert [m[2] for m in d.reflections] == ["Bob seems to enjoy mornings"]
    view = _view(src, follow=ANN)
    arr = frame_array(src.snapshot(5, focus=ANN), view)
    panel = layout(view).panel
    assert (arr[panel.y:panel.bottom, panel.x + 10:panel.right].max(axis=-1) > 200).sum() > 1500


# ---------------------------------------------------------------- the window


def _post(**kw) -> None:
    pygame.event.post(pygame.event.Event(kw.pop("type"), **kw))


def _key(key: int) -> None:
    _post(type=pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0)


def _click(pos: tuple[int, int]) -> None:
    _post(type=pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
    _post(type=pygame.MOUSEBUTTONUP, pos=pos, button=1)


@pytest.fixture
def app(run: Path):
    a = App(run, speed=16, size=(1000, 700), at=START + dt.timedelta(seconds=100), window=True)
    yield a
    pygame.display.quit()


def test_window_plays_and_space_pauses(app: App) -> None:
    assert pygame.display.get_surface() is not None and not app.view.paused
    t0 = app.t
    app.step(0.5)
    assert app.t == pytest.approx(t0 + 0.5 * 16 / 10)  # 16× game time: 8 game seconds
    playing = pygame.surfarray.array3d(pygame.display.get_surface()).copy()
    _key(pygame.K_SPACE)
    app.step(0.5)
    assert app.view.paused and app.t == pytest.approx(t0 + 0.8)
    app.step(1.0)
    assert app.t == pytest.approx(t0 + 0.8)
    paused = pygame.surfarray.array3d(pygame.display.get_surface())
    clock = layout(app.view).timeline
    assert not np.array_equal(playing[clock.x:clock.x + 250, clock.y:clock.bottom],
                              paused[clock.x:clock.x + 250, clock.y:clock.bottom]), "play/pause icon"
    _key(pygame.K_SPACE)
    app.step(0.5)
    assert not app.view.paused and app.t > t0 + 0.8


def test_speed_steps(app: App) -> None:
    for expected in (32, 64, 64):
        _key(pygame.K_EQUALS)
        app.step(0)
        assert app.view.speed == expected
    for _ in range(10):
        _key(pygame.K_MINUS)
    app.step(0)
    assert app.view.speed == 1


def test_timeline_click_seeks(app: App) -> None:
    _key(pygame.K_SPACE)
    app.step(0)
    track = layout(app.view).track
    x = timeline_x(app.snap.timeline, track, 45)
    before = pygame.surfarray.array3d(pygame.display.get_surface()).copy()
    _click((x, track.centery))
    app.step(0)
    assert abs(app.t - 45) <= 0.5
    after = pygame.surfarray.array3d(pygame.display.get_surface())
    assert not np.array_equal(before, after)
    # Ann is now at her tick-45 tile on screen
    sx, sy = to_screen(app.view, layout(app.view).map, *_ann_at(45))
    arr = after.transpose(1, 0, 2)
    assert _colour_count(arr, (sx, sy), sprite_radius(app.view), palette.agent_colour(ANN)) > 20


def test_clicking_an_agent_follows_it(app: App) -> None:
    _key(pygame.K_SPACE)
    app.step(0)
    pos = agent_positions(app.snap, app.view)[BOB]
    _click(pos)
    app.step(0)
    assert app.view.follow == BOB and app.cam_follow
    arr = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
    panel = layout(app.view).panel
    assert panel is not None
    assert np.all(arr[panel.y + 5, panel.x + 1] == palette.agent_colour(BOB))
    # the camera is centred on Bob
    area = layout(app.view).map
    assert _colour_count(arr, area.center, 6, palette.agent_colour(BOB)) > 20
    # Esc closes the panel; a click on empty ground does not follow anyone
    _key(pygame.K_ESCAPE)
    app.step(0)
    assert app.view.follow is None and app.running
    _click((layout(app.view).map.x + 3, layout(app.view).map.y + 3))
    app.step(0)
    assert app.view.follow is None


def test_drag_pans_and_wheel_zooms(app: App) -> None:
    cx, zoom = app.view.cx, app.view.zoom
    _post(type=pygame.MOUSEBUTTONDOWN, pos=(300, 300), button=1)
    _post(type=pygame.MOUSEMOTION, pos=(200, 300), rel=(-100, 0), buttons=(1, 0, 0))
    _post(type=pygame.MOUSEBUTTONUP, pos=(200, 300), button=1)
    app.step(0)
    assert app.view.cx == pytest.approx(cx + 100 / zoom)
    _post(type=pygame.MOUSEWHEEL, x=0, y=1, flipped=False)
    app.step(0)
    assert app.view.zoom == pytest.approx(zoom * 1.2)


def test_live_run_follows_the_newest_tick(tmp_path: Path) -> None:
    writer = write_run(tmp_path / "live", range(0, 20), status="running")
    try:
        app = App(tmp_path / "live", window=False, size=(900, 650))
        assert app.live and app.t == 19
        assert app.snap.live and app.snap.status == "running"
        write_run(tmp_path / "live", range(20, 31), status="running", writer=writer)
        app.update(0.6)
        assert app.t == 30 and app.live
        writer.write_manifest(status="complete")
        app.update(0.6)
        assert not app.live and app.source.status == "complete"
    finally:
        writer.close()


def test_viewer_reads_only_the_store() -> None:
    code = ("import sys, smallville.viewer.app, smallville.viewer.render, smallville.viewer.export; "
            "bad = [m for m in sys.modules if m.startswith(('smallville.engine', 'smallville.runner', "
            "'smallville.cognition'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    code = ("import sys, smallville.cli, smallville.runner, smallville.engine.engine, smallville.store.runstore, "
            "smallville.inspect; print('pygame' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", "the core must not import pygame"


# ---------------------------------------------------------------- command line


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smallville", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"}, timeout=300)


def test_cli_png_writes_a_big_enough_frame(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    p = _cli("replay", str(run), "--headless", "--png", str(out), "--at", "2023-02-13 06:55", "--follow", ANN)
    assert p.returncode == 0, p.stderr
    img = pygame.image.load(str(out))
    assert img.get_width() >= 800 and img.get_height() >= 600


def test_cli_gif(run: Path, tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    out = tmp_path / "anim.gif"
    p = _cli("replay", str(run), "--gif", str(out), "--from", "2023-02-13 06:51", "--to", "2023-02-13 06:59",
             "--fps", "5", "--speed", "60")
    assert p.returncode == 0, p.stderr
    with pil.open(out) as im:
        assert im.n_frames == 41 and im.size == (960, 600)


@pytest.mark.parametrize("args, message", [
    (["--at", "yesterday"], "--at: expected"),
    (["--at", "2023-02-14 09:00"], "outside the run"),
    (["--follow", "Nobody"], "no such resident"),
    (["--headless"], "--png"),
])
def test_cli_errors_are_reported_plainly(run: Path, tmp_path: Path, args, message) -> None:
    extra = ["--png", str(tmp_path / "x.png")] if "--headless" not in args else ["--headless"]
    p = _cli("replay", str(run), *extra, *[a for a in args if a != "--headless"])
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr


def test_replay_main_rejects_a_missing_run(tmp_path: Path) -> None:
    from smallville.errors import RunStoreError

    with pytest.raises(RunStoreError):
        replay_main([str(tmp_path / "nope"), "--png", str(tmp_path / "x.png")])


# ---------------------------------------------------------------- the town


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "worlds" / "town.yaml").exists(), reason="no town world")
def test_town_frame_shows_the_25_residents(tmp_path: Path) -> None:
    run = tmp_path / "town"
    p = _cli("run", "worlds/town.yaml", "--llm", "rules", "--hours", "2.1", "--embedder", "hashing", "--out", str(run),
             "--quiet")
    assert p.returncode == 0, p.stderr
    out = tmp_path / "town.png"
    p = _cli("replay", str(run), "--headless", "--png", str(out), "--at", "2023-02-13 09:00")
    assert p.returncode == 0, p.stderr
    img = pygame.image.load(str(out))
    assert img.get_width() >= 800 and img.get_height() >= 600
    reader = RunReader(run)
    src = SnapshotSource(reader, load_scene(reader))
    snap = src.snapshot(src.tick_of(dt.datetime(2023, 2, 13, 9, 0)))
    assert len(snap.agents) == 25
    view = fit(src.scene, View(1280, 800))
    arr = pygame.surfarray.array3d(img).transpose(1, 0, 2)
    for name, (sx, sy) in agent_positions(snap, view).items():
        assert _colour_count(arr, (sx, sy), sprite_radius(view), palette.agent_colour(name)) > 20, name


# ---------------------------------------------------------------- maps


def test_flat_map_colours_without_a_tileset(source: SnapshotSource) -> None:
    """The tiny ASCII map has no tileset: walls, streets and arenas get distinct flat colours."""
    view = _view(source)
    arr = frame_array(dataclasses.replace(source.snapshot(0), agents=()), view)
    area = layout(view).map

    def px(x: float, y: float):
        sx, sy = to_screen(view, area, x + 0.2, y + 0.2)  # off the tile's grid line and glyphs
        return tuple(int(v) for v in arr[int(sy), int(sx)])

    wall, street, bedroom, kitchen = px(0, 0), px(8, 2), px(2, 2), px(15, 6)
    assert wall == palette.WALL and street == palette.FLOOR
    assert len({wall, street, bedroom, kitchen}) == 4


def test_region_crop_is_applied(tmp_path: Path) -> None:
    files = {"map/map.yaml": (TINY / "map.yaml").read_bytes()}
    meta = {"map_file": "map/map.yaml", "region": [6, 0, 14, 8], "start": START.isoformat(), "tick_seconds": 10}
    w = RunWriter.create(tmp_path / "r", {"run_id": "crop"}, [(ANN, {"name": ANN})], files, meta)
    w.record(SimpleNamespace(tick=0, time=START, digest="0" * 64, events=[], object_changes=[], decisions=[],
                             agents=[{"name": ANN, "x": 9, "y": 3, "action": "", "emoji": "", "place": "",
                                      "target": "", "utterance": None}]))
    w.close(status="complete")
    reader = RunReader(tmp_path / "r")
    src = SnapshotSource(reader, load_scene(reader))
    assert (src.scene.map.width, src.scene.map.height) == (14, 8)
    assert "Ann's House" not in src.scene.map.sectors
    view = _view(src)
    arr = frame_array(src.snapshot(0), view)
    centre = to_screen(view, layout(view).map, 9, 3)
    assert _colour_count(arr, centre, sprite_radius(view), palette.agent_colour(ANN)) > 20


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb-run is not installed")
def test_real_window_under_xvfb(run: Path, tmp_path: Path) -> None:
    script = f"""
import datetime as dt, pygame
from smallville.viewer.app import App
from smallville.viewer.render import layout, agent_positions
from smallville.viewer.hud import timeline_x
app = App({str(run)!r}, speed=16, size=(1000, 700), window=True)
assert pygame.display.get_driver() == "x11", pygame.display.get_driver()
for _ in range(5): app.step(0.1)
assert app.t > 0 and not app.view.paused
pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" ", scancode=44))
app.step(0.1); assert app.view.paused
tr = layout(app.view).track
x = timeline_x(app.snap.timeline, tr, 40)
for t in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
    pygame.event.post(pygame.event.Event(t, pos=(x, tr.centery), button=1))
app.step(0.1); assert abs(app.t - 40) <= 0.5, app.t
pos = agent_positions(app.snap, app.view)["Bob Example"]
for t in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
    pygame.event.post(pygame.event.Event(t, pos=pos, button=1))
app.step(0.1); assert app.view.follow == "Bob Example"
pygame.image.save(pygame.display.get_surface(), {str(tmp_path / "shot.png")!r})
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    p = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", script], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr
    shot = pygame.image.load(str(tmp_path / "shot.png"))
    assert shot.get_size() == (1000, 700)


def _type_text(text: str) -> None:
    for ch in text:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(ch.lower()) if ch.isalpha() else 0,
                                             unicode=ch, mod=0))


def test_i_asks_the_followed_resident_and_the_answer_shows_in_the_panel(app: App) -> None:
    seen = []

    def fake(run_dir, name, question, at):  # what the viewer runs: `python -m smallville interview ... --json`
        seen.append((name, question, at))
        return [sys.executable, "-c", "import json; print(json.dumps([{'answer': 'Writing my novel, as ever.'}]))"]

    app.interview_cmd = fake
    _key(pygame.K_i)
    app.step(0.01)
    assert app.view.asking is None, "I does nothing without a followed resident"
    app.follow(BOB)
    app.view.paused = True
    _key(pygame.K_i)
    app.step(0.01)
    assert app.view.asking == ""
    before = pygame.surfarray.array3d(pygame.display.get_surface()).copy()
    _type_text("How is the book?")
    _key(pygame.K_RETURN)
    app.step(0.01)
    assert seen == [(BOB, "How is the book?", app.snap.time.strftime("%Y-%m-%d %H:%M"))]
    assert app.view.exchange == ("How is the book?", "…")
    deadline = time.time() + 30
    while app.view.exchange[1] == "…" and time.time() < deadline:
        time.sleep(0.05)
        app.step(0.01)
    assert app.view.exchange == ("How is the book?", "Writing my novel, as ever.")
    panel = layout(app.view).panel
    after = pygame.surfarray.array3d(pygame.display.get_surface())
    assert not np.array_equal(before[panel.x:panel.right, panel.y:panel.bottom],
                              after[panel.x:panel.right, panel.y:panel.bottom])
    _key(pygame.K_i)
    _type_text("x")
    _key(pygame.K_ESCAPE)
    app.step(0.01)
    assert app.view.asking is None and app.view.follow == BOB, "Esc cancels the question, not the follow"
