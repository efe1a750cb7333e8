"""``gradfix server``: a language server on standard input/output (pygls).

Diagnostics as you type (debounced), on open and on save; quick fixes ("Fix GF101: ...",
one per fixable finding), "Suppress GF101 on this line" (``# noqa``), and
``source.fixAll.gradfix``. Settings come from ``[tool.gradfix]`` as for the CLI; the
client's settings (``initializationOptions`` or the ``gradfix`` section of
``workspace/configuration``: ``select``, ``ignore``, ``unsafeFixes``, ``docsUrl``) act like
command-line options. Notebooks that the client syncs as notebook documents are checked as
the CLI checks an ``.ipynb``: all code cells as one module.

Every edit is computed as the new text of the document (or of the notebook's code module)
and sent as the minimal text edits between old and new.
"""

from __future__ import annotations

import asyncio
import bisect
import difflib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from gradfix import __version__
from gradfix import notebook as nb
from gradfix.config import Config, ConfigError, find_config
from gradfix.engine import Diagnostic, InputError, Settings, SourceSyntaxError, check_source, fix_one_finding
from gradfix.noqa import add_noqa, split_lines
from gradfix.rule import all_rules, select_rules

log = logging.getLogger("gradfix.server")

FIX_ALL = "source.fixAll.gradfix"
DEBOUNCE_SECONDS = 0.25
_README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def _file_uri_to_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return unquote(parsed.path)


@dataclass
class ClientSettings:
    """What the client may set; None means "as the configuration file says"."""

    select: list[str] | None = None
    ignore: list[str] | None = None
    unsafe_fixes: bool | None = None
    docs_url: str | None = None  # a template with {code} and {anchor}
    debounce: float = DEBOUNCE_SECONDS

    @classmethod
    def from_json(cls, value: Any) -> "ClientSettings":
        if not isinstance(value, dict):
            return cls()
        if isinstance(value.get("gradfix"), dict):  # {"gradfix": {...}} as many clients nest it
            value = value["gradfix"]

        def codes(key: str) -> list[str] | None:
            raw = value.get(key)
            if isinstance(raw, str):
                raw = [c for c in raw.split(",")]
            if isinstance(raw, list) and all(isinstance(c, str) for c in raw):
                return [c.strip().upper() for c in raw if c.strip()]
            return None

        unsafe = value.get("unsafeFixes", value.get("unsafe-fixes"))
        debounce = value.get("debounce")
        return cls(
            select=codes("select"),
            ignore=codes("ignore"),
            unsafe_fixes=unsafe if isinstance(unsafe, bool) else None,
            docs_url=value.get("docsUrl") if isinstance(value.get("docsUrl"), str) else None,
            debounce=float(debounce) if isinstance(debounce, (int, float)) and debounce >= 0 else DEBOUNCE_SECONDS,
        )


@dataclass
class _Analysis:
    """One check of a document: ``source`` is its text (a notebook's: the code module)."""

    uri: str  # the document's, or the notebook's
    source: str
    settings: Settings
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None
    module: Any = None  # notebooks: the cell mapping (gradfix.notebook.code_module)
    cell_uris: dict[int, str] = field(default_factory=dict)  # notebooks: cell index -> cell URI


class GradfixServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "gradfix",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
                    )
                ],
                save=True,
            ),
        )
        self.client_settings = ClientSettings()
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._cache: dict[str, _Analysis] = {}
        self._reported_errors: set[str] = set()

    # Settings -----------------------------------------------------------------------------
    def _complain_once(self, message: str) -> None:
        if message not in self._reported_errors:
            self._reported_errors.add(message)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"gradfix: {message}"))

    def settings_for(self, path: str) -> Settings:
        """The CLI's rule selection for ``path``: client settings over ``[tool.gradfix]``."""
        client = self.client_settings
        start = path if os.path.isabs(path) else (self.workspace.root_path or os.getcwd())
        try:
            config = find_config(start if os.path.exists(start) else os.path.dirname(start) or ".")
        except ConfigError as exc:
            self._complain_once(str(exc))
            config = Config()
        ignore = (client.ignore or []) + config.ignore + config.ignores_for(path)
        try:
            rules = tuple(select_rules(client.select or config.select, ignore))
        except ValueError as exc:
            self._complain_once(str(exc))
            rules = tuple(select_rules(None, None))
        unsafe = config.unsafe_fixes if client.unsafe_fixes is None else client.unsafe_fixes
        kwargs = {"max_file_bytes": config.max_file_size} if config.max_file_size else {}
        return Settings(rules, unsafe, **kwargs)

    def docs_url(self, code: str) -> str | None:
        template = self.client_settings.docs_url
        if template:
            return template.format(code=code, anchor=code.lower())
        if os.path.isfile(_README):  # a source checkout: the README's rules table has an anchor per rule
            return f"{Path(_README).as_uri()}#{code.lower()}"
        return None

    # Analysis -------------------------------------------------------------------------------
    def analyse(self, uri: str) -> _Analysis | None:
        """Check the document (or the notebook that holds the cell) at ``uri``; cached by text."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri) or self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is not None:
            return self._analyse_notebook(notebook)
        document = self.workspace.get_text_document(uri)
        path = _file_uri_to_path(uri) or os.path.join(self.workspace.root_path or os.getcwd(), "untitled.py")
        if path.endswith(".ipynb"):
            return None  # the notebook's JSON as text: only its cells, as notebook documents, are checked
        return self._check(uri, document.source, path)

    def _check(self, key: str, source: str, path: str, module: Any = None, cell_uris=None) -> _Analysis:
        settings = self.settings_for(path)
        cached = self._cache.get(key)
        if cached is not None and cached.source == source and cached.settings == settings:
            return cached
        analysis = _Analysis(key, source, settings, path, module=module, cell_uris=cell_uris or {})
        try:
            analysis.diagnostics = check_source(source, path, settings, fix=False).diagnostics
        except SourceSyntaxError as exc:  # CPython's own message and position
            analysis.error = f"syntax error at {exc.position.line}:{exc.position.column}: {exc.message}"
        except InputError as exc:
            analysis.error = str(exc)
        except Exception as exc:  # a bug in a rule must not take the editor's server down
            log.exception("internal error checking %s", path)
            analysis.error = f"internal error: {type(exc).__name__}: {exc} (please report this)"
        self._cache[key] = analysis
        return analysis

    def _analyse_notebook(self, notebook: types.NotebookDocument) -> _Analysis | None:
        cells, cell_uris = [], {}
        for index, cell in enumerate(notebook.cells):
            if cell.kind != types.NotebookCellKind.Code:
                cells.append({"cell_type": "markdown", "source": ""})  # keeps the cell numbering
                continue
            cells.append({"cell_type": "code", "source": self.workspace.get_text_document(cell.document).source})
            cell_uris[index] = cell.document
        metadata = notebook.metadata if isinstance(notebook.metadata, dict) else {}
        module = nb.code_module({"cells": cells, "metadata": metadata})
        if module is None:
            return None
        path = _file_uri_to_path(notebook.uri) or os.path.join(self.workspace.root_path or os.getcwd(), "untitled.ipynb")
        return self._check(notebook.uri, module.text, path, module, cell_uris)

    # Positions ----------------------------------------------------------------------------
    def _position(self, lines: list[str], line: int, column: int) -> types.Position:
        """0-based line and code-point column -> the client's position units."""
        text = lines[line] if 0 <= line < len(lines) else ""
        return types.Position(line=line, character=self.workspace.position_codec.client_num_units(text[:column]))

    def _lsp_diagnostic(self, d: Diagnostic, lines: list[str], line_offset: int = 0) -> types.Diagnostic:
        start = self._position(lines, d.line - 1 - line_offset, d.column - 1)
        end = self._position(lines, d.end_line - 1 - line_offset, d.end_column - 1)
        rule = all_rules().get(d.code)
        url = self.docs_url(d.code)
        message = f"{d.message} ({d.note})" if d.note else d.message
        return types.Diagnostic(
            range=types.Range(start=start, end=end),
            message=message,
            severity=types.DiagnosticSeverity.Warning if rule is None or rule.fixable else types.DiagnosticSeverity.Information,
            code=d.code,
            code_description=types.CodeDescription(href=url) if url else None,
            source="gradfix",
            data={"code": d.code, "line": d.line, "column": d.column, "fix": d.fix_applicability},
        )

    def _error_diagnostic(self, message: str) -> types.Diagnostic:
        where = re.search(r"\bat (\d+):(\d+)", message)  # "syntax error at LINE:COLUMN: ..."
        line = max(int(where.group(1)) - 1, 0) if where else 0
        position = types.Position(line=line, character=0)
        return types.Diagnostic(
            range=types.Range(position, position),
            message=f"gradfix could not check this file: {message}",
            severity=types.DiagnosticSeverity.Error,
            source="gradfix",
        )

    def located(self, analysis: _Analysis) -> dict[str, list[tuple[Diagnostic, types.Diagnostic]]]:
        """URI -> (engine diagnostic in module lines, LSP diagnostic), for the document or each cell."""
        out: dict[str, list[tuple[Diagnostic, types.Diagnostic]]] = {}
        if analysis.module is None:
            lines = split_lines(analysis.source)
            out[analysis.uri] = [(d, self._lsp_diagnostic(d, lines)) for d in analysis.diagnostics]
            return out
        for index in analysis.cell_uris:
            out[analysis.cell_uris[index]] = []
        for d in analysis.diagnostics:
            copy = Diagnostic(**vars(d))
            nb.cell_location(analysis.module, analysis.source, copy)
            uri = analysis.cell_uris.get(copy.cell - 1)
            if uri is None:
                continue
            lines = split_lines(self.workspace.get_text_document(uri).source)
            out[uri].append((d, self._lsp_diagnostic(copy, lines)))
        return out

    def publish(self, uri: str) -> None:
        self._pending.pop(uri, None)
        analysis = self.analyse(uri)
        if analysis is None:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
            return
        if analysis.error is not None:  # shown once: on the document, or on a notebook's first code cell
            targets = list(analysis.cell_uris.values()) if analysis.module is not None else [analysis.uri]
            for number, target in enumerate(targets):
                errors = [self._error_diagnostic(analysis.error)] if number == 0 else []
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=target, diagnostics=errors))
            return
        for target, pairs in self.located(analysis).items():
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=target, diagnostics=[lsp for _, lsp in pairs])
            )

    def publish_later(self, uri: str) -> None:
        """Debounce: check once typing pauses for ``debounce`` seconds."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()
        self._pending[uri] = loop.call_later(self.client_settings.debounce, self.publish, uri)

    def forget(self, uri: str, cleared: list[str]) -> None:
        """A closed document: drop its pending check and cache, clear its diagnostics."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._cache.pop(uri, None)
        for target in cleared:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=target, diagnostics=[]))

    # Edits ----------------------------------------------------------------------------------
    def edits_for(self, analysis: _Analysis, new_source: str) -> dict[str, list[types.TextEdit]] | None:
        """URI -> text edits that turn the document (or the notebook's cells) into ``new_source``."""
        if analysis.module is None:
            return {analysis.uri: self._text_edits(analysis.source, new_source)}
        texts = nb.module_cells(analysis.module, new_source)
        if texts is None:
            return None
        changes = {}
        for index, text in texts.items():
            uri = analysis.cell_uris.get(index)
            old = self.workspace.get_text_document(uri).source if uri else None
            if uri is not None and old != text:
                changes[uri] = self._text_edits(old, text)
        return changes

    def _text_edits(self, old: str, new: str) -> list[types.TextEdit]:
        """The minimal edits: changed line blocks, trimmed to the characters that differ."""
        old_lines, new_lines = split_lines(old), split_lines(new)
        starts = [0]
        for line in old_lines:
            starts.append(starts[-1] + len(line))

        def position(offset: int) -> types.Position:
            line = bisect.bisect_right(starts, offset) - 1
            if line >= len(old_lines):  # the very end of the text
                if not old_lines or old_lines[-1].endswith(("\n", "\r")):
                    return types.Position(line=len(old_lines), character=0)
                line = len(old_lines) - 1
            return self._position(old_lines, line, offset - starts[line])

        edits = []
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
            start, end = starts[i1], starts[i2]
            prefix = len(os.path.commonprefix([before, after]))
            before, after, start = before[prefix:], after[prefix:], start + prefix
            suffix = len(os.path.commonprefix([before[::-1], after[::-1]]))
            if suffix:
                after, end = after[: len(after) - suffix], end - suffix
            edits.append(types.TextEdit(range=types.Range(start=position(start), end=position(end)), new_text=after))
        return edits

    # Code actions ---------------------------------------------------------------------------
    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        analysis = self.analyse(uri)
        if analysis is None or analysis.error is not None:
            return []
        only = params.context.only

        def wanted(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(k + ".") for k in only)

        actions: list[types.CodeAction] = []
        requested = params.range
        pairs = self.located(analysis).get(uri, [])
        for d, lsp in pairs:
            if not _overlaps(lsp.range, requested):
                continue
            if wanted(types.CodeActionKind.QuickFix) and d.fix_applicability and (
                d.fix_applicability == "safe" or analysis.settings.unsafe_fixes
            ):
                unsafe = " (unsafe)" if d.fix_applicability == "unsafe" else ""
                self._add_action(actions, analysis, [lsp], f"Fix {d.code}: {d.fix_description or d.message}{unsafe}",
                                 lambda: fix_one_finding(analysis.source, analysis.path, analysis.settings, d.code, d.line, d.column),
                                 types.CodeActionKind.QuickFix, preferred=d.fix_applicability == "safe")
            if wanted(types.CodeActionKind.QuickFix):
                self._add_action(actions, analysis, [lsp], f"Suppress {d.code} on this line",
                                 lambda: add_noqa(analysis.source, [(d.code, d.line, d.end_line)])[0],
                                 types.CodeActionKind.QuickFix)
        if wanted(FIX_ALL) and any(d.fix_applicability for d in analysis.diagnostics):
            self._add_action(actions, analysis, [], "Fix all gradfix findings",
                             lambda: check_source(analysis.source, analysis.path, analysis.settings, fix=True).new_source,
                             FIX_ALL)
        return actions

    def _add_action(self, actions, analysis, diagnostics, title: str, compute: Callable[[], Optional[str]], kind: str, preferred: bool = False) -> None:
        try:
            new_source = compute()
        except InputError:
            return
        if new_source is None or new_source == analysis.source:
            return
        changes = self.edits_for(analysis, new_source)
        if not changes:
            return
        actions.append(types.CodeAction(
            title=title,
            kind=kind,
            diagnostics=diagnostics or None,
            edit=types.WorkspaceEdit(changes=changes),
            is_preferred=preferred or None,
        ))

    async def refresh_configuration(self) -> None:
        """Read the ``gradfix`` section of the client's settings, when it has them."""
        capabilities = self.client_capabilities.workspace
        if capabilities is None or not capabilities.configuration:
            return
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="gradfix")])
            )
        except Exception as exc:  # the client declined: keep what we have
            log.warning("workspace/configuration failed: %s", exc)
            return
        if result and isinstance(result[0], dict):
            self.client_settings = ClientSettings.from_json(result[0])


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def create_server() -> GradfixServer:
    server = GradfixServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: GradfixServer, params: types.InitializeParams) -> None:
        ls.client_settings = ClientSettings.from_json(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GradfixServer, params: types.InitializedParams) -> None:
        await ls.refresh_configuration()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(ls: GradfixServer, params: types.DidChangeConfigurationParams) -> None:
        if isinstance(params.settings, dict) and params.settings:
            ls.client_settings = ClientSettings.from_json(params.settings)
        else:
            await ls.refresh_configuration()
        for uri in list(ls.workspace.text_documents):
            ls.publish(uri)

    # Check on open and save at once; on change once typing pauses (debounced).
    def check_on(method: str, document: Callable[[Any], Any], debounced: bool = False) -> None:
        def handler(ls: GradfixServer, params: Any) -> None:
            uri = document(params).uri
            (ls.publish_later if debounced else ls.publish)(uri)

        server.feature(method)(handler)

    check_on(types.TEXT_DOCUMENT_DID_OPEN, lambda p: p.text_document)
    check_on(types.TEXT_DOCUMENT_DID_CHANGE, lambda p: p.text_document, debounced=True)
    check_on(types.TEXT_DOCUMENT_DID_SAVE, lambda p: p.text_document)
    check_on(types.NOTEBOOK_DOCUMENT_DID_OPEN, lambda p: p.notebook_document)
    check_on(types.NOTEBOOK_DOCUMENT_DID_CHANGE, lambda p: p.notebook_document, debounced=True)
    check_on(types.NOTEBOOK_DOCUMENT_DID_SAVE, lambda p: p.notebook_document)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: GradfixServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri, [params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: GradfixServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
    )
    def code_action(ls: GradfixServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    return server


def serve() -> None:
    """Run the server on standard input/output until the client says exit."""
    create_server().start_io()
