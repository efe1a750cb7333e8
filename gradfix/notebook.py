"""Jupyter notebooks: check and fix the code cells of an ``.ipynb`` like a ``.py`` file.

The code cells are joined into one module (names flow from cell to cell, as when the
notebook runs top to bottom), with a marker comment before each cell. IPython syntax
(``%magic``, ``!shell``, ``x = !cmd``, ``obj?``, a ``%%time`` first line) is replaced line
by line by a placeholder name that parses, and put back exactly afterwards; a cell whose
cell magic runs another language (``%%bash``, ``%%writefile`` ...) is left out. The engine's
``check_source`` does the work; findings are mapped back to ``cell N, line L`` (ruff's
convention: N counts every cell, markdown included, from 1).

Fixes are written back into the cells they belong to. The notebook's JSON is edited in
place: only the ``source`` value of a changed cell is re-serialized, in the style of the
original (indentation, list of lines or one string, escaping), so every other byte, the key
order and the trailing newline stay as they were.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import re
import tokenize
from dataclasses import dataclass, field

from gradfix.engine import (
    Diagnostic,
    ErrorPosition,
    FileResult,
    InputError,
    Mode,
    Settings,
    SourceResult,
    SourceSyntaxError,
    check_source,
    read_bytes,
    write_atomically,
)

OUTPUT_ALLOWANCE = 20  # a notebook file may be this many times --max-file-size; its code may not
_MARKER = "# __gradfix_cell_{}__"
_MARKER_LINE = re.compile(r"^# __gradfix_cell_(\d+)__\r?\n?", re.M)
_PLACEHOLDER = "__gradfix_magic_{}__"
_PLACEHOLDER_LINE = re.compile(r"^[ \t]*__gradfix_magic_(\d+)__[ \t]*$", re.M)

# Cell magics whose body is Python: the first line is masked, the body is checked.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_MAGIC_START = re.compile(r"[ \t]*(?:[%!?]|[\w.\[\], ]+=[ \t]*[%!])")
_HELP = re.compile(r"[ \t]*\??[\w.*]+\?{1,2}[ \t]*$")


@dataclass
class _Cell:
    index: int  # position among all cells, 0-based
    text: str  # the cell's source as it is in the notebook
    code: str = ""  # what goes into the module (magics masked, always ends with a newline)


@dataclass
class _Module:
    text: str = ""
    cells: list[_Cell] = field(default_factory=list)
    magics: dict[int, str] = field(default_factory=dict)  # placeholder number -> original line


# Reading the JSON with the position of every cell's source ---------------------------------
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _members(text: str, pos: int, on_value):
    """Walk the object at ``pos``; ``on_value(key, start)`` returns where the value ends."""
    pos = _skip(text, pos)
    if text[pos : pos + 1] != "{":
        raise ValueError("expected an object")
    pos = _skip(text, pos + 1)
    if text[pos : pos + 1] == "}":
        return pos + 1
    while True:
        key, pos = json.decoder.scanstring(text, pos + 1)
        pos = _skip(text, pos)
        if text[pos : pos + 1] != ":":
            raise ValueError("expected ':'")
        pos = on_value(key, _skip(text, pos + 1))
        pos = _skip(text, pos)
        if text[pos : pos + 1] == "}":
            return pos + 1
        if text[pos : pos + 1] != ",":
            raise ValueError("expected ',' or '}'")
        pos = _skip(text, pos + 1)


def _value_end(text: str, pos: int) -> int:
    return _DECODER.raw_decode(text, pos)[1]


def _source_spans(text: str) -> list[tuple[int, int] | None]:
    """(start, end) of each cell's ``source`` value in the JSON text, by cell index."""
    spans: list[tuple[int, int] | None] = []

    def cell_member(key: str, start: int) -> int:
        end = _value_end(text, start)
        if key == "source":
            spans[-1] = (start, end)
        return end

    def top_member(key: str, start: int) -> int:
        if key != "cells" or text[start : start + 1] != "[":
            return _value_end(text, start)
        pos = _skip(text, start + 1)
        if text[pos : pos + 1] == "]":
            return pos + 1
        while True:
            spans.append(None)
            pos = _members(text, pos, cell_member) if text[pos : pos + 1] == "{" else _value_end(text, pos)
            pos = _skip(text, pos)
            if text[pos : pos + 1] == "]":
                return pos + 1
            pos = _skip(text, pos + 1)

    _members(text, 0, top_member)
    return spans


