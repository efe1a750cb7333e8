"""`gradfix server` end to end: a real LSP client (pytest-lsp) drives it over stdio."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp is not installed (pip install -e '.[test]')")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from cli_runner import gradfix, put  # noqa: E402
from sources import BAD, BAD_COL, BAD_LINE, FIXED, UNSAFE_ONLY  # noqa: E402
from test_notebook import BROKEN, SETUP  # noqa: E402

# The console script beside this Python, as an editor starts it; `python -m gradfix` otherwise.
_SCRIPT = shutil.which("gradfix", path=os.path.dirname(sys.executable))
SERVER = ClientServerConfig(server_command=[_SCRIPT, "server"] if _SCRIPT else [sys.executable, "-m", "gradfix", "server"])
README = Path(__file__).resolve().parent.parent / "README.md"
TWO_FINDINGS = BAD + "c = torch.tensor([a[1], a[2]])\n"


async def _start(client: LanguageClient, root: Path, options=None, editor: str = "neovim") -> None:
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(editor),
            root_uri=root.as_uri(),
            initialization_options=options,
        )
    )
    client.position_encoding = result.capabilities.position_encoding or types.PositionEncodingKind.Utf16


# One server per configuration for the whole module: starting one costs seconds (imports).
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory):
    await _start(lsp_client, tmp_path_factory.mktemp("workspace"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER, scope="module")
async def unsafe_client(lsp_client: LanguageClient, tmp_path_factory):
    await _start(lsp_client, tmp_path_factory.mktemp("workspace"), {"unsafeFixes": True}, "visual-studio-code")
    yield
    await lsp_client.shutdown_session()


async def _published(client: LanguageClient, uri: str, timeout: float = 15.0):
    """Wait until diagnostics for ``uri`` arrive (the caller cleared the old ones)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while uri not in client.diagnostics:
        if loop.time() > deadline:
            raise AssertionError(f"no diagnostics published for {uri}")
        await asyncio.sleep(0.02)
    return list(client.diagnostics[uri])


async def _open(client: LanguageClient, path: Path, text: str):
    put(path.parent, path.name, text)
    client.diagnostics.pop(path.as_uri(), None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text))
    )
    return await _published(client, path.as_uri())


async def _change(client: LanguageClient, path: Path, text: str, version: int):
    client.diagnostics.pop(path.as_uri(), None)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await _published(client, path.as_uri())


async def _actions(client: LanguageClient, uri: str, where: types.Range, diagnostics, only=None):
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=where,
            context=types.CodeActionContext(diagnostics=list(diagnostics), only=only),
        )
    )
    return {action.title: action for action in result or []}


def _offset(text: str, position: types.Position) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(line) for line in lines[: position.line]) + position.character


def _apply(text: str, edits) -> str:
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: _offset(text, edit.range.start)] + edit.new_text + text[_offset(text, edit.range.end):]
    return text


def _cli_fixed(tmp_path: Path, capsys, text: str, *options: str) -> str:
    copy = put(tmp_path / "cli", "copy.py", text)
    gradfix(capsys, "apply", str(copy), "--isolated", *options)
    return copy.read_text()


async def test_diagnostic_quick_fix_and_change(client: LanguageClient, tmp_path, capsys):
    path = tmp_path / "train.py"
    diagnostics = await _open(client, path, BAD)
    assert [(d.code, d.source, d.range.start.line, d.range.start.character) for d in diagnostics] == [
        ("GF101", "gradfix", BAD_LINE - 1, BAD_COL - 1)
    ]
    (finding,) = diagnostics
    assert finding.severity == types.DiagnosticSeverity.Warning
    assert "torch.stack" in finding.message and finding.range.end.line == BAD_LINE - 1
    assert finding.code_description.href.endswith("#gf101")
    assert 'id="gf101"' in README.read_text()  # the link's anchor exists

    actions = await _actions(client, path.as_uri(), finding.range, diagnostics, only=[types.CodeActionKind.QuickFix])
    assert set(actions) == {"Fix GF101: build the tensor with `torch.stack`", "Suppress GF101 on this line"}
    fix = actions["Fix GF101: build the tensor with `torch.stack`"]
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    (edit,) = fix.edit.changes[path.as_uri()]
    # The exact edit: the word `tensor` of `torch.tensor` becomes `stack`.
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character, edit.new_text) == (
        BAD_LINE - 1, BAD_COL - 1 + len("torch."), BAD_COL - 1 + len("torch.tensor"), "stack"
    )
    fixed = _apply(BAD, fix.edit.changes[path.as_uri()])
    assert fixed == FIXED == _cli_fixed(tmp_path, capsys, BAD)

    assert await _change(client, path, fixed, 2) == []
    # Typing it back brings the finding back (after the debounce).
    assert [d.code for d in await _change(client, path, BAD, 3)] == ["GF101"]


