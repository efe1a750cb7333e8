"""The engine, below the CLI: parse avoidance, fix safety, decoding, writing, parallelism."""

from __future__ import annotations

import ast
import os
import re
import stat

import libcst as cst
import pytest

import gradfix.engine as engine
from gradfix.engine import (
    InputError,
    Mode,
    Settings,
    Suppressions,
    check_source,
    decode_source,
    fix_source,
    process_file,
    process_files,
    unified_diff,
    write_atomically,
)
from gradfix.rule import Fix, LazyFix, Rule, all_rules
from sources import BAD, CLEAN, FIXED, NO_TORCH, UNSAFE_ONLY


def unregistered(cls, code):
    """A test rule the registry never sees (so the real catalogue stays as it is)."""
    cls.code, cls.name, cls.summary = code, cls.__name__.lower(), "test rule"
    return cls


class _CallsOf(Rule):
    trigger = re.compile(r"\bf\(")

    def calls(self, analysis):
        return [c for c in analysis.calls() if isinstance(c.func, ast.Name) and c.func.id == "f"]


def _lazy(edit):
    """A LazyFix whose build replaces the LibCST node of an ast call with ``edit(node)``."""
    def build(call):
        return LazyFix(lambda ctx: Fix([(ctx.node_for(call), edit(ctx.node_for(call)))]))
    return build


class BreaksSyntax(_CallsOf):
    def detect(self, analysis):
        for call in self.calls(analysis):
            # A replacement whose code is not Python: the engine must refuse it.
            yield self.finding(call, "bad fix", _lazy(lambda node: cst.Name("lambda"))(call))


class RenamesF(_CallsOf):
    def detect(self, analysis):
        for call in self.calls(analysis):
            yield self.finding(call, "call g", _lazy(lambda node: node.with_changes(func=cst.Name("g")))(call))


class Crashes(_CallsOf):
    def detect(self, analysis):
        raise ZeroDivisionError("rule bug")


unregistered(BreaksSyntax, "ZZ901")
unregistered(RenamesF, "ZZ902")
unregistered(Crashes, "ZZ903")


def test_test_rules_are_not_in_the_catalogue():
    assert not any(code.startswith("ZZ") for code in all_rules())


