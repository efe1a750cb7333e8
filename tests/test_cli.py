"""The command line against DESIGN.md's conventions and quality bars (real CLI, real files)."""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from cli_runner import assert_one_line_error, gradfix, put
from sources import BAD, BAD_COL, BAD_LINE, CLEAN, FIXED, NO_TORCH, UNSAFE_ONLY


LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]{2}\d{3})(?P<fix> \[\*\])? (?P<msg>.+)$")


# Exit codes and the text format -----------------------------------------------------------
def test_check_clean_exits_0(tree, capsys):
    put(tree, "ok.py", CLEAN)
    put(tree, "other.py", NO_TORCH)
    run = gradfix(capsys, "check")
    assert (run.code, run.out.strip()) == (0, "All checks passed!")


def test_check_reports_ruff_style_lines_and_summary(tree, capsys):
    put(tree, "bad.py", BAD)
    put(tree, "ok.py", CLEAN)
    run = gradfix(capsys, "check", ".")
    assert run.code == 1
    lines = run.out.splitlines()
    match = LINE.match(lines[0])
    assert match, lines[0]
    assert (match["path"], int(match["line"]), int(match["col"]), match["code"], match["fix"]) == (
        os.path.join(".", "bad.py"), BAD_LINE, BAD_COL, "GF101", " [*]",
    )
    assert lines[1] == "Found 1 finding (1 fixable with `gradfix apply`)."
    assert len(lines) == 2


def test_unsafe_fix_has_no_marker_and_is_counted_separately(tree, capsys):
    put(tree, "u.py", UNSAFE_ONLY)
    run = gradfix(capsys, "check", "u.py")
    assert run.code == 1
    assert LINE.match(run.out.splitlines()[0])["fix"] is None
    assert "1 more with `gradfix apply --unsafe-fixes`" in run.out


def test_exit_zero(tree, capsys):
    put(tree, "bad.py", BAD)
    assert gradfix(capsys, "check", "--exit-zero").code == 0


def test_check_never_writes(tree, capsys):
    path = put(tree, "bad.py", BAD)
    gradfix(capsys, "check", "bad.py")
    assert path.read_text() == BAD


def test_version_and_unknown_option(tree, capsys):
    run = gradfix(capsys, "--version")
    assert run.code == 0 and run.out.startswith("gradfix ")
    assert_one_line_error(gradfix(capsys, "check", "--no-such-option"), "--no-such-option")


def test_missing_path_is_a_usage_error(tree, capsys):
    assert_one_line_error(gradfix(capsys, "check", "nope.py"), "no such file or directory: nope.py")


def test_empty_file_list_is_a_clean_no_op(tree, capsys):
    (tree / "empty").mkdir()
    put(tree, "empty/readme.txt", "torch.tensor([a])")
    run = gradfix(capsys, "check", "empty")
    assert run.code == 0 and "Traceback" not in run.err
    assert gradfix(capsys, "apply", "empty").code == 0
    put(tree, "zero.py", "")
    assert gradfix(capsys, "apply", "zero.py").code == 0
    assert (tree / "zero.py").read_bytes() == b""


# apply and apply --diff ---------------------------------------------------------------------------
def test_diff_writes_nothing_and_exits_1(tree, capsys):
    path = put(tree, "bad.py", BAD)
    run = gradfix(capsys, "apply", "--diff", "bad.py")
    assert run.code == 1
    assert run.out.startswith("--- bad.py\n+++ bad.py\n")
    assert "-b = torch.tensor([a[0] * 2, a[1] ** 2])\n+b = torch.stack([a[0] * 2, a[1] ** 2])\n" in run.out
    assert path.read_text() == BAD
    assert "Would fix 1 finding in 1 file." in run.err


def test_diff_without_changes_exits_0(tree, capsys):
    put(tree, "ok.py", CLEAN)
    put(tree, "u.py", UNSAFE_ONLY)  # only an unsafe fix: nothing to do by default
    run = gradfix(capsys, "apply", "--diff")
    assert (run.code, run.out) == (0, "")