async def test_suppress_on_this_line(client: LanguageClient, tmp_path):
    path = tmp_path / "s.py"
    text = BAD.replace("** 2])\n", "** 2])  # pairs\n")
    diagnostics = await _open(client, path, text)
    actions = await _actions(client, path.as_uri(), diagnostics[0].range, diagnostics)
    suppress = actions["Suppress GF101 on this line"]
    suppressed = _apply(text, suppress.edit.changes[path.as_uri()])
    assert suppressed == text.replace("# pairs\n", "# pairs  # noqa: GF101\n")
    assert await _change(client, path, suppressed, 2) == []
    # A noqa comment for another tool is extended, not duplicated.
    other = BAD.replace("** 2])\n", "** 2])  # noqa: E501\n")
    diagnostics = await _change(client, path, other, 3)
    actions = await _actions(client, path.as_uri(), diagnostics[0].range, diagnostics)
    assert _apply(other, actions["Suppress GF101 on this line"].edit.changes[path.as_uri()]) == other.replace(
        "# noqa: E501", "# noqa: E501, GF101"
    )


async def test_fix_all_matches_gradfix_apply(client: LanguageClient, tmp_path, capsys):
    path = tmp_path / "two.py"
    diagnostics = await _open(client, path, TWO_FINDINGS)
    assert [d.code for d in diagnostics] == ["GF101", "GF101"]
    whole = types.Range(types.Position(0, 0), types.Position(0, 0))
    actions = await _actions(client, path.as_uri(), whole, [], only=["source.fixAll"])
    (action,) = actions.values()
    assert action.kind == "source.fixAll.gradfix"
    assert _apply(TWO_FINDINGS, action.edit.changes[path.as_uri()]) == _cli_fixed(tmp_path, capsys, TWO_FINDINGS)
    # The quick fix of one finding changes only that finding's line.
    actions = await _actions(client, path.as_uri(), diagnostics[1].range, diagnostics[1:], only=["quickfix"])
    one = _apply(TWO_FINDINGS, actions["Fix GF101: build the tensor with `torch.stack`"].edit.changes[path.as_uri()])
    assert one == TWO_FINDINGS.replace("c = torch.tensor(", "c = torch.stack(")


async def test_unsafe_fixes_only_when_the_client_asks(client: LanguageClient, tmp_path):
    path = tmp_path / "u.py"
    diagnostics = await _open(client, path, UNSAFE_ONLY)
    actions = await _actions(client, path.as_uri(), diagnostics[0].range, diagnostics)
    assert not any(title.startswith("Fix ") for title in actions)
    assert "Suppress GF101 on this line" in actions and "Fix all gradfix findings" not in actions
    # workspace/didChangeConfiguration with the client's `gradfix` settings turns them on.
    client.diagnostics.pop(path.as_uri(), None)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"gradfix": {"unsafeFixes": True}}))
    await _published(client, path.as_uri())
    actions = await _actions(client, path.as_uri(), diagnostics[0].range, diagnostics)
    assert "Fix GF101: copy with `.clone()`, which keeps the graph (unsafe)" in actions
    client.diagnostics.pop(path.as_uri(), None)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"gradfix": {}}))
    await _published(client, path.as_uri())
    assert not any(t.startswith("Fix ") for t in await _actions(client, path.as_uri(), diagnostics[0].range, diagnostics))


async def test_unsafe_fixes_from_initialization_options(unsafe_client: LanguageClient, tmp_path):
    path = tmp_path / "u.py"
    diagnostics = await _open(unsafe_client, path, UNSAFE_ONLY)
    actions = await _actions(unsafe_client, path.as_uri(), diagnostics[0].range, diagnostics)
    fix = actions["Fix GF101: copy with `.clone()`, which keeps the graph (unsafe)"]
    assert ".clone()" in _apply(UNSAFE_ONLY, fix.edit.changes[path.as_uri()])


async def test_reads_tool_gradfix_configuration(client: LanguageClient, tmp_path):
    project = tmp_path / "project"
    put(project, "pyproject.toml", '[tool.gradfix]\nper-file-ignores = { "legacy_*" = ["GF101"] }\n')
    assert await _open(client, project / "legacy_train.py", BAD) == []
    assert [d.code for d in await _open(client, project / "train.py", BAD)] == ["GF101"]


async def test_syntax_error_is_one_diagnostic_not_a_crash(client: LanguageClient, tmp_path):
    path = tmp_path / "broken.py"
    (error,) = await _open(client, path, BAD + "def (\n")
    assert error.severity == types.DiagnosticSeverity.Error and "syntax error" in error.message
    assert error.range.start.line == len(BAD.splitlines())  # on the broken line (0-based)
    assert [d.code for d in await _change(client, path, BAD, 2)] == ["GF101"]


