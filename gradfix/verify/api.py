"""What the CLI calls: verify a rewrite of a file, a given pair, or library code via ``--run``.

Nothing here writes into the user's tree: rewrites live in memory and are served to the
child from a scratch folder (see ``runner``). gradfix itself never imports torch.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Iterable

from gradfix.verify.compare import PASSING, UNCHANGED, UNVERIFIABLE, Decision, decide
from gradfix.verify.record import Run
from gradfix.verify.runner import DEFAULT_TIMEOUT, RunSpec, Target, UsageError, parse_run_command, run_specs, script_target

__all__ = [
    "DEFAULT_TIMEOUT", "FileVerdict", "UsageError", "passed", "verify_file", "verify_pair",
    "verify_paths", "verify_rewrites",
]


@dataclass
class FileVerdict:
    path: str
    decision: Decision
    new_path: str | None = None  # verify OLD NEW: the given rewrite
    rewritten: str | None = None  # the rewritten text (verify FILE / --run / apply --verify)
    fixed_codes: list[str] = field(default_factory=list)  # rule codes whose fixes made the rewrite
    original_run: Run | None = None
    rewritten_run: Run | None = None
    command: str = ""

    @property
    def verdict(self) -> str:
        return self.decision.verdict

    def as_dict(self) -> dict:
        out = {"path": self.path}
        if self.new_path:
            out["new_path"] = self.new_path
        out.update(self.decision.as_dict())
        if self.fixed_codes:
            out["rules"] = self.fixed_codes
        if self.command:
            out["command"] = self.command
        for name, run in (("original", self.original_run), ("rewritten", self.rewritten_run)):
            if run is not None:
                end = (run.trace.end or {}) if run.trace else {}
                out.setdefault("runs", {})[name] = {
                    "returncode": run.returncode, "seconds": round(run.seconds, 3), "timed_out": run.timed_out,
                    "backward_calls": run.trace.total_calls if run.trace else 0, "status": end.get("status"),
                }
        return out


def passed(verdict: FileVerdict | str) -> bool:
    """True for ``verified``, ``verified-allclose`` and ``unchanged`` (nothing to prove)."""
    value = verdict if isinstance(verdict, str) else verdict.verdict
    return value in PASSING or value == UNCHANGED


def _unchanged(path: str) -> FileVerdict:
    return FileVerdict(path, Decision(UNCHANGED, "gradfix made no change to this file; nothing to verify"))


def _notebook(path: str) -> FileVerdict:
    return FileVerdict(path, Decision(UNVERIFIABLE, "notebooks are not run by the verifier",
                                      advice="export the notebook to a script (jupyter nbconvert --to script) and verify that"))


def _pytensor_pair(old: str, new: str, python: str | None, timeout: float) -> Decision:
    """PyTensor/Theano programs: the compiled outputs and ``grad`` w.r.t. shared parameters."""
    from gradfix.verify.pytensor_backend import verify_pytensor_pair

    result = verify_pytensor_pair(old, new, python or sys.executable, timeout)
    decision = Decision(result["verdict"], result.get("why") or "forward equal, gradients present",
                        max_abs_diff=result.get("max_abs_diff"), compared_calls=result.get("compared", 0))
    for call, after in result.get("after", {}).items():
        before = result.get("before", {}).get(call, {})
        for param, state in sorted(after.items()):
            was = before.get(param, "absent")
            if was != state:
                decision.changed_leaves.append("%s: %s -> %s (grad #%s)" % (param, was, state, call))
                if was in ("null", "zero", "nonfinite", "raised"):
                    decision.broken.append("%s: gradient %s" % (param, was))
                    if state == "ok":
                        decision.fixed.append("%s: gradient %s -> finite nonzero" % (param, was))
    if decision.verdict == UNVERIFIABLE and not decision.advice:
        decision.advice = "make the program call grad() on its cost and evaluate it (pytensor.function)"
    return decision


def _is_pytensor(path: str) -> bool:
    from gradfix.verify.pytensor_backend import is_pytensor_program

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return is_pytensor_program(handle.read())
    except OSError:
        return False


def _pair(original: RunSpec, rewritten: RunSpec, python: str | None, timeout: float,
          keep: str | None) -> tuple[Decision, Run, Run]:
    o, n = run_specs([original, rewritten], python=python, timeout=timeout, keep=keep)
    return decide(o, n), o, n


def verify_pair(old: str, new: str, python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                keep: str | None = None) -> FileVerdict:
    """Run two given scripts (e.g. a hand-made fix) and decide."""
    for path in (old, new):
        if not os.path.isfile(path):
            raise UsageError("no such file: %s" % path)
    if old.endswith(".ipynb") or new.endswith(".ipynb"):
        return _notebook(old)
    if _is_pytensor(old):
        return FileVerdict(old, _pytensor_pair(old, new, python, timeout), new_path=new)
    decision, o, n = _pair(RunSpec(script_target(old)), RunSpec(script_target(new)), python, timeout, keep)
    return FileVerdict(old, decision, new_path=new, original_run=o, rewritten_run=n)


def rewrite(path: str, settings=None) -> tuple[str, str | None, list[str]]:
    """(original text, rewritten text or None, codes fixed), exactly what ``apply`` would write."""
    from gradfix.engine import InputError, Settings, check_source, read_source

    settings = settings or Settings.from_codes()
    try:
        text, _ = read_source(path, settings.max_file_bytes)
        result = check_source(text, path, settings, fix=True)
    except InputError as exc:
        raise UsageError("%s: %s" % (path, exc)) from None
    return text, result.new_source, sorted({d.code for d in result.fixed})


def verify_rewrites(rewrites: dict[str, str], run: str | None = None, python: str | None = None,
                    timeout: float = DEFAULT_TIMEOUT, cwd: str | None = None,
                    keep: str | None = None) -> dict[str, FileVerdict]:
    """Verify in-memory rewrites {path: new text}.

    Without ``run`` each file runs as a script on its own. With ``run`` (``python ARGS``)
    the command runs twice, the second time with every rewritten file served by the import
    hook; the one decision applies to all of them.
    """
    out: dict[str, FileVerdict] = {}
    if run is not None:
        target: Target = parse_run_command(run, cwd)
        if not rewrites:
            return out
        decision, o, n = _pair(RunSpec(target), RunSpec(target, dict(rewrites)), python, timeout, keep)
        for path, text in rewrites.items():
            out[path] = FileVerdict(path, decision, rewritten=text, original_run=o, rewritten_run=n, command=run)
        return out
    for path, text in rewrites.items():
        if _is_pytensor(path):
            with tempfile.TemporaryDirectory(prefix="gradfix-rewrite-") as scratch:
                rewritten = os.path.join(scratch, os.path.basename(path))
                with open(rewritten, "w", encoding="utf-8") as handle:
                    handle.write(text)
                out[path] = FileVerdict(path, _pytensor_pair(path, rewritten, python, timeout), rewritten=text)
            continue
        target = script_target(path)
        decision, o, n = _pair(RunSpec(target), RunSpec(target, {path: text}), python, timeout, keep)
        out[path] = FileVerdict(path, decision, rewritten=text, original_run=o, rewritten_run=n)
    return out


def verify_file(path: str, python: str | None = None, timeout: float = DEFAULT_TIMEOUT, settings=None,
                keep: str | None = None) -> FileVerdict:
    """Rewrite ``path`` in memory, run the original and the rewrite as scripts, decide."""
    if not os.path.isfile(path):
        raise UsageError("no such file: %s" % path)
    if path.endswith(".ipynb"):
        return _notebook(path)
    _, new, codes = rewrite(path, settings)
    if new is None:
        return _unchanged(path)
    verdict = verify_rewrites({path: new}, python=python, timeout=timeout, keep=keep)[path]
    verdict.fixed_codes = codes
    return verdict


def verify_paths(files: Iterable[str], run: str, python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 settings_for: Callable[[str], object] | None = None, cwd: str | None = None,
                 keep: str | None = None) -> list[FileVerdict]:
    """Rewrite every file in memory; verify them together by running ``run`` twice."""
    parse_run_command(run, cwd)  # a bad command is a usage error even when nothing changes
    rewrites: dict[str, str] = {}
    codes: dict[str, list[str]] = {}
    results: list[FileVerdict] = []
    for path in files:
        if path.endswith(".ipynb"):
            continue
        _, new, fixed = rewrite(path, settings_for(path) if settings_for else None)
        if new is None:
            continue
        rewrites[path], codes[path] = new, fixed
    if not rewrites:
        return results
    for path, verdict in verify_rewrites(rewrites, run, python, timeout, cwd, keep).items():
        verdict.fixed_codes = codes[path]
        results.append(verdict)
    return results