def test_apply_fixes_then_changes_nothing(tree, capsys):
    path = put(tree, "bad.py", BAD)
    run = gradfix(capsys, "apply", "bad.py")
    assert run.code == 0, run.err
    assert path.read_text() == FIXED
    assert "Fixed 1 finding in 1 file." in run.out + run.err
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    run = gradfix(capsys, "apply", "bad.py")
    assert run.code == 0
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp
    assert gradfix(capsys, "check", "bad.py").code == 0


def test_exit_non_zero_on_fix(tree, capsys):
    put(tree, "bad.py", BAD)
    assert gradfix(capsys, "apply", "--exit-non-zero-on-fix", "bad.py").code == 1
    assert gradfix(capsys, "apply", "--exit-non-zero-on-fix", "bad.py").code == 0


def test_unsafe_fixes_only_on_request(tree, capsys):
    path = put(tree, "u.py", UNSAFE_ONLY)
    run = gradfix(capsys, "apply", "u.py")
    assert run.code == 1  # the finding remains
    assert path.read_text() == UNSAFE_ONLY
    assert gradfix(capsys, "apply", "--unsafe-fixes", "u.py").code == 0
    assert path.read_text() == UNSAFE_ONLY.replace("torch.tensor(a)", "a.clone()")


def test_file_without_finding_is_never_rewritten(tree, capsys):
    texts = {"ok.py": CLEAN, "plain.py": NO_TORCH, "u.py": UNSAFE_ONLY, "crlf.py": CLEAN.replace("\n", "\r\n")}
    paths = {name: put(tree, name, text) for name, text in texts.items()}
    before = {name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for name, p in paths.items()}
    gradfix(capsys, "apply", ".")
    after = {name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for name, p in paths.items()}
    assert after == before


def test_apply_keeps_mode_and_leaves_no_temporary_file(tree, capsys):
    path = put(tree, "bad.py", BAD)
    path.chmod(0o751)
    assert gradfix(capsys, "apply", "bad.py").code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert sorted(os.listdir(tree)) == ["bad.py"]


def test_apply_keeps_latin1_cookie_encoding(tree, capsys):
    source = "# -*- coding: latin-1 -*-\n# café\n" + BAD
    path = put(tree, "l1.py", source.encode("latin-1"))
    assert gradfix(capsys, "apply", "l1.py").code == 0
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# café\n" + FIXED).encode("latin-1")


def test_apply_keeps_crlf_and_bom(tree, capsys):
    crlf = put(tree, "crlf.py", BAD.replace("\n", "\r\n").encode())
    bom = put(tree, "bom.py", b"\xef\xbb\xbf" + BAD.encode())
    old_mac = put(tree, "cr.py", BAD.replace("\n", "\r").encode())
    assert gradfix(capsys, "apply", ".").code == 0
    assert crlf.read_bytes() == FIXED.replace("\n", "\r\n").encode()
    assert bom.read_bytes() == b"\xef\xbb\xbf" + FIXED.encode()
    assert old_mac.read_bytes() == FIXED.replace("\n", "\r").encode()


def test_failed_write_leaves_the_file_whole(tree, capsys, monkeypatch):
    path = put(tree, "bad.py", BAD)

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    run = gradfix(capsys, "apply", "bad.py")
    assert_one_line_error(run, "bad.py", "cannot write: Permission denied")
    assert path.read_text() == BAD
    assert sorted(os.listdir(tree)) == ["bad.py"]


# Standard input ----------------------------------------------------------------------------------
def test_stdin_apply_prints_fixed_source_and_findings_on_stderr(tree, capsys):
    source = BAD + "c = torch.tensor(a)\n"  # plus a finding only an unsafe fix would remove
    run = gradfix(capsys, "apply", "-", "--stdin-filename", "pkg/f.py", stdin=source.encode())
    assert run.out == FIXED + "c = torch.tensor(a)\n"
    assert run.code == 1
    assert re.search(r"^pkg/f\.py:5:5: GF101 ", run.err, re.M)