def _load(data: bytes) -> tuple[str, dict]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"notebook is not valid UTF-8 at byte {exc.start}") from None
    body = text[1:] if text.startswith("\ufeff") else text
    try:
        notebook = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid notebook JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputError("invalid notebook JSON: nested too deeply") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        if isinstance(notebook, dict) and "worksheets" in notebook:
            raise InputError("notebook format 3 is not supported; upgrade it with `jupyter nbconvert --to notebook`")
        raise InputError("not a Jupyter notebook: no 'cells' list")
    return text, notebook


def _is_python(notebook: dict) -> bool:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, name_key in (("language_info", "name"), ("kernelspec", "language")):
        info = metadata.get(key)
        if isinstance(info, dict) and isinstance(info.get(name_key), str):
            return info[name_key].lower() == "python"
    return True


def _cell_text(source: object) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


# IPython syntax -----------------------------------------------------------------------------
def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _mask_magics(text: str, magics: dict[int, str]) -> str | None:
    """The cell with IPython lines replaced by placeholders; None to leave the cell out."""
    lines = text.splitlines(keepends=True)
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)[0] if len(first) > 2 else ""
        if name not in _PYTHON_CELL_MAGICS:
            return None  # another language, or a file to write: not Python
        masked_from = 1
        lines[0] = _placeholder(lines[0], "", magics)
    else:
        masked_from = 0
        if _parses(text):
            return text
    before = dict(magics)
    masked = _masked(lines, masked_from, None, magics)
    if not _parses(masked):
        # A line that merely looks like IPython may continue a statement ("a %s"\n % b):
        # mask only lines that start a statement, if that is what makes the cell parse.
        starts = _statement_starts(text)
        trial = dict(before)
        if starts is not None:
            alternative = _masked(lines, masked_from, starts, trial)
            if _parses(alternative):
                magics.clear()
                magics.update(trial)
                return alternative
    return masked


def _statement_starts(text: str) -> set[int] | None:
    """1-based numbers of the lines that start a statement (not inside brackets, strings or after a backslash)."""
    starts, depth = {1}, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth = max(0, depth - 1)
            elif token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                starts.add(token.start[0] + 1)
    except (tokenize.TokenError, SyntaxError):
        return None
    return starts


def _masked(lines: list[str], masked_from: int, starts: set[int] | None, magics: dict[int, str]) -> str:
    out = lines[:masked_from]
    continuation: str | None = None  # indentation of a magic continued with a backslash
    for number, line in enumerate(lines[masked_from:], start=masked_from + 1):
        body = line.rstrip("\r\n")
        if continuation is not None:
            out.append(_placeholder(line, continuation, magics))
        elif (starts is None or number in starts) and (_MAGIC_START.match(body) or _HELP.match(body)):
            continuation = body[: len(body) - len(body.lstrip(" \t"))]
            out.append(_placeholder(line, continuation, magics))
        else:
            out.append(line)
            continue
        if not body.endswith("\\"):
            continuation = None
    return "".join(out)


def _placeholder(line: str, indent: str, magics: dict[int, str]) -> str:
    number = len(magics)
    ending = line[len(line.rstrip("\r\n")) :]
    magics[number] = line[: len(line) - len(ending)]
    return f"{indent}{_PLACEHOLDER.format(number)}{ending}"


def _build(notebook: dict) -> _Module:
    module = _Module()
    parts: list[str] = []
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell.get("source", ""))
        if text is None:
            continue
        code = _mask_magics(text, module.magics)
        if code is None:
            continue
        if code and not code.endswith("\n"):
            code += "\n"
        parts.append(_MARKER.format(index) + "\n")
        module.cells.append(_Cell(index, text, code))
        parts.append(code)
    module.text = "".join(parts)
    return module


