"""The persistent cache of check results: hits, misses, bypass, cleaning, two runs sharing it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest

import gradfix
import gradfix.cache as cache
import gradfix.engine as engine
from gradfix.engine import Mode, Settings, process_file
from gradfix.rule import Rule

from cli_runner import gradfix as run_gradfix


class CountsRuns(Rule):
    """Reports every call of ``f``; counts how often it ran (a hit must not run it)."""

    trigger = re.compile(r"\bf\(")
    runs = 0

    def detect(self, analysis):
        type(self).runs += 1
        for call in analysis.calls():
            if isinstance(call.func, ast.Name) and call.func.id == "f":
                yield self.finding(call, "a call of f")


CountsRuns.code, CountsRuns.name, CountsRuns.summary = "ZZ951", "counts-runs", "test rule"  # not registered


@pytest.fixture
def counted(tmp_path):
    CountsRuns.runs = 0
    path = tmp_path / "m.py"
    path.write_text("x = f(1)\n\ny = f(2)\n")
    return path


def settings(directory, **changes):
    return Settings((CountsRuns,), cache_dir=str(directory), **changes)


def found(result):
    return [(d.code, d.line, d.column, d.message) for d in result.diagnostics], result.error


def test_a_hit_gives_the_same_result_without_running_the_rules(tmp_path, counted):
    first = process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    second = process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    assert found(first) == found(second) == ([("ZZ951", 1, 5, "a call of f"), ("ZZ951", 3, 5, "a call of f")], None)
    assert CountsRuns.runs == 1


def test_the_folder_marks_itself_and_ignores_itself(tmp_path, counted):
    process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    folder = tmp_path / "c"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    entries = [f for _, _, files in os.walk(folder) for f in files if f not in ("CACHEDIR.TAG", ".gitignore")]
    assert len(entries) == 1 and not any(f.endswith(".tmp") for f in entries)


def test_changed_content_is_a_miss(tmp_path, counted):
    process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    counted.write_text("x = f(1)\n")
    result = process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    assert CountsRuns.runs == 2 and len(result.diagnostics) == 1


def test_other_settings_are_a_miss(tmp_path, counted):
    process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    process_file(str(counted), settings(tmp_path / "c", unsafe_fixes=True), Mode.CHECK)
    process_file(str(counted), settings(tmp_path / "c", max_file_bytes=1000), Mode.CHECK)
    assert CountsRuns.runs == 3
    process_file(str(counted), Settings((), cache_dir=str(tmp_path / "c")), Mode.CHECK)  # other rules
    assert process_file(str(counted), Settings((), cache_dir=str(tmp_path / "c")), Mode.CHECK).diagnostics == []


def test_another_version_or_rule_code_is_a_miss(tmp_path, counted, monkeypatch):
    process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    monkeypatch.setattr(engine, "_CACHES", {})
    monkeypatch.setattr(cache, "_CODE_FINGERPRINT", None)
    monkeypatch.setattr(gradfix, "__version__", "99.0")
    process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    assert CountsRuns.runs == 2


def test_fixes_and_unreadable_entries_are_never_served(tmp_path, counted):
    process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    process_file(str(counted), settings(tmp_path / "c"), Mode.DIFF)  # fixes are always computed
    assert CountsRuns.runs == 2
    for root, _, files in os.walk(tmp_path / "c"):
        for name in files:
            if name not in ("CACHEDIR.TAG", ".gitignore"):
                with open(os.path.join(root, name), "w") as handle:
                    handle.write("{not json")
    result = process_file(str(counted), settings(tmp_path / "c"), Mode.CHECK)
    assert CountsRuns.runs == 3 and len(result.diagnostics) == 2


def test_no_settings_directory_means_no_cache(tmp_path, counted):
    process_file(str(counted), Settings((CountsRuns,)), Mode.CHECK)
    process_file(str(counted), Settings((CountsRuns,)), Mode.CHECK)
    assert CountsRuns.runs == 2


BROKEN = "import torch\na = torch.nn.Parameter(torch.rand(2))\nb = torch.tensor([a[0], a[1]])\n"


def test_cli_caches_by_default_and_no_cache_bypasses(tree, capsys, monkeypatch):
    (tree / "m.py").write_text(BROKEN)
    folder = tree / "cache-here"
    monkeypatch.setenv("GRADFIX_CACHE_DIR", str(folder))
    bypass = run_gradfix(capsys, "check", "--no-cache", "m.py")
    assert bypass.code == 1 and "GF101" in bypass.out and not folder.exists()
    cold = run_gradfix(capsys, "check", "m.py")
    warm = run_gradfix(capsys, "check", "m.py")
    assert cold.out == warm.out == bypass.out and (folder / "CACHEDIR.TAG").exists()


def test_clean_removes_the_cache_and_refuses_other_folders(tree, capsys):
    (tree / "m.py").write_text(BROKEN)
    run_gradfix(capsys, "check", "--cache-dir", "c", "m.py")
    assert (tree / "c").is_dir()
    removed = run_gradfix(capsys, "clean", "--cache-dir", "c")
    assert removed.code == 0 and not (tree / "c").exists()
    assert run_gradfix(capsys, "clean", "--cache-dir", "c").code == 0  # nothing to remove
    (tree / "precious").mkdir()
    (tree / "precious" / "keep.txt").write_text("mine")
    refused = run_gradfix(capsys, "clean", "--cache-dir", "precious")
    assert refused.code == 2 and (tree / "precious" / "keep.txt").exists()


def test_two_runs_sharing_the_cache(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    for n in range(24):  # enough files for the parallel engine in each run
        (project / f"m{n}.py").write_text(BROKEN + f"c{n} = torch.tensor([a[0], {n}.0 * a[1]])\n")
    shared = tmp_path / "shared"
    command = [sys.executable, "-m", "gradfix", "check", "--isolated", "--no-progress", "--output-format", "json",
               "--cache-dir", str(shared), str(project)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [1, 1], outputs
    warm = subprocess.run(command, capture_output=True, timeout=300)
    assert outputs[0][0] == outputs[1][0] == warm.stdout and warm.stdout.count(b'"GF101"') == 48
    left = [f for _, _, files in os.walk(shared) for f in files if f.endswith(".tmp")]
    assert left == []
