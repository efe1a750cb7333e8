"""`gradfix check --add-noqa` (adopt on a legacy tree) and `--statistics`, through the real CLI."""

from __future__ import annotations

import json
import re
import shutil

from cli_runner import assert_one_line_error, gradfix, put
from golden_cases import GOLDEN
from sources import BAD, CLEAN
from test_notebook import BROKEN, SETUP, code, markdown, notebook, write

ADDED = re.compile(r"(?P<before>.*?)(?P<added>  # noqa: [A-Z]+\d+(?:, [A-Z]+\d+)*)$")


def _first_case_of_each_rule(tree):
    """A copy of one golden ``before.py`` per rule folder that has a finding (each rule is represented)."""
    copies = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        for case in sorted(folder.iterdir()):
            if (case / "before.py").is_file() and not case.name.startswith("ok-") and not case.name.startswith("dont-"):
                target = tree / f"{folder.name}-{case.name}.py"
                shutil.copyfile(case / "before.py", target)
                copies.append(target)
                break
    return copies


def test_add_noqa_silences_every_finding_and_changes_nothing_else(tree, capsys):
    copies = _first_case_of_each_rule(tree)
    originals = {p: p.read_text() for p in copies}
    before = gradfix(capsys, "check", ".", "--isolated", "--output-format", "json")
    assert before.code == 1
    codes_before = {r["code"] for r in json.loads(before.out)}
    assert len(codes_before) >= 8, codes_before  # every rule family is exercised

    run = gradfix(capsys, "check", ".", "--isolated", "--add-noqa")
    assert run.code == 0, run.err
    added = int(re.search(r"Added (\d+) noqa directives?\.", run.err).group(1))
    assert added >= len(codes_before)

    after = gradfix(capsys, "check", ".", "--isolated")
    assert (after.code, after.out.strip()) == (0, "All checks passed!")
    changed_lines = 0
    for path, original in originals.items():
        new = path.read_text()
        old_lines, new_lines = original.splitlines(keepends=True), new.splitlines(keepends=True)
        assert len(old_lines) == len(new_lines), path
        for old, line in zip(old_lines, new_lines):
            if old == line:
                continue
            match = ADDED.fullmatch(line.rstrip("\n"))
            # The only change: "  # noqa: CODES" appended at the end of the line.
            assert match and match["before"] + "\n" == old, (path, old, line)
            changed_lines += 1
    assert changed_lines == added
    # Run again: nothing left to add, nothing rewritten.
    suppressed = {p: p.read_text() for p in copies}
    again = gradfix(capsys, "check", ".", "--isolated", "--add-noqa")
    assert again.code == 0 and "Added 0 noqa directives." in again.err
    assert {p: p.read_text() for p in copies} == suppressed


def test_add_noqa_keeps_comments_and_merges_into_existing_noqa(tree, capsys):
    source = (
        "import torch\n"
        "\n"
        "a = torch.nn.Parameter(torch.rand(3))\n"
        "b = torch.tensor([a[0] * 2, a[1] ** 2])  # the pair\n"
        "c = torch.tensor([a[0] * 2, a[1] ** 2])  # noqa: E501 (long)\n"
        "d = torch.tensor([a[0] * 2, a[1] ** 2])  # noqa:GF1\n"
    )
    path = put(tree, "m.py", source)
    run = gradfix(capsys, "check", "m.py", "--add-noqa")
    assert run.code == 0 and "Added 2 noqa directives." in run.err
    lines = path.read_text().splitlines()
    assert lines[3] == "b = torch.tensor([a[0] * 2, a[1] ** 2])  # the pair  # noqa: GF101"
    assert lines[4] == "c = torch.tensor([a[0] * 2, a[1] ** 2])  # noqa: E501, GF101 (long)"
    assert lines[5] == "d = torch.tensor([a[0] * 2, a[1] ** 2])  # noqa:GF1"  # GF1 already covers GF101
    assert gradfix(capsys, "check", "m.py").code == 0


