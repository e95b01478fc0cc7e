"""``analyze --by-interview`` (issue 20, part 1): every resident asked, the paper's way.

A rules town run (seed 7, hashing embedder, to 20:00 on the party's day) and its counterfactual
without the party seed (``worlds/town_no_party.yaml``):

- by interview, nobody is aware of a tracked fact that its memory does not hold (the rules
  answers name the memories they come from): awareness by interview <= awareness by memory;
- a resident that never heard of the party says so, and is counted as not aware;
- every exchange is recorded in the run's inbox.db with its other interviews;
- without the party seed nobody is aware of it by interview.
"""

import json
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, run_cli
from smallville.analysis.interviews import denies
from smallville.measure import analyze_by_interview

pytestmark = pytest.mark.slow
UNTIL = "2023-02-14 20:00"


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    base = tmp_path_factory.mktemp("byinterview")
    procs = {}
    for key, world in (("party", "worlds/town.yaml"), ("no_party", "worlds/town_no_party.yaml")):
        procs[key] = subprocess.Popen(
            [sys.executable, "-m", "smallville", "run", world, "--llm", "rules", "--seed", "7", "--until", UNTIL,
             "--embedder", "hashing", "--out", str(base / key), "--quiet"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for key, p in procs.items():
        p.wait(timeout=900)
        assert p.returncode == 0, p.stderr.read()
    return {key: base / key for key in procs}


@pytest.fixture(scope="module")
def party(towns):
    return analyze_by_interview(str(towns["party"]), ["2023-02-14 12:00"])


def test_awareness_by_interview_is_at_most_awareness_by_memory(party):
    moments = party["by_interview"]["moments"]
    assert [m["time"] for m in moments] == ["2023-02-14 12:00", "2023-02-14 20:00"]
    for m in moments:
        for name, f in m["facts"].items():
            assert f["asked"] == 25 and set(f["aware"]) <= set(f["aware_by_memory"]), (m["time"], name)
        for ev in m["events"]:
            assert ev["asked"] == 24 and set(ev["aware"]) <= set(ev["aware_by_memory"]), (m["time"], ev["name"])
    end = moments[-1]
    assert end["facts"]["party"]["count"] >= 8 and end["facts"]["election"]["count"] >= 2
    assert end["facts"]["party"]["count"] >= moments[0]["facts"]["party"]["count"]
    nw = end["network"]
    assert 0 < nw["density_mutual"] <= nw["density_either"] <= 1 and nw["edges_mutual"] <= nw["edges_either"]


def test_a_resident_who_never_heard_says_so(party):
    end = party["by_interview"]["moments"][-1]
    f = end["facts"]["party"]
    never = sorted(set(f["not_aware"]) - set(f["aware_by_memory"]))
    assert never, "everyone heard: the test needs someone who did not"
    for a in end["answers"]:
        if a["about"] == "fact" and a["key"] == "party" and a["agent"] in never:
            assert a["knows"] is False and denies(a["answer"]), a


def test_the_exchanges_are_recorded_with_the_runs_interviews(towns, party):
    con = sqlite3.connect(towns["party"] / "inbox.db")
    n = con.execute("SELECT COUNT(*) FROM interviews").fetchone()[0]
    con.close()
    assert n >= sum(len(m["answers"]) for m in party["by_interview"]["moments"])


def test_without_the_party_nobody_is_aware_of_it_by_interview(towns):
    r = run_cli("analyze", str(towns["no_party"]), "--by-interview", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    (end,) = out["by_interview"]["moments"]
    assert end["facts"]["party"]["asked"] == 25 and end["facts"]["party"]["count"] == 0
    assert out["events"] == [] and end["events"] == []
