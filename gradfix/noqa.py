"""Writing ``# noqa: CODE`` comments: ``gradfix check --add-noqa`` and the language server's
"Suppress ... on this line" action.

A code joins an existing ``# noqa: A, B`` comment of the line; otherwise ``  # noqa: CODE``
goes at the end of the line, after any comment already there (as ruff does). A finding is
suppressed on its first line or, when that line cannot end with a comment (it ends inside
a multi-line string or with a backslash continuation), on its last line.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Iterable

from gradfix import notebook as nb
from gradfix.engine import InputError, Settings, check_source, read_bytes, read_source, write_atomically

# The same grammar the engine's suppression check reads: codes separated by commas/spaces.
_NOQA_CODES = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings, split as Python does ("\\n", "\\r\\n", "\\r")."""
    return io.StringIO(text, newline="").readlines()


@dataclass
class _Layout:
    comments: dict[int, tuple[int, str]]  # line -> (column, text) of its comment
    blocked: set[int]  # lines that cannot end with a comment


def _layout(source: str) -> _Layout | None:
    """Where the comments are and which lines cannot take one; None if it does not tokenize."""
    comments: dict[int, tuple[int, str]] = {}
    blocked: set[int] = set()
    fstring_starts: list[int] = []
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    try:
        for token in tokenize.generate_tokens(io.StringIO(source, newline="").readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = (token.start[1], token.string)
            elif token.type == tokenize.STRING and token.end[0] > token.start[0]:
                blocked.update(range(token.start[0], token.end[0]))
            elif fstring_start is not None and token.type == fstring_start:
                fstring_starts.append(token.start[0])
            elif fstring_end is not None and token.type == fstring_end and fstring_starts:
                blocked.update(range(fstring_starts.pop(), token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        return None
    for number, line in enumerate(split_lines(source), start=1):
        if line.rstrip("\r\n").endswith("\\") and number not in comments:
            blocked.add(number)
    return _Layout(comments, blocked)


def _covered(code: str, codes: Iterable[str]) -> bool:
    return any(code.upper().startswith(c.upper()) for c in codes)


def _with_codes(line: str, comment: tuple[int, str] | None, codes: list[str]) -> str:
    """``line`` with ``codes`` added to its noqa comment (or a new one); unchanged if covered."""
    body = line.rstrip("\r\n")
    ending = line[len(body):]
    if comment is not None:
        column, text = comment
        for match in _NOQA_CODES.finditer(text):
            if match.group("codes") is None:
                return line  # a bare `# noqa` already suppresses everything
            existing = re.split(r"[\s,]+", match.group("codes").strip())
            new = [c for c in codes if not _covered(c, existing)]
            if not new:
                return line
            start, end = column + match.start("codes"), column + match.end("codes")
            return body[:start] + ", ".join(existing + new) + body[end:] + ending
    return body + "  # noqa: " + ", ".join(codes) + ending


def add_noqa(source: str, findings: Iterable[tuple[str, int, int]]) -> tuple[str, int, int]:
    """Suppress ``(code, line, end_line)`` findings in ``source``.

    Returns (new source, lines changed, findings that could not be suppressed).
    """
    findings = list(findings)
    layout = _layout(source)
    if layout is None:
        return source, 0, len(findings)
    lines = split_lines(source)
    by_line: dict[int, list[str]] = {}
    unplaced = 0
    for code, line, end_line in findings:
        target = next((n for n in (line, end_line) if 1 <= n <= len(lines) and n not in layout.blocked), None)
        if target is None:
            unplaced += 1
            continue
        codes = by_line.setdefault(target, [])
        if code not in codes:
            codes.append(code)
    changed = 0
    for number, codes in by_line.items():
        new_line = _with_codes(lines[number - 1], layout.comments.get(number), sorted(codes))
        if new_line != lines[number - 1]:
            lines[number - 1] = new_line
            changed += 1
    return "".join(lines), changed, unplaced



def add_noqa_to_file(path: str, settings: Settings) -> tuple[int, int]:
    """Suppress every current finding of the file at ``path`` in place (a notebook's cells too).

    Returns (lines changed, findings that could not be suppressed). Raises InputError.
    """
    if path.endswith(".ipynb"):
        text, notebook = nb.load_notebook(read_bytes(path, settings.max_file_bytes * nb.OUTPUT_ALLOWANCE))
        module = nb.code_module(notebook)
        if module is None:
            return 0, 0
        source, encoding = module.text, "utf-8"
    else:
        source, encoding = read_source(path, settings.max_file_bytes)
    found = check_source(source, path, settings, fix=False).diagnostics
    new_source, changed, unplaced = add_noqa(source, [(d.code, d.line, d.end_line) for d in found])
    if not changed:
        return 0, unplaced
    if path.endswith(".ipynb"):
        texts = nb.module_cells(module, new_source)
        if texts is None:
            raise InputError("the noqa comments could not be mapped back to the notebook's cells; nothing was written")
        before = {cell.index: cell.text for cell in module.cells}
        new_source = nb.replace_cell_sources(text, notebook, {i: t for i, t in texts.items() if t != before[i]})
    write_atomically(path, new_source, encoding)
    return changed, unplaced
