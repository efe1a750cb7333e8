"""gradfix doctor on golden programs: broken ones (each cut line marked `# expect: CAUSE PARAMS`)
and correct ones that must give a clean report.

The programs run several cases each, and the doctor runs start together (one fixture),
so the file costs about one torch start-up per run on a loaded machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import assert_one_line_error, gradfix

CASES = Path(__file__).resolve().parent / "doctor_cases"
EXPECT = re.compile(r"#\s*expect:\s*(?P<cause>[\w-]+)\s+(?P<params>[\w.,]+)")

RUNS = {
    "broken": (CASES / "broken", ["cases.py", "--max-backward", "100", "--output-format", "json"]),
    "optim": (CASES / "optim", ["steps.py", "--max-backward", "100", "--output-format", "json"]),
    "clean": (CASES / "clean", ["programs.py", "--max-backward", "100", "--output-format", "json"]),
    "package": (CASES / "pkg", ["--run", "python -m trainer.main", "--output-format", "json"]),
    "no_backward": (CASES, ["no_backward.py"]),
}


@pytest.fixture(scope="module")
def runs():
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    procs = {}
    for name, (cwd, args) in RUNS.items():
        procs[name] = subprocess.Popen([sys.executable, "-m", "gradfix", "doctor", *args], cwd=cwd, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[name] = (proc.returncode, stdout, stderr)
    return out


def _expectations(folder: Path) -> list[tuple[str, int, str, list[str]]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            match = EXPECT.search(line)
            if match and "CAUSE" not in line:
                found.append((str(path.relative_to(folder)), n, match["cause"], match["params"].split(",")))
    return found


def _records(run) -> list[dict]:
    code, stdout, stderr = run
    assert stderr == "", stderr
    return json.loads(stdout)


def _check_expectations(records: list[dict], folder: Path) -> None:
    expectations = _expectations(folder)
    assert len(expectations) >= 1
    for file, line, cause, params in expectations:
        here = [r for r in records if r["file"] == file and r["line"] == line]
        assert here, "nothing reported at %s:%d (expected %s for %s); got %s" % (
            file, line, cause, params, [(r["file"], r["line"], r["cause"], r["parameter"]) for r in records])
        assert {r["cause"] for r in here} == {cause}, (file, line, here)
        named = {r["parameter"] for r in here} | {"%s.%s" % (r.get("owner"), r["parameter"]) for r in here}
        assert set(params) <= named, (file, line, params, named)
    marked = {(file, line) for file, line, _, _ in expectations}
    stray = [r for r in records if r["parameter"] is not None and (r["file"], r["line"]) not in marked]
    assert not stray, stray


def test_broken_programs_name_parameters_cause_and_cut_line(runs):
    code = runs["broken"][0]
    records = _records(runs["broken"])
    assert code == 1
    _check_expectations(records, CASES / "broken")
    for r in records:
        assert set(r) >= {"parameter", "state", "cause", "file", "line", "op", "message", "rule", "backward_call"}
        assert r["state"] in ("none", "zero", "nonfinite", "error")


def test_states_and_details_of_broken_programs(runs):
    records = _records(runs["broken"])
    by_cause = {}
    for r in records:
        by_cause.setdefault(r["cause"], []).append(r)
    # a raising backward is reported as an error, a silent cut by the gradient's state
    assert {r["state"] for r in by_cause["inplace"]} == {"error"}
    assert {r["state"] for r in by_cause["freed-graph"]} == {"error"}
    assert {r["state"] for r in by_cause["sampling"]} == {"zero"}
    assert [r["op"] for r in by_cause["detach"]] == [".detach()", ".detach()"]
    inplace = by_cause["inplace"][0]
    assert inplace["producer_line"] == inplace["line"] - 1  # y = torch.sigmoid(...), then y[:, 0] = 0
    assert "sigmoid" in inplace["message"]
    # static rules on the same line are named
    assert {r["rule"] for r in by_cause["constructor"]} == {"GF101"}
    assert {r["rule"] for r in by_cause["data"]} == {"GF102"}
    assert any(r["rule"] == "GF107" for r in by_cause["sampling"])
    no_grad = [r for r in by_cause["grad-disabled"] if r["parameter"] == "proj.weight"][0]
    assert "@torch.no_grad()" in no_grad["message"]


def test_training_loops_with_optimizers(runs):
    """Carried hidden state, a GAN whose G step detaches, ReLU(inplace=True), NumPy and float() escapes."""
    assert runs["optim"][0] == 1
    records = _records(runs["optim"])
    _check_expectations(records, CASES / "optim")
    inplace = [r for r in records if r["cause"] == "inplace"][0]
    assert "ReLU(inplace=True)" in inplace["message"] and "sigmoid" in inplace["message"]


def test_correct_programs_give_a_clean_report(runs):
    code, stdout, _ = runs["clean"]
    assert _records(runs["clean"]) == []
    assert code == 0


def test_module_run_with_sibling_imports_reports_then_the_crash(runs):
    code = runs["package"][0]
    records = _records(runs["package"])
    assert code == 1
    crash = [r for r in records if r["cause"] == "program-error"]
    assert len(crash) == 1 and "no more batches" in crash[0]["message"]
    assert crash[0]["file"] == os.path.join("trainer", "main.py") and crash[0]["line"] == 21
    _check_expectations([r for r in records if r["parameter"] is not None], CASES / "pkg")


def test_program_without_backward_says_so(runs):
    code, stdout, stderr = runs["no_backward"]
    assert code == 1
    assert "no backward() or autograd.grad call ran" in stdout


def test_text_report_groups_by_cut_with_the_fix_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(
        "import torch\n"
        "w = torch.randn(3, requires_grad=True)\n"
        "b = torch.randn(3, requires_grad=True)\n"
        "terms = torch.tensor([w[0] * 3, w[1] + b[1], w[2] ** 2], requires_grad=True)\n"
        "terms.sum().backward()\n"
    )
    run = gradfix(capsys, "doctor", "train.py")
    assert run.code == 1, run
    lines = run.out.splitlines()
    assert lines[0].startswith("train.py:4: `torch.tensor` copies the values")
    assert lines[1] == "  parameters: w, b (gradient None)"
    assert any("gradfix apply --select GF101 train.py" in line or "rule GF101" in line for line in lines)
    assert lines[-1] == "Found 2 parameters without a usable gradient over 1 backward call."


@pytest.mark.parametrize("args, needle", [
    (["doctor"], "give a script"),
    (["doctor", "missing.py"], "missing.py: no such file"),
    (["doctor", "a.py", "--run", "python a.py"], "not both"),
    (["doctor", "--run", "ls -l"], "--run must start with python"),
    (["doctor", "--run", "python a.py", "--output-format", "sarif"], "unknown --output-format"),
])
def test_usage_errors(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("print(1)\n")
    assert_one_line_error(gradfix(capsys, *args), needle)
