"""Notebooks are checked and fixed like .py files, cell by cell, byte-exact elsewhere."""

from __future__ import annotations

import json

import pytest

from cli_runner import assert_one_line_error, gradfix

SETUP = ["import torch\n", "a = torch.nn.Parameter(torch.rand(3))"]
BROKEN = ["a0 = a[0] * 2\n", "a1 = a[1] ** 2\n", "b = torch.tensor([a0, a1])\n", "b.sum().backward()"]
FIXED_LINE = "b = torch.stack([a0, a1])\n"


def code(source, count=None):
    return {"cell_type": "code", "execution_count": count, "metadata": {}, "outputs": [], "source": source}


def markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def notebook(cells, language="python"):
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Kernel", "language": language, "name": "k"},
            "language_info": {"name": language},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(path, nb, **dump):
    text = json.dumps(nb, **({"indent": 1, "ensure_ascii": False} | dump)) + "\n"
    path.write_bytes(text.encode("utf-8"))
    return text


def test_check_reports_cell_line_col_like_ruff(tmp_path, capsys):
    path = tmp_path / "fit.ipynb"
    write(path, notebook([markdown(["# Fit\n"]), code(SETUP, 1), code(BROKEN, 2)]))
    run = gradfix(capsys, "check", str(path))
    assert run.code == 1
    # cell 3: markdown counts (ruff numbers every cell); line 3 of that cell, column 5.
    assert run.out.splitlines()[0].startswith(f"{path}:cell 3:3:5: GF101 [*] ")


def test_names_flow_across_cells(tmp_path, capsys):
    # The tensors' graph comes from a Parameter defined two cells earlier.
    path = tmp_path / "flow.ipynb"
    write(path, notebook([code(SETUP), code(["a0 = a[0] * 2\n"]), code(["a1 = a[1] ** 2\n", "b = torch.tensor([a0, a1])"])]))
    run = gradfix(capsys, "check", str(path), "--output-format", "json")
    records = json.loads(run.out)
    assert [(r["code"], r["cell"], r["line"], r["column"]) for r in records] == [("GF101", 3, 2, 5)]
    # The same cell alone has nothing that carries a graph: no finding.
    alone = tmp_path / "alone.ipynb"
    write(alone, notebook([code(["import torch\n", "b = torch.tensor([a0, a1])"])]))
    assert gradfix(capsys, "check", str(alone)).code == 0


@pytest.mark.parametrize("dump", [{"indent": 1}, {"indent": 2}, {"indent": 4, "ensure_ascii": True}])
def test_apply_changes_only_the_fixed_line_of_the_json(tmp_path, capsys, dump):
    path = tmp_path / "fit.ipynb"
    nb = notebook([markdown(["# Ünïcode título\n"]), code(SETUP, 1), code(BROKEN, 2)])
    before = write(path, nb, **dump)
    run = gradfix(capsys, "apply", str(path))
    assert run.code == 0, run.err
    after = path.read_text(encoding="utf-8")
    assert after == before.replace('"b = torch.tensor([a0, a1])\\n"', json.dumps(FIXED_LINE))
    assert json.loads(after)["cells"][2]["source"][2] == FIXED_LINE
    # Second apply changes nothing; check is clean.
    assert gradfix(capsys, "apply", str(path)).code == 0
    assert path.read_text(encoding="utf-8") == after
    assert gradfix(capsys, "check", str(path)).code == 0


def test_source_as_one_string_and_crlf_json_are_kept(tmp_path, capsys):
    path = tmp_path / "s.ipynb"
    nb = notebook([code("".join(SETUP)), code("".join(BROKEN))])
    before = json.dumps(nb, indent=1).replace("\n", "\r\n") + "\r\n"
    path.write_bytes(before.encode())
    assert gradfix(capsys, "apply", str(path)).code == 0
    after = path.read_bytes().decode()
    assert after == before.replace("b = torch.tensor([a0, a1])", "b = torch.stack([a0, a1])")
    assert isinstance(json.loads(after)["cells"][1]["source"], str)


def test_magics_and_shell_lines_are_restored_exactly(tmp_path, capsys):
    path = tmp_path / "m.ipynb"
    cells = [
        code(["%matplotlib inline\n", "!pip install -q something \\\n", "   --upgrade\n", *SETUP, "\n"]),
        code(["files = !ls\n", "torch.stack?\n", "for i in range(2):\n", "    %time a.sum()\n"]),
        code(["%%time\n", *BROKEN]),
        code(["%%bash\n", "echo torch.tensor([a0, a1])\n"]),
    ]
    before = write(path, notebook(cells))
    assert gradfix(capsys, "check", str(path)).out.splitlines()[0].startswith(f"{path}:cell 3:4:5: GF101")
    run = gradfix(capsys, "apply", str(path))
    assert run.code == 0, run.err
    after = path.read_text(encoding="utf-8")
    assert after == before.replace('"b = torch.tensor([a0, a1])\\n"', json.dumps(FIXED_LINE))


def test_notebook_without_finding_is_never_touched(tmp_path, capsys):
    path = tmp_path / "clean.ipynb"
    path.write_bytes(b'{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,\n'
                     b'  "source": ["import torch\\n", "x = torch.tensor([1.0, 2.0])"]}],\n'
                     b' "metadata": {}, "nbformat": 4, "nbformat_minor": 2}')
    before = path.read_bytes()
    for args in (("check",), ("apply",), ("apply", "--diff")):
        run = gradfix(capsys, *args, str(path))
        assert run.code == 0, (args, run.err)
    assert path.read_bytes() == before