def test_stdin_apply_keeps_crlf(tree, capsys):
    run = gradfix(capsys, "apply", "-", "--stdin-filename", "f.py", stdin=BAD.replace("\n", "\r\n").encode())
    assert run.out == FIXED.replace("\n", "\r\n")


def test_stdin_check_and_diff(tree, capsys):
    run = gradfix(capsys, "check", "-", "--stdin-filename", "f.py", stdin=BAD.encode())
    assert run.code == 1 and run.out.startswith(f"f.py:{BAD_LINE}:{BAD_COL}: GF101 [*] ")
    run = gradfix(capsys, "apply", "--diff", "-", "--stdin-filename", "f.py", stdin=BAD.encode())
    assert run.code == 1 and "+b = torch.stack(" in run.out


def test_stdin_syntax_error_gives_the_input_back(tree, capsys):
    broken = b"import torch\nx = torch.tensor([a, b)\n"
    run = gradfix(capsys, "apply", "-", "--stdin-filename", "f.py", stdin=broken)
    assert run.out.encode() == broken
    assert_one_line_error(run, "f.py:2:23: error: closing parenthesis ')' does not match opening parenthesis '['")


def test_stdin_cannot_be_mixed_with_paths(tree, capsys):
    put(tree, "ok.py", CLEAN)
    assert_one_line_error(gradfix(capsys, "check", "-", "ok.py", stdin=b""), "'-'")


# Rule selection and suppression -------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, code",
    [
        (["--select", "GF101"], 1),
        (["--select", "GF1"], 1),
        (["--select", "gf10"], 1),
        (["--select", "ALL"], 1),
        (["--ignore", "GF101"], 0),
        (["--ignore", "GF"], 0),
        (["--select", "GF1", "--ignore", "GF101"], 0),
        (["--select", "GF101,GF1"], 1),
    ],
)
def test_select_and_ignore(tree, capsys, args, code):
    put(tree, "bad.py", BAD)
    assert gradfix(capsys, "check", *args, "bad.py").code == code


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_rule_code_is_a_usage_error(tree, capsys, option):
    put(tree, "bad.py", BAD)
    assert_one_line_error(gradfix(capsys, "check", option, "GF999", "bad.py"), "unknown rule code or prefix: GF999")


SUPPRESSED = BAD.replace("** 2])\n", "** 2])  {comment}\n")


@pytest.mark.parametrize(
    "comment, suppressed",
    [
        ("# noqa", True),
        ("# noqa: GF101", True),
        ("# NOQA:GF101,E501", True),
        ("# noqa: GF1", True),
        ("# noqa: E501", False),
        ("# gradfix: ignore[GF101]", True),
        ("# gradfix: ignore", True),
        ("# gradfix: ignore[GF102]", False),
    ],
)
def test_line_suppressions(tree, capsys, comment, suppressed):
    path = put(tree, "s.py", SUPPRESSED.format(comment=comment))
    assert gradfix(capsys, "check", "s.py").code == (0 if suppressed else 1)
    gradfix(capsys, "apply", "s.py")
    assert ("torch.tensor([" in path.read_text()) is suppressed


@pytest.mark.parametrize("header, suppressed", [("# gradfix: noqa", True), ("# gradfix: noqa: GF101", True), ("# gradfix: noqa: GF102", False)])
def test_file_level_suppression(tree, capsys, header, suppressed):
    put(tree, "s.py", header + "\n" + BAD)
    assert gradfix(capsys, "check", "s.py").code == (0 if suppressed else 1)


def test_noqa_inside_a_string_does_not_suppress_other_lines(tree, capsys):
    put(tree, "s.py", BAD + 'doc = "# gradfix: noqa"\n')
    assert gradfix(capsys, "check", "s.py").code == 1


# Bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, needle",
    [
        (b"import torch\nx = torch.tensor([a, b)\n", "bad_input.py:2:23: error: closing parenthesis ')'"),
        (b"import torch\nx = torch.tensor([1])  # caf\xe9\n",
         "bad_input.py:2:29: error: 'utf-8' codec can't decode byte 0xe9: invalid continuation byte"),
        (b"import torch\x00\nx = torch.tensor([1])\n", "NUL"),
        (b"# -*- coding: klingon -*-\nimport torch\n", "encoding"),
    ],
)
def test_bad_input_gets_one_line_error_and_is_not_written(tree, capsys, content, needle):
    path = put(tree, "bad_input.py", content)
    for args in (("check",), ("apply",), ("apply", "--diff")):
        run = gradfix(capsys, *args, "bad_input.py")
        assert_one_line_error(run, "bad_input.py", needle)
    assert path.read_bytes() == content


def test_bad_file_does_not_stop_the_others(tree, capsys):
    put(tree, "a_broken.py", "import torch\nx = torch.tensor([a,\n")
    good = put(tree, "b_bad.py", BAD)
    run = gradfix(capsys, "apply", ".")
    assert run.code == 2
    assert good.read_text() == FIXED
    assert_one_line_error(run, "a_broken.py")


def test_huge_file_is_skipped_with_a_message(tree, capsys):
    path = put(tree, "big.py", BAD + "# padding\n" * 100)
    run = gradfix(capsys, "apply", "--max-file-size", "200", "big.py")
    assert_one_line_error(run, "big.py", "file too large", "--max-file-size")
    assert "torch.tensor([" in path.read_text()
    assert gradfix(capsys, "apply", "--max-file-size", "100000", "big.py").code == 0


def test_symlink_named_explicitly_is_refused_and_skipped_in_folders(tree, capsys):
    target = put(tree, "real/bad.py", BAD)
    (tree / "link.py").symlink_to(target)
    (tree / "linkdir").symlink_to(tree / "real")
    assert_one_line_error(gradfix(capsys, "check", "link.py"), "link.py", "symbolic link")
    assert_one_line_error(gradfix(capsys, "check", "linkdir"), "symbolic link")
    run = gradfix(capsys, "check", ".", "--output-format", "json")
    assert [r["filename"] for r in json.loads(run.out)] == [os.path.join(".", "real", "bad.py")]
    gradfix(capsys, "apply", "link.py")
    assert target.read_text() == BAD and (tree / "link.py").is_symlink()


def test_unreadable_file(tree, capsys, monkeypatch):
    path = put(tree, "secret.py", BAD)
    if os.geteuid() == 0:
        # root reads a chmod-000 file anyway: make the engine's open fail as it would for a user.
        real_open = builtins.open

        def deny(file, *args, **kwargs):
            if os.fspath(file) == "secret.py":
                raise PermissionError(13, "Permission denied", file)
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", deny)
    else:
        path.chmod(0)
    try:
        run = gradfix(capsys, "apply", "secret.py")
    finally:
        path.chmod(0o644)
    assert_one_line_error(run, "secret.py", "cannot read: Permission denied")
    assert path.read_text() == BAD


# Output formats ----------------------------------------------------------------------------------
def test_json_output(tree, capsys):
    put(tree, "bad.py", BAD)
    put(tree, "broken.py", "import torch\nx = torch.tensor((a,\n")
    run = gradfix(capsys, "check", "--output-format", "json", ".")
    assert run.code == 2
    records = json.loads(run.out)
    finding = next(r for r in records if r["code"] == "GF101")
    assert (finding["filename"], finding["line"], finding["column"]) == (os.path.join(".", "bad.py"), BAD_LINE, BAD_COL)
    assert finding["fix"]["applicability"] == "safe" and finding["name"] == "tensor-from-tensors"
    error = next(r for r in records if r["code"] is None)
    assert error["filename"].endswith("broken.py") and error["error"] == "'(' was never closed"
    assert error["location"] == {"row": 2, "column": 18}  # the inner "(" of "(("


