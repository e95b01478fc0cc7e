"""The tick loop on the tiny world: determinism, movement, records, plain-data state."""

import asyncio
import json
import sqlite3

from conftest import run_cli
from smallville.cognition.rules import RulesPolicy
from smallville.engine.engine import Engine
from smallville.engine.engine import Snapshot
from smallville.world.world import load_world


def make_engine(world_path, seed=3):
    w = load_world(world_path)
    return Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), seed)


def run_steps(engine, n):
    return asyncio.run(_steps(engine, n))


async def _steps(engine, n):
    return [await engine.step() for _ in range(n)]


def test_same_seed_same_log_step_by_step(tiny_world):
    a, b = make_engine(tiny_world), make_engine(tiny_world)
    for ra, rb in zip(run_steps(a, 400), run_steps(b, 400)):
        assert ra.digest == rb.digest and ra.agents == rb.agents and ra.events == rb.events


def test_different_seed_differs(tiny_world):
    a, b = make_engine(tiny_world, 1), make_engine(tiny_world, 2)
    run_steps(a, 700), run_steps(b, 700)
    assert a.state.digest != b.state.digest


def test_agents_move_one_tile_per_tick_without_teleporting(tiny_world):
    e = make_engine(tiny_world)
    prev = {a.name: (a.x, a.y) for a in e.state.agents}
    moved = 0
    for _ in range(900):
        run_steps(e, 1)
        for a in e.state.agents:
            d = abs(a.x - prev[a.name][0]) + abs(a.y - prev[a.name][1])
            assert d <= 1 and e.map.walkable[a.y, a.x]
            moved += d
            prev[a.name] = (a.x, a.y)
    assert moved > 10  # they did walk to work


def test_routine_takes_agents_to_work(tiny_world):
    e = make_engine(tiny_world)
    run_steps(e, 6 * 60 * 2)  # 06:50 -> 08:50
    ann = e.state.agent("Ann Example")
    assert ann.action == "serving coffee" and e.map.address_at(ann.x, ann.y) == "Cafe:cafe:counter"
    assert e.state.object_states == {"Cafe:cafe:counter": "in use: serving coffee",
                                     "Cafe:cafe:table": "in use: having coffee"}


def test_state_is_plain_data_round_trip(tiny_world):
    e = make_engine(tiny_world)
    run_steps(e, 300)
    snap = e.snapshot()
    text = snap.to_json()
    back = Snapshot.from_json(text)
    assert back == snap and back.to_json() == text
    json.loads(text)  # plain JSON
    # resuming from the snapshot continues exactly like the original
    w = load_world(tiny_world)
    resumed = Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), 0, snapshot=back)
    run_steps(e, 200), run_steps(resumed, 200)
    assert resumed.state.digest == e.state.digest


def test_cli_run_records_every_tick(tiny_world, tmp_path):
    out = tmp_path / "r"
    r = run_cli("run", str(tiny_world), "--hours", "1", "--seed", "5", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    con = sqlite3.connect(out / "run.db")
    assert con.execute("SELECT COUNT(*), MIN(tick), MAX(tick) FROM ticks").fetchone() == (361, 0, 360)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["status"] == "complete" and manifest["backend"] == "rules"
    r2 = run_cli("inspect", str(out), "--json")
    view = json.loads(r2.stdout)
    assert view["tick"] == 360 and view["time"] == "2023-02-13T07:50:00"
    assert view["digest"] == manifest["digest"]
    assert {a["name"] for a in view["agents"]} == {"Ann Example", "Bob Example"}
    assert view["llm"]["calls"] == 0 and view["llm"]["decisions"] > 0


def test_inspect_at_past_moment(tiny_world, tmp_path):
    out = tmp_path / "r"
    assert run_cli("run", str(tiny_world), "--hours", "2", "--out", str(out), "--quiet").returncode == 0
    early = json.loads(run_cli("inspect", str(out), "--at", "2023-02-13 07:00", "--json").stdout)
    late = json.loads(run_cli("inspect", str(out), "--json").stdout)
    assert early["tick"] == 60 and late["tick"] == 720
    assert early["digest"] != late["digest"]
    bob = {a["name"]: a for a in early["agents"]}["Bob Example"]
    assert bob["action"] == "sleeping"
    agent = json.loads(run_cli("inspect", str(out), "--agent", "Bob Example", "--json").stdout)
    assert agent["action"] == "having coffee" and agent["recent_actions"][0]["description"] == "having coffee"
    bad = run_cli("inspect", str(out), "--at", "2023-02-12 07:00")
    assert bad.returncode == 2 and "before the run's start" in bad.stderr


def test_refuses_to_overwrite_a_run(tiny_world, tmp_path):
    out = tmp_path / "r"
    assert run_cli("run", str(tiny_world), "--hours", "0.1", "--out", str(out), "--quiet").returncode == 0
    before = (out / "run.db").read_bytes()
    r = run_cli("run", str(tiny_world), "--hours", "0.1", "--out", str(out), "--quiet")
    assert r.returncode == 2 and "already stored" in r.stderr
    assert (out / "run.db").read_bytes() == before


def test_spatial_memory_starts_with_known_places_and_grows(tiny_world):
    e = make_engine(tiny_world)
    bob = e.residents["Bob Example"]
    assert bob.known_places == ["Bob's House:bedroom", "Cafe:cafe"]
    recs = run_steps(e, 800)  # Bob walks to the cafe and passes the kitchen
    learned = [ev["data"]["place"] for r in recs for ev in r.events
               if ev["kind"] == "place_learned" and ev["agent"] == "Bob Example"]
    assert "Cafe:kitchen" in learned and "Cafe:kitchen" in bob.known_places
    # an agent that never moves learns nothing new
    e2 = make_engine(tiny_world)
    e2.vision = 0
    run_steps(e2, 200)
    assert e2.residents["Bob Example"].known_places == ["Bob's House:bedroom", "Cafe:cafe"]
