"""Issue 9: the resident's typed working state, a digest over the whole simulation state,
line of sight, seats, and the defects found in review."""

import asyncio
import json
import sqlite3
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, run_cli
from smallville.cognition.embedding import EmbeddingCache, HashingEmbedder
from smallville.cognition.memory import MemoryDelta, MemoryStreams
from smallville.cognition.rules import RulesPolicy
from smallville.cognition.state import STATE_VERSION, ReactMemo, ResidentState, StateError, Unrated
from smallville.engine.engine import Engine, Snapshot
from smallville.errors import RunStoreError
from smallville.store.runstore import RunReader
from smallville.world.clock import long_date
from smallville.world.sight import Sight, line_steps
from smallville.world.world import load_world

TINY = ROOT / "tests" / "data" / "tiny" / "world.yaml"

# ---------------------------------------------------------------- typed state

names = st.text(string.ascii_letters + " ", min_size=1, max_size=12)
small = st.integers(-10**6, 10**6)
block = st.fixed_dictionaries({"id": st.text(max_size=5), "start": small, "end": small, "activity": names,
                               "place": names, "object": st.none() | names, "event": st.none() | names})
plans = st.none() | st.fixed_dictionaries({"day": st.text(max_size=10), "wake": small, "sleep": small,
                                           "revision": small, "blocks": st.lists(block, max_size=4)})
queues = st.none() | st.fixed_dictionaries({"block": st.text(max_size=5), "until": small, "steps": st.lists(
    st.fixed_dictionaries({"start": small, "end": small, "description": names}), max_size=3)})
steps = st.lists(st.fixed_dictionaries({"start": small, "end": small, "description": names}), max_size=3)
aheads = st.none() | st.fixed_dictionaries({"day": st.text(max_size=10), "block": st.text(max_size=5),
                                            "start": small, "until": small, "steps": steps})
next_plans = st.none() | st.fixed_dictionaries({"day": st.text(max_size=10), "plan": plans, "steps": aheads})
states = st.builds(
    ResidentState, plan=plans, queue=queues, ahead=aheads, next_plan=next_plans, salient=st.lists(names, max_size=3),
    told=st.dictionaries(names, st.lists(names, max_size=3), max_size=3),
    react=st.builds(ReactMemo, last=st.none() | small, pairs=st.dictionaries(names, small, max_size=3)),
    unrated=st.builds(Unrated, ids=st.lists(st.integers(0, 10**6), max_size=5), since=st.none() | small,
                      rated=st.none() | small),
    known_places=st.lists(names, max_size=5), perceived=st.dictionaries(names, small, max_size=5),
    routine_day=st.none() | st.text(max_size=10), routine_offset=small)


@settings(max_examples=200, deadline=None)
@given(states)
def test_random_typed_states_round_trip_exactly(state):
    d = state.to_dict()
    back = ResidentState.from_dict(json.loads(json.dumps(d)))
    assert back == state and back.to_dict() == d and back.digest() == state.digest()


def test_a_changed_field_changes_the_state_digest():
    a = ResidentState(known_places=["A:b"])
    b = ResidentState(known_places=["A:b"])
    assert a.digest() == b.digest()
    b.react.pairs["X"] = 1
    assert a.digest() != b.digest()


def test_unknown_state_versions_and_keys_are_clear_errors():
    d = ResidentState().to_dict()
    with pytest.raises(StateError, match="version 99 is not"):
        ResidentState.from_dict({**d, "version": 99})
    with pytest.raises(StateError, match="unknown key"):
        ResidentState.from_dict({**d, "mood": "happy"})
    with pytest.raises(RunStoreError, match="checkpoint version 1 is not"):
        Snapshot.from_json(json.dumps({"tick": 3, "agents": []}) and json.dumps({"version": 1}))


def test_a_checkpoint_keeps_work_under_way_and_reads_version_2(tmp_path):
    out = tmp_path / "r"  # off the hour: work for later is under way at the end (rules: ratings, steps ahead)
    assert run_cli("run", str(TINY), "--hours", "0.6", "--llm", "rules", "--embedder", "hashing", "--out", str(out),
                   "--quiet").returncode == 0
    reader = RunReader(out)
    try:
        text = reader.checkpoint_at(reader.last_tick())[1]
    finally:
        reader.close()
    snap = Snapshot.from_json(text)
    assert snap.later["jobs"] and Snapshot.from_json(snap.to_json()).to_dict() == snap.to_dict()
    d = json.loads(text)
    old = Snapshot.from_json(json.dumps({**{k: v for k, v in d.items() if k != "later"}, "version": 2}))
    assert old.later is None  # a version 2 checkpoint had nothing under way
    bad = {**d, "later": {"seq": 3, "jobs": [{"agent": "Ann", "kind": "rating"}]}}
    with pytest.raises(RunStoreError, match="malformed work for later"):
        Snapshot.from_json(json.dumps(bad))


