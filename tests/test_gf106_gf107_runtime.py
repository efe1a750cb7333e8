"""Run the runnable GF106/GF107 golden pairs and check what each rewrite claims.

Every runnable case (``verdict = "verified"``) prints ``FWD <values>`` for the forward values
up to the first optimizer step and ``GRAD [<|grad| sums, or None>]`` for the leaves the bug
starves. The befores run in one subprocess and the afters in another (torch is imported once
per side), each script under its own ``torch.manual_seed`` after a reseed by the driver.

Claims checked per case:
- the original is broken: a GRAD entry is None or 0.0, it raised (seed 004 raises
  "Trying to backward through the graph a second time" at iteration 2), or it printed
  ``STALE True`` (with ``retain_graph=True`` it runs on a value computed before step 1);
- the rewrite is fixed: it ran to the end, every GRAD entry is finite and non-zero, and no
  ``STALE True``;
- forward values are bitwise equal: the original's FWD lines equal the rewrite's first ones
  (``repr`` of Python floats round-trips float32/float64 values exactly).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from golden_cases import load_cases

CODES = ("GF106", "GF107")
RUNNABLE = [c for c in load_cases() if c.code in CODES and c.verdict == "verified" and c.after is not None]

_DRIVER = r"""
import contextlib, io, json, runpy, sys
import torch
results = {}
for path in sys.argv[1:]:
    torch.manual_seed(0)
    out = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
    except BaseException as exc:  # the original programs are expected to fail
        error = f"{type(exc).__name__}: {exc}"
    results[path] = {"stdout": out.getvalue(), "error": error}
print(json.dumps(results))
"""


def _run_all(paths: list[str]) -> dict[str, dict]:
    completed = subprocess.run(
        [sys.executable, "-c", _DRIVER, *paths], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    befores = [str(c.folder / "before.py") for c in RUNNABLE]
    with ThreadPoolExecutor(2) as pool:
        before_future = pool.submit(_run_all, befores)
        after_future = pool.submit(_run_all, [str(c.folder / "after.py") for c in RUNNABLE])
        return {**before_future.result(), **after_future.result()}


def _lines(stdout: str, tag: str) -> list[str]:
    return [line[len(tag) + 1 :] for line in stdout.splitlines() if line.startswith(tag + " ")]


def _grads(stdout: str) -> list:
    lines = _lines(stdout, "GRAD")
    return [eval(line, {"__builtins__": {}}, {"nan": math.nan, "inf": math.inf}) for line in lines]  # lists of floats/None


def test_there_are_runnable_cases_for_each_rule():
    for code in CODES:
        assert len([c for c in RUNNABLE if c.code == code]) >= 4, code


@pytest.mark.parametrize("case", RUNNABLE, ids=[c.id for c in RUNNABLE])
def test_rewrite_fixes_gradients_and_keeps_forward_bitwise(case, runs):
    before = runs[str(case.folder / "before.py")]
    after = runs[str(case.folder / "after.py")]

    # The rewrite runs to the end and every starved leaf now has a finite, non-zero grad.
    assert after["error"] is None, after["error"]
    after_grads = _grads(after["stdout"])
    assert after_grads, "the rewritten script must print GRAD"
    for grads in after_grads:
        assert all(g is not None and math.isfinite(g) and g != 0.0 for g in grads), grads
    assert "True" not in _lines(after["stdout"], "STALE")

    # The original was broken: a None/zero grad, or a crash.
    before_grads = _grads(before["stdout"])
    broken = (
        before["error"] is not None
        or any(g is None or g == 0.0 for grads in before_grads for g in grads)
        or "True" in _lines(before["stdout"], "STALE")
    )
    assert broken, "the original script shows no gradient problem"

    # Forward values up to the first step are bitwise equal.
    before_fwd = _lines(before["stdout"], "FWD")
    after_fwd = _lines(after["stdout"], "FWD")
    assert before_fwd, "the original script must print FWD before it fails"
    assert after_fwd[: len(before_fwd)] == before_fwd


def test_seed_004_shape_raises_backward_twice(runs):
    crashing = [c for c in RUNNABLE if c.code == "GF106" and runs[str(c.folder / "before.py")]["error"]]
    assert crashing, "at least one GF106 original must crash at iteration 2"
    for case in crashing:
        error = runs[str(case.folder / "before.py")]["error"]
        assert "Trying to backward through the graph a second time" in error, (case.id, error)
