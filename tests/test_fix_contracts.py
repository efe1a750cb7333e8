"""What every fix may rely on, checked on every golden rewrite.

A fix must never break a working program: its result compiles, the names it introduces
do not rebind names the program already uses, and every tensor method it adds is called
on a value the value analysis (run on the rewritten program) establishes as a tensor.
A Python list given `.clone()` is exactly the bug this guards against.
"""

from __future__ import annotations

import ast
from collections import Counter

import pytest

from gradfix.codemods._values import Analysis, Kind
from golden_cases import load_cases

REWRITTEN = [c for c in load_cases() if c.after is not None and c.code.startswith("GF")]


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _all_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | _bound_names(tree)


def _method_calls(tree: ast.AST, source: str) -> list[tuple[str, str, ast.Call]]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.append((node.func.attr, _without_arguments(node.func.value), node))
    return calls


def _without_arguments(receiver: ast.AST) -> str:
    """The receiver's text with the arguments of its calls left out: a fix that only changes
    them (``m.state_dict()`` -> ``m.state_dict(keep_vars=True)``) adds no method call."""
    class Strip(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            return ast.Call(node.func, [], [])

    return ast.unparse(Strip().visit(ast.parse(ast.unparse(receiver), mode="eval")))


@pytest.mark.parametrize("case", REWRITTEN, ids=[c.id for c in REWRITTEN])
def test_the_rewrite_compiles(case):
    compile(case.after, f"{case.id}/after.py", "exec")


@pytest.mark.parametrize("case", REWRITTEN, ids=[c.id for c in REWRITTEN])
def test_new_names_do_not_rebind_existing_ones(case):
    before, after = ast.parse(case.before), ast.parse(case.after)
    introduced = _bound_names(after) - _bound_names(before)
    clashes = introduced & _all_names(before)
    assert not clashes, f"the fix binds names the program already uses: {sorted(clashes)}"


@pytest.mark.parametrize("case", REWRITTEN, ids=[c.id for c in REWRITTEN])
def test_new_tensor_methods_are_called_on_tensors(case):
    before, after = ast.parse(case.before), ast.parse(case.after)
    had = Counter((name, receiver) for name, receiver, _ in _method_calls(before, case.before))
    analysis = Analysis(after, case.after)
    for name, receiver, call in _method_calls(after, case.after):
        if had[(name, receiver)] > 0:
            had[(name, receiver)] -= 1
            continue
        value = analysis.value(call.func.value)
        if value.kind in (Kind.IMPORTED, Kind.MODULE, Kind.OPTIMIZER, Kind.DISTRIBUTION):
            continue  # torch.stack(...), self.register_buffer(...), dist.rsample(): not tensor methods
        assert value.kind is Kind.TENSOR, (
            f"the fix calls .{name}() on `{receiver}`, which the analysis does not know to be a tensor "
            f"({value.kind.value})"
        )