# Mapping back ---------------------------------------------------------------------------------
def _split(module: _Module, source: str) -> dict[int, str] | None:
    """Cell index -> new cell text, from the (fixed) module text; None if it cannot be mapped."""
    def restore(match: re.Match) -> str:
        return module.magics.get(int(match.group(1)), match.group(0))

    numbers = [int(m.group(1)) for m in _PLACEHOLDER_LINE.finditer(source)]
    if sorted(numbers) != sorted(module.magics):
        return None
    source = _PLACEHOLDER_LINE.sub(restore, source)
    markers = list(_MARKER_LINE.finditer(source))
    if [int(m.group(1)) for m in markers] != [c.index for c in module.cells]:
        return None
    prefix = source[: markers[0].start()] if markers else ""
    texts: dict[int, str] = {}
    for number, (cell, marker) in enumerate(zip(module.cells, markers)):
        end = markers[number + 1].start() if number + 1 < len(markers) else len(source)
        text = source[marker.end() : end]
        if number == 0:
            text = prefix + text  # e.g. an import a fix added at the top of the module
        if not cell.text.endswith("\n") and text.endswith("\n"):
            text = text[:-1]
        texts[cell.index] = text
    return texts


def _locate(module: _Module, source: str, d: Diagnostic) -> Diagnostic:
    """Turn a module line into (cell, line in the cell), using the markers of ``source``."""
    starts = [(m.start(), int(m.group(1))) for m in _MARKER_LINE.finditer(source)]
    cell, start_line = None, 1
    for offset, index in starts:
        marker_line = source.count("\n", 0, offset) + 1
        if marker_line >= d.line:
            break
        cell, start_line = index, marker_line + 1
    if cell is None:  # above the first cell: only text a fix inserted
        cell = module.cells[0].index if module.cells else 0
    d.cell = cell + 1
    d.end_line = d.end_line - d.line  # keep the span's height
    d.line = d.line - start_line + 1
    d.end_line += d.line
    return d


def _dump_source(value: object, original: str, new_text: str, ensure_ascii: bool) -> str:
    """``new_text`` serialized the way ``original`` (the JSON of the old value) was."""
    if isinstance(value, str):
        return json.dumps(new_text, ensure_ascii=ensure_ascii)
    items = [json.dumps(line, ensure_ascii=ensure_ascii) for line in new_text.splitlines(keepends=True)]
    layout = re.fullmatch(r"\[(\s*)\S.*?(\s*)\]", original, re.S)
    if not items or layout is None:  # an empty list before: no layout to copy
        return "[" + ", ".join(items) + "]"
    opening, closing = layout.groups()
    return "[" + opening + ("," + opening if opening else ", ").join(items) + closing + "]"


def _uses_ascii_escapes(text: str) -> bool:
    if any(ord(ch) > 127 for ch in text):
        return False
    return re.search(r"\\u(?!00[0-7])[0-9a-fA-F]{4}", text) is not None


