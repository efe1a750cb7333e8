"""Reading and writing what gradfix checks: a ``.py`` file, or a Jupyter notebook's code cells.

:func:`read_source_file` (or :func:`source_from_bytes`) turns a file into one
:class:`Source`: the text the rules read, and how to map findings back and write a fixed
text back. For a ``.py`` file that text is the file itself (decoded with its coding
cookie); for a notebook it is its code cells joined into one module with their cell map.
The engine checks every source the same way (``gradfix.engine.process_source``); it never
sees a notebook.

Notebooks: check and fix the code cells of an ``.ipynb`` like a ``.py`` file.

The code cells are joined into one module (names flow from cell to cell, as when the
notebook runs top to bottom), with a marker comment before each cell. IPython syntax
(``%magic``, ``!shell``, ``x = !cmd``, ``obj?``, a ``%%time`` first line) is replaced line
by line by a placeholder name that parses, and put back exactly afterwards; a cell whose
cell magic runs another language (``%%bash``, ``%%writefile`` ...) is left out. Findings
are mapped back to ``cell N, line L`` (ruff's convention: N counts every cell, markdown
included, from 1).

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
import os
import re
import stat
import tokenize
from dataclasses import dataclass, field
from typing import Any

from gradfix.errors import DEFAULT_MAX_FILE_BYTES, ErrorPosition, InputError, SourceSyntaxError

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


def _locate(module: _Module, source: str, d: Any) -> Any:
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


# Sources ----------------------------------------------------------------------------------------
@dataclass
class Source:
    """One file as the rules read it, and the way back to the file.

    ``text`` is what is checked: the file's text, or a notebook's code module (empty when the
    notebook has no Python code cell). ``original`` is the file's text as read (a notebook's
    JSON), written back with only the fixed cells replaced.
    """

    path: str
    text: str
    original: str
    encoding: str = "utf-8"
    notebook: "dict | None" = None
    module: "_Module | None" = None  # notebooks: the code cells and their placeholders

    @property
    def is_notebook(self) -> bool:
        return self.notebook is not None

    def locate(self, diagnostics: list, final_text: "str | None") -> None:
        """Move diagnostics (in lines of ``final_text``, the checked text after fixing) to their cells."""
        if self.module is None:
            return
        final = final_text if final_text is not None else self.text
        for diagnostic in diagnostics:
            _locate(self.module, final, diagnostic)

    def locate_error(self, exc: SourceSyntaxError) -> SourceSyntaxError:
        """``exc`` with its position in the cell it is in (notebooks)."""
        if self.module is None:
            return exc
        at = exc.position
        located = _Span(at.line, at.column, at.line, at.column)
        _locate(self.module, self.text, located)
        return SourceSyntaxError(exc.message, ErrorPosition(located.line, located.column, located.cell))

    def rendered(self, new_text: str) -> "tuple[str | None, str]":
        """(the file's new text or None when no byte changes, its diff) for the fixed ``new_text``."""
        if self.module is None:
            return (new_text, unified_diff(self.path, self.original, new_text)) if new_text != self.original else (None, "")
        texts = _split(self.module, new_text)
        if texts is None:
            raise InputError("a fix could not be mapped back to the notebook's cells; nothing was written")
        old = {cell.index: cell.text for cell in self.module.cells}
        changed = {index: text for index, text in texts.items() if text != old[index]}
        if not changed:
            return None, ""
        return _rewrite(self.original, self.notebook, changed), _diff(self.path, self.module, changed)

    def write(self, file_text: str) -> None:
        write_atomically(self.path, file_text, self.encoding)


@dataclass
class _Span:
    """A position in the joined code cells, moved to its cell by :func:`_locate`."""

    line: int
    column: int
    end_line: int
    end_column: int
    cell: "int | None" = None


def is_notebook_path(path: str) -> bool:
    return path.endswith(".ipynb")


def size_limit(path: str, max_file_bytes: int) -> int:
    """How many bytes the file at ``path`` may have: notebooks carry outputs (plots, tables);
    the limit on their code is checked when they are read."""
    return max_file_bytes * OUTPUT_ALLOWANCE if is_notebook_path(path) else max_file_bytes


def read_source_file(path: str, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Source:
    """The :class:`Source` of the file at ``path``. Raises InputError."""
    return source_from_bytes(path, read_bytes(path, size_limit(path, max_file_bytes)), max_file_bytes)


def source_from_bytes(path: str, data: bytes, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Source:
    """The :class:`Source` of a file's bytes (``path`` says whether it is a notebook). Raises InputError."""
    if not is_notebook_path(path):
        text, encoding = decode_source(data)
        return Source(path, text, text, encoding)
    text, notebook = _load(data)
    module = code_module(notebook)
    if module is None:
        return Source(path, "", text, "utf-8", notebook, None)
    size = len(module.text.encode("utf-8"))
    if size > max_file_bytes:
        raise InputError(f"code cells too large ({size} bytes > {max_file_bytes}); raise --max-file-size to check them")
    return Source(path, module.text, text, "utf-8", notebook, module)


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


def cell_location(module: _Module, source: str, diagnostic: Any) -> Any:
    """``diagnostic`` (in lines of the module text ``source``) moved to its cell (1-based) and line there."""
    return _locate(module, source, diagnostic)


def replace_cell_sources(text: str, notebook: dict, texts: dict[int, str]) -> str:
    """The notebook JSON ``text`` with the sources of the cells in ``texts`` replaced, all else byte-exact."""
    return _rewrite(text, notebook, texts)


# Files ----------------------------------------------------------------------------------------------
def read_bytes(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The bytes of a file to check: not a symbolic link, not larger than ``max_bytes``. Raises InputError."""
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode):
            raise InputError("is a symbolic link; pass the file it points to")
        size = status.st_size
        if size > max_bytes:
            raise InputError(f"file too large ({size} bytes > {max_bytes}); raise --max-file-size to check it")
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None


def read_source(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str, str]:
    """(text, encoding) of a Python file, honouring its coding cookie. Raises InputError."""
    return decode_source(read_bytes(path, max_bytes))


def decode_source(data: bytes) -> tuple[str, str]:
    if b"\x00" in data:
        raise InputError("not a text file (contains NUL bytes)")
    try:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as exc:
            if "invalid or missing encoding declaration" not in str(exc):
                raise
            encoding = "utf-8"  # no cookie, and the first lines are not UTF-8: say where
        # newline="" semantics: keep "\r\n" and "\r" exactly as they are.
        return data.decode(encoding), encoding
    except (SyntaxError, LookupError) as exc:
        raise InputError(f"cannot determine the encoding: {exc}") from None
    except UnicodeDecodeError as exc:
        raise _decode_error(data, exc) from None


def _decode_error(data: bytes, exc: UnicodeDecodeError) -> SourceSyntaxError:
    """The line and column of the first byte that does not decode (everything before it does)."""
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = data.count(b"\n", 0, exc.start) + 1
    column = len(data[line_start:exc.start].decode(exc.encoding, "replace")) + 1
    return SourceSyntaxError(
        f"{exc.encoding!r} codec can't decode byte 0x{data[exc.start]:02x}: {exc.reason}",
        ErrorPosition(line, column))


def write_atomically(path: str, text: str, encoding: str) -> None:
    """Replace ``path`` by ``text`` via a temporary file and rename; keep the file's mode and owner."""
    status = os.stat(path)

    def keep_owner_and_mode(temp: str) -> None:
        if hasattr(os, "chown") and (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
            try:  # e.g. root fixing a user's checkout must not leave root-owned files behind
                os.chown(temp, status.st_uid, status.st_gid)
            except OSError:
                pass  # not allowed: the new file is ours, as with any editor's save
        os.chmod(temp, status.st_mode & 0o7777)

    replace_file(path, text.encode(encoding), before_rename=keep_owner_and_mode)


def replace_file(path: str, data: bytes, before_rename=None, sync: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``: a reader
    sees the old content or the new, never part of it. ``sync``: flush to disk first."""
    import tempfile  # here, not at the top: a check that writes nothing never needs it (nor random)

    fd, temp = tempfile.mkstemp(prefix=".gradfix-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename(temp)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def unified_diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=path, tofile=path
    )
    out = []
    for line in lines:
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)
