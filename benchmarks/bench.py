#!/usr/bin/env python3
"""Speed of ``gradfix check`` on the real corpus, side by side with Ruff and the PyTorch linters.

One run, the same files for every tool, each tool as its own process tree: ``gradfix check
--no-cache`` (cold), ``gradfix check`` filling an empty cache, then again with that cache
warm, ``ruff check --no-cache --select E,F``, and, on an evenly spread 1-in-10 sample (they
are slow), ``torch-preflight check``, ``torchfix`` and ``fixit lint``. The table gives wall
seconds, files/s, lines/s, the peak resident memory of the largest process (``wait4``) and
the ratio of the wall time to Ruff's on the same files. A tool that is not installed is
listed as such; one that runs past ``--timeout`` is stopped and shown as a bound.

    python benchmarks/bench.py                          # corpus, and the 1-in-10 sample
    python benchmarks/bench.py --sample-only            # only the sample (minutes)
    python benchmarks/bench.py --tools gradfix,ruff     # some tools
    python benchmarks/bench.py --bin-dir /path/to/other-venv/bin   # where the other tools are

TorchFix and Fixit may pin older LibCST and click; install them in a separate virtual
environment if they conflict (see benchmarks/README.md) and point ``--bin-dir`` at it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_roundtrip import corpus_files, default_corpus  # noqa: E402


@dataclass
class Result:
    tool: str
    files_set: str
    files: int
    lines: int
    seconds: float | None
    peak_rss_mb: float | None
    exit_code: int | None
    note: str = ""
    ruff_seconds: float | None = None  # Ruff's time on the same set

    def _rate(self, count: int) -> str:
        if self.seconds is None:
            return "-"
        prefix = "<" if self.note.startswith("timeout") else ""
        return f"{prefix}{count / self.seconds:,.0f}"

    @property
    def rate(self) -> str:
        return self._rate(self.files)

    @property
    def line_rate(self) -> str:
        return self._rate(self.lines)

    @property
    def ratio(self) -> str:
        if self.seconds is None or not self.ruff_seconds:
            return "-"
        return f"{self.seconds / self.ruff_seconds:.2f}x"


def _find(name: str, bin_dirs: list[str]) -> str | None:
    for directory in bin_dirs:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name)


GRADFIX = [sys.executable, "-m", "gradfix", "check", "--no-progress", "--isolated", "--exit-zero", "--output-format", "json"]
WARM_UP = "gradfix check, filling the cache"


def commands(bin_dirs: list[str], jobs: int | None, cache_dir: str) -> dict[str, tuple[list[str] | None, str]]:
    """Each tool's command line without the path to check (None: not installed), and its set."""
    j = ["-j", str(jobs)] if jobs else []
    ruff, preflight, torchfix, fixit = (_find(n, bin_dirs) for n in ("ruff", "torch-preflight", "torchfix", "fixit"))
    cached = [*GRADFIX, *j, "--cache-dir", cache_dir]
    return {
        "gradfix check --no-cache": ([*GRADFIX, *j, "--no-cache"], "corpus"),
        WARM_UP: (cached, "corpus"),
        "gradfix check, warm cache": (cached, "corpus"),
        "ruff check --no-cache --select E,F": ([ruff, "check", "--no-cache", "--isolated", "--select", "E,F", "--exit-zero",
                                                "--output-format", "concise"] if ruff else None, "corpus"),
        "torch-preflight check": ([preflight, "check", "-q", "--fail-on", "error", *j] if preflight else None, "sample"),
        "torchfix": ([torchfix, *j] if torchfix else None, "sample"),
        "fixit lint": ([fixit, "lint"] if fixit else None, "sample"),
    }


# The tools run as a user's install does: Python writes bytecode on first import and reuses it.
# (An environment with PYTHONDONTWRITEBYTECODE set recompiles every module on every start.)
TOOL_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def warm_up(command: list[str], folder: str) -> None:
    """Run ``command`` once, untimed, on one small file, so its bytecode exists before it is timed."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "warm_up.py"), "w", encoding="utf-8") as handle:
        handle.write("import torch\n\nx = torch.ones(2, requires_grad=True)\nloss = (x * 2).sum()\nloss.backward()\n")
    subprocess.run([*command, folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=TOOL_ENV, check=False)


def measure(command: list[str], path: str, timeout: float) -> tuple[float, float, int | None, str]:
    """(seconds, peak RSS in MB, exit code, note) of ``command path``."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen([*command, path], stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=TOOL_ENV)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                return time.perf_counter() - start, usage.ru_maxrss / 1024, None, f"timeout after {timeout:.0f} s"
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        note = ""
        if process.returncode not in (0, 1):
            out.seek(0)
            tail = out.read()[-300:].decode("utf-8", "replace").strip().splitlines()
            note = f"exit {process.returncode}: {tail[-1] if tail else ''}"
        return seconds, usage.ru_maxrss / 1024, process.returncode, note


def make_subset(corpus: str, size: int, into: str) -> tuple[int, int]:
    files = corpus_files(corpus, size)
    for relative in files:
        target = os.path.join(into, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(corpus, relative), target)
    return len(files), count_lines(into, files)


