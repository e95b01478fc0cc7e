"""``multiverse``: three seeds of the small world for one game hour on the rules baseline, in
local worker processes and as tasks of a real local Ray; every metric gets a mean, a 95 %
bootstrap CI and a verdict; an interrupted multiverse resumes; ``compare`` of runs and of
multiverses."""

import json
import shutil

import pytest

from conftest import run_cli
from smallville.analysis import stats
from smallville.store.runstore import RunReader

ARGS = ("worlds/small.yaml", "--runs", "3", "--hours", "1", "--llm", "rules", "--embedder", "hashing", "--quiet")


def check_summary(out, seeds=(7, 8, 9)):
    s = json.loads((out / "summary.json").read_text())
    assert s["runs"] == 3 and s["seeds"] == list(seeds) and s["failed"] == []
    assert s["statistics"]["resamples"] == stats.RESAMPLES
    m = s["metrics"]
    for name in ("diffusion.party.end", "network_density.start", "network_density.end", "gatherings.count",
                 "llm.decisions", "llm.decisions_per_resident_per_day"):
        assert name in m, sorted(m)
    for name, v in m.items():
        assert v["n"] == 3 and len(v["values"]) == 3, name
        lo, hi = v["ci95"]
        assert lo <= v["mean"] <= hi and min(v["values"]) <= lo and hi <= max(v["values"]), (name, v)
        assert v["verdict"] in ("convergent", "divergent")
    for seed in seeds:  # each run is a normal, complete run directory
        r = RunReader(out / "runs" / f"seed-{seed}")
        assert r.manifest["status"] == "complete" and r.manifest["seed"] == seed
        assert r.manifest["game_end"] == "2023-02-13 08:00"
        r.close()
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and (out / "report.md").exists()
    return s


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("mv") / "local"
    r = run_cli("multiverse", *ARGS, "--workers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_local_workers_give_a_ci_for_every_metric(local):
    s = check_summary(local)
    # the seeds differ: the runs are not copies of one another
    digests = {RunReader(local / "runs" / f"seed-{k}").manifest["digest"] for k in (7, 8, 9)}
    assert len(digests) == 3
    assert s["metrics"]["network_density.start"]["verdict"] == "convergent"


def test_an_interrupted_multiverse_resumes_skipping_complete_runs(local, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(local, out)
    (out / "summary.json").unlink()
    shutil.rmtree(out / "runs" / "seed-9")  # never finished ...
    m = json.loads((out / "runs" / "seed-8" / "manifest.json").read_text())
    m["status"] = "interrupted"  # ... and stopped half way
    (out / "runs" / "seed-8" / "manifest.json").write_text(json.dumps(m))
    kept = (out / "runs" / "seed-7" / "run.db").stat().st_mtime_ns
    r = run_cli("multiverse", *ARGS, "--workers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = check_summary(out)
    assert (out / "runs" / "seed-7" / "run.db").stat().st_mtime_ns == kept  # skipped, not run again
    before = json.loads((local / "summary.json").read_text())
    assert s["metrics"] == before["metrics"]  # same seeds, same runs, same numbers


@pytest.mark.slow  # starting Ray takes half a minute on two cores
def test_a_real_local_ray_gives_the_same_summary(local, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    r = run_cli("multiverse", *ARGS, "--workers", "2", "--ray", "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = check_summary(out)
    assert s["metrics"] == json.loads((local / "summary.json").read_text())["metrics"]


def test_compare_two_runs_and_two_multiverses(local, tmp_path):
    r = run_cli("compare", str(local / "runs" / "seed-7"), str(local / "runs" / "seed-8"), "--json")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert c["kind"] == "runs" and c["a"]["seed"] == 7 and c["b"]["seed"] == 8
    d = c["metrics"]["llm.decisions"]
    assert d["difference"] == d["b"] - d["a"]
    r = run_cli("compare", str(local), str(local), "--json")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert c["kind"] == "multiverses"
    for name, v in c["metrics"].items():  # a multiverse against itself: no difference, a CI around zero
        assert v["difference"] == 0 and v["ci95"][0] <= 0 <= v["ci95"][1], name
    r = run_cli("compare", str(local), str(local / "runs" / "seed-7"))
    assert r.returncode == 2 and "compare two runs or two multiverses" in r.stderr


def test_bad_options_exit_2(tmp_path):
    r = run_cli("multiverse", "worlds/small.yaml", "--runs", "0", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "--runs" in r.stderr
    r = run_cli("multiverse", "worlds/nope.yaml", "--runs", "2", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_bootstrap_is_seeded_and_the_difference_ci_covers_a_shift():
    a = [1.0, 2.0, 3.0, 4.0]
    assert stats.summarize(a) == stats.summarize(a)
    d = stats.difference(a, [x + 10 for x in a])
    assert d["difference"] == 10 and d["excludes_zero"] and d["ci95"][0] < 10 < d["ci95"][1]
    assert stats.verdict([5, 5, 5]) == "convergent" and stats.verdict([1, 5, 9]) == "divergent"
