"""Run the real CLI in-process and capture what it prints and how it exits."""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass

from gradfix.cli import main


@dataclass
class Run:
    code: int
    out: str
    err: str


def gradfix(capsys, *args: str, stdin: bytes | None = None) -> Run:
    """``gradfix ARGS`` via ``gradfix.cli.main``; ``stdin`` feeds standard input."""
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", newline="")
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    else:  # main always exits
        raise AssertionError("gradfix.cli.main returned without exiting")
    finally:
        sys.stdin = saved
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


_ERROR_LINE = re.compile(r"gradfix: |\S.*?(?::cell \d+)?:\d+:\d+: error: ")


def assert_one_line_error(run: Run, *needles: str) -> None:
    """Exit 2, no traceback, and one error line that says what is wrong.

    The line is ``gradfix: error: ...``, or ``path:line:col: error: ...`` for a place in a source.
    """
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err + run.out
    errors = [line for line in run.err.splitlines() if _ERROR_LINE.match(line)]
    assert len(errors) == 1, run.err
    # Nothing else on stderr but the summary lines the CLI prints there.
    others = [line for line in run.err.splitlines() if not _ERROR_LINE.match(line)]
    assert all(re.fullmatch(r"(Would fix|No fixes|Fixed|Found|All checks|\d+ files? could not)[^\n]*", o) for o in others), run.err
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])


def put(folder, name, text):
    """Write ``text`` (str, newlines kept as given, or bytes) to ``folder/name``."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, newline="")
    return path
