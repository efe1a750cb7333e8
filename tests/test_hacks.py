"""The statements and calls that force ``requires_grad`` on a value (codemods/_flow_ast.py)."""

from __future__ import annotations

import ast

import pytest

from gradfix.codemods._flow_ast import forced_requires_grad, forcing_call


@pytest.mark.parametrize(
    "line, name",
    [
        ("loss.requires_grad = True", "loss"),
        ("self.loss.requires_grad = True", "self.loss"),
        ("loss.requires_grad_()", "loss"),
        ("loss.requires_grad_(True)", "loss"),
        ("loss.requires_grad_(requires_grad=True)", "loss"),
        ("loss.requires_grad = False", None),
        ("loss.requires_grad_(False)", None),
        ("loss.requires_grad_(flag)", None),  # unknown: not a hack the rules can prove
        ("flag = loss.requires_grad", None),
        ("a.requires_grad = b.requires_grad = True", None),
        ("z = x.requires_grad_()", None),  # bound: the call form, judged where its result goes
    ],
)
def test_forcing_statements(line, name):
    assert forced_requires_grad(ast.parse(line).body[0]) == name


@pytest.mark.parametrize(
    "expr, forcing",
    [("x.requires_grad_()", True), ("f(x).requires_grad_(True)", True), ("x.requires_grad_(False)", False), ("x.requires_grad", False), ("x.detach()", False)],
)
def test_forcing_calls(expr, forcing):
    assert forcing_call(ast.parse(expr, mode="eval").body) is forcing
