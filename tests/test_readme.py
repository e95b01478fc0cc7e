"""README's commands are the contract: the Quick start's two commands, CI running the test
command word for word, and the example commands working as written."""

import re
import shlex

from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def code_blocks(section: str) -> list[list[str]]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [[ln for ln in b.strip().splitlines() if ln.strip()] for b in re.findall(r"```sh\n(.*?)```", body, re.S)]


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    blocks = code_blocks("Quick start")
    assert [len(b) for b in blocks] == [1, 1]
    install_run, install_test = blocks[0][0], blocks[1][0]
    assert install_run.startswith("pip install") and install_run.endswith("python -m smallville run worlds/town.yaml")
    assert install_test.startswith("pip install") and install_test.endswith("python -m pytest")
    ci = (ROOT / ".ci/run").read_text().splitlines()
    assert install_test in ci


def test_example_commands_run(tmp_path):
    synopsis, examples = code_blocks("Commands")[:2]
    lines = [ln for ln in examples if ln.startswith("python -m smallville ")]
    assert len(lines) >= 3
    for line in lines:
        args = shlex.split(line.replace("replays/example", str(tmp_path / "example")))[3:]
        r = run_cli(*args)
        assert r.returncode == 0, (line, r.stderr)
        assert "Traceback" not in r.stderr


def test_quick_start_run_command(tmp_path):
    """The Quick start's run, as written (its run directory is removed afterwards)."""
    cmd = code_blocks("Quick start")[0][0].split("&&")[-1].strip()
    args = shlex.split(cmd)[3:]
    r = run_cli(*args, "--quiet")
    assert r.returncode == 0, r.stderr
    run_dir = ROOT / r.stdout.strip().splitlines()[-1]
    try:
        view = run_cli("inspect", str(run_dir), "--json")
        assert view.returncode == 0 and '"time": "2023-02-14T23:00:00"' in view.stdout
    finally:
        import shutil

        if run_dir.is_relative_to(ROOT / "replays"):
            shutil.rmtree(run_dir, ignore_errors=True)
