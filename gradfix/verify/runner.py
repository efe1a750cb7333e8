"""Run the original and the rewritten program, each in its own child of the user's Python.

Each child gets a scratch working directory (and TMPDIR) under one temporary folder that
is deleted afterwards, the same seeds and deterministic settings (set by the bootstrap),
``PYTHONDONTWRITEBYTECODE`` and pytest's cache disabled, and writes into the user's tree
blocked (the bootstrap's audit hook). Each runs under ``reaper.py``, which enforces the
timeout, keeps only the tail of its output, and when it ends, kills every process it left
behind. The two children run at the same time.
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
REAPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reaper.py")
DEFAULT_TIMEOUT = 120.0
STDERR_TAIL = 2000
# The reaper enforces the timeout; the runner steps in only if the reaper itself is stuck.
REAPER_GRACE = 30.0
PROJECT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")


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


def protected_dirs(target: Target, overrides: dict[str, str]) -> list[str]:
    """The user's tree, which the verified program may not write into.

    The folder of the script (or of the ``--run`` command) and of every rewritten file,
    each widened to its project root (the nearest folder above with ``.git``,
    ``pyproject.toml``, ``setup.py`` or ``setup.cfg``), but never to the home folder or /.
    """
    starts = {target.sys_path0} | {os.path.dirname(os.path.abspath(p)) for p in overrides}
    if target.path:
        starts.add(os.path.dirname(target.path))
    home = os.path.realpath(os.path.expanduser("~"))
    out = set()
    for start in filter(None, starts):
        folder = os.path.realpath(start)
        out.add(folder)
        probe = folder
        while True:
            parent = os.path.dirname(probe)
            if probe in (home, parent):
                break
            if any(os.path.exists(os.path.join(probe, m)) for m in PROJECT_MARKERS):
                out.add(probe)
                break
            probe = parent
    return sorted(out)


def _stop(proc: subprocess.Popen) -> bool:
    """Ask a running reaper to clean up (SIGTERM), kill its session if it does not. True if it ran."""
    if proc.poll() is not None:
        return False
    try:
        proc.terminate()
        proc.wait(timeout=10)
        return True
    except subprocess.TimeoutExpired:
        pass
    try:  # still running, so the group id is still its own
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
    return True


def _read_status(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def run_specs(specs: list[RunSpec], python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
              keep: str | None = None) -> list[Run]:
    """Run every spec concurrently, each in its own scratch directory; one Run per spec."""
    root = tempfile.mkdtemp(prefix="gradfix-verify-")
    procs = []
    try:
        for index, spec in enumerate(specs):
            work = os.path.join(root, "run%d" % index)
            cwd = os.path.join(work, "cwd")
            os.makedirs(cwd)
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
                "protect": protected_dirs(spec.target, spec.overrides),
                "scratch": os.path.realpath(root),
            }
            config.update(spec.config)
            config_path = os.path.join(work, "config.json")
            with open(config_path, "w", encoding="utf-8") as handle:
                json.dump(config, handle)
            interpreter = spec.target.python or python or sys.executable
            if os.sep in interpreter and not os.access(interpreter, os.X_OK):
                raise UsageError("cannot start %s: not an executable file" % interpreter)
            if os.sep not in interpreter and shutil.which(interpreter) is None:
                raise UsageError("cannot start %s: not found" % interpreter)
            command = [sys.executable, "-I", REAPER, os.path.join(work, "status.json"), repr(float(timeout)),
                       os.path.join(work, "stdout.txt"), os.path.join(work, "stderr.txt"), "--",
                       interpreter, BOOTSTRAP, config_path]
            with open(os.path.join(work, "reaper.txt"), "wb") as reaper_err:
                proc = subprocess.Popen(command, cwd=cwd, env=child_env(cwd), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=reaper_err, start_new_session=True)
            procs.append((proc, work))
        runs = []
        deadline = time.monotonic() + timeout + REAPER_GRACE
        for proc, work in procs:
            stopped = False
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stopped = _stop(proc)
            status = _read_status(os.path.join(work, "status.json"))
            if status.get("error"):
                raise UsageError("cannot start the program: %s" % status["error"])
            trace_path = os.path.join(work, "trace.jsonl")
            trace = None
            if os.path.exists(trace_path):
                with open(trace_path, encoding="utf-8", errors="replace") as handle:
                    trace = parse_trace(handle.read())
            runs.append(Run(trace, status.get("returncode", proc.returncode), bool(status.get("timed_out", stopped)),
                            timeout, _tail(os.path.join(work, "stderr.txt")), float(status.get("seconds", 0.0)),
                            leftover=int(status.get("leftover", 0)), output_bytes=int(status.get("out_bytes", 0))))
        return runs
    finally:
        for proc, _ in procs:
            _stop(proc)
        if keep:
            shutil.copytree(root, keep, dirs_exist_ok=True)
        shutil.rmtree(root, ignore_errors=True)
