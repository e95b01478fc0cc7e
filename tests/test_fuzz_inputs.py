"""Property test: mutated world, persona and map files either load or fail with a
ConfigError that names the file — never any other exception (no traceback for users)."""

import json
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA
from smallville.errors import ConfigError
from smallville.world.world import load_world
from tests_support import minimal_tiled_map

FILES = ["world.yaml", "ann.yaml", "bob.yaml", "map.yaml", "tiled.tmj", "tiled_world.yaml"]

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(-5, 5), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["25:99", "2023-13-45 07:00", "Cafe:nowhere", "nobody.yaml", "", "#", "-1", "1e309"]),
)


def paths(obj, prefix=()):
    """Every key path inside a nested dict/list."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out += paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out += paths(v, prefix + (i,))
    return out


def parent_of(obj, path):
    for p in path[:-1]:
        obj = obj[p]
    return obj


@st.composite
def mutation(draw):
    name = draw(st.sampled_from(FILES))
    kind = draw(st.sampled_from(["delete", "retype", "rename", "number", "truncate", "swap_text"]))
    return name, kind, draw(st.randoms(use_true_random=False)), draw(junk), draw(st.text(min_size=1, max_size=8))


def make_case(tmp: Path) -> Path:
    case = tmp / "case"
    if case.exists():
        shutil.rmtree(case)
    shutil.copytree(DATA / "tiny", case)
    (case / "tiled.tmj").write_text(json.dumps(minimal_tiled_map()))
    (case / "tiled_world.yaml").write_text(yaml.safe_dump({
        "name": "t", "start": "2023-02-13 07:00", "end": "2023-02-13 09:00", "map": "tiled.tmj",
        "residents": [{"persona": "solo.yaml", "spawn": "door"}]}))
    (case / "solo.yaml").write_text(yaml.safe_dump({
        "name": "Solo", "age": 20, "traits": ["calm"], "background": "b", "occupation": "o", "home": "House:room",
        "lifestyle": {"wake": "07:00", "sleep": "22:00",
                      "routine": [{"start": "07:00", "end": "22:00", "activity": "reading", "place": "House:room",
                                   "object": "bed"}]}}))
    return case


def apply(case: Path, name: str, kind: str, rnd, value, text) -> Path:
    f = case / name
    raw = f.read_text()
    if kind == "truncate":
        f.write_text(raw[: rnd.randrange(len(raw))])
    else:
        doc = json.loads(raw) if name.endswith(".tmj") else yaml.safe_load(raw)
        ps = paths(doc)
        p = rnd.choice(ps)
        parent = parent_of(doc, p)
        if kind == "delete":
            del parent[p[-1]]
        elif kind == "retype":
            parent[p[-1]] = value
        elif kind == "rename" and isinstance(parent, dict):
            parent[text] = parent.pop(p[-1])
        elif kind == "number":
            nums = [q for q in ps if isinstance(parent_of(doc, q)[q[-1]], (int, float))]
            if nums:
                q = rnd.choice(nums)
                parent_of(doc, q)[q[-1]] = rnd.choice([-1, 0, 10**9, -(10**9), 3.5])
        elif kind == "swap_text":
            strs = [q for q in ps if isinstance(parent_of(doc, q)[q[-1]], str)]
            if strs:
                q = rnd.choice(strs)
                parent_of(doc, q)[q[-1]] = text
        f.write_text(json.dumps(doc) if name.endswith(".tmj") else yaml.safe_dump(doc, allow_unicode=True))
    return case / ("tiled_world.yaml" if name in ("tiled.tmj", "tiled_world.yaml", "solo.yaml") else "world.yaml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=mutation())
def test_mutated_inputs_load_or_fail_cleanly(tmp_path, m):
    name, kind, rnd, value, text = m
    case = make_case(tmp_path)
    world = apply(case, name, kind, rnd, value, text)
    try:
        w = load_world(world)
    except ConfigError as e:
        assert e.file and str(case) in e.file, e
        assert str(e)
    else:
        assert w.residents  # a loadable mutation is a usable world


def test_unmutated_cases_load(tmp_path):
    case = make_case(tmp_path)
    assert load_world(case / "world.yaml").residents
    assert load_world(case / "tiled_world.yaml").map.spawns == {"door": (3, 2)}