def test_an_old_checkpoint_is_a_clear_error_on_resume(tmp_path):
    out = tmp_path / "r"
    assert run_cli("run", str(TINY), "--hours", "0.2", "--llm", "rules", "--embedder", "hashing", "--out", str(out),
                   "--quiet").returncode == 0
    con = sqlite3.connect(out / "run.db")
    (tick, text), = con.execute("SELECT tick, state FROM checkpoints ORDER BY tick DESC LIMIT 1").fetchall()
    d = json.loads(text)
    d["version"] = STATE_VERSION + 40
    con.execute("UPDATE checkpoints SET state = ? WHERE tick = ?", (json.dumps(d), tick))
    con.commit()
    con.close()
    r = run_cli("run", "--resume", str(out), "--hours", "0.1", "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"checkpoint version {STATE_VERSION + 40} is not" in r.stderr


# ---------------------------------------------------------------- the digest


def engine(seed=3, memory=True):
    w = load_world(TINY)
    mem = MemoryStreams.for_world(w, EmbeddingCache(HashingEmbedder())) if memory else None
    return Engine(w, RulesPolicy({r.persona.name: r.persona for r in w.residents}), seed, memory=mem)


def steps(e, n):
    async def go():
        return [await e.step() for _ in range(n)]
    return asyncio.run(go())


def test_one_changed_importance_changes_the_digest():
    a, b = engine(), engine()
    steps(a, 200), steps(b, 200)
    assert a.state.digest == b.state.digest
    node = b.memory.stream("Ann Example").nodes[-1]
    b.memory.rescore("Ann Example", node.id, node.importance % 10 + 1)  # one rating, nothing else
    ra, rb = steps(a, 1)[0], steps(b, 1)[0]
    assert ra.agents == rb.agents and ra.object_changes == rb.object_changes  # nothing visible differs
    assert ra.digest != rb.digest


def test_the_working_state_is_in_the_digest():
    a, b = engine(), engine()
    steps(a, 50), steps(b, 50)
    b.residents["Bob Example"].told["Ann Example"] = ["some news"]
    b._dirty.add("Bob Example")  # what the engine marks when it hands the state to a decision
    assert steps(a, 1)[0].digest != steps(b, 1)[0].digest


def test_a_memory_delta_of_ratings_only_is_not_dropped():
    assert MemoryDelta(rescored=[("Ann", 3, 7)])
    assert not MemoryDelta()


@pytest.mark.slow
def test_reflection_and_no_reflection_runs_have_different_digests(tmp_path):
    """The pair from the issue: 8 game hours of the town, with reflection and without."""
    digests, reflections = [], []
    for args in ((), ("--ablate", "reflection")):
        out = tmp_path / ("plain" if not args else "noreflect")
        r = run_cli("run", "worlds/town.yaml", "--hours", "8", "--llm", "rules", "--embedder", "hashing", "--seed",
                    "7", "--out", str(out), "--quiet", *args)
        assert r.returncode == 0, r.stderr
        reader = RunReader(out)
        try:
            digests.append(reader.tick_info(reader.last_tick())["digest"])
            reflections.append(reader.con.execute(
                "SELECT COUNT(*) FROM memories WHERE kind = 'thought' AND depth > 0").fetchone()[0])
        finally:
            reader.close()
    assert reflections[0] > 0 and reflections[1] == 0
    assert digests[0] != digests[1]


# ---------------------------------------------------------------- line of sight


def test_line_steps_lie_between_the_ends():
    for dx in range(-8, 9):
        for dy in range(-8, 9):
            if (dx, dy) != (0, 0):
                pts = line_steps(dx, dy)
                assert len(pts) == max(abs(dx), abs(dy)) - 1
                assert all(min(0, dx) <= x <= max(0, dx) and min(0, dy) <= y <= max(0, dy) for x, y in pts)
                assert [(-x, -y) for x, y in line_steps(-dx, -dy)] == pts  # rounding half away from zero is odd


def test_sight_is_symmetric_and_blocked_by_walls():
    w = load_world(TINY)
    s = Sight(w.map.walkable, 8)
    walk = w.map.walkable
    tiles = [(x, y) for y in range(w.map.height) for x in range(w.map.width) if walk[y, x]]
    for ax, ay in tiles:
        for bx, by in tiles:
            assert s.can_see(ax, ay, bx, by) == s.can_see(bx, by, ax, ay)
    assert not s.can_see(1, 3, 1, 5)  # Ann's bedroom / Bob's bedroom: a wall between, 2 tiles apart
    assert s.can_see(6, 1, 11, 3)  # across the open street
    assert s.can_see(3, 3, 8, 3)  # through Ann's door
    assert not s.can_see(1, 1, 6, 1)  # the bedroom wall


def test_in_view_lists_the_visible_tiles_nearest_first():
    w = load_world(TINY)
    s = Sight(w.map.walkable, 3)
    for ay in range(w.map.height):
        for ax in range(w.map.width):
            view = s.in_view(ax, ay)
            want = {(abs(bx - ax) + abs(by - ay), bx - ax, by - ay) for by in range(w.map.height)
                    for bx in range(w.map.width) if s.can_see(ax, ay, bx, by)}
            assert set(view) == want and len(view) == len(want)
            assert [d for d, _, _ in view] == sorted(d for d, _, _ in view)
    assert s.in_view(1, 1) is s.in_view(1, 1)  # made once


def test_residents_on_either_side_of_a_wall_do_not_perceive_each_other():
    e = engine()
    ann, bob = e.state.agent("Ann Example"), e.state.agent("Bob Example")
    ann.x, ann.y, bob.x, bob.y = 1, 3, 1, 5  # two tiles apart, a wall between
    assert not e.observe(ann, 0, e.now).nearby and not e.observe(bob, 0, e.now).nearby
    assert not e.sight.can_see_many([1, 1], [3, 5], [1, 1], [5, 3]).any()  # the batched check agrees
    ann.x, ann.y, bob.x, bob.y = 6, 1, 11, 3  # the open street, 7 tiles apart
    assert [s.name for s in e.observe(ann, 0, e.now).nearby] == ["Bob Example"]
    assert e.sight.can_see_many([6, 11], [1, 3], [11, 6], [3, 1]).tolist() == [True, True]


def test_spatial_memory_learns_only_what_it_sees():
    e = engine()
    ann = e.state.agent("Ann Example")
    mind = e.residents["Ann Example"]
    mind.known_places.clear()
    ann.x, ann.y = 1, 1  # in her bedroom: the cafe kitchen is 12 tiles off and behind walls
    e._learn_places(ann)
    assert mind.known_places == ["Ann's House:bedroom"]


# ---------------------------------------------------------------- seats


def test_an_object_holds_its_capacity_and_the_others_say_it_is_taken(tmp_path):
    """Both residents want the one bed of Ann's bedroom at once: one gets it, the other a free
    tile of the room, and its action says so; never the same tile."""
    from smallville.cognition.interface import Action

    e = engine(memory=False)
    ann, bob = e.state.agent("Ann Example"), e.state.agent("Bob Example")
    act = Action("napping", "Ann's House:bedroom", e.now.replace(hour=11), object="bed", object_state="in use")
    ev_a = e._apply(ann, act, e._lockstep(1))
    ev_b = e._apply(bob, act, e._lockstep(1))
    assert ann.object == "Ann's House:bedroom:bed" and ann.action == "napping"
    assert bob.object is None and bob.action == "napping (the bed is taken)"
    assert bob.goal != ann.goal and e.map.arena_index("Ann's House:bedroom") == e.map.arena_grid[bob.goal[1],
                                                                                             bob.goal[0]]
    assert [x["kind"] for x in ev_b] == ["object_taken", "action"] and "object_taken" not in [x["kind"] for x in ev_a]


def test_capacity_defaults_and_the_tiled_property(tmp_path):
    from smallville.world.maps import default_capacity, load_map

    assert default_capacity("bed") == 1 and default_capacity("cafe table") == 4 and default_capacity("bench") == 3
    assert default_capacity("stove") == 1
    doc = json.loads((ROOT / "worlds" / "town.tmj").read_text())
    layer = next(l for l in doc["layers"] if l["name"] == "objects")
    i = next(i for i, o in enumerate(layer["objects"]) if o["name"] == "bed")
    layer["objects"][i]["properties"] = [{"name": "capacity", "type": "int", "value": 2}]
    (tmp_path / "tileset.png").write_bytes((ROOT / "worlds" / "tileset.png").read_bytes())
    (tmp_path / "m.tmj").write_text(json.dumps(doc))
    m = load_map(tmp_path / "m.tmj")
    beds = [j for j, o in enumerate(m.objects) if o.name == "bed"]
    assert m.objects[beds[0]].capacity == 2 and len(m.seats(beds[0])) == 2
    assert all(m.objects[j].capacity == 1 and len(m.seats(j)) == 1 for j in beds[1:])
    layer["objects"][i]["properties"] = [{"name": "capacity", "type": "int", "value": 0}]
    (tmp_path / "m.tmj").write_text(json.dumps(doc))
    from smallville.errors import ConfigError
    with pytest.raises(ConfigError, match=r"properties\[0\]\.value.*positive"):
        load_map(tmp_path / "m.tmj")


# ---------------------------------------------------------------- defects


def test_run_directories_with_uri_characters_are_readable(tmp_path):
    out = tmp_path / "a #1? 100%"
    assert run_cli("run", str(TINY), "--hours", "0.1", "--llm", "rules", "--embedder", "hashing", "--out", str(out),
                   "--quiet").returncode == 0
    r = run_cli("inspect", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tick"] == 36


def test_day_and_month_names_do_not_come_from_the_locale():
    import datetime as dt
    import re

    assert long_date(dt.date(2023, 2, 14)) == "Tuesday February 14"
    # no locale-dependent strftime directive is left in the package
    bad = []
    for p in (ROOT / "smallville").rglob("*.py"):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"%[aAbBcpx]", line) and ("strftime" in line or re.search(r"\{[^}]*:[^}]*%[aAbB]", line)):
                bad.append(f"{p.name}:{i}")
    assert bad == []
