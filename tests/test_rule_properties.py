"""Bounded property runs over every rule (the long run: ``benchmarks/fuzz_rules.py``).

A falsifying example is shrunk by hypothesis and printed; ``rule_properties`` says what
each property means.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import rule_properties

# About 20 seconds for the file on two busy cores; the long run is the script's job.
BOUNDED = settings(max_examples=8, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.data_too_large])


def _assert_holds(source: str) -> None:
    violation = rule_properties.check_properties(source)
    assert violation is None, "%s: %s\n--- source ---\n%s" % (violation.kind, violation.detail, source)


@BOUNDED
@given(source=rule_properties.mutated_golden())
def test_mutated_golden_cases_keep_the_properties(source):
    _assert_holds(source)


@BOUNDED
@given(source=rule_properties.generated_programs(kind="node"))
def test_generated_programs_keep_the_properties(source):
    _assert_holds(source)


def test_the_checker_catches_a_rewrite_that_changes_again(monkeypatch):
    """The checker itself: a fix that is not idempotent must be caught, not waved through."""
    real = rule_properties.check_source

    def drifting(text, path, settings, fix):
        result = real(text, path, settings, fix)
        if fix:  # every apply appends one more line
            result.new_source = (result.new_source or text) + "# again\n"
        return result

    monkeypatch.setattr(rule_properties, "check_source", drifting)
    monkeypatch.setattr(rule_properties, "fix_source", lambda text, path, unsafe_fixes: drifting(
        text, path, rule_properties.SETTINGS, True).new_source or text)
    golden = "import torch\nw = torch.randn(2, requires_grad=True)\nv = torch.tensor([w[0], w[1]])\nv.sum().backward()\n"
    violation = rule_properties.check_properties(golden)
    assert violation is not None and violation.kind == "not-idempotent", violation


def test_the_mutators_rename_alias_and_wrap():
    import libcst as cst

    source = "import torch\nw = torch.ones(2)\nv = torch.tensor([w[0], w.sum()])\nprint(v, w.shape)\n"
    module = cst.parse_module(source)
    assert module.visit(rule_properties._Rename("w", "q")).code == (
        "import torch\nq = torch.ones(2)\nv = torch.tensor([q[0], q.sum()])\nprint(v, q.shape)\n")
    assert module.visit(rule_properties._AliasTorch("T")).code == (
        "import torch as T\nw = T.ones(2)\nv = T.tensor([w[0], w.sum()])\nprint(v, w.shape)\n")
    head, rest = rule_properties._split_imports(source)
    assert head == "import torch\n" and rest.startswith("w = ")
    wrapped = head + rule_properties.WRAPPERS[0].format(n=0, body=rule_properties._indent(rest).rstrip("\n"))
    assert wrapped.startswith("import torch\ndef wrapped_0():\n    w = torch.ones(2)\n")
    compile(wrapped, "wrapped.py", "exec")
