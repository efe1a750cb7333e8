"""The pre-commit hooks in .pre-commit-hooks.yaml, run by the real pre-commit (`pre-commit try-repo`).

The hook repository is a committed snapshot of this checkout's package and hooks, so the
hooks tested are the working tree's.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]')")
yaml = pytest.importorskip("yaml", reason="PyYAML (a pre-commit dependency) is not installed")
if shutil.which("git") is None:  # pragma: no cover - git is everywhere the suite runs
    pytest.skip("git is not installed; pre-commit needs it", allow_module_level=True)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from sources import BAD, CLEAN, FIXED  # noqa: E402
from test_notebook import BROKEN, SETUP, code, notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# What `pip install .` of the hook repository needs (pyproject.toml names the README).
PACKAGE_FILES = ["pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "gradfix", "codemods"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "gradfix tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gradfix tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(folder: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A git repository holding this checkout's package and hooks, and its commit."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in PACKAGE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "snapshot")
    return repo, _git(repo, "rev-parse", "HEAD")


def _project(folder: Path) -> Path:
    folder.mkdir()
    (folder / "bad.py").write_text(BAD)
    (folder / "clean.py").write_text(CLEAN)
    (folder / "notes.txt").write_text("torch.tensor([a[0], a[1]]) in prose\n")
    (folder / "fit.ipynb").write_text(json.dumps(notebook([code(SETUP), code(BROKEN)]), indent=1) + "\n")
    _git(folder, "init", "-q")
    _git(folder, "add", "-A")
    return folder


# name -> (hook id or None for every hook in the file, files passed)
SCENARIOS = {
    "check-findings": ("gradfix-check", ["bad.py", "fit.ipynb", "clean.py"]),
    "both-on-findings": (None, ["bad.py", "fit.ipynb"]),
    "both-on-clean": (None, ["clean.py"]),
    "both-on-no-python": (None, ["notes.txt"]),
}


def _has_build_backend() -> bool:
    """Whether this environment has the setuptools that pyproject.toml builds with."""
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0]) >= 68
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False


@dataclass
class Outcome:
    project: Path
    returncode: int
    output: str


@pytest.fixture(scope="module")
def outcomes(hook_repo, tmp_path_factory) -> dict[str, Outcome]:
    """Run every scenario's `pre-commit try-repo` at once, each in its own repository.

    try-repo builds the hook environment afresh (a virtualenv, `pip install` of the hook
    repository) on every call. Downloading gradfix's dependencies each time would make this
    minutes of waiting on the package index, so they are offered from this test's own
    environment on PYTHONPATH: pip finds them installed and installs gradfix alone.
    """
    repo, rev = hook_repo
    paths = sysconfig.get_paths()
    site = os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull, "PRE_COMMIT_COLOR": "never", "PYTHONPATH": site}
    if _has_build_backend():  # the same for the build backend: no isolated build environment to download
        env["PIP_NO_BUILD_ISOLATION"] = "false"
    running = {}
    for name, (hook, files) in SCENARIOS.items():
        project = _project(tmp_path_factory.mktemp("runs") / name)
        command = [sys.executable, "-m", "pre_commit", "try-repo", str(repo), *([hook] if hook else []), "--ref", rev, "--files", *files]
        process = subprocess.Popen(command, cwd=project, env={**env, "PRE_COMMIT_HOME": str(project.parent / "home")},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        running[name] = (project, process)
    results = {}
    for name, (project, process) in running.items():
        output, _ = process.communicate(timeout=900)
        results[name] = Outcome(project, process.returncode, output)
    return results


def test_hooks_file_declares_both_hooks():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"gradfix-check", "gradfix-apply"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert {"python", "jupyter"} <= set(hook["types_or"])
    assert hooks["gradfix-check"]["entry"].split()[:2] == ["gradfix", "check"]
    assert hooks["gradfix-apply"]["entry"].split()[:2] == ["gradfix", "apply"]
    # `language: python` installs the package without extras: torch must not be a dependency.
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in dependencies if re.match(r"torch\b", d)]


def test_check_hook_fails_on_findings_and_names_only_those_files(outcomes):
    run = outcomes["check-findings"]
    assert run.returncode == 1, run.output
    assert "gradfix check" in run.output and "Failed" in run.output
    assert "bad.py:4:5: GF101 [*]" in run.output and "fit.ipynb:cell 2:3:5: GF101" in run.output
    assert "clean.py:" not in run.output
    assert (run.project / "bad.py").read_text() == BAD  # check never writes


def test_apply_hook_fixes_the_files_and_check_then_passes(outcomes):
    run = outcomes["both-on-findings"]
    # pre-commit fails a hook that changed files, so the user reviews and stages the fix.
    assert run.returncode == 1, run.output
    assert "files were modified by this hook" in run.output
    assert (run.project / "bad.py").read_text() == FIXED
    assert "torch.stack([a0, a1])" in (run.project / "fit.ipynb").read_text()
    # gradfix-check runs after gradfix-apply (hooks in id order) on the fixed files: it passes.
    assert re.search(r"gradfix check\.+Passed", run.output), run.output


def test_both_hooks_pass_a_clean_file(outcomes):
    run = outcomes["both-on-clean"]
    assert run.returncode == 0, run.output
    assert re.search(r"gradfix apply\.+Passed", run.output) and re.search(r"gradfix check\.+Passed", run.output)
    assert (run.project / "clean.py").read_text() == CLEAN


def test_no_python_file_is_a_clean_no_op(outcomes):
    run = outcomes["both-on-no-python"]
    assert run.returncode == 0, run.output
    assert run.output.count("(no files to check)Skipped") == 2, run.output
    assert (run.project / "notes.txt").read_text().startswith("torch.tensor")
