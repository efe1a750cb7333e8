"""The ``gradfix`` command line (typer).

Exit codes follow ruff: 0 clean, 1 findings (or changes, with ``--diff``), 2 usage error,
internal error, or a file that could not be checked. Errors are one line, never a traceback
(set ``GRADFIX_DEBUG=1`` to see one).
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from gradfix import __version__
from gradfix.config import Config, ConfigError, find_config, load_config
from gradfix.discovery import DiscoveryError, find_files
from gradfix.engine import (
    DEFAULT_MAX_FILE_BYTES,
    FileResult,
    InputError,
    Mode,
    Settings,
    process_files,
    process_source,
)
from gradfix.notebook import source_from_bytes
from gradfix.report import FORMATS, diagnostic_line, error_line, github_report, json_report, sarif_report, text_summary
from gradfix.rule import all_rules, select_rules

app = typer.Typer(
    name="gradfix",
    help="Find and fix PyTorch code that breaks gradient flow, and prove each fix by running it.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class UsageFailure(Exception):
    """A one-line usage error (exit 2)."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradfix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """gradfix: graph surgery for PyTorch."""


# Shared option definitions -------------------------------------------------------------------
PathsArg = typer.Argument(None, help="Files or folders to check (default: the current folder); '-' reads standard input.")
SelectOpt = typer.Option(None, "--select", help="Rule codes or prefixes to enable, comma-separated (e.g. GF101,GF10).")
IgnoreOpt = typer.Option(None, "--ignore", help="Rule codes or prefixes to disable, comma-separated.")
FormatOpt = typer.Option("text", "--output-format", help="text, json, sarif or github.")
StdinNameOpt = typer.Option(None, "--stdin-filename", help="The name of the file when reading standard input ('-').")
ConfigOpt = typer.Option(None, "--config", help="A pyproject.toml to read [tool.gradfix] from (default: the nearest one).")
IsolatedOpt = typer.Option(False, "--isolated", help="Ignore every configuration file.")
UnsafeOpt = typer.Option(None, "--unsafe-fixes/--no-unsafe-fixes", help="Also apply fixes that may change behaviour beyond the gradients.")
ExitZeroOpt = typer.Option(False, "--exit-zero", help="Exit 0 even when findings remain.")
JobsOpt = typer.Option(None, "--jobs", "-j", help="Worker processes (default: one per core).")
MaxSizeOpt = typer.Option(None, "--max-file-size", help=f"Skip files larger than this many bytes (default {DEFAULT_MAX_FILE_BYTES}).")
NoProgressOpt = typer.Option(False, "--no-progress", help="Never show a progress bar.")
NoCacheOpt = typer.Option(False, "--no-cache", help="Neither read nor write the cache of check results.")
CacheDirOpt = typer.Option(None, "--cache-dir", help="Where to cache check results (default: $GRADFIX_CACHE_DIR or ./.gradfix_cache).")
RunOpt = typer.Option(None, "--run", help="A command that drives the code, e.g. 'python -m pytest tests/' (rewritten files are served by an import hook).")
PythonOpt = typer.Option(None, "--python", help="The interpreter that runs the code (default: the one running gradfix).")
TimeoutOpt = typer.Option(120.0, "--timeout", help="Seconds each verification run may take.")


def _split(values: Optional[List[str]]) -> Optional[List[str]]:
    if not values:
        return None
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


class _Run:
    """What check and apply share: config, rule selection, files, settings per file."""

    def __init__(self, paths, select, ignore, output_format, stdin_filename, config_path, isolated, unsafe_fixes, max_file_size, cache_dir=None):
        if output_format not in FORMATS:
            raise UsageFailure(f"unknown --output-format {output_format!r} (choose from {', '.join(FORMATS)})")
        self.paths = list(paths or [])
        self.stdin = self.paths == ["-"]
        if "-" in self.paths and not self.stdin:
            raise UsageFailure("'-' (standard input) cannot be combined with other paths")
        if not self.paths:
            self.paths = ["."]
        if isolated:
            self.config = Config()
        elif config_path:
            self.config = load_config(config_path)
        else:
            start = stdin_filename if self.stdin and stdin_filename else (self.paths[0] if not self.stdin else ".")
            self.config = find_config(start if os.path.exists(start) else ".")
        self.select = _split(select) or self.config.select
        self.ignore = (_split(ignore) or []) + self.config.ignore
        self.unsafe_fixes = self.config.unsafe_fixes if unsafe_fixes is None else unsafe_fixes
        self.max_file_size = max_file_size or self.config.max_file_size or DEFAULT_MAX_FILE_BYTES
        self.output_format = output_format
        self.stdin_filename = stdin_filename or "-"
        try:
            self.rules = tuple(select_rules(self.select, self.ignore))
        except ValueError as exc:
            raise UsageFailure(str(exc)) from None
        self._settings: dict[tuple[str, ...], Settings] = {}
        self.cache_dir = cache_dir  # None: results are not cached

    def settings_for(self, path: str) -> Settings:
        extra = tuple(sorted(self.config.ignores_for(path)))
        if extra not in self._settings:
            rules = self.rules
            if extra:
                rules = tuple(r for r in rules if not any(r.code.startswith(c) for c in extra))
            self._settings[extra] = Settings(rules, self.unsafe_fixes, self.max_file_size, self.cache_dir)
        return self._settings[extra]

    def files(self) -> list[str]:
        try:
            return find_files(self.paths, tuple(self.config.exclude))
        except DiscoveryError as exc:
            raise UsageFailure(str(exc)) from None


def _progress(total: int, enabled: bool):
    if not enabled or total < 50 or not sys.stderr.isatty():
        return None
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        sys.stderr.write(f"\rgradfix: {done[0]}/{total} files")
        if done[0] >= total:
            sys.stderr.write("\r" + " " * 40 + "\r")
        sys.stderr.flush()

    return advance


def _emit(results: list[FileResult], run: _Run, applied: bool, show_summary: bool = True) -> None:
    fmt = run.output_format
    if fmt == "json":
        typer.echo(json_report(results))
    elif fmt == "sarif":
        typer.echo(sarif_report(results, run.rules))
    elif fmt == "github":
        text = github_report(results)
        if text:
            typer.echo(text)
    else:
        for result in results:
            for d in result.diagnostics:
                typer.echo(diagnostic_line(result.path, d))
        if show_summary:
            summary = text_summary(results, applied, run.unsafe_fixes)
            if summary:
                typer.echo(summary, err=applied and not any(r.diagnostics for r in results))
    for result in results:
        if result.error:
            typer.echo(error_line(result), err=True)


def _exit_code(results: list[FileResult], exit_zero: bool, changed: bool = False) -> int:
    if any(r.error for r in results):
        return 2
    if exit_zero:
        return 0
    return 1 if changed or any(r.diagnostics for r in results) else 0


def _run_stdin(run: _Run, mode: Mode) -> FileResult:
    data = sys.stdin.buffer.read()
    settings = run.settings_for(run.stdin_filename)
    try:
        source = source_from_bytes(run.stdin_filename, data, settings.max_file_bytes)
    except InputError as exc:
        result = FileResult(path=run.stdin_filename, error=str(exc), error_at=getattr(exc, "position", None))
    else:
        # DIFF, not APPLY: the engine must not write a file named like standard input.
        result = process_source(source, settings, Mode.CHECK if mode is Mode.CHECK else Mode.DIFF)
    if mode is Mode.APPLY:  # an editor replaces the buffer with stdout: the fixed text, or the input as it was
        if result.new_source is not None and not result.error:
            sys.stdout.write(result.new_source)
            sys.stdout.flush()
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        result.diff = ""
    return result


@app.command()
def check(
    paths: Optional[List[str]] = PathsArg,
    select: Optional[List[str]] = SelectOpt,
    ignore: Optional[List[str]] = IgnoreOpt,
    output_format: str = FormatOpt,
    stdin_filename: Optional[str] = StdinNameOpt,
    config: Optional[str] = ConfigOpt,
    isolated: bool = IsolatedOpt,
    unsafe_fixes: Optional[bool] = UnsafeOpt,
    exit_zero: bool = ExitZeroOpt,
    jobs: Optional[int] = JobsOpt,
    max_file_size: Optional[int] = MaxSizeOpt,
    no_progress: bool = NoProgressOpt,
    add_noqa: bool = typer.Option(False, "--add-noqa", help="Write `# noqa: CODE` on every line with a finding (adopt gradfix on a legacy tree)."),
    statistics: bool = typer.Option(False, "--statistics", help="Print the number of findings per rule instead of each finding."),
    no_cache: bool = NoCacheOpt,
    cache_dir: Optional[str] = CacheDirOpt,
) -> None:
    """Report code that breaks gradient flow (exit 1 if anything is found)."""
    from gradfix.cache import default_directory

    cache = None if no_cache or add_noqa else (cache_dir or default_directory())
    run = _Run(paths, select, ignore, output_format, stdin_filename, config, isolated, unsafe_fixes, max_file_size, cache)
    if add_noqa:
        raise typer.Exit(_add_noqa(run))
    if run.stdin:
        results = [_run_stdin(run, Mode.CHECK)]
    else:
        files = run.files()
        results = process_files([(f, run.settings_for(f)) for f in files], Mode.CHECK, jobs, _progress(len(files), not no_progress))
    if statistics:
        _emit_statistics(results, run)
    else:
        _emit(results, run, applied=False)
    raise typer.Exit(_exit_code(results, exit_zero))


def _add_noqa(run: _Run) -> int:
    """check --add-noqa: suppress every current finding in place; exit 0 unless a file failed."""
    from gradfix.noqa import add_noqa_to_file

    if run.stdin:
        raise UsageFailure("--add-noqa writes files; it cannot read standard input")
    added = failed = 0
    for path in run.files():
        try:
            changed, unplaced = add_noqa_to_file(path, run.settings_for(path))
        except InputError as exc:
            typer.echo(f"gradfix: error: {path}: {exc}", err=True)
            failed += 1
            continue
        except OSError as exc:
            typer.echo(f"gradfix: error: {path}: cannot write: {exc.strerror or exc}", err=True)
            failed += 1
            continue
        added += changed
        if unplaced:
            typer.echo(f"gradfix: warning: {path}: {unplaced} finding{'s' if unplaced != 1 else ''} not suppressed "
                       "(the line ends inside a string or with a backslash)", err=True)
    typer.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
    return 2 if failed else 0


def _emit_statistics(results: list[FileResult], run: _Run) -> None:
    """--statistics: one line per rule, most frequent first, in ruff's layout (count, code, [*], name)."""
    import json
    from collections import Counter

    found = [d for r in results for d in r.diagnostics]
    counts = Counter(d.code for d in found)
    names = {d.code: d.name for d in found}
    fixable = {d.code for d in found if d.fix_applicability == "safe" or (d.fix_applicability and run.unsafe_fixes)}
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if run.output_format == "json":
        typer.echo(json.dumps([{"code": c, "name": names[c], "count": n, "fixable": c in fixable} for c, n in rows], indent=2))
    else:
        count_width = max((len(str(n)) for _, n in rows), default=1)
        code_width = max((len(c) for c, _ in rows), default=1)
        for code, count in rows:
            marker = ("[*] " if code in fixable else "[ ] ") if fixable else ""
            typer.echo(f"{count:>{count_width}}\t{code:<{code_width}}\t{marker}{names[code]}")
        summary = text_summary(results, False, run.unsafe_fixes)
        if summary:
            typer.echo(summary)
    for result in results:
        if result.error:
            typer.echo(f"gradfix: error: {result.path}: {result.error}", err=True)


