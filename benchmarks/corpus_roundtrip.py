#!/usr/bin/env python3
"""Round-trip gradfix over the real-code corpus and check the quality bars.

On a copy of the corpus (the corpus itself is never written): ``gradfix check`` (json),
then ``gradfix apply``, then ``gradfix apply`` again. It fails (exit 1) when

- gradfix crashed or reported an internal error,
- a file without a finding changed by a single byte,
- a changed file does not parse (``ast.parse``),
- a second ``apply`` of the files the first one changed changes anything.

It prints the findings per rule, files/s, every finding (for false-positive review) and
the diff of every fixed file. Build the corpus first: ``bash shared/corpus/make_corpus.sh``
(see its README); it lands in ``$GRADFIX_CORPUS`` or ``gradfix-corpus`` in the temp folder.

    python benchmarks/corpus_roundtrip.py                 # the whole corpus (~7,800 files)
    python benchmarks/corpus_roundtrip.py --limit 500     # an evenly spread slice
"""

from __future__ import annotations

import argparse
import ast
import collections
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field


def default_corpus() -> str:
    return os.environ.get("GRADFIX_CORPUS") or os.path.join(tempfile.gettempdir(), "gradfix-corpus")


def corpus_files(corpus: str, limit: int | None = None) -> list[str]:
    """Relative paths of the corpus's .py files, sorted; ``limit`` picks an evenly spread slice."""
    found = []
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        found.extend(os.path.relpath(os.path.join(root, f), corpus) for f in sorted(files) if f.endswith(".py"))
    found.sort()
    if limit and limit < len(found):
        step = len(found) / limit
        found = [found[int(i * step)] for i in range(limit)]
    return found


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _snapshot(root: str, files: list[str]) -> dict[str, str]:
    return {f: _digest(os.path.join(root, f)) for f in files}


