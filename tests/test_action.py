"""action.yml, the GitHub composite action: its steps' scripts run here as the runner runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import put
from sources import BAD, CLEAN

yaml = pytest.importorskip("yaml", reason="PyYAML (a pre-commit dependency) is not installed")

ROOT = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="the action's steps are bash scripts; bash is not installed")


def _action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _step(name: str) -> dict:
    (step,) = [s for s in _action()["runs"]["steps"] if s["name"] == name]
    return step


def _run_check_step(workspace: Path, runner_temp: Path, paths: str, args: str = "") -> subprocess.CompletedProcess:
    """The check step's script with the inputs as the runner passes them (environment variables)."""
    step = _step("gradfix check")
    assert set(step["env"]) == {"GRADFIX_PATHS", "GRADFIX_ARGS"}
    env = {**os.environ, "RUNNER_TEMP": str(runner_temp), "GRADFIX_PATHS": paths, "GRADFIX_ARGS": args}
    return subprocess.run([BASH, "-e", "-c", step["run"]], cwd=workspace, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def runner_temp(tmp_path) -> Path:
    """RUNNER_TEMP with the virtual environment the install step makes: here, this test's gradfix."""
    temp = tmp_path / "runner-temp"
    bin_dir = temp / "gradfix-venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "gradfix"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gradfix "$@"\n')
    script.chmod(0o755)
    return temp


def test_action_is_a_composite_action_with_inputs():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"paths", "args", "python"} <= set(action["inputs"])
    assert action["inputs"]["paths"]["default"] == "."
    install = _step("Install gradfix")
    assert "${{" not in install["run"] and "${{" not in _step("gradfix check")["run"]  # no input in script text
    assert "pip install" in install["run"] and "torch" not in install["run"]
    assert subprocess.run([BASH, "-n", "-c", install["run"]]).returncode == 0


def test_check_step_reports_findings_as_annotations(tmp_path, runner_temp):
    workspace = tmp_path / "repo"
    put(workspace, "src/bad.py", BAD)
    put(workspace, "src/clean.py", CLEAN)
    put(workspace, "other/bad.py", BAD)
    run = _run_check_step(workspace, runner_temp, "src")
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error title=gradfix (GF101),file=src/bad.py,line=4,col=5,")
    # Several paths and options split into words; --exit-zero reports without failing the job.
    both = _run_check_step(workspace, runner_temp, "src/bad.py other", "--select GF1 --exit-zero")
    assert both.returncode == 0 and both.stdout.count("::error title=gradfix (GF101)") == 2
    clean = _run_check_step(workspace, runner_temp, "src/clean.py")
    assert (clean.returncode, clean.stdout) == (0, "")


def test_readme_editor_recipes_match_the_output(tree, capsys):
    """The VS Code problem matcher and the PyCharm output filter of the README parse real findings."""
    import json
    import re

    from cli_runner import gradfix

    readme = (ROOT / "README.md").read_text()
    tasks = json.loads(re.search(r"```json\n(\{\n  \"version\": \"2.0.0\".*?)\n```", readme, re.S).group(1))
    matcher = tasks["tasks"][0]["problemMatcher"]
    put(tree, "pkg/train.py", BAD)
    out = gradfix(capsys, "check", "--no-progress", ".").out.splitlines()[0]
    match = re.match(matcher["pattern"]["regexp"], out)
    assert match, out
    pattern = matcher["pattern"]
    assert (match[pattern["file"]], match[pattern["line"]], match[pattern["column"]], match[pattern["code"]]) == (
        os.path.join(".", "pkg", "train.py"), "4", "5", "GF101"
    )
    assert "`$FILE_PATH$:$LINE$:$COLUMN$: .*`" in readme
    assert 'cmd = { "gradfix", "server" }' in readme