@app.command()
def apply(
    paths: Optional[List[str]] = PathsArg,
    diff: bool = typer.Option(False, "--diff", help="Write nothing; print a unified diff of every fix (exit 1 if anything would change)."),
    select: Optional[List[str]] = SelectOpt,
    ignore: Optional[List[str]] = IgnoreOpt,
    unsafe_fixes: Optional[bool] = UnsafeOpt,
    output_format: str = FormatOpt,
    stdin_filename: Optional[str] = StdinNameOpt,
    config: Optional[str] = ConfigOpt,
    isolated: bool = IsolatedOpt,
    exit_zero: bool = ExitZeroOpt,
    exit_non_zero_on_fix: bool = typer.Option(False, "--exit-non-zero-on-fix", help="Exit 1 when any file was changed."),
    jobs: Optional[int] = JobsOpt,
    max_file_size: Optional[int] = MaxSizeOpt,
    no_progress: bool = NoProgressOpt,
    verify_fixes: bool = typer.Option(False, "--verify", help="Run the original and the rewritten code; write only the rewrites proven right."),
    run_command: Optional[str] = RunOpt,
    python: Optional[str] = PythonOpt,
    timeout: float = TimeoutOpt,
) -> None:
    """Rewrite the code so gradients flow again (atomically, file by file)."""
    run = _Run(paths, select, ignore, output_format, stdin_filename, config, isolated, unsafe_fixes, max_file_size)
    mode = Mode.DIFF if diff else Mode.APPLY
    if verify_fixes and not diff and not run.stdin:
        raise typer.Exit(_apply_verified(run, jobs, run_command, python, timeout, exit_zero))
    if run_command is not None and not verify_fixes:
        raise UsageFailure("--run is only used with --verify")
    if run.stdin:
        results = [_run_stdin(run, mode)]
        if mode is Mode.APPLY:  # stdout carries the source; findings go to stderr
            for d in results[0].diagnostics:
                typer.echo(diagnostic_line(run.stdin_filename, d), err=True)
            if results[0].error:
                typer.echo(error_line(results[0]), err=True)
            raise typer.Exit(_exit_code(results, exit_zero))
    else:
        files = run.files()
        results = process_files([(f, run.settings_for(f)) for f in files], mode, jobs, _progress(len(files), not no_progress))
    changed = any(r.new_source is not None for r in results)
    if mode is Mode.DIFF:
        for result in results:
            if result.diff:
                typer.echo(result.diff, nl=False)
        fixes = sum(len(r.fixed) for r in results)
        files_changed = sum(1 for r in results if r.diff)
        if run.output_format == "text":
            if fixes:
                typer.echo(f"Would fix {fixes} finding{'s' if fixes != 1 else ''} in {files_changed} file{'s' if files_changed != 1 else ''}.", err=True)
            else:
                typer.echo("No fixes available.", err=True)
        for result in results:
            if result.error:
                typer.echo(error_line(result), err=True)
        raise typer.Exit(2 if any(r.error for r in results) else (1 if changed and not exit_zero else 0))
    _emit(results, run, applied=True)
    code = _exit_code(results, exit_zero)
    if code == 0 and exit_non_zero_on_fix and changed:
        code = 1
    raise typer.Exit(code)


