"""What keeps a check cheap: the literal prefilter before the triggers, and a start-up without LibCST or torch."""

from __future__ import annotations

import re
from pathlib import Path
import subprocess
import sys

import pytest

import gradfix.engine as engine
from gradfix.rule import Rule, all_rules, required_literals


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"\bbackward\s*\(|autograd\.grad\s*\(", ("autograd.grad", "backward")),
        (r"\b(?:tensor|as_tensor|FloatTensor)\s*\(", ("FloatTensor", "tensor")),  # as_tensor holds tensor
        (r"\.data\b", (".data",)),
        (r"(?:foo)+bar?", ("foo",)),
        (r"requires_grad(?:\s*=\s*True|_\s*\()|Parameter\s*\(", ("Parameter", "requires_grad")),
        (r"x(?i:abc)", ("x",)),  # a case-insensitive group gives nothing
        (r"[ab]c*", None),
        (r"(?:abc)?", None),  # optional: nothing is required
        (r"abc|[xy]", None),  # one branch has no literal
    ],
)
def test_required_literals(pattern, literals):
    assert required_literals(re.compile(pattern)) == literals


def test_case_insensitive_patterns_have_no_prefilter():
    assert required_literals(re.compile("abc", re.I)) is None


def test_required_literals_hold_for_matches():
    # Every match of each rule's trigger in these texts contains one of its literals.
    texts = ["loss.backward()", "torch.autograd.grad (y, x)", "w.data = 1", "torch.tensor( [a, b])",
             "nn.Parameter(x)", "t.requires_grad_()", "d.sample()", "torch.normal(m, s)"]
    for rule in all_rules().values():
        literals = rule.prefilter()
        for text in texts:
            match = rule.trigger.search(text)
            if match and literals is not None:
                assert any(literal in text for literal in literals), (rule.code, text)


class Declared(Rule):
    trigger = re.compile(r"f\(")
    literals = ("import numpy",)


Declared.code = "ZZ961"  # not registered


def test_a_rule_whose_literals_are_absent_is_not_searched():
    assert engine._triggered([Declared], "f(1)\n") == []
    assert engine._triggered([Declared], "import numpy\nf(1)\n") == [Declared]


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout


def test_checking_a_file_imports_neither_libcst_nor_torch(tmp_path):
    clean = tmp_path / "m.py"
    clean.write_text("import torch\n\nx = torch.ones(2)\nloss = (x * 2).sum()\nloss.backward()\n")
    out = _run(
        "import sys\n"
        "from gradfix.cli import main\n"
        "from gradfix._lazy import loaded\n"
        "try:\n"
        f"    main(['check', '--no-cache', '--isolated', {str(clean)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(loaded('libcst'), 'torch' in sys.modules)\n"
    )
    assert out.splitlines()[-1] == "False False"


def test_libcst_is_imported_when_a_fix_is_built():
    out = _run(
        "from gradfix.engine import fix_source\n"
        "from gradfix._lazy import loaded\n"
        "print(loaded('libcst'))\n"
        "src = 'import torch\\na = torch.nn.Parameter(torch.rand(2))\\nb = torch.tensor([a[0], a[1]])\\n'\n"
        "print('torch.stack' in fix_source(src), loaded('libcst'))\n"
    )
    assert out.split() == ["False", "True", "True"]


# Every filter before `detect` must be necessary: where a rule finds something, its text
# filters and its quick check must all say yes. Checked on every golden case (each rule on
# every case, not only its own) and on the expert programs.
def _filter_sources():
    from golden_cases import load_cases

    sources = [pytest.param(case.before, id=case.id) for case in load_cases()]
    expert = Path(__file__).parent / "expert_code"
    sources += [pytest.param(path.read_text(encoding="utf-8"), id=f"expert/{path.name}") for path in sorted(expert.glob("*.py"))]
    return sources


@pytest.mark.parametrize("source", _filter_sources())
def test_filters_never_hide_a_finding(source):
    import ast

    from gradfix.codemods._values import Analysis

    tree = ast.parse(source)
    analysis = Analysis(tree, source, "case.py")
    try:
        for code, rule in sorted(all_rules().items()):
            if not list(rule().detect(analysis)):
                continue
            assert rule.may_match(source), f"{code} finds something, but its text filters say no"
            assert rule.quick_check is None or rule.quick_check(tree), f"{code} finds something, but its quick check says no"
    finally:
        analysis.release()