def count_lines(folder: str, files: list[str]) -> int:
    total = 0
    for relative in files:
        with open(os.path.join(folder, relative), "rb") as handle:
            total += handle.read().count(b"\n")
    return total


def table(results: list[Result]) -> str:
    header = ("tool", "set", "files", "seconds", "files/s", "lines/s", "peak RSS MB", "vs ruff", "note")
    rows = [header]
    for r in results:
        rows.append((
            r.tool, r.files_set, str(r.files), "-" if r.seconds is None else f"{r.seconds:.1f}", r.rate, r.line_rate,
            "-" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}", r.ratio, r.note,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=default_corpus(), help="the built corpus (default: %(default)s)")
    parser.add_argument("--sample-every", type=int, default=10, help="the sample is 1 file in N (default: %(default)s)")
    parser.add_argument("--sample-only", action="store_true", help="run every tool on the sample only")
    parser.add_argument("--tools", default="", help="comma-separated names to run (substring match); default all")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per tool and set before it is stopped")
    parser.add_argument("--timeout-sample", type=float, default=None, help="the same for the tools run on the sample (default: --timeout)")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="worker processes for tools that take -j")
    parser.add_argument("--bin-dir", action="append", default=[], help="where to look for the other tools first")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.corpus):
        print(f"no corpus at {args.corpus}: build it with `bash shared/corpus/make_corpus.sh`", file=sys.stderr)
        return 2

    bin_dirs = [*args.bin_dir, os.path.dirname(sys.executable)]
    results: list[Result] = []
    start_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="gradfix-bench-", ignore_cleanup_errors=True) as temp:
        tools = commands(bin_dirs, args.jobs, os.path.join(temp, "cache"))
        if args.tools:
            wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
            tools = {name: cmd for name, cmd in tools.items() if any(w in name for w in wanted)}
            if "gradfix check, warm cache" in tools:
                tools = {WARM_UP: commands(bin_dirs, args.jobs, os.path.join(temp, "cache"))[WARM_UP], **tools}
        everything = corpus_files(args.corpus)
        sample_dir = os.path.join(temp, "sample")
        sample_files, sample_lines = make_subset(args.corpus, max(1, len(everything) // args.sample_every), sample_dir)
        sets = {"sample": (sample_dir, sample_files, sample_lines)}
        if not args.sample_only:
            sets["corpus"] = (args.corpus, len(everything), count_lines(args.corpus, everything))
        for command, _ in tools.values():
            if command is not None:
                warm_up(command, os.path.join(temp, "warm-up"))
        ruff_seconds: dict[str, float] = {}
        # Ruff first on every set it runs on, so each row can be compared with it.
        order = sorted(tools.items(), key=lambda item: not item[0].startswith("ruff"))
        for name, (command, wanted_set) in order:
            runs_on = ["sample"] if args.sample_only else [wanted_set]
            if name.startswith("ruff") and "sample" not in runs_on:
                runs_on.append("sample")  # so the sampled tools have Ruff's time on their files too
            for set_name in runs_on:
                path, count, lines = sets.get(set_name, sets["sample"])
                set_label = set_name if set_name != "sample" else f"1 in {args.sample_every}"
                if command is None:
                    results.append(Result(name, set_label, count, lines, None, None, None, "not installed"))
                    continue
                print(f"running {name} on {set_label} ({count} files) ...", file=sys.stderr, flush=True)
                timeout = args.timeout_sample if wanted_set == "sample" and args.timeout_sample else args.timeout
                seconds, rss, code, note = measure(command, path, timeout)
                if name.startswith("ruff") and not note:
                    ruff_seconds[set_name] = seconds
                results.append(Result(name, set_label, count, lines, seconds, rss, code, note, ruff_seconds.get(set_name)))
                last = results[-1]  # as it comes: a long run that is stopped still says what it measured
                print(f"  {last.seconds:.1f} s, {last.rate} files/s, {last.peak_rss_mb:.0f} MB, {last.ratio} of ruff {last.note}",
                      file=sys.stderr, flush=True)
        start_up = {name: command for name, (command, _) in tools.items()
                    if command is not None and (name.startswith("ruff") or name == "gradfix check --no-cache")}
        for name, command in sorted(start_up.items(), key=lambda item: not item[0].startswith("ruff")):  # start-up: what a pre-commit hook or an editor pays per call
            runs = sorted(measure(command, os.path.join(temp, "warm-up", "warm_up.py"), 60)[:2] for _ in range(7))
            seconds, rss = runs[len(runs) // 2]  # the median of 7
            ruff_one = ruff_seconds.get("one file") if not name.startswith("ruff") else None
            results.append(Result(name, "one file (median of 7)", 1, 5, seconds, rss, 0, "", ruff_one))
            if name.startswith("ruff"):
                ruff_seconds["one file"] = seconds
    cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{cores} cores; load average {start_load:.1f} at the start, {load:.1f} at the end; python {sys.version.split()[0]}")
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([asdict(r) for r in results], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