# Verifier ---------------------------------------------------------------------------------
def _verify_report(verdicts, output_format: str) -> None:
    from gradfix.verify.report import json_report, summary_line, text_report

    if output_format == "json":
        typer.echo(json_report(verdicts))
        return
    for verdict in verdicts:
        if len(verdicts) > 1 and verdict.verdict == "unchanged":
            continue  # a folder: list the rewrites only
        typer.echo(text_report(verdict))
    typer.echo(summary_line(verdicts), err=True)


def _apply_verified(run: "_Run", jobs, run_command, python, timeout, exit_zero) -> int:
    """apply --verify: compute the rewrites in memory, verify them, write only the proven ones."""
    from gradfix.engine import read_source, write_atomically
    from gradfix.verify.api import FileVerdict, UsageError, passed, verify_rewrites
    from gradfix.verify.compare import UNVERIFIABLE, Decision

    if run.output_format not in ("text", "json"):
        raise UsageFailure("--verify supports --output-format text or json")
    files = run.files()
    results = process_files([(f, run.settings_for(f)) for f in files], Mode.DIFF, jobs)
    rewrites = {r.path: r.new_source for r in results if r.new_source is not None and not r.path.endswith(".ipynb")}
    originals = {}
    for path in rewrites:
        try:
            originals[path] = read_source(path)[0]
        except Exception:
            pass
    verdicts = [FileVerdict(r.path, Decision(UNVERIFIABLE, "notebooks are not run by the verifier; left untouched"))
                for r in results if r.new_source is not None and r.path.endswith(".ipynb")]
    try:
        verdicts += list(verify_rewrites(rewrites, run_command, python, timeout).values())
    except UsageError as exc:
        raise UsageFailure(str(exc)) from None
    by_path = {r.path: r for r in results}
    for verdict in verdicts:
        if not passed(verdict) or verdict.rewritten is None:
            continue
        try:
            text, encoding = read_source(verdict.path)
            if text != originals.get(verdict.path):
                by_path[verdict.path].error = "changed while it was being verified; not written"
                continue
            write_atomically(verdict.path, verdict.rewritten, encoding)
            by_path[verdict.path].written = True
        except Exception as exc:
            by_path[verdict.path].error = f"cannot write: {exc}"
    _verify_report(verdicts, run.output_format)
    for result in results:
        if result.error:
            typer.echo(error_line(result), err=True)
    written = sum(1 for r in results if r.written)
    if run.output_format == "text":
        typer.echo(f"Wrote {written} verified rewrite{'s' if written != 1 else ''}; left {len(verdicts) - written} file{'s' if len(verdicts) - written != 1 else ''} untouched.", err=True)
    if any(r.error for r in results):
        return 2
    return 0 if exit_zero or all(passed(v) for v in verdicts) else 1


