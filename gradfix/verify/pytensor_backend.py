"""The verifier for PyTensor (and legacy Theano) programs.

It runs the original and the rewritten program in separate subprocesses of the user's
Python, under the same seeds, with ``_pytensor_probe.py`` recording what each does (see
there), then decides with the verdicts the torch verifier uses:

- ``verified``: the forward values are bitwise equal and every float shared parameter of
  each ``grad`` call's cost that had no usable gradient before (the call raised, or its
  gradient was null, zero or non-finite) now has a finite, nonzero one;
- ``verified-allclose``: the same, with forward values equal only within tolerance;
- ``forward-mismatch``: a forward value differs;
- ``still-broken``: a parameter broken before is broken after;
- ``regressed``: the rewritten program fails where the original did not, or a parameter
  whose gradient was fine before is broken after;
- ``unverifiable``: the comparison cannot be made (timeout, no ``grad`` call, the original
  fails for another reason, a cost that depends on symbolic inputs ...).

Forward values are the outputs of every call of a compiled function and the value of
each ``grad`` call's cost, compared call by call up to the first call that updates shared
state (after it, e.g. once a random stream's default update has run, the programs may
legitimately diverge). Nothing here imports pytensor: it only runs in the children.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROBE = Path(__file__).with_name("_pytensor_probe.py")
DEFAULT_TIMEOUT = 300.0
# Both runs use the same flags, so any mode gives a fair comparison; this one compiles
# nothing (no C, no numba), which keeps a run to seconds. None keeps the user's config.
DEFAULT_FLAGS = "mode=FAST_COMPILE,cxx="
RTOL, ATOL = 1e-5, 1e-8
BROKEN = {"null", "zero", "nonfinite"}

_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:pytensor|theano)\b", re.M)


def is_pytensor_program(source: str) -> bool:
    """True when ``source`` imports pytensor or theano (and so needs this backend)."""
    return bool(_IMPORT.search(source))


def run_probe(
    path: str,
    python: str = sys.executable,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict | None = None,
    pytensor_flags: str | None = DEFAULT_FLAGS,
) -> dict:
    """Run one program under the probe; the record, or ``{"unavailable": why}``.

    ``pytensor_flags`` is used unless the environment already sets ``PYTENSOR_FLAGS``."""
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONHASHSEED", "0")
    if pytensor_flags is not None:
        child_env.setdefault("PYTENSOR_FLAGS", pytensor_flags)
        child_env.setdefault("THEANO_FLAGS", pytensor_flags)
    with tempfile.TemporaryDirectory(prefix="gradfix-pt-") as tmp:
        out = os.path.join(tmp, "record.json")
        if os.sep in python:  # a relative interpreter path must survive the cwd change
            python = os.path.abspath(python)
        try:
            done = subprocess.run(
                [python, str(PROBE), os.path.abspath(path), out],
                cwd=os.path.dirname(os.path.abspath(path)),
                env=child_env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"unavailable": f"timed out after {timeout:g} s"}
        except OSError as exc:
            return {"unavailable": f"cannot start {python}: {exc.strerror or exc}"}
        if not os.path.exists(out):
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            return {"unavailable": f"the probe did not run: {tail[0]}"}
        with open(out, encoding="utf-8") as handle:
            record = json.load(handle)
        record["stdout"] = done.stdout[-2000:]
        return record


def verify_pytensor_pair(
    old_path: str,
    new_path: str,
    python: str = sys.executable,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict | None = None,
    pytensor_flags: str | None = DEFAULT_FLAGS,
) -> dict:
    """Run both programs and decide. Returns ``verdict``, ``report`` (human text), ``why``,
    the forward comparison (``compared``, ``bitwise``, ``max_abs_diff``), the per-parameter
    gradient states (``before``, ``after``) and both raw records."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        old_future = pool.submit(run_probe, old_path, python, timeout, env, pytensor_flags)
        new_future = pool.submit(run_probe, new_path, python, timeout, env, pytensor_flags)
        old, new = old_future.result(), new_future.result()
    result = decide(old, new)
    result["report"] = _report(old_path, new_path, old, new, result)
    result["records"] = {"old": old, "new": new}
    return result