def _rewrite(text: str, notebook: dict, texts: dict[int, str]) -> str:
    spans = _source_spans(text[1:] if text.startswith("\ufeff") else text)
    shift = 1 if text.startswith("\ufeff") else 0
    ensure_ascii = _uses_ascii_escapes(text)
    pieces, last = [], 0
    for index in sorted(texts):
        span = spans[index] if index < len(spans) else None
        if span is None:
            raise InputError(f"cannot locate the source of cell {index + 1} in the JSON")
        start, end = span[0] + shift, span[1] + shift
        value = notebook["cells"][index]["source"]
        pieces.append(text[last:start])
        pieces.append(_dump_source(value, text[start:end], texts[index], ensure_ascii))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _diff(path: str, module: _Module, texts: dict[int, str]) -> str:
    out = []
    for cell in module.cells:
        if cell.index not in texts:
            continue
        name = f"{path}:cell {cell.index + 1}"
        for line in difflib.unified_diff(
            cell.text.splitlines(keepends=True), texts[cell.index].splitlines(keepends=True), fromfile=name, tofile=name
        ):
            out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def check_notebook_text(text: str, notebook: dict, path: str, settings: Settings, fix: bool) -> tuple[SourceResult, str | None, str]:
    """(result with cell-mapped diagnostics, new notebook JSON or None, per-cell diff)."""
    if not _is_python(notebook):
        return SourceResult(), None, ""
    module = _build(notebook)
    if not module.cells:
        return SourceResult(), None, ""
    size = len(module.text.encode("utf-8"))
    if size > settings.max_file_bytes:
        raise InputError(f"code cells too large ({size} bytes > {settings.max_file_bytes}); raise --max-file-size to check them")
    try:
        checked = check_source(module.text, path, settings, fix=fix)
    except SourceSyntaxError as exc:  # CPython's position in the joined cells -> the cell's own
        at = exc.position
        located = _locate(module, module.text, Diagnostic("", "", "", at.line, at.column, at.line, at.column, None))
        raise SourceSyntaxError(exc.message, ErrorPosition(located.line, located.column, located.cell)) from None
    final = checked.new_source if checked.new_source is not None else module.text
    checked.diagnostics = [_locate(module, final, d) for d in checked.diagnostics]
    if checked.new_source is None:
        return checked, None, ""
    texts = _split(module, checked.new_source)
    if texts is None:
        raise InputError("a fix could not be mapped back to the notebook's cells; nothing was written")
    changed = {index: new for index, new in texts.items() if new != next(c.text for c in module.cells if c.index == index)}
    if not changed:
        checked.new_source = None
        return checked, None, ""
    new_json = _rewrite(text, notebook, changed)
    checked.new_source = new_json
    return checked, new_json, _diff(path, module, changed)


def process_notebook(path: str, settings: Settings, mode: Mode) -> FileResult:
    result = FileResult(path=path)
    try:
        # Outputs (plots, tables) make notebooks large; the limit is on their code (below).
        text, notebook = _load(read_bytes(path, settings.max_file_bytes * OUTPUT_ALLOWANCE))
        checked, new_json, diff = check_notebook_text(text, notebook, path, settings, fix=mode is not Mode.CHECK)
    except InputError as exc:
        result.error, result.error_at = str(exc), getattr(exc, "position", None)
        return result
    result.diagnostics, result.fixed, result.new_source = checked.diagnostics, checked.fixed, checked.new_source
    if new_json is not None:
        if mode is Mode.DIFF:
            result.diff = diff
        elif mode is Mode.APPLY:
            try:
                write_atomically(path, new_json, "utf-8")
                result.written = True
            except OSError as exc:
                result.error = f"cannot write: {exc.strerror or exc}"
    return result


def load_notebook(data: bytes) -> tuple[str, dict]:
    """(text, parsed JSON) of notebook bytes. Raises InputError."""
    return _load(data)


# The code cells as one module, for callers that edit it (language server, --add-noqa) -------
def code_module(notebook: dict) -> _Module | None:
    """The code cells joined as ``check_source`` sees them; None when there is nothing to check."""
    if not _is_python(notebook):
        return None
    module = _build(notebook)
    return module if module.cells else None


def module_cells(module: _Module, source: str) -> dict[int, str] | None:
    """Cell index (0-based) -> cell text, from ``source``, an edited ``module.text``; None if it does not map."""
    return _split(module, source)


def cell_location(module: _Module, source: str, diagnostic: Diagnostic) -> Diagnostic:
    """``diagnostic`` (in lines of the module text ``source``) moved to its cell (1-based) and line there."""
    return _locate(module, source, diagnostic)


def replace_cell_sources(text: str, notebook: dict, texts: dict[int, str]) -> str:
    """The notebook JSON ``text`` with the sources of the cells in ``texts`` replaced, all else byte-exact."""
    return _rewrite(text, notebook, texts)