@app.command()
def verify(
    paths: List[str] = typer.Argument(..., help="FILE (rewrite in memory and run it), OLD NEW (a given pair), or the files/folders a --run command drives."),
    run_command: Optional[str] = RunOpt,
    python: Optional[str] = PythonOpt,
    timeout: float = TimeoutOpt,
    select: Optional[List[str]] = SelectOpt,
    ignore: Optional[List[str]] = IgnoreOpt,
    unsafe_fixes: Optional[bool] = UnsafeOpt,
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
    config: Optional[str] = ConfigOpt,
    isolated: bool = IsolatedOpt,
    keep_scratch: Optional[str] = typer.Option(None, "--keep-scratch", help="Copy the runs' scratch folder (traces, output) here."),
) -> None:
    """Prove a rewrite by running the original and the rewritten code (writes nothing)."""
    from gradfix.verify.api import UsageError, passed, verify_file, verify_pair, verify_paths

    if output_format not in ("text", "json"):
        raise UsageFailure(f"unknown --output-format {output_format!r} (choose from text, json)")
    run = _Run(paths, select, ignore, "text", None, config, isolated, unsafe_fixes, None)
    try:
        if run_command is not None:
            verdicts = verify_paths(run.files(), run_command, python, timeout, run.settings_for, keep=keep_scratch)
        elif len(paths) == 2 and all(os.path.isfile(p) for p in paths):
            verdicts = [verify_pair(paths[0], paths[1], python, timeout, keep=keep_scratch)]
        else:
            verdicts = [verify_file(f, python, timeout, run.settings_for(f), keep=keep_scratch) for f in run.files()]
    except UsageError as exc:
        raise UsageFailure(str(exc)) from None
    _verify_report(verdicts, output_format)
    raise typer.Exit(0 if all(passed(v) for v in verdicts) else 1)