# Deciding ---------------------------------------------------------------------------------
def decide(old: dict, new: dict) -> dict:
    """The verdict for two probe records (pure: no processes)."""
    result: dict = {"verdict": "unverifiable", "why": "", "compared": 0, "bitwise": True, "max_abs_diff": 0.0,
                    "before": {}, "after": {}}
    for name, record in (("original", old), ("rewritten", new)):
        if "unavailable" in record:
            result["why"] = f"the {name} program could not be run: {record['unavailable']}"
            return result
    if old.get("error") and not old["error"].get("in_grad"):
        result["why"] = f"the original program fails before its gradients are taken: {_error_text(old['error'])}"
        return result
    if new.get("error") and not new["error"].get("in_grad"):
        result.update(verdict="regressed", why=f"the rewritten program fails: {_error_text(new['error'])}")
        return result
    if not old.get("grads") or not new.get("grads"):
        result["why"] = "the program never calls grad: nothing says which cost and parameters to check"
        return result

    mismatch = _compare_forward(old, new, result)
    if mismatch:
        result.update(verdict="forward-mismatch", why=mismatch)
        return result
    if result["compared"] == 0:
        result["why"] = "no forward value could be compared (no compiled function call before the first grad)"
        return result

    still, regressed, unevaluated = [], [], []
    for index, (before, after) in enumerate(zip(old["grads"], new["grads"]), start=1):
        states_before = _states(before)
        states_after = _states(after)
        result["before"][index], result["after"][index] = states_before, states_after
        for param, state in states_after.items():
            was = states_before.get(param, "absent")
            if state == "built":
                unevaluated.append(param)
            elif state in BROKEN or state.startswith("error") or state == "raised":
                (still if was in BROKEN or was == "raised" else regressed).append(f"{param} ({state})")
    if len(new["grads"]) < len(old["grads"]):
        regressed.append("fewer grad calls than the original")
    if regressed:
        result.update(verdict="regressed", why="broken after the rewrite: " + ", ".join(regressed))
    elif still:
        result.update(verdict="still-broken", why="still without a usable gradient: " + ", ".join(still))
    elif unevaluated:
        result["why"] = "the gradients build but the cost depends on symbolic inputs, so they were not evaluated: " + ", ".join(unevaluated)
    else:
        result["verdict"] = "verified" if result["bitwise"] else "verified-allclose"
    return result


def _states(call: dict) -> dict[str, str]:
    """Per parameter: ok / null / zero / nonfinite / disconnected / built / error..., and
    ``raised`` for every parameter of a grad call that raised when no finer state is known."""
    states = dict(call.get("params") or {})
    if call.get("error"):
        for param, state in states.items():
            if state in ("ok", "built"):
                states[param] = "raised"
    return {p: s for p, s in states.items() if s != "disconnected"}


def _forward_values(record: dict) -> list[tuple[str, list[dict]]]:
    """(label, outputs) of the calls made before shared state was updated."""
    values = []
    for index, call in enumerate(record.get("functions", []), start=1):
        if call["after_update"]:
            break
        values.append((f"compiled function call {index}", call["outputs"]))
    for index, call in enumerate(record.get("grads", []), start=1):
        if not call.get("after_update") and call.get("cost") is not None:
            values.append((f"cost of grad call {index}", [call["cost"]]))
    return values


def _compare_forward(old: dict, new: dict, result: dict) -> str:
    """'' when equal (bitwise or within tolerance, noted in ``result``), else why not."""
    old_values, new_values = dict(_forward_values(old)), dict(_forward_values(new))
    for label in old_values.keys() & new_values.keys():
        a_outputs, b_outputs = old_values[label], new_values[label]
        if len(a_outputs) != len(b_outputs):
            return f"{label}: {len(a_outputs)} outputs before, {len(b_outputs)} after"
        for position, (a, b) in enumerate(zip(a_outputs, b_outputs)):
            result["compared"] += 1
            if a["sha256"] == b["sha256"]:
                continue
            result["bitwise"] = False
            if a["shape"] != b["shape"] or a["values"] is None or b["values"] is None:
                return f"{label}, output {position}: shape or dtype differs ({a['shape']} {a['dtype']} vs {b['shape']} {b['dtype']})"
            diff = _max_abs_diff(a["values"], b["values"])
            result["max_abs_diff"] = max(result["max_abs_diff"], diff)
            if not all(_close(x, y) for x, y in zip(a["values"], b["values"])):
                return f"{label}, output {position}: values differ (max abs diff {diff:.3g})"
    return ""


def _close(x: float, y: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= ATOL + RTOL * abs(y)


def _max_abs_diff(a: list[float], b: list[float]) -> float:
    diffs = [abs(x - y) for x, y in zip(a, b) if not (math.isnan(x) or math.isnan(y))]
    return max(diffs, default=0.0)


# Reporting --------------------------------------------------------------------------------
def _error_text(error: dict) -> str:
    return f"{error['type']}: {error['message']}"


def _report(old_path: str, new_path: str, old: dict, new: dict, result: dict) -> str:
    lines = [f"{old_path} -> {new_path}: {result['verdict']}"]
    if result["why"]:
        lines.append(f"  {result['why']}")
    for label, record, states in (("before", old, result["before"]), ("after", new, result["after"])):
        for index, call in enumerate(record.get("grads") or [], start=1):
            text = f"  {label}: grad call {index}"
            if call.get("error"):
                text += f" raised {_error_text(call['error'])}"
            params = states.get(index) or {}
            good = sorted(p for p, s in params.items() if s == "ok")
            bad = sorted(f"{p} ({s})" for p, s in params.items() if s != "ok")
            if good:
                text += f"; finite nonzero gradient: {', '.join(good)}"
            if bad:
                text += f"; no usable gradient: {', '.join(bad)}"
            lines.append(text)
    if result["compared"]:
        how = "bitwise equal" if result["bitwise"] else f"equal within rtol={RTOL:g} (max abs diff {result['max_abs_diff']:.3g})"
        count = result["compared"]
        lines.append(f"  forward: {count} value{'s' if count != 1 else ''} compared, {how}")
    return "\n".join(lines)