def test_add_noqa_avoids_lines_that_end_inside_a_string(tree, capsys):
    source = (
        "import torch\n"
        "\n"
        "a = torch.nn.Parameter(torch.rand(3))\n"
        'b = torch.tensor([a[0] * len("""x\n'
        'y"""), a[1]])\n'
    )
    path = put(tree, "s.py", source)
    assert gradfix(capsys, "check", "s.py").code == 1
    run = gradfix(capsys, "check", "s.py", "--add-noqa")
    assert run.code == 0 and "Added 1 noqa directive." in run.err
    # The first line of the finding ends inside the string: the comment goes on its last line.
    assert path.read_text() == source.replace('y"""), a[1]])\n', 'y"""), a[1]])  # noqa: GF101\n')
    assert gradfix(capsys, "check", "s.py").code == 0


def test_add_noqa_keeps_crlf_line_endings(tree, capsys):
    path = put(tree, "w.py", BAD.replace("\n", "\r\n"))
    assert gradfix(capsys, "check", "w.py", "--add-noqa").code == 0
    assert path.read_bytes() == BAD.replace("\n", "\r\n").replace("** 2])\r\n", "** 2])  # noqa: GF101\r\n").encode()


def test_add_noqa_in_a_notebook_touches_only_the_cell_source(tree, capsys):
    path = tree / "fit.ipynb"
    original = write(path, notebook([markdown(["# Fit\n"]), code(SETUP, 1), code(["%time x = 1\n", *BROKEN], 2)]))
    run = gradfix(capsys, "check", "fit.ipynb", "--add-noqa")
    assert run.code == 0 and "Added 1 noqa directive." in run.err, run.err
    text = path.read_text()
    assert text == original.replace('"b = torch.tensor([a0, a1])\\n"', '"b = torch.tensor([a0, a1])  # noqa: GF101\\n"')
    assert gradfix(capsys, "check", "fit.ipynb").code == 0


def test_add_noqa_clean_file_is_untouched_and_stdin_is_refused(tree, capsys):
    path = put(tree, "ok.py", CLEAN)
    stat = path.stat()
    run = gradfix(capsys, "check", "ok.py", "--add-noqa")
    assert run.code == 0 and "Added 0 noqa directives." in run.err
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert_one_line_error(gradfix(capsys, "check", "-", "--add-noqa", stdin=BAD.encode()), "--add-noqa")


def test_add_noqa_reports_a_file_it_cannot_parse(tree, capsys):
    put(tree, "bad.py", BAD)
    broken = put(tree, "broken.py", "import torch\ntorch.tensor([a[0], a[1]]\n")
    run = gradfix(capsys, "check", ".", "--add-noqa")
    assert run.code == 2
    assert "broken.py" in run.err and "Added 1 noqa directive." in run.err
    assert broken.read_text() == "import torch\ntorch.tensor([a[0], a[1]]\n"


def test_statistics_in_ruffs_layout(tree, capsys):
    put(tree, "bad.py", BAD + BAD.split("\n", 3)[3])
    put(tree, "rnn.py", (GOLDEN / "GF201-fused-rnn-slice-grad" / "aliased_T_function" / "before.py").read_text())
    run = gradfix(capsys, "check", ".", "--statistics")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == "2\tGF101\t[*] tensor-from-tensors"
    assert lines[1] == "1\tGF201\t[ ] fused-rnn-slice-grad"  # explain-only: no fix
    assert lines[2].startswith("Found 3 findings")
    listed = json.loads(gradfix(capsys, "check", ".", "--statistics", "--output-format", "json").out)
    assert listed[0] == {"code": "GF101", "name": "tensor-from-tensors", "count": 2, "fixable": True}
    assert [r["code"] for r in listed] == ["GF101", "GF201"]
    clean = put(tree, "clean/ok.py", CLEAN)
    assert gradfix(capsys, "check", str(clean.parent), "--statistics").out.strip() == "All checks passed!"