@app.command()
def clean(
    cache_dir: Optional[str] = CacheDirOpt,
) -> None:
    """Remove the cache of check results (.gradfix_cache)."""
    from gradfix.cache import clean as remove, default_directory

    directory = cache_dir or default_directory()
    try:
        removed = remove(directory)
    except (ValueError, OSError) as exc:
        raise UsageFailure(str(exc)) from None
    typer.echo(f"Removed {directory}" if removed else f"No cache at {directory}", err=True)


@app.command()
def server() -> None:
    """Run the language server on standard input/output (diagnostics, quick fixes; for editors)."""
    from gradfix import engine
    from gradfix.server import serve

    engine.keep_last_file(False)  # (it checks documents for as long as the editor runs: free each)
    serve()


@app.command()
def doctor(
    path: Optional[str] = typer.Argument(None, help="A script to run (or give --run)."),
    run_command: Optional[str] = typer.Option(None, "--run", help="The command that trains, e.g. 'python train.py --epochs 1' or 'python -m pytest tests/'."),
    python: Optional[str] = PythonOpt,
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds the run may take."),
    max_backward: int = typer.Option(20, "--max-backward", help="Stop the program after this many backward calls."),
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
) -> None:
    """Run a training step; for every parameter left without a gradient, say where its path to the loss was cut."""
    import json

    from gradfix.doctor.diagnose import as_json, format_text, run_doctor
    from gradfix.verify.runner import UsageError, parse_run_command, script_target

    if output_format not in ("text", "json"):
        raise UsageFailure(f"unknown --output-format {output_format!r} (choose from text, json)")
    if (path is None) == (run_command is None):
        raise UsageFailure("give a script (gradfix doctor train.py) or --run 'python ARGS', not both")
    if max_backward < 1:
        raise UsageFailure("--max-backward must be at least 1")
    try:
        if run_command is not None:
            target = parse_run_command(run_command)
            what = run_command
        else:
            if not os.path.isfile(path):
                raise UsageFailure(f"{path}: no such file")
            if path.endswith(".ipynb"):
                raise UsageFailure(f"{path}: notebooks are not run; export it (jupyter nbconvert --to script) and run the script")
            target = script_target(path)
            what = path
        report = run_doctor(target, python, timeout, max_backward)
    except UsageError as exc:
        raise UsageFailure(str(exc)) from None
    if report.fatal:
        typer.echo(f"gradfix: error: {what}: {report.fatal}", err=True)
        raise typer.Exit(2)
    if output_format == "json":
        typer.echo(json.dumps(as_json(report), indent=2))
    else:
        typer.echo(format_text(report, what))
    raise typer.Exit(0 if report.clean else 1)


