"""The engine: run selected rules over sources and files, apply their fixes safely.

It knows nothing rule-specific. Per file: read and decode; skip without parsing when no
selected rule's trigger occurs in the text; parse once; run every triggered rule; drop
suppressed findings; apply the allowed fixes that do not overlap, re-parse, repeat until
nothing more changes; refuse any fix whose result does not parse. Files are processed in
parallel and written atomically.

Speed: the text prefilter (each selected rule's ``literals``, then its ``trigger``; see
``gradfix/rule.py``) decides which files are parsed at all; CPython's cyclic garbage
collector is paused while one source is analysed (an ``ast`` tree and its analysis are
hundreds of thousands of acyclic objects: the collector's passes over them cost more than
the parse); workers are started once per run and fed chunks of files, results come back in
order as chunks finish; checked results are cached by content (``gradfix/cache.py``).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import os
import re
import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Iterable, Sequence

import libcst as cst  # deferred: imported for real only when a fix is built (gradfix/_lazy.py)

from gradfix.errors import DEFAULT_MAX_FILE_BYTES, ErrorPosition, InputError, SourceSyntaxError
from gradfix.notebook import (  # noqa: F401  (the reader/writer of sources; some re-exported for callers)
    Source,
    decode_source,
    is_notebook_path,
    read_bytes,
    read_source,
    size_limit,
    source_from_bytes,
    unified_diff,
    write_atomically,
)
from gradfix.rule import Applicability, Finding, Fix, LazyFix, Rule, select_rules

if TYPE_CHECKING:  # pragma: no cover
    from gradfix.context import FileContext

MAX_FIX_PASSES = 10


class Mode(str, Enum):
    CHECK = "check"  # report only
    DIFF = "diff"  # compute fixes, write nothing
    APPLY = "apply"  # write fixes


@dataclass(frozen=True)
class Settings:
    rules: tuple[type[Rule], ...]
    unsafe_fixes: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    cache_dir: str | None = None  # where `check` results are cached (gradfix/cache.py); None: not cached

    @classmethod
    def from_codes(cls, select=None, ignore=None, unsafe_fixes: bool = False) -> "Settings":
        return cls(tuple(select_rules(select, ignore)), unsafe_fixes)

    def allows(self, fix: "Fix | LazyFix") -> bool:
        return fix.applicability is Applicability.SAFE or self.unsafe_fixes


@dataclass
class Diagnostic:
    """A finding as reported: plain data, so it crosses process boundaries."""

    code: str
    name: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix_applicability: str | None  # "safe", "unsafe" or None (no fix)
    fix_description: str = ""
    note: str = ""
    cell: int | None = None  # notebooks: 1-based cell number; line and column are in that cell

    @property
    def fixable(self) -> bool:
        return self.fix_applicability is not None


@dataclass
class SourceResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)  # what remains (after fixing)
    fixed: list[Diagnostic] = field(default_factory=list)  # what the fixes removed
    new_source: str | None = None  # None: unchanged
    error: str | None = None  # one line; set when the source could not be checked


@dataclass
class FileResult(SourceResult):
    path: str = ""
    written: bool = False
    diff: str = ""
    error_at: "ErrorPosition | None" = None  # where ``error`` is, when it is a place in the source


# Suppression comments --------------------------------------------------------------
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
_IGNORE = re.compile(r"#\s*gradfix:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.I)
_FILE_NOQA = re.compile(r"^\s*#\s*gradfix:\s*noqa(?::\s*(?P<codes>[A-Z0-9,\s]+))?\s*$", re.I | re.M)


def _codes(text: str | None) -> set[str] | None:
    """None means every code."""
    if not text:
        return None
    return {c.upper() for c in re.split(r"[\s,]+", text.strip()) if c}


class Suppressions:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.file_codes: set[str] | None | bool = False
        for match in _FILE_NOQA.finditer(source):
            codes = _codes(match.group("codes"))
            if codes is None:
                self.file_codes = None
                break
            self.file_codes = (self.file_codes or set()) | codes

    def _line_suppresses(self, lineno: int, code: str) -> bool:
        if not 1 <= lineno <= len(self.lines):
            return False
        text = self.lines[lineno - 1]
        if "#" not in text:
            return False
        for pattern in (_NOQA, _IGNORE):
            for match in pattern.finditer(text):
                codes = _codes(match.group("codes"))
                if codes is None or any(code.startswith(c) for c in codes):
                    return True
        return False

    def suppresses(self, finding: Finding) -> bool:
        if self.file_codes is None:
            return True
        if self.file_codes and any(finding.code.startswith(c) for c in self.file_codes):
            return True
        return any(self._line_suppresses(n, finding.code) for n in {finding.line, finding.end_line})


# Running rules -------------------------------------------------------------------------
class _Source:
    """One source text on its way through the rules: its ``ast`` tree and value analysis,
    and its LibCST tree only when a fix is built."""

    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self.path = path
        self._tree: ast.Module | None = None
        self._analysis = None
        self._ctx: FileContext | None = None
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        """The source's lines, split once (findings' columns are converted against them)."""
        if self._lines is None:
            self._lines = self.source.splitlines(keepends=True)
        return self._lines

    @property
    def tree(self) -> ast.Module:
        if self._tree is None:
            self._tree = _parse_ast(self.source)
        return self._tree

    @property
    def analysis(self):
        if self._analysis is None:
            from gradfix.codemods._values import Analysis

            self._analysis = Analysis(self.tree, self.source, self.path)
        return self._analysis

    def release(self) -> None:
        """Break the cycles the analysis's caches make, so the tree is freed now."""
        if self._analysis is not None:
            self._analysis.release()
        elif self._tree is not None:
            from gradfix.codemods._values import release

            release(self._tree)

    @property
    def ctx(self) -> "FileContext":
        if self._ctx is None:
            from gradfix.context import FileContext

            self._ctx = FileContext(self.source, _parse(self.source), self.path)
        return self._ctx


