"""A file that does not parse: one line ``path:line:col: error: <CPython's message>`` at
CPython's position, the other files still checked, exit 2.

Lines are stated here; messages and columns are what this interpreter's ``compile()`` says
(CPython rewords them between versions), so the tests hold on every supported Python.
"""

from __future__ import annotations

import json

import pytest

from cli_runner import assert_one_line_error, gradfix
from gradfix.engine import ErrorPosition, InputError, Settings, SourceSyntaxError, check_source, python_syntax_error

GOOD = "import torch\nw = torch.ones(2, requires_grad=True)\nv = torch.tensor([w[0], w[1]])\n"

# (source, the line CPython reports): each holds a `torch.tensor(` of names, so the rules look at it.
BROKEN = {
    # The TabError: the first inconsistent line is 3, not 1:0.
    "tab": ("import torch\nif True:\n        v = torch.tensor([w])\n\tw = 2\n", 4),
    "unexpected-indent": ("import torch\nv = torch.tensor([w])\n    w = 2\n", 3),
    "missing-block": ("import torch\ndef f():\nv = torch.tensor([w])\n", 3),
    # A keyword as an argument name, after a call that spans lines: the off-by-a-line case.
    "keyword-argument": ("import torch\nv = torch.tensor(\n    [w, 2],\n)\nw = torch.tensor([w], class=2)\n", 5),
    "unclosed": ("import torch\nv = torch.tensor([w, 2)\n", 2),
}


def _cpython(source: str) -> SyntaxError:
    with pytest.raises(SyntaxError) as info:
        compile(source, "x.py", "exec", dont_inherit=True)
    return info.value


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_syntax_errors_are_reported_where_cpython_reports_them(tree, capsys, name):
    source, line = BROKEN[name]
    cpython = _cpython(source)
    assert cpython.lineno == line
    (tree / "broken.py").write_text(source)
    run = gradfix(capsys, "check", "broken.py")
    assert_one_line_error(run)
    assert f"broken.py:{line}:{cpython.offset}: error: {cpython.msg}" in run.err.splitlines()


def test_the_tab_error_names_tabs():
    error = python_syntax_error(BROKEN["tab"][0])
    assert error is not None and "tab" in error.message and error.position == ErrorPosition(4, _cpython(BROKEN["tab"][0]).offset)


def test_undecodable_bytes_are_reported_at_the_first_bad_byte(tree, capsys):
    (tree / "latin.py").write_bytes(b"import torch\nv = torch.tensor([1])  # d\xe9j\xe0 vu\n")
    run = gradfix(capsys, "check", "latin.py")
    assert_one_line_error(run)
    assert "latin.py:2:27: error: 'utf-8' codec can't decode byte 0xe9: invalid continuation byte" in run.err.splitlines()


def test_a_declared_encoding_is_the_one_checked(tree, capsys):
    (tree / "ascii.py").write_bytes(b"# coding: ascii\nimport torch\nv = torch.tensor([1])\nname = 'caf\xc3\xa9'\n")
    run = gradfix(capsys, "check", "ascii.py")
    assert_one_line_error(run, "ascii.py:4:12: error: 'ascii' codec can't decode byte 0xc3")


def test_other_files_are_still_checked_and_the_exit_code_is_2(tree, capsys):
    (tree / "a.py").write_text(BROKEN["unclosed"][0])
    (tree / "b.py").write_text(GOOD)
    (tree / "c.py").write_text(BROKEN["tab"][0])
    run = gradfix(capsys, "check", ".", "--no-progress")
    assert run.code == 2
    assert any(line.endswith("b.py:3:5: GF101 [*] `torch.tensor` copies the values of tensors that carry a graph "
                             "and cuts their gradients; use `torch.stack`") for line in run.out.splitlines())
    errors = sorted(line for line in run.err.splitlines() if ": error: " in line)
    assert [e.split(": error: ")[0] for e in errors] == [
        "./a.py:2:%d" % _cpython(BROKEN["unclosed"][0]).offset, "./c.py:4:%d" % _cpython(BROKEN["tab"][0]).offset]


def test_json_and_github_formats_carry_the_position(tree, capsys):
    source, line = BROKEN["keyword-argument"]
    cpython = _cpython(source)
    (tree / "k.py").write_text(source)
    records = json.loads(gradfix(capsys, "check", "k.py", "--output-format", "json").out)
    assert records == [{"filename": "k.py", "code": None, "error": cpython.msg,
                        "location": {"row": line, "column": cpython.offset}}]
    github = gradfix(capsys, "check", "k.py", "--output-format", "github").out.strip()
    assert github == f"::error title=gradfix,file=k.py,line={line},col={cpython.offset}::k.py:{line}:{cpython.offset}: error: {cpython.msg}"


def test_notebooks_give_the_cell_and_the_line_in_it(tmp_path, capsys):
    from test_notebook import code, markdown, notebook, write

    cell = "x = 1\nb = torch.tensor([a, a]\n"
    path = tmp_path / "syn.ipynb"
    write(path, notebook([code(["import torch\n", "a = torch.ones(2, requires_grad=True)\n"]), markdown(["x"]),
                          code([cell])]))
    offset = _cpython(cell).offset
    run = gradfix(capsys, "check", str(path))
    assert_one_line_error(run)
    assert f"{path}:cell 3:2:{offset}: error: {_cpython(cell).msg}" in run.err.splitlines()


def test_libcst_failures_cpython_accepts_keep_libcsts_message(monkeypatch):
    """Where LibCST rejects what CPython compiles (only parsed to build a fix), its own message is all there is."""
    import libcst

    def rejects(source):
        raise libcst.ParserSyntaxError("LibCST says no", lines=source.splitlines(True), raw_line=2, raw_column=4)

    monkeypatch.setattr(libcst, "parse_module", rejects)
    with pytest.raises(InputError) as info:
        check_source(GOOD, "g.py", Settings.from_codes(), fix=True)
    assert not isinstance(info.value, SourceSyntaxError)
    assert str(info.value) == "syntax error at 2:4: LibCST says no"
    assert python_syntax_error(GOOD) is None