def test_files_without_a_trigger_are_not_parsed(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("parsed a file no rule can match")

    monkeypatch.setattr(engine.cst, "parse_module", no_parse)
    settings = Settings.from_codes(None, None)
    assert check_source(NO_TORCH * 100, "x.py", settings, fix=True).diagnostics == []
    # Even a syntax error goes unnoticed when no rule could match: the file is not read as code.
    assert check_source("def (:\n", "x.py", settings, fix=False).error is None


def test_a_fix_that_does_not_parse_is_refused_and_the_rest_applies():
    settings = Settings((BreaksSyntax,))
    source = "x = f(1)\ny = f(2)\n"
    result = check_source(source, "x.py", settings, fix=True)
    assert result.new_source is None
    assert [d.note for d in result.diagnostics] == ["fix refused: its result does not parse"] * 2
    # Next to a rule whose fix is fine, the good fix still applies.
    result = check_source(source, "x.py", Settings((BreaksSyntax, RenamesF)), fix=True)
    assert result.new_source == "x = g(1)\ny = g(2)\n"


def test_overlapping_fixes_converge_over_passes():
    # f(f(1)): the outer and the inner fix overlap; one pass takes the outer, the next the inner.
    result = check_source("x = f(f(1))\n", "x.py", Settings((RenamesF,)), fix=True)
    assert result.new_source == "x = g(g(1))\n"
    assert len(result.fixed) == 2 and result.diagnostics == []


def test_a_crashing_rule_is_one_line_and_does_not_stop_other_files(tmp_path):
    crash = tmp_path / "a.py"
    crash.write_text("f(1)\n")
    fine = tmp_path / "b.py"
    fine.write_text("x = 1\n")
    results = process_files([(str(crash), Settings((Crashes,))), (str(fine), Settings((Crashes,)))], Mode.APPLY, jobs=1)
    assert results[0].error == "internal error: ZeroDivisionError: rule bug (please report this)"
    assert results[1].error is None
    assert crash.read_text() == "f(1)\n"


def test_fix_source_is_idempotent_and_matches_apply(tmp_path):
    assert fix_source(BAD) == FIXED
    assert fix_source(FIXED) == FIXED
    assert fix_source(UNSAFE_ONLY) == UNSAFE_ONLY
    assert fix_source(UNSAFE_ONLY, unsafe_fixes=True) != UNSAFE_ONLY
    path = tmp_path / "m.py"
    path.write_text(BAD)
    assert process_file(str(path), Settings.from_codes(None, None), Mode.APPLY).written
    assert path.read_text() == fix_source(BAD)


@pytest.mark.parametrize(
    "data, text, encoding",
    [
        (b"x = 1\n", "x = 1\n", "utf-8"),
        (b"\xef\xbb\xbfx = 1\n", "x = 1\n", "utf-8-sig"),
        (b"# coding: latin-1\nx = '\xe9'\n", "# coding: latin-1\nx = '\u00e9'\n", "iso-8859-1"),
        (b"x = 1\r\ny = 2\r\n", "x = 1\r\ny = 2\r\n", "utf-8"),
    ],
)
def test_decode_keeps_text_exact(data, text, encoding):
    assert decode_source(data) == (text, encoding)
    assert text.encode(encoding) == data


@pytest.mark.parametrize(
    "data, message",
    [(b"x = '\xe9'\n", "'utf-8' codec can't decode byte 0xe9: invalid continuation byte"), (b"x\x00 = 1\n", "NUL"), (b"# coding: nope\n", "encoding")],
)
def test_decode_errors(data, message):
    with pytest.raises(InputError, match=message):
        decode_source(data)


def test_suppressions():
    s = Suppressions("a  # noqa\nb  # noqa: GF101, GF2\nc  # gradfix: ignore[GF3]\nd\n")

    class F:
        def __init__(self, code, line):
            self.code, self.line, self.end_line = code, line, line

    assert s.suppresses(F("GF101", 1))
    assert s.suppresses(F("GF101", 2)) and s.suppresses(F("GF201", 2)) and not s.suppresses(F("GF102", 2))
    assert s.suppresses(F("GF301", 3)) and not s.suppresses(F("GF101", 3))
    assert not s.suppresses(F("GF101", 4))
    assert Suppressions("# gradfix: noqa: GF1\n").suppresses(F("GF104", 9))
    assert not Suppressions("# gradfix: noqa: GF1\n").suppresses(F("GF201", 9))


def test_write_atomically_keeps_mode_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "x.py"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomically(str(path), "new é\n", "latin-1")
    assert path.read_bytes() == "new é\n".encode("latin-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        write_atomically(str(path), "newer\n", "utf-8")
    assert path.read_bytes() == "new é\n".encode("latin-1")
    assert os.listdir(tmp_path) == ["x.py"]


def test_unified_diff_marks_a_missing_final_newline():
    diff = unified_diff("x.py", "a\nb", "a\nc")
    assert diff.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")


def test_parallel_and_serial_engine_runs_agree(tmp_path):
    texts = [BAD, CLEAN, UNSAFE_ONLY, NO_TORCH, "import torch\nx = torch.tensor([a,\n"]
    items = []
    for i in range(40):
        path = tmp_path / f"m{i:02d}.py"
        path.write_text(texts[i % len(texts)])
        items.append((str(path), Settings.from_codes(None, None)))

    def summary(results):
        return [(r.path, [(d.code, d.line, d.column, d.message) for d in r.diagnostics], r.error) for r in results]

    serial = summary(process_files(items, Mode.CHECK, jobs=1))
    parallel = summary(process_files(items, Mode.CHECK, jobs=2))
    assert serial == parallel
    assert sum(len(d) for _, d, _ in serial) == 16 and sum(1 for *_, e in serial if e) == 8


def test_context_children_and_walk_match_libcst():
    from gradfix.context import FileContext

    source = BAD + "class M:\n    def f(self, x):\n        return [y for y in x if y]  # c\n"
    module = cst.parse_module(source)
    ctx = FileContext(source, module, "x.py")

    def slow_walk(node):
        yield node
        for child in node.children:
            yield from slow_walk(child)

    expected = list(slow_walk(module))
    assert [id(n) for n in ctx.walk()] == [id(n) for n in expected]
    for node in expected:
        assert [id(c) for c in ctx.children(node)] == [id(c) for c in node.children]
    call = next(n for n in expected if isinstance(n, cst.Call))
    assert [id(n) for n in ctx.walk(call)] == [id(n) for n in slow_walk(call)]
    assert ctx.children(cst.Name("elsewhere")) == []  # a node of another tree: LibCST's answer


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file to another user")
def test_write_atomically_keeps_the_owner(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("old\n")
    os.chown(path, 65534, 65534)
    path.chmod(0o604)
    write_atomically(str(path), "new\n", "utf-8")
    status = path.stat()
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (65534, 65534, 0o604)
    assert path.read_text() == "new\n"
