"""``[tool.gradfix]`` in pyproject.toml, through the real CLI."""

from __future__ import annotations

import pytest

from cli_runner import assert_one_line_error, gradfix, put
from sources import BAD, FIXED, UNSAFE_ONLY


def config(folder, body):
    return put(folder, "pyproject.toml", "[project]\nname = 'x'\n\n[tool.gradfix]\n" + body)


def test_ignore_and_select(tree, capsys):
    put(tree, "bad.py", BAD)
    config(tree, 'ignore = ["GF101"]\n')
    assert gradfix(capsys, "check").code == 0
    config(tree, 'select = ["GF1"]\n')
    assert gradfix(capsys, "check").code == 1
    config(tree, 'select = ["GF1"]\nignore = ["GF10"]\n')
    assert gradfix(capsys, "check").code == 0
    assert gradfix(capsys, "check", "--isolated").code == 1


def test_command_line_select_overrides_the_file(tree, capsys):
    put(tree, "bad.py", BAD)
    config(tree, 'select = ["GF1"]\nignore = []\n')
    assert gradfix(capsys, "check", "--ignore", "GF101").code == 0


def test_exclude(tree, capsys):
    put(tree, "generated/bad.py", BAD)
    put(tree, "src/model_pb2.py", BAD)
    put(tree, "src/ok.py", "x = 1\n")
    config(tree, 'exclude = ["generated", "*_pb2.py"]\n')
    assert gradfix(capsys, "check").code == 0
    assert gradfix(capsys, "check", "--isolated").code == 1


def test_per_file_ignores(tree, capsys):
    put(tree, "tests/test_x.py", BAD)
    src = put(tree, "src/x.py", BAD)
    config(tree, '[tool.gradfix.per-file-ignores]\n"tests/*" = ["GF101"]\n')
    run = gradfix(capsys, "check")
    assert run.code == 1 and "src/x.py" in run.out and "tests/" not in run.out
    # stdin mode takes the file name from --stdin-filename
    run = gradfix(capsys, "apply", "-", "--stdin-filename", "tests/test_y.py", stdin=BAD.encode())
    assert (run.code, run.out) == (0, BAD)
    assert gradfix(capsys, "apply").code == 0 and src.read_text() == FIXED


def test_unsafe_fixes_setting_and_override(tree, capsys):
    path = put(tree, "u.py", UNSAFE_ONLY)
    config(tree, "unsafe-fixes = true\n")
    assert gradfix(capsys, "apply", "--diff", "--no-unsafe-fixes").code == 0
    assert gradfix(capsys, "apply").code == 0
    assert path.read_text() != UNSAFE_ONLY


def test_max_file_size_setting(tree, capsys):
    put(tree, "bad.py", BAD)
    config(tree, "max-file-size = 10\n")
    assert_one_line_error(gradfix(capsys, "check"), "file too large")


def test_nearest_config_with_a_gradfix_table_wins(tree, capsys):
    config(tree, 'ignore = ["GF101"]\n')
    put(tree, "pkg/pyproject.toml", "[project]\nname = 'inner'\n")  # no [tool.gradfix]: passed over
    put(tree, "pkg/sub/bad.py", BAD)
    assert gradfix(capsys, "check", "pkg/sub").code == 0
    put(tree, "other.toml", "[tool.gradfix]\nselect = ['GF101']\n")
    assert gradfix(capsys, "check", "--config", "other.toml", "pkg/sub").code == 1


@pytest.mark.parametrize(
    "body, needle",
    [
        ("select = [GF101\n", "invalid TOML"),
        ("colour = 'red'\n", "unknown key in [tool.gradfix]"),
        ("select = 101\n", "select must be a list"),
        ("unsafe-fixes = 'yes'\n", "unsafe-fixes must be true or false"),
        ("per-file-ignores = ['x']\n", "per-file-ignores must be a table"),
        ("exclude = 'build'\n", "exclude must be a list"),
        ("max-file-size = -1\n", "max-file-size must be a positive"),
        ("select = ['GF999']\n", "unknown rule code or prefix: GF999"),
    ],
)
def test_bad_config_is_one_line_exit_2(tree, capsys, body, needle):
    put(tree, "bad.py", BAD)
    config(tree, body)
    for args in (("check",), ("apply",)):
        assert_one_line_error(gradfix(capsys, *args), needle)
    assert (tree / "bad.py").read_text() == BAD


def test_missing_config_file(tree, capsys):
    assert_one_line_error(gradfix(capsys, "check", "--config", "nope.toml"), "cannot read nope.toml")
