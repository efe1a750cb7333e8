"""The runnable GF104/GF105 golden cases, run for real: before and after in subprocesses.

Each runnable case prints ``forward <repr>`` lines (values computed before the first
optimizer step) and ``grad <name> <repr or None>`` lines. The rewrite must keep every
forward line bitwise equal, and turn a missing gradient (or a crash) into a finite,
nonzero one.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from golden_cases import load_cases

CASES = [
    c for c in load_cases() if c.code in ("GF104", "GF105") and c.verdict == "verified" and c.after is not None
]


# One interpreter runs every script (importing torch once keeps the suite fast); each
# script seeds torch itself, and runs as __main__ with its own globals and stdout.
_RUNNER = r"""
import contextlib, io, json, runpy, sys, warnings
warnings.simplefilter("ignore")
results = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_path(path, run_name="__main__")
        except Exception as error:  # the broken version may raise; that is data
            rc = 1
            print("error", type(error).__name__)
    results[path] = [rc, out.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def runs():
    paths = [str(c.folder / name) for c in CASES for name in ("before.py", "after.py")]
    done = subprocess.run([sys.executable, "-c", _RUNNER, *paths], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _parse(result) -> tuple[int, list[str], list[tuple[str, str]]]:
    returncode, stdout = result
    forward, grads = [], []
    for line in stdout.splitlines():
        head, _, rest = line.partition(" ")
        if head == "forward":
            forward.append(rest)
        elif head == "grad":
            name, _, value = rest.partition(" ")
            grads.append((name, value))
    return returncode, forward, grads


def _flat(value):
    if isinstance(value, list):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def test_runnable_cases_exist():
    codes = {c.code for c in CASES}
    assert codes == {"GF104", "GF105"}
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rewrite_restores_gradient_with_equal_forward(case, runs):
    before_rc, before_forward, before_grads = _parse(runs[str(case.folder / "before.py")])
    after_rc, after_forward, after_grads = _parse(runs[str(case.folder / "after.py")])

    assert after_rc == 0, "the rewritten script must run"
    assert after_forward, "runnable cases print their forward values"
    # Forward values up to the first optimizer step are bitwise equal (same repr of floats).
    assert before_forward == after_forward
    # Before: the gradient is missing (None) or the script crashed.
    assert before_rc != 0 or any(value == "None" for _, value in before_grads)
    # After: every reported gradient is present, finite and nonzero.
    assert after_grads
    for name, value in after_grads:
        assert value != "None", f"{name}.grad is still None"
        numbers = list(_flat(eval(value)))  # a repr of nested float lists
        assert all(math.isfinite(x) for x in numbers), name
        assert any(x != 0 for x in numbers), name