def test_diff_shows_the_cell_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "d.ipynb"
    before = write(path, notebook([code(SETUP), code(BROKEN)]))
    run = gradfix(capsys, "apply", "--diff", str(path))
    assert run.code == 1
    assert f"--- {path}:cell 2" in run.out
    assert "-b = torch.tensor([a0, a1])\n+b = torch.stack([a0, a1])\n" in run.out
    assert path.read_text(encoding="utf-8") == before


def test_other_kernel_languages_are_skipped(tmp_path, capsys):
    path = tmp_path / "r.ipynb"
    write(path, notebook([code(SETUP), code(BROKEN)], language="R"))
    assert gradfix(capsys, "check", str(path)).code == 0


@pytest.mark.parametrize(
    "content, needle",
    [
        (b'{"cells": [', "invalid notebook JSON"),
        (b'[1, 2]', "not a Jupyter notebook"),
        (b'{"worksheets": [], "nbformat": 3}', "format 3"),
        (b'{"cells": [], "x": "\xff"}', "not valid UTF-8"),
    ],
)
def test_broken_notebooks_get_one_line_errors(tmp_path, capsys, content, needle):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    for args in (("check",), ("apply",)):
        assert_one_line_error(gradfix(capsys, *args, str(path)), str(path), needle)
    assert path.read_bytes() == content


def test_syntax_error_names_the_cell(tmp_path, capsys):
    path = tmp_path / "syn.ipynb"
    write(path, notebook([code(SETUP), markdown(["x"]), code(["b = torch.tensor([a, a]\n"])]))
    assert_one_line_error(gradfix(capsys, "check", str(path)), f"{path}:cell 3:1:17: error: '(' was never closed")


def test_stdin_notebook(tmp_path, capsys):
    nb = json.dumps(notebook([code(SETUP), code(BROKEN)]), indent=1) + "\n"
    run = gradfix(capsys, "apply", "-", "--stdin-filename", "x.ipynb", stdin=nb.encode())
    assert run.code == 0
    assert run.out == nb.replace('"b = torch.tensor([a0, a1])\\n"', json.dumps(FIXED_LINE))
    assert "x.ipynb:cell 2:3:5: GF101" not in run.err  # fixed, so not remaining
    run = gradfix(capsys, "check", "-", "--stdin-filename", "x.ipynb", stdin=nb.encode())
    assert run.code == 1 and "x.ipynb:cell 2:3:5: GF101" in run.out


def test_an_import_a_fix_adds_lands_in_the_first_code_cell(tmp_path, capsys):
    path = tmp_path / "imp.ipynb"
    cells = [
        markdown(["Notes"]),
        code(["from torch import tensor, nn\n", "import numpy as np"]),
        code(["a = nn.Parameter(tensor([1.0, 2.0]))\n", "b = tensor([a[0] * 2, a[1]])\n", "c = tensor(a)"]),
    ]
    write(path, notebook(cells))
    run = gradfix(capsys, "apply", str(path))
    assert run.code == 1  # the unsafe-only finding remains, reported in its cell
    assert f"{path}:cell 3:3:5: GF101 " in run.out
    sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    assert sources == [
        "Notes",
        "import torch\nfrom torch import tensor, nn\nimport numpy as np",
        "a = nn.Parameter(tensor([1.0, 2.0]))\nb = torch.stack([a[0] * 2, a[1]])\nc = tensor(a)",
    ]


def test_size_limit_counts_code_not_outputs(tmp_path, capsys):
    path = tmp_path / "plots.ipynb"
    broken = code(BROKEN)
    broken["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR" * 4000}}]
    write(path, notebook([code(SETUP), broken]))
    assert path.stat().st_size > 20000
    run = gradfix(capsys, "check", "--max-file-size", "5000", str(path))
    assert run.code == 1 and "GF101" in run.out  # 20 kB of image, 150 bytes of code
    small = tmp_path / "small.ipynb"
    write(small, notebook([code(SETUP), code(BROKEN)]))
    assert small.stat().st_size < 100 * 20
    assert_one_line_error(gradfix(capsys, "check", "--max-file-size", "100", str(small)), "code cells too large")


def test_a_line_that_only_looks_like_a_magic_is_left_to_python(tmp_path, capsys):
    path = tmp_path / "fmt.ipynb"
    cells = [code([
        "!pip install -q something\n", "import torch\n", "a = torch.nn.Parameter(torch.rand(3))\n",
        'msg = ("a %s"\n', "       % 'b')\n", "text = '''\n", "%not a magic\n", "'''\n",
        "a0 = a[0] * 2\n", "a1 = a[1] ** 2\n", "b = torch.tensor([a0, a1])\n",
    ])]
    before = write(path, notebook(cells))
    assert gradfix(capsys, "check", str(path)).out.startswith(f"{path}:cell 1:11:5: GF101")
    assert gradfix(capsys, "apply", str(path)).code == 0
    assert path.read_text(encoding="utf-8") == before.replace('"b = torch.tensor([a0, a1])\\n"', json.dumps(FIXED_LINE))
