"""Runtime proof of the runnable golden cases that name the gradients they ``watch``.

Any rule's case can use this harness (GF104-GF107 and PT301 keep their own older ones);
every rule from GF108 on must have at least one. A case with ``watch`` is a self-contained script that prints ``FORWARD <repr>``
lines before calling ``backward()`` and ``GRAD <name> <repr or None>`` lines after it.
``case.toml`` says what the broken version does: ``expect_error`` (a text of the backward
error), ``expect_grads_none`` (the ``watch``ed gradients stay None or zero) or
``expect_grads_nonfinite`` (they hold NaN or infinite values, printed as ``nan``/``inf``). The rewrite
must run, give finite nonzero gradients for every watched tensor, and print forward values
bitwise equal to the original's (``repr`` of ``tolist()`` round-trips floats exactly).
A fix documented as equal only within float rounding (e.g. ``math.exp`` -> ``torch.exp``)
says so with ``forward_rel_tol`` in ``case.toml``; its ``FORWARD`` lines then print one
``repr`` each, and the values are compared to that tolerance.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from golden_cases import load_cases, tomllib

CORE = ("GF101", "GF102", "GF103")


def _meta(case) -> dict:
    path = case.folder / "case.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


CASES = [c for c in load_cases() if c.verdict is not None and "watch" in _meta(c)]


def _needs_runtime_cases(code: str) -> bool:
    from gradfix.rule import all_rules

    if not all_rules()[code].fixable:
        return False  # a report-only rule: no rewrite to run
    return code in CORE or (code.startswith("GF1") and int(code[2:]) >= 108)


# One interpreter imports torch once and forks a fresh child per script: importing torch
# in every subprocess made this test take minutes on a loaded machine.
_RUNNER = r"""
import os, runpy, sys, traceback
import torch
results = []
for script, out, err in zip(*[iter(sys.argv[1:])] * 3):
    pid = os.fork()
    if pid == 0:
        os.chdir(os.path.dirname(script))
        for fd, name in ((1, out), (2, err)):
            os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("runs")
    jobs = [case.folder / name for case in CASES for name in ("before.py", "after.py")]
    argv = []
    for n, job in enumerate(jobs):
        argv += [str(job), str(scratch / f"{n}.out"), str(scratch / f"{n}.err")]
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, *argv], capture_output=True, text=True, env=env, timeout=1200)
    codes = [int(line) for line in done.stdout.split()]
    assert len(codes) == len(jobs), done.stderr
    return {
        str(job): Run(code, (scratch / f"{n}.out").read_text(), (scratch / f"{n}.err").read_text())
        for n, (job, code) in enumerate(zip(jobs, codes))
    }


def _forward(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("FORWARD ")]


def _grads(stdout: str) -> dict[str, object]:
    grads = {}
    for line in stdout.splitlines():
        if line.startswith("GRAD "):
            _, name, value = line.split(" ", 2)
            grads[name] = _literal(value)
    return grads


def _literal(text: str):
    """``repr`` of a list of floats, NaN and infinities included (``[nan, -inf]``)."""
    try:
        return ast.literal_eval(text)
    except ValueError:
        return json.loads(re.sub(r"\binf\b", "Infinity", re.sub(r"\bnan\b", "NaN", text)))


def _flat(value) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _flat(item)]
    return [float(value)]


def test_there_are_runnable_cases_for_every_rule_that_needs_them():
    from gradfix.rule import all_rules

    required = {code for code in all_rules() if _needs_runtime_cases(code)}
    assert required <= {case.code for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rewrite_restores_gradients_with_bitwise_equal_forward(case, runs):
    meta = _meta(case)
    watch = meta["watch"]
    assert case.after is not None, "a runnable case needs its rewrite"
    before = runs[str(case.folder / "before.py")]
    after = runs[str(case.folder / "after.py")]

    if "expect_error" in meta:
        assert before.returncode != 0, "the original was expected to fail in backward"
        assert meta["expect_error"] in before.stderr
    elif meta.get("expect_grads_nonfinite"):
        assert before.returncode == 0, before.stderr
        grads = _grads(before.stdout)
        for name in watch:
            assert grads[name] is not None, f"{name} was expected to get a gradient"
            assert not all(math.isfinite(v) for v in _flat(grads[name])), f"{name} was expected to get NaN or inf"
    else:
        assert meta.get("expect_grads_none"), "case.toml needs expect_error, expect_grads_none or expect_grads_nonfinite"
        assert before.returncode == 0, before.stderr
        grads = _grads(before.stdout)
        for name in watch:
            assert grads[name] is None or not any(_flat(grads[name])), f"{name} was expected to get no gradient"

    assert after.returncode == 0, after.stderr
    grads = _grads(after.stdout)
    for name in watch:
        assert grads.get(name) is not None, f"{name} still gets no gradient"
        values = _flat(grads[name])
        assert all(math.isfinite(v) for v in values), f"{name}: non-finite gradient"
        assert any(values), f"{name}: all-zero gradient"

    forward_before, forward_after = _forward(before.stdout), _forward(after.stdout)
    assert forward_before, "the case must print its forward values"
    tolerance = meta.get("forward_rel_tol")
    if tolerance is None:
        assert forward_before == forward_after
    else:
        assert len(forward_before) == len(forward_after)
        for old, new in zip(forward_before, forward_after):
            old_values = _flat(ast.literal_eval(old.split(" ", 1)[1]))
            new_values = _flat(ast.literal_eval(new.split(" ", 1)[1]))
            assert len(old_values) == len(new_values)
            assert all(math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance) for a, b in zip(old_values, new_values))
