"""Run the original and the rewritten program, each in its own child of the user's Python.

Each child gets a scratch working directory (and TMPDIR) under one temporary folder that
is deleted afterwards, the same seeds and deterministic settings (set by the bootstrap),
``PYTHONDONTWRITEBYTECODE`` and pytest's cache disabled so nothing is written into the
user's tree, and a timeout after which its whole process group is killed. The two
children run at the same time.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from gradfix.verify.record import Run, parse_trace

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.py")
DEFAULT_TIMEOUT = 120.0
STDERR_TAIL = 2000


class UsageError(Exception):
    """A command the verifier cannot run (one line, shown to the user)."""


@dataclass
class Target:
    """What a child runs: a script (path) or a module (``-m``), with its argv."""

    kind: str  # "script" | "module"
    argv: list[str]
    path: str = ""
    module: str = ""
    sys_path0: str = ""
    python: str | None = None  # an interpreter named in --run; None: use --python

    def as_config(self) -> dict:
        return {"kind": self.kind, "argv": self.argv, "path": self.path, "module": self.module}


@dataclass
class RunSpec:
    target: Target
    overrides: dict[str, str] = field(default_factory=dict)  # original file -> rewritten text
    config: dict = field(default_factory=dict)  # extra keys for the child's config (plugins, max_detail)


def script_target(path: str, args: list[str] | None = None) -> Target:
    path = os.path.abspath(path)
    return Target("script", [path] + list(args or []), path=path, sys_path0=os.path.dirname(path))


def _looks_like_python(token: str) -> bool:
    return os.path.basename(token).startswith(("python", "pypy"))


def _absolutize(arg: str, cwd: str) -> str:
    if arg.startswith("-") or os.path.isabs(arg):
        return arg
    head, sep, tail = arg.partition("::")
    if head and os.path.exists(os.path.join(cwd, head)):
        return os.path.join(cwd, head) + sep + tail
    return arg


def parse_run_command(command: str, cwd: str | None = None) -> Target:
    """``python script.py ARGS`` / ``python -m module ARGS`` -> a Target. Raises UsageError."""
    cwd = os.path.abspath(cwd or os.getcwd())
    try:
        tokens = shlex.split(command)
    except ValueError as exc:
        raise UsageError("--run: cannot parse the command: %s" % exc) from None
    if not tokens or not _looks_like_python(tokens[0]):
        raise UsageError("--run must start with python (e.g. --run 'python -m pytest tests/'), got %r" % command)
    python = tokens[0] if os.sep in tokens[0] else None
    if python is not None and not os.path.isabs(python):
        python = os.path.join(cwd, python)
    rest = tokens[1:]
    while rest and rest[0] in ("-u", "-B"):
        rest = rest[1:]
    if not rest:
        raise UsageError("--run: nothing to run after %r" % tokens[0])
    if rest[0] == "-m":
        if len(rest) < 2:
            raise UsageError("--run: -m needs a module name")
        args = [_absolutize(a, cwd) for a in rest[2:]]
        return Target("module", [rest[1]] + args, module=rest[1], sys_path0=cwd, python=python)
    if rest[0].startswith("-"):
        raise UsageError("--run: unsupported interpreter option %r; use a script or -m module" % rest[0])
    script = os.path.join(cwd, rest[0])
    if not os.path.isfile(script):
        raise UsageError("--run: no such script: %s" % rest[0])
    target = script_target(script, [_absolutize(a, cwd) for a in rest[1:]])
    target.python = python
    return target


def child_env(scratch: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "MPLBACKEND": "Agg",
        "TMPDIR": scratch,
    })
    env["PYTEST_ADDOPTS"] = (env.get("PYTEST_ADDOPTS", "") + " -p no:cacheprovider").strip()
    env.pop("PYTHONSTARTUP", None)
    return env


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - STDERR_TAIL))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def run_specs(specs: list[RunSpec], python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
              keep: str | None = None) -> list[Run]:
    """Run every spec concurrently, each in its own scratch directory; one Run per spec."""
    root = tempfile.mkdtemp(prefix="gradfix-verify-")
    procs = []
    try:
        for index, spec in enumerate(specs):
            work = os.path.join(root, "run%d" % index)
            os.makedirs(os.path.join(work, "cwd"))
            overrides = {}
            for n, (original, text) in enumerate(sorted(spec.overrides.items())):
                served = os.path.join(work, "rewritten%d.py" % n)
                with open(served, "w", encoding="utf-8") as handle:
                    handle.write(text)
                overrides[os.path.abspath(original)] = served
            config = {
                "trace": os.path.join(work, "trace.jsonl"),
                "target": spec.target.as_config(),
                "sys_path0": spec.target.sys_path0,
                "overrides": overrides,
            }
            config.update(spec.config)
            config_path = os.path.join(work, "config.json")
            with open(config_path, "w", encoding="utf-8") as handle:
                json.dump(config, handle)
            interpreter = spec.target.python or python or sys.executable
            stdout = open(os.path.join(work, "stdout.txt"), "wb")
            stderr = open(os.path.join(work, "stderr.txt"), "wb")
            try:
                proc = subprocess.Popen([interpreter, BOOTSTRAP, config_path], cwd=os.path.join(work, "cwd"),
                                        env=child_env(os.path.join(work, "cwd")), stdin=subprocess.DEVNULL,
                                        stdout=stdout, stderr=stderr, start_new_session=True)
            except OSError as exc:
                raise UsageError("cannot start %s: %s" % (interpreter, exc.strerror or exc)) from None
            finally:
                stdout.close()
                stderr.close()
            procs.append((proc, work, time.monotonic()))
        runs = []
        deadline = time.monotonic() + timeout
        for proc, work, started in procs:
            timed_out = False
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(proc)
                timed_out = True
            seconds = time.monotonic() - started
            trace_path = os.path.join(work, "trace.jsonl")
            trace = None
            if os.path.exists(trace_path):
                with open(trace_path, encoding="utf-8", errors="replace") as handle:
                    trace = parse_trace(handle.read())
            runs.append(Run(trace, proc.returncode, timed_out, timeout,
                            _tail(os.path.join(work, "stderr.txt")), seconds))
        return runs
    finally:
        for proc, _, _ in procs:
            if proc.poll() is None:
                _kill(proc)
        if keep:
            shutil.copytree(root, keep, dirs_exist_ok=True)
        shutil.rmtree(root, ignore_errors=True)