def test_sarif_output(tree, capsys):
    put(tree, "bad.py", BAD)
    run = gradfix(capsys, "check", "--output-format", "sarif", "bad.py")
    document = json.loads(run.out)
    assert document["version"] == "2.1.0"
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "GF101"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == BAD_LINE
    assert "GF101" in [r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]]


def test_github_output(tree, capsys):
    put(tree, "bad.py", BAD)
    run = gradfix(capsys, "check", "--output-format", "github", "bad.py")
    assert run.code == 1
    assert run.out.startswith(f"::error title=gradfix (GF101),file=bad.py,line={BAD_LINE},col={BAD_COL},")
    assert gradfix(capsys, "check", "--output-format", "github", "--ignore", "GF", "bad.py").out == ""


def test_unknown_output_format(tree, capsys):
    put(tree, "bad.py", BAD)
    assert_one_line_error(gradfix(capsys, "check", "--output-format", "xml", "bad.py"), "xml")


# rules -------------------------------------------------------------------------------------------
def test_rules_catalogue(capsys):
    run = gradfix(capsys, "rules")
    assert run.code == 0
    assert re.search(r"^GF101\s+tensor-from-tensors\s+fix\s+\S", run.out, re.M)
    listed = json.loads(gradfix(capsys, "rules", "--output-format", "json").out)
    assert {"code": "GF101", "fixable": True}.items() <= next(r for r in listed if r["code"] == "GF101").items()


def test_rules_explains_one(capsys):
    for code in ("GF101", "gf101"):
        run = gradfix(capsys, "rules", code)
        assert run.code == 0
        assert run.out.startswith("GF101 tensor-from-tensors\n") and "Bad:" in run.out and "Good:" in run.out
    assert_one_line_error(gradfix(capsys, "rules", "GF999"), "unknown rule code: GF999")


# Parallel runs ------------------------------------------------------------------------------------
def test_parallel_gives_the_same_results_as_serial(tmp_path, capsys, monkeypatch):
    texts = [BAD, CLEAN, UNSAFE_ONLY, NO_TORCH]
    for copy in ("serial", "parallel"):
        for i in range(24):
            put(tmp_path / copy, f"m{i:02d}.py", texts[i % len(texts)])
    monkeypatch.chdir(tmp_path / "serial")
    serial = gradfix(capsys, "check", "-j", "1", "--output-format", "json")
    monkeypatch.chdir(tmp_path / "parallel")
    parallel = gradfix(capsys, "check", "-j", "2", "--output-format", "json")
    assert serial.code == parallel.code == 1
    assert json.loads(serial.out) == json.loads(parallel.out) and len(json.loads(serial.out)) == 12
    assert gradfix(capsys, "apply", "-j", "2").code == 1  # the unsafe-only findings remain
    for i in range(24):
        assert (tmp_path / "parallel" / f"m{i:02d}.py").read_text() == [FIXED, CLEAN, UNSAFE_ONLY, NO_TORCH][i % 4]


# The installed console script, end to end ---------------------------------------------------------
def _console_script():
    found = shutil.which("gradfix", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "gradfix"]


def test_console_script_end_to_end(tree):
    put(tree, "bad.py", BAD)
    command = _console_script()
    check = subprocess.run([*command, "check", "bad.py"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and check.stdout.startswith(f"bad.py:{BAD_LINE}:{BAD_COL}: GF101 [*]")
    stdin = subprocess.run([*command, "apply", "-", "--stdin-filename", "bad.py"], input=BAD, capture_output=True, text=True, timeout=60)
    assert (stdin.returncode, stdin.stdout) == (0, FIXED)
    usage = subprocess.run([*command, "check", "--select", "NOPE1"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "Traceback" not in usage.stderr