async def test_notebook_cells_are_checked_as_one_module(client: LanguageClient, tmp_path):
    notebook_uri = (tmp_path / "fit.ipynb").as_uri()
    cells = [("markdown", "# Fit\n"), ("python", "".join(SETUP)), ("python", "%time x = 1\n" + "".join(BROKEN))]
    cell_uris = [f"vscode-notebook-cell:{tmp_path / 'fit.ipynb'}#cell{n}" for n in range(len(cells))]
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook_uri,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[
                    types.NotebookCell(
                        kind=types.NotebookCellKind.Markup if language == "markdown" else types.NotebookCellKind.Code,
                        document=uri,
                    )
                    for (language, _), uri in zip(cells, cell_uris)
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
                for (language, text), uri in zip(cells, cell_uris)
            ],
        )
    )
    (finding,) = await _published(client, cell_uris[2])
    # Line 4 of the third cell (the magic line counts), as `gradfix check` reports `cell 3:4:5`.
    assert (finding.code, finding.range.start.line, finding.range.start.character) == ("GF101", 3, 4)
    assert await _published(client, cell_uris[1]) == []
    actions = await _actions(client, cell_uris[2], finding.range, [finding], only=["quickfix"])
    changes = actions["Fix GF101: build the tensor with `torch.stack`"].edit.changes
    assert list(changes) == [cell_uris[2]]
    assert _apply(cells[2][1], changes[cell_uris[2]]) == cells[2][1].replace("torch.tensor(", "torch.stack(")


def _units(client: LanguageClient, text: str) -> int:
    if client.position_encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    if client.position_encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


async def _check_positions(client: LanguageClient, path: Path) -> None:
    # "😀" is one code point (LibCST's column), two UTF-16 units, four UTF-8 bytes.
    text = BAD.replace("b = torch.tensor(", 'e = "😀"; b = torch.tensor(')
    (finding,) = await _open(client, path, text)
    assert finding.range.start.character == _units(client, 'e = "😀"; b = ')
    actions = await _actions(client, path.as_uri(), finding.range, [finding], only=["quickfix"])
    (edit,) = actions["Fix GF101: build the tensor with `torch.stack`"].edit.changes[path.as_uri()]
    assert edit.range.start.character == _units(client, 'e = "😀"; b = torch.') and edit.new_text == "stack"
    # An incremental change (only the edited range is sent) is applied the same way.
    client.diagnostics.pop(path.as_uri(), None)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=2),
            content_changes=[types.TextDocumentContentChangePartial(range=edit.range, text="stack")],
        )
    )
    assert await _published(client, path.as_uri()) == []


async def test_positions_in_the_negotiated_encoding(client: LanguageClient, tmp_path):
    assert client.position_encoding == types.PositionEncodingKind.Utf8  # neovim offers UTF-8 first
    await _check_positions(client, tmp_path / "emoji.py")


async def test_positions_in_utf16(unsafe_client: LanguageClient, tmp_path):
    assert unsafe_client.position_encoding == types.PositionEncodingKind.Utf16  # VS Code: the protocol's default
    await _check_positions(unsafe_client, tmp_path / "emoji.py")


async def test_notebook_cell_change_rechecks_the_notebook(client: LanguageClient, tmp_path):
    notebook_uri = (tmp_path / "nb.ipynb").as_uri()
    cell_uris = [f"vscode-notebook-cell:{tmp_path / 'nb.ipynb'}#c{n}" for n in range(2)]
    texts = ["".join(SETUP), "".join(BROKEN)]
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook_uri, notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=uri) for uri in cell_uris],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text) for uri, text in zip(cell_uris, texts)
            ],
        )
    )
    (finding,) = await _published(client, cell_uris[1])
    # fix-all over the notebook edits only the cell that changes
    actions = await _actions(client, cell_uris[1], finding.range, [finding], only=["source.fixAll.gradfix"])
    (fix_all,) = actions.values()
    assert list(fix_all.edit.changes) == [cell_uris[1]]
    fixed = _apply(texts[1], fix_all.edit.changes[cell_uris[1]])
    assert fixed == texts[1].replace("torch.tensor(", "torch.stack(")
    client.diagnostics.clear()
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook_uri),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=cell_uris[1], version=2),
                            changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
                        )
                    ]
                )
            ),
        )
    )
    assert await _published(client, cell_uris[1]) == []


async def test_save_rereads_the_configuration(client: LanguageClient, tmp_path):
    project = tmp_path / "saved"
    path = project / "train.py"
    assert [d.code for d in await _open(client, path, BAD)] == ["GF101"]
    put(project, "pyproject.toml", '[tool.gradfix]\nignore = ["GF101"]\n')
    client.diagnostics.pop(path.as_uri(), None)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri())))
    assert await _published(client, path.as_uri()) == []
