"""Every golden case: byte-exact rewrite, idempotence, and a clean check afterwards."""

from __future__ import annotations

import pytest

from gradfix.engine import Settings, check_source, fix_source
from golden_cases import load_cases

CASES = load_cases()


def _findings(source: str, code: str) -> list:
    settings = Settings.from_codes([code], None, unsafe_fixes=True)
    return check_source(source, "case.py", settings, fix=False).diagnostics


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rewrite_is_byte_exact(case):
    assert case.description, f"{case.id}: case.toml needs a description"
    fixed = fix_source(case.before, "before.py", select=[case.code], unsafe_fixes=case.unsafe_fixes)
    assert fixed == case.expected


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_second_apply_changes_nothing(case):
    assert fix_source(case.expected, "after.py", select=[case.code], unsafe_fixes=True) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_findings_before_and_after(case):
    before = _findings(case.before, case.code)
    if case.after is not None:
        assert before, "a rewritten case must be reported"
        assert _findings(case.after, case.code) == []
    elif case.report_only:
        assert before and all(not d.fixable for d in before), "report-only: findings without a fix"
    else:
        assert before == [], "a must-not-touch case must not be reported"


def test_every_rule_has_golden_cases():
    from gradfix.rule import all_rules

    by_code: dict[str, list] = {}
    for case in CASES:
        by_code.setdefault(case.code, []).append(case)
    for code, rule in all_rules().items():
        cases = by_code.get(code, [])
        rewritten = [c for c in cases if c.after is not None or c.report_only]
        untouched = [c for c in cases if c.after is None and not c.report_only]
        assert len(rewritten) >= 6, f"{code}: needs at least 6 cases it rewrites or reports"
        assert len(untouched) >= 4, f"{code}: needs at least 4 must-not-touch cases"