@dataclass
class Report:
    files: int = 0
    checked_files: int = 0  # what gradfix's discovery covers (it skips e.g. build/ folders)
    check_seconds: float = 0.0
    apply_seconds: float = 0.0
    findings: list[dict] = field(default_factory=list)
    input_errors: list[dict] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def per_rule(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        for f in self.findings:
            counts[f["code"]][0] += 1
            counts[f["code"]][1] += bool(f.get("fix") and f["fix"]["applicability"] == "safe")
        return {code: (n, safe) for code, (n, safe) in sorted(counts.items())}


def _gradfix(command: list[str], args: list[str], cwd: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    done = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True)
    return done, time.perf_counter() - start


def _crashes(done: subprocess.CompletedProcess) -> list[str]:
    text = done.stdout + done.stderr
    lines = [line for line in text.splitlines() if "internal error" in line or line.startswith("Traceback")]
    if done.returncode not in (0, 1, 2):
        lines.append(f"exit code {done.returncode}")
    return lines


def run(corpus: str, limit: int | None = None, jobs: int | None = None, command: list[str] | None = None,
        unsafe_fixes: bool = False, workdir: str | None = None) -> Report:
    command = command or [sys.executable, "-m", "gradfix"]
    report = Report()
    files = corpus_files(corpus, limit)
    report.files = len(files)
    with tempfile.TemporaryDirectory(prefix="gradfix-roundtrip-", dir=workdir) as temp:
        copy = os.path.join(temp, "corpus")
        if limit:
            for f in files:
                os.makedirs(os.path.dirname(os.path.join(copy, f)), exist_ok=True)
                shutil.copy2(os.path.join(corpus, f), os.path.join(copy, f))
        else:
            shutil.copytree(corpus, copy, symlinks=True)
        before = _snapshot(copy, files)
        from gradfix.discovery import find_files

        report.checked_files = len(find_files([copy]))
        common = ["--no-progress", "--isolated"] + (["-j", str(jobs)] if jobs else [])
        fixes = ["--unsafe-fixes"] if unsafe_fixes else []

        check, report.check_seconds = _gradfix(command, ["check", "--output-format", "json", *common, "corpus"], temp)
        report.failures += [f"check: {line}" for line in _crashes(check)]
        try:
            records = json.loads(check.stdout)
        except json.JSONDecodeError:
            report.failures.append(f"check: output is not JSON: {check.stdout[:200]!r} {check.stderr[:500]!r}")
            records = []
        for record in records:
            record["filename"] = os.path.relpath(os.path.join(temp, record["filename"]), copy)
            (report.findings if record.get("code") else report.input_errors).append(record)
        report.failures += [f"internal error in {e['filename']}: {e['error']}" for e in report.input_errors if "internal error" in e["error"]]
        with_findings = {f["filename"] for f in report.findings}

        apply, report.apply_seconds = _gradfix(command, ["apply", *fixes, *common, "corpus"], temp)
        report.failures += [f"apply: {line}" for line in _crashes(apply)]
        after = _snapshot(copy, files)
        report.changed = sorted(f for f in files if after[f] != before[f])
        for f in report.changed:
            if f not in with_findings:
                report.failures.append(f"changed without a finding: {f}")
            with open(os.path.join(copy, f), "rb") as handle:
                new = handle.read()
            try:
                ast.parse(new)
            except (SyntaxError, ValueError) as exc:
                report.failures.append(f"rewritten file does not parse: {f}: {exc}")
            with open(os.path.join(corpus, f), "rb") as handle:
                old = handle.read()
            report.diffs[f] = "".join(difflib.unified_diff(
                old.decode("utf-8", "replace").splitlines(keepends=True),
                new.decode("utf-8", "replace").splitlines(keepends=True), fromfile=f, tofile=f))

        # Same input, same output: only the files the first apply changed can change again.
        if report.changed:
            again, _ = _gradfix(command, ["apply", *fixes, *common, *(os.path.join("corpus", f) for f in report.changed)], temp)
            report.failures += [f"second apply: {line}" for line in _crashes(again)]
            report.failures += [f"second apply changed {f}" for f in report.changed if _digest(os.path.join(copy, f)) != after[f]]
    return report


def print_report(report: Report, show: bool = True, out=sys.stdout) -> None:
    def say(text: str = "") -> None:
        print(text, file=out)

    rate = report.checked_files / report.check_seconds if report.check_seconds else 0.0
    say(f"files: {report.files} in the corpus copy, {report.checked_files} checked by gradfix")
    say(f"check: {report.check_seconds:.1f} s ({rate:.1f} files/s); apply: {report.apply_seconds:.1f} s")
    say(f"findings: {len(report.findings)} in {len({f['filename'] for f in report.findings})} files; "
        f"files changed by apply: {len(report.changed)}; files that could not be checked: {len(report.input_errors)}")
    say("findings per rule (total, with a safe fix):")
    for code, (n, safe) in report.per_rule().items():
        say(f"  {code}  {n:5d}  {safe:5d}")
    if show:
        say("\nfindings for review:")
        for f in report.findings:
            where = f"{f['filename']}:" + (f"cell {f['cell']}:" if f.get("cell") else "") + f"{f['line']}:{f['column']}"
            marker = " [*]" if f.get("fix") and f["fix"]["applicability"] == "safe" else ""
            say(f"  {where}: {f['code']}{marker} {f['message']}")
        if report.input_errors:
            say("\nfiles that could not be checked:")
            for e in report.input_errors:
                say(f"  {e['filename']}: {e['error']}")
        if report.diffs:
            say("\ndiffs of the fixed files:")
            for diff in report.diffs.values():
                say(diff.rstrip("\n"))
    say("\nRESULT: " + ("OK: every quality bar holds" if report.ok else f"FAILED ({len(report.failures)})"))
    for failure in report.failures:
        say(f"  {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=default_corpus(), help="the built corpus (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="only an evenly spread slice of this many files")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="gradfix worker processes (default: one per core)")
    parser.add_argument("--unsafe-fixes", action="store_true", help="apply unsafe fixes too")
    parser.add_argument("--quiet", action="store_true", help="only the summary, not every finding and diff")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.corpus):
        print(f"no corpus at {args.corpus}: build it with `bash shared/corpus/make_corpus.sh` "
              "(or set GRADFIX_CORPUS)", file=sys.stderr)
        return 2
    report = run(args.corpus, args.limit, args.jobs, unsafe_fixes=args.unsafe_fixes)
    print_report(report, show=not args.quiet)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