@app.command()
def rules(
    code: Optional[str] = typer.Argument(None, help="A rule code (e.g. GF101) to explain."),
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
) -> None:
    """List the rules, or explain one with bad and good code."""
    import json

    catalogue = all_rules()
    if output_format not in ("text", "json"):
        raise UsageFailure(f"unknown --output-format {output_format!r} (choose from text, json)")
    if code is not None:
        rule = catalogue.get(code.upper())
        if rule is None:
            raise UsageFailure(f"unknown rule code: {code}")
        if output_format == "json":
            typer.echo(json.dumps({"code": rule.code, "name": rule.name, "summary": rule.summary, "fixable": rule.fixable, "explanation": rule.explanation()}, indent=2))
        else:
            typer.echo(f"{rule.code} {rule.name}\n\n{rule.summary}\n\n{rule.explanation()}")
        return
    if output_format == "json":
        typer.echo(json.dumps([{"code": r.code, "name": r.name, "summary": r.summary, "fixable": r.fixable} for r in catalogue.values()], indent=2))
        return
    width = max(len(r.name) for r in catalogue.values())
    for rule in catalogue.values():
        fix = "fix " if rule.fixable else "    "
        typer.echo(f"{rule.code}  {rule.name:<{width}}  {fix} {rule.summary}")


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: one-line errors, ruff's exit codes."""
    command = typer.main.get_command(app)
    debug = bool(os.environ.get("GRADFIX_DEBUG"))
    exit_hard = argv is None  # the console script: nothing runs after it in this process
    if exit_hard:
        from gradfix import engine

        engine.keep_last_file()
    try:
        code = command.main(args=argv, prog_name="gradfix", standalone_mode=False)
    except typer.Exit as exc:  # pragma: no cover - returned, not raised, in this mode
        code = exc.exit_code
    except typer.Abort:
        typer.echo("gradfix: interrupted", err=True)
        code = 130
    except (UsageFailure, ConfigError) as exc:
        typer.echo(f"gradfix: error: {exc}", err=True)
        code = 2
    except KeyboardInterrupt:
        typer.echo("gradfix: interrupted", err=True)
        code = 130
    except BrokenPipeError:
        code = 1
    except Exception as exc:  # internal error: one line unless debugging
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors, as typer re-exports them
            typer.echo(f"gradfix: error: {exc.format_message()}", err=True)
            sys.exit(2)
        if debug:
            raise
        typer.echo(f"gradfix: internal error: {type(exc).__name__}: {exc} (set GRADFIX_DEBUG=1 for a traceback)", err=True)
        code = 2
    code = code if isinstance(code, int) else 0
    if exit_hard:
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """Flush and exit without the interpreter's teardown (as mypy does): freeing the last file's
    tree and analysis, object by object, would only delay the exit. Every file is written and
    every worker joined by now; what is left is output."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        code = code or 1
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