def _triggered(rules: Iterable[type[Rule]], source: str) -> list[type[Rule]]:
    """The rules whose text filters (strings, trigger, text check) pass on this source.

    Each distinct group of strings is searched once for all rules (a substring test, much
    cheaper than a regular expression), and a rule's ``trigger`` runs only when its groups
    are all there.
    """
    present: dict = {}
    return [rule for rule in rules if rule.may_match(source, present)]


@contextlib.contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while one source is analysed (see the module docstring).

    Reference counting still frees everything; the collector resumes (and catches up on any
    cycle) as soon as the source is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _keeping():
            # The file's objects stay alive (see `keep_last_file`): without this, the
            # collector's first pass would walk all of them.
            gc.freeze()
        if enabled:
            gc.enable()


def _parse_ast(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        cpython = python_syntax_error(source)
        if cpython is not None:
            raise cpython from None
        raise InputError(f"syntax error at {exc.lineno or 1}:{exc.offset or 0}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"cannot parse: {type(exc).__name__}: {exc}") from None


def _parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        cpython = python_syntax_error(source)
        if cpython is not None:
            raise cpython from None
        raise InputError(f"syntax error at {exc.raw_line}:{exc.raw_column}: {exc.message}") from None
    except (RecursionError, MemoryError) as exc:
        raise InputError(f"cannot parse: {type(exc).__name__}") from None


def python_syntax_error(source: str, path: str = "<source>") -> SourceSyntaxError | None:
    """CPython's own error for ``source`` (message and position), or None if CPython compiles it.

    TabError and IndentationError are SyntaxErrors too; the column is CPython's 1-based offset.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of a file that compiles are not errors
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            line = exc.lineno or 1
            return SourceSyntaxError(exc.msg, ErrorPosition(line, max(exc.offset or 1, 1)))
        except (ValueError, RecursionError, MemoryError):
            return None
    return None


def _place(finding: Finding, unit: _Source) -> None:
    """Set the finding's 1-based line and column range from its node."""
    node = finding.node
    if isinstance(node, ast.AST):
        lines = unit.lines

        def column(line: int, offset: int) -> int:
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            return offset if text.isascii() else len(text.encode("utf-8")[:offset].decode("utf-8", "replace"))

        finding.line, finding.column = node.lineno, column(node.lineno, node.col_offset) + 1
        end_line = node.end_lineno or node.lineno
        finding.end_line, finding.end_column = end_line, column(end_line, node.end_col_offset or 0) + 1
        return
    code_range = unit.ctx.code_range(node)
    finding.line, finding.column = code_range.start.line, code_range.start.column + 1
    finding.end_line, finding.end_column = code_range.end.line, code_range.end.column + 1


def _run_rules(rules: Sequence[type[Rule]], unit: _Source) -> list[Finding]:
    suppressions = Suppressions(unit.source)
    findings: list[Finding] = []
    for rule_cls in rules:
        if rule_cls.quick_check is not None and not rule_cls.quick_check(unit.tree):
            continue
        rule = rule_cls()
        for finding in rule.detect(unit.analysis):
            _place(finding, unit)
            if not suppressions.suppresses(finding):
                findings.append(finding)
    findings.sort(key=lambda f: (f.line, f.column, f.code))
    return findings


def _built(findings: list[Finding], unit: _Source, settings: "Settings") -> dict[int, Fix]:
    """The LibCST fix of every finding whose fix is allowed (lazy fixes are built now)."""
    fixes: dict[int, Fix] = {}
    for finding in findings:
        fix = finding.fix
        if fix is None or not settings.allows(fix):
            continue
        if isinstance(fix, LazyFix):
            built = fix.build(unit.ctx)
            if built is None:
                continue
            fix = built
        fixes[id(finding)] = fix
    return fixes


def _diagnostic(finding: Finding, note: str = "") -> Diagnostic:
    return Diagnostic(
        code=finding.code,
        name=finding.name,
        message=finding.message,
        line=finding.line,
        column=finding.column,
        end_line=finding.end_line,
        end_column=finding.end_column,
        fix_applicability=finding.fix.applicability.value if finding.fix else None,
        fix_description=finding.fix.description if finding.fix else "",
        note=note,
    )


# Applying fixes ---------------------------------------------------------------------------
def _replacer(edits: dict[int, object]) -> "cst.CSTTransformer":
    class _Replacer(cst.CSTTransformer):  # defined on use: LibCST is imported only to fix
        def on_leave(self, original_node, updated_node):  # type: ignore[override]
            return edits.get(id(original_node), updated_node)

    return _Replacer()


def _footprint(node: cst.CSTNode) -> set[int]:
    ids: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        ids.add(id(current))
        stack.extend(current.children)
    return ids


def _apply(module: cst.Module, fixes: Sequence[Fix]) -> cst.Module:
    edits: dict[int, object] = {}
    for fix in fixes:
        for node, replacement in fix.edits:
            edits[id(node)] = replacement
    return module.visit(_replacer(edits))


def _non_overlapping(fixes: Sequence[Fix]) -> list[Fix]:
    """The fixes, in order, that touch no node another chosen fix touches."""
    taken: set[int] = set()
    chosen: list[Fix] = []
    for fix in fixes:
        footprint: set[int] = set()
        for node in fix.targets():
            footprint |= _footprint(node)
        if footprint & taken:
            continue
        taken |= footprint
        chosen.append(fix)
    return chosen


def _parses(source: str) -> bool:
    try:
        cst.parse_module(source)
        ast.parse(source)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError):
        return False
    return True


_NO_ROUND_TRIP = "fix refused: LibCST does not write this file back byte for byte"


def _lost_suffix(source: str, module: cst.Module) -> str | None:
    """What LibCST drops when it writes ``module`` back: "" when nothing, None when not a known loss.

    LibCST drops the final "\\r" of a file with old Mac ("\\r") line endings; put it back.
    """
    code = module.code
    if code == source:
        return ""
    if source == code + "\r":
        return "\r"
    return None


def _finding_key(finding: Finding, unit: _Source) -> tuple[str, str, str]:
    node = finding.node
    if isinstance(node, ast.AST):
        text = ast.get_source_segment(unit.source, node) or ""
    else:
        text = unit.ctx.module.code_for_node(node)
    return finding.code, finding.message, text


def check_source(source: str, path: str, settings: Settings, fix: bool) -> SourceResult:
    """Find (and, with ``fix``, fix) problems in one source text. Raises InputError."""
    rules = _triggered(settings.rules, source)
    if not rules:
        return SourceResult()
    with _collector_paused():
        return _check_triggered(rules, source, path, settings, fix)


def _check_triggered(rules: list[type[Rule]], source: str, path: str, settings: Settings, fix: bool) -> SourceResult:
    units: list[_Source] = []
    try:
        return _check_units(rules, source, path, settings, fix, units)
    finally:
        for unit in units:
            unit.release()
        if _keeping():
            _kept_units[:] = units  # type: ignore[index]  # (the previous file's units are freed here instead)


# With `keep_last_file()`, the units of the last file checked stay alive instead of being freed
# as it is done, and out of the cyclic collector's sight (`gc.freeze`): freeing a large file's
# tree and analysis object by object, or the collector's first pass over them, takes a
# fifteenth of its check, and a process that exits right after need not pay either (the CLI
# exits without the interpreter's teardown). Only in the process that asked: not in workers.
_kept_units: list | None = None
_keeper = 0


def keep_last_file(keep: bool = True) -> None:
    """Free each file's tree and analysis only when the next file is checked (see
    ``_kept_units``); ``keep=False``: free each as it is done (a long-running process)."""
    global _kept_units, _keeper
    _kept_units, _keeper = ([], os.getpid()) if keep else (None, 0)


def _keeping() -> bool:
    return _kept_units is not None and _keeper == os.getpid()


def _check_units(rules, source: str, path: str, settings: Settings, fix: bool, units: list[_Source]) -> SourceResult:
    unit = _Source(source, path)
    units.append(unit)
    findings = _run_rules(rules, unit)
    if not fix or not any(f.fix is not None and settings.allows(f.fix) for f in findings):
        return SourceResult(diagnostics=[_diagnostic(f) for f in findings])

    original_source = source
    refused: dict[tuple[str, str, str], str] = {}
    fixed: list[Diagnostic] = []
    suffix = _lost_suffix(source, unit.ctx.module)
    if suffix is None:  # writing the tree back would change bytes no fix touched
        return SourceResult(diagnostics=[_diagnostic(f, _NO_ROUND_TRIP if f.fix else "") for f in findings])
    for _ in range(MAX_FIX_PASSES):
        candidates = [f for f in findings if _finding_key(f, unit) not in refused]
        built = _built(candidates, unit, settings)
        chosen_findings = {id(built[id(f)]): f for f in candidates if id(f) in built}
        chosen = _non_overlapping([built[id(f)] for f in candidates if id(f) in built])
        if not chosen:
            break
        module = unit.ctx.module
        new_module = _apply(module, chosen)
        new_source = new_module.code + suffix
        if not _parses(new_source):
            # Find the culprits one by one, refuse them, keep the rest for the next pass.
            for one in chosen:
                if not _parses(_apply(module, [one]).code):
                    culprit = chosen_findings[id(one)]
                    refused[_finding_key(culprit, unit)] = "fix refused: its result does not parse"
            continue
        if new_source == source:
            break
        fixed.extend(_diagnostic(chosen_findings[id(one)]) for one in chosen)
        source = new_source
        unit = _Source(source, path)
        units.append(unit)
        findings = _run_rules(_triggered(settings.rules, source), unit)

    diagnostics = [_diagnostic(f, refused.get(_finding_key(f, unit), "")) for f in findings]
    return SourceResult(
        diagnostics=diagnostics,
        fixed=fixed,
        new_source=source if source != original_source else None,
    )


def fix_source(source: str, path: str = "<string>", select=None, ignore=None, unsafe_fixes: bool = False) -> str:
    """The fixed text of ``source`` (unchanged text when there is nothing to fix).

    The verifier's entry point: it rewrites in memory with exactly what ``apply`` would write.
    """
    settings = Settings.from_codes(select, ignore, unsafe_fixes)
    result = check_source(source, path, settings, fix=True)
    return result.new_source if result.new_source is not None else source


# Files -----------------------------------------------------------------------------------
def process_source(source: "Source", settings: Settings, mode: Mode) -> FileResult:
    """Check (and in DIFF/APPLY mode fix) one source read by ``gradfix.notebook``; write it in APPLY mode."""
    result = FileResult(path=source.path)
    try:
        try:
            checked = check_source(source.text, source.path, settings, fix=mode is not Mode.CHECK)
        except SourceSyntaxError as exc:
            raise source.locate_error(exc) from None
        source.locate(checked.diagnostics, checked.new_source)
        new_text, diff = source.rendered(checked.new_source) if checked.new_source is not None else (None, "")
    except InputError as exc:
        result.error, result.error_at = str(exc), getattr(exc, "position", None)
        return result
    except Exception as exc:  # a bug in a rule must not stop the run over other files
        result.error = f"internal error: {type(exc).__name__}: {exc} (please report this)"
        return result
    result.diagnostics, result.fixed, result.new_source = checked.diagnostics, checked.fixed, new_text
    if new_text is not None:
        if mode is Mode.DIFF:
            result.diff = diff
        elif mode is Mode.APPLY:
            try:
                source.write(new_text)
                result.written = True
            except OSError as exc:
                result.error = f"cannot write: {exc.strerror or exc}"
    return result


def process_file(path: str, settings: Settings, mode: Mode) -> FileResult:
    """Read, check (and fix) one file; ``check`` results come from and go to the cache when it is on."""
    from gradfix import cache as cache_module

    try:
        data = read_bytes(path, size_limit(path, settings.max_file_bytes))
    except InputError as exc:
        return FileResult(path=path, error=str(exc), error_at=getattr(exc, "position", None))
    cache = _cache_for(settings) if mode is Mode.CHECK else None
    if cache is not None:
        kind, digest = ("ipynb" if is_notebook_path(path) else "py"), cache_module.content_hash(data)
        entry = cache.get(kind, digest)
        if entry is not None:
            cached = _from_entry(path, entry)
            if cached is not None:
                return cached
    try:
        source = source_from_bytes(path, data, settings.max_file_bytes)
    except InputError as exc:
        result = FileResult(path=path, error=str(exc), error_at=getattr(exc, "position", None))
    else:
        result = process_source(source, settings, mode)
    if cache is not None and not (result.error or "").startswith("internal error"):
        cache.put(kind, digest, _to_entry(result))
    return result


# The cache (gradfix/cache.py) -----------------------------------------------------------------
_CACHES: dict[Settings, object] = {}


def _cache_for(settings: Settings):
    """The cache of these settings (None when caching is off)."""
    if settings.cache_dir is None:
        return None
    cache = _CACHES.get(settings)
    if cache is None:
        from gradfix.cache import Cache, code_fingerprint, content_hash

        key = repr((code_fingerprint(), [r.code for r in settings.rules], settings.unsafe_fixes, settings.max_file_bytes))
        cache = _CACHES[settings] = Cache(settings.cache_dir, content_hash(key.encode()))
    return cache


_DIAGNOSTIC_FIELDS = tuple(Diagnostic.__dataclass_fields__)


def _to_entry(result: FileResult) -> dict:
    at = result.error_at
    return {
        "diagnostics": [[getattr(d, name) for name in _DIAGNOSTIC_FIELDS] for d in result.diagnostics],
        "error": result.error,
        "error_at": None if at is None else [at.line, at.column, at.cell],
    }


def _from_entry(path: str, entry: dict) -> "FileResult | None":
    try:
        diagnostics = [Diagnostic(**dict(zip(_DIAGNOSTIC_FIELDS, row))) for row in entry["diagnostics"]]
        at = entry["error_at"]
        return FileResult(path=path, diagnostics=diagnostics, error=entry["error"],
                          error_at=None if at is None else ErrorPosition(*at))
    except (KeyError, TypeError, ValueError):
        return None  # an entry of another layout: a miss


# Many files -------------------------------------------------------------------------------------
_CHUNK_FILES = 8


def _process_chunk(args: tuple[list[tuple[int, str, Settings]], Mode]) -> list[tuple[int, FileResult]]:
    items, mode = args
    return [(index, process_file(path, settings, mode)) for index, path, settings in items]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def iter_process_files(items: Sequence[tuple[str, Settings]], mode: Mode, jobs: int | None = None):
    """Process (path, settings) pairs; yield each result, in the order of ``items``, as soon as it is known.

    In parallel over the cores when there are enough files: the workers start once, take chunks
    of a few files, largest files first (so one large file does not finish the run alone).
    """
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(items) < 16:
        for path, settings in items:
            yield process_file(path, settings, mode)
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    order = sorted(range(len(items)), key=lambda i: -_size(items[i][0]))
    chunks = [[(i, *items[i]) for i in order[start : start + _CHUNK_FILES]] for start in range(0, len(order), _CHUNK_FILES)]
    done: dict[int, FileResult] = {}
    following = 0
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        pending = {pool.submit(_process_chunk, (chunk, mode)) for chunk in chunks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done.update(future.result())
            while following in done:
                yield done.pop(following)
                following += 1


def process_files(items: Sequence[tuple[str, Settings]], mode: Mode, jobs: int | None = None, progress=None) -> list[FileResult]:
    """Process (path, settings) pairs, in parallel over the cores when there are enough."""
    results = []
    for result in iter_process_files(items, mode, jobs):
        results.append(result)
        if progress:
            progress(1)
    return results


# One finding's fix (the language server's quick fix) ----------------------------------
def fix_one_finding(source: str, path: str, settings: Settings, code: str, line: int, column: int) -> str | None:
    """``source`` with only the fix of the finding ``code`` at ``line``:``column`` applied.

    None when there is no such finding, it has no fix ``settings`` allow, or its result
    would not parse. One pass, one fix: what a user accepts for one diagnostic.
    """
    rules = [rule for rule in _triggered(settings.rules, source) if rule.code == code]
    if not rules:
        return None
    unit = _Source(source, path)
    try:
        return _fix_one(unit, settings, line, column, rules)
    finally:
        unit.release()


def _fix_one(unit: _Source, settings: Settings, line: int, column: int, rules) -> str | None:
    source = unit.source
    for finding in _run_rules(rules, unit):
        if (finding.line, finding.column) != (line, column):
            continue
        if finding.fix is None or not settings.allows(finding.fix):
            return None
        suffix = _lost_suffix(source, unit.ctx.module)
        fix = _built([finding], unit, settings).get(id(finding))
        if suffix is None or fix is None:
            return None
        new_source = _apply(unit.ctx.module, [fix]).code + suffix
        return new_source if new_source != source and _parses(new_source) else None
    return None
