#!/usr/bin/env python3
"""Files per second of ``gradfix check`` on the real corpus, next to the tools a user would pick.

One run, the same files for every tool: the whole corpus and an evenly spread subset
(copied to a temporary folder). Each tool runs as its own process tree; the table gives
wall seconds, files/s and the peak resident memory of the largest process (from
``wait4``). A tool that is not installed is listed as such; one that runs past
``--timeout`` is stopped and shown as a lower bound.

    python benchmarks/bench.py                         # corpus + 500-file subset, all tools
    python benchmarks/bench.py --subset 200 --no-full  # quick
    python benchmarks/bench.py --bin-dir /path/to/other-venv/bin   # where ruff/torchfix/fixit are

TorchFix and Fixit pin older LibCST and click; install them in a separate virtual
environment (see benchmarks/README.md) and point ``--bin-dir`` at it.
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
    seconds: float | None
    peak_rss_mb: float | None
    exit_code: int | None
    note: str = ""

    @property
    def rate(self) -> str:
        if self.seconds is None:
            return "-"
        prefix = "<" if self.note.startswith("timeout") else ""
        return f"{prefix}{self.files / self.seconds:.1f}"


def _find(name: str, bin_dirs: list[str]) -> str | None:
    for directory in bin_dirs:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name)


def commands(bin_dirs: list[str], jobs: int | None) -> dict[str, list[str] | None]:
    """The command line of each tool, without the path to check (None: not installed)."""
    j = ["-j", str(jobs)] if jobs else []
    ruff, torchfix, fixit = (_find(n, bin_dirs) for n in ("ruff", "torchfix", "fixit"))
    return {
        "gradfix check": [sys.executable, "-m", "gradfix", "check", "--no-progress", "--isolated", "--exit-zero",
                          "--output-format", "json", *j],
        "ruff check --select E,F": [ruff, "check", "--no-cache", "--isolated", "--select", "E,F", "--exit-zero",
                                    "--output-format", "concise"] if ruff else None,
        "torchfix": [torchfix, *j] if torchfix else None,
        "fixit lint": [fixit, "lint"] if fixit else None,
    }


def measure(command: list[str], path: str, timeout: float) -> tuple[float, float, int | None, str]:
    """(seconds, peak RSS in MB, exit code, note) of ``command path``."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen([*command, path], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
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


def make_subset(corpus: str, size: int, into: str) -> int:
    files = corpus_files(corpus, size)
    for relative in files:
        target = os.path.join(into, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(corpus, relative), target)
    return len(files)


def table(results: list[Result]) -> str:
    header = ("tool", "files", "set", "seconds", "files/s", "peak RSS MB", "note")
    rows = [header]
    for r in results:
        rows.append((
            r.tool, str(r.files), r.files_set, "-" if r.seconds is None else f"{r.seconds:.1f}", r.rate,
            "-" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}", r.note,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=default_corpus(), help="the built corpus (default: %(default)s)")
    parser.add_argument("--subset", type=int, default=500, help="size of the evenly spread subset (0: none)")
    parser.add_argument("--no-full", action="store_true", help="skip the whole corpus, only the subset")
    parser.add_argument("--tools", default="", help="comma-separated names to run (substring match); default all")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per tool and set before it is stopped")
    parser.add_argument("--timeout-gradfix", type=float, default=None, help="the same for gradfix (default: --timeout)")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="worker processes for tools that take -j")
    parser.add_argument("--bin-dir", action="append", default=[], help="where to look for ruff, torchfix, fixit first")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.corpus):
        print(f"no corpus at {args.corpus}: build it with `bash shared/corpus/make_corpus.sh`", file=sys.stderr)
        return 2

    bin_dirs = [*args.bin_dir, os.path.dirname(sys.executable)]
    tools = commands(bin_dirs, args.jobs)
    if args.tools:
        wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
        tools = {name: cmd for name, cmd in tools.items() if any(w in name for w in wanted)}
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="gradfix-bench-") as temp:
        sets: list[tuple[str, str, int]] = []
        if args.subset:
            subset = os.path.join(temp, "subset")
            sets.append(("subset", subset, make_subset(args.corpus, args.subset, subset)))
        if not args.no_full:
            sets.append(("corpus", args.corpus, len(corpus_files(args.corpus))))
        for set_name, path, count in sets:
            for name, command in tools.items():
                if command is None:
                    results.append(Result(name, set_name, count, None, None, None, "not installed"))
                    continue
                print(f"running {name} on {set_name} ({count} files) ...", file=sys.stderr, flush=True)
                timeout = args.timeout_gradfix if name.startswith("gradfix") and args.timeout_gradfix else args.timeout
                seconds, rss, code, note = measure(command, path, timeout)
                results.append(Result(name, set_name, count, seconds, rss, code, note))
    cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{cores} cores; load average at the end {load:.1f}; python {sys.version.split()[0]}")
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([asdict(r) for r in results], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
