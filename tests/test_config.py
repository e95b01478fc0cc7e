"""World, persona and map validation: bad input names the file and key and exits 2."""

from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from smallville.errors import ConfigError
from smallville.world.world import load_world


def edit_yaml(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def load_error(world: Path) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        load_world(world)
    return e.value


def test_tiny_world_loads(tiny_world):
    w = load_world(tiny_world)
    assert [r.persona.name for r in w.residents] == ["Ann Example", "Bob Example"]
    assert {a.address for a in w.map.arenas} == {"Ann's House:bedroom", "Bob's House:bedroom", "Cafe:cafe", "Cafe:kitchen"}
    assert w.map.address_at(*w.residents[0].start) == "Ann's House:bedroom:bed"


def test_unknown_key(tiny_world):
    edit_yaml(tiny_world, lambda d: d.update(sed=3))
    e = load_error(tiny_world)
    assert e.file == str(tiny_world) and e.key == "sed" and "unknown key" in e.detail and "seed" in e.detail


def test_unknown_nested_key(tiny_world):
    edit_yaml(tiny_world, lambda d: d["residents"][1].update(spwan="street"))
    e = load_error(tiny_world)
    assert e.key == "residents[1].spwan" and "persona, spawn" in e.detail


def test_wrong_type(tiny_world):
    edit_yaml(tiny_world, lambda d: d.update(tick_seconds="ten"))
    e = load_error(tiny_world)
    assert e.key == "tick_seconds" and "integer" in e.detail


def test_out_of_range(tiny_world):
    edit_yaml(tiny_world, lambda d: d.setdefault("perception", {}).update(vision_radius=-1))
    assert load_error(tiny_world).key == "perception.vision_radius"


def test_end_before_start(tiny_world):
    edit_yaml(tiny_world, lambda d: d.update(end="2023-02-12 12:00"))
    e = load_error(tiny_world)
    assert e.key == "end" and "after start" in e.detail


def test_missing_persona_file(tiny_world):
    edit_yaml(tiny_world, lambda d: d["residents"].append({"persona": "nobody.yaml"}))
    e = load_error(tiny_world)
    assert e.file == str(tiny_world) and e.key == "residents[2].persona" and "nobody.yaml" in e.detail


def test_persona_error_names_persona_file(tiny_world):
    persona = tiny_world.parent / "bob.yaml"
    edit_yaml(persona, lambda d: d["lifestyle"]["routine"][1].update(place="Cafe:attic"))
    e = load_error(tiny_world)
    assert e.file == str(persona) and e.key == "lifestyle.routine[1].place" and "Cafe:attic" in e.detail


def test_persona_bad_clock(tiny_world):
    persona = tiny_world.parent / "ann.yaml"
    edit_yaml(persona, lambda d: d["lifestyle"].update(wake="25:00"))
    e = load_error(tiny_world)
    assert e.file == str(persona) and e.key == "lifestyle.wake" and "HH:MM" in e.detail


def test_duplicate_resident(tiny_world):
    edit_yaml(tiny_world, lambda d: d["residents"].append({"persona": "ann.yaml"}))
    e = load_error(tiny_world)
    assert e.key == "residents[2].persona" and "already resident" in e.detail


def test_unknown_spawn(tiny_world):
    edit_yaml(tiny_world, lambda d: d["residents"][0].update(spawn="moon"))
    e = load_error(tiny_world)
    assert e.key == "residents[0].spawn" and "street" in e.detail


def test_unreachable_spawn(tiny_world):
    m = tiny_world.parent / "map.yaml"
    # wall off Bob's house: its door at (5, 6) becomes a wall
    def wall(d):
        rows = d["tiles"].rstrip("\n").split("\n")
        rows[6] = rows[6][:5] + "#" + rows[6][6:]
        d["tiles"] = "\n".join(rows) + "\n"
    edit_yaml(m, wall)
    e = load_error(tiny_world)
    assert "cannot be reached" in e.detail


def test_missing_map_layer(tmp_path):
    import json
    from tests_support import minimal_tiled_map

    doc = minimal_tiled_map()
    doc["layers"] = [l for l in doc["layers"] if l["name"] != "arenas"]
    p = tmp_path / "m.tmj"
    p.write_text(json.dumps(doc))
    from smallville.world.maps import load_map

    with pytest.raises(ConfigError) as e:
        load_map(p)
    assert e.value.file == str(p) and e.value.key == "layers" and "'arenas'" in e.value.detail


def test_malformed_yaml(tiny_world):
    tiny_world.write_text("name: tiny\nresidents: [unclosed\n")
    e = load_error(tiny_world)
    assert e.key == "" and "malformed YAML" in e.detail and "line" in e.detail


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d.update(seed="abc"), "seed"),
    (lambda d: d.pop("map"), "map"),
])
def test_cli_exits_2_without_traceback(tiny_world, mutate, key):
    edit_yaml(tiny_world, mutate)
    r = run_cli("run", str(tiny_world), "--hours", "0.1", "--out", str(tiny_world.parent / "out"), "--quiet")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert str(tiny_world) in r.stderr and key in r.stderr
    assert not (tiny_world.parent / "out").exists()


def test_cli_missing_world_file(tmp_path):
    r = run_cli("run", str(tmp_path / "nope.yaml"), "--quiet")
    assert r.returncode == 2 and "nope.yaml" in r.stderr and "not found" in r.stderr and "Traceback" not in r.stderr
