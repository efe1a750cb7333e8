"""Statements, loops and the names they read and write, within one scope.

Helpers for rules that reason about training loops: which loops call ``backward()``,
which names a statement reads or (re)binds, and which names a value flows into. All walks
stop at nested ``def``/``class``/``lambda`` bodies: those are other scopes.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import libcst as cst

from gradfix.context import FileContext

from ._names import dotted_name, imports

_OTHER_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
LOOPS = (cst.For, cst.While)


def walk(node: cst.CSTNode, into_expressions: bool = True, into_scopes: bool = False) -> Iterator[cst.CSTNode]:
    """``node`` and everything under it, in source order, not entering nested scopes (unless asked)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not into_scopes and current is not node and isinstance(current, _OTHER_SCOPES):
            continue
        if not into_expressions and isinstance(current, cst.BaseExpression):
            continue
        stack.extend(reversed(current.children))


def statements(block: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Small statements and compound statements under ``block``, in source order."""
    for node in walk(block, into_expressions=False):
        if node is not block and isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            yield node


def block_body(node: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The statements of a Module or of an indented block; None for one-line suites."""
    if isinstance(node, cst.Module):
        return list(node.body)
    if isinstance(node, cst.IndentedBlock):
        return list(node.body)
    return None


# Names -----------------------------------------------------------------------------------
def names_read(expr: cst.CSTNode) -> set[str]:
    """Dotted names (``x``, ``self.w``) and their bases read anywhere in ``expr``.

    Attribute names (the ``exp`` of ``x.exp()``) and keyword names (``dim=``) are not reads.
    """
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node is not expr and isinstance(node, _OTHER_SCOPES):
            continue
        if isinstance(node, cst.Name):
            found.add(node.value)
        elif isinstance(node, cst.Attribute):
            dotted = dotted_name(node)
            if dotted is not None:
                found.add(dotted)
            stack.append(node.value)
        elif isinstance(node, cst.Arg):
            stack.append(node.value)
        else:
            stack.extend(node.children)
    return found


def mentions(expr: cst.CSTNode, names: set[str]) -> bool:
    return bool(names_read(expr) & names)


def target_names(target: cst.CSTNode) -> set[str]:
    """The names an assignment target binds or changes (``a, b``, ``x[i]``, ``x.data``: ``x``)."""
    return _target_names(target)


def _target_names(target: cst.CSTNode) -> set[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for element in target.elements:
            out |= _target_names(element.value)
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    while isinstance(target, (cst.Subscript, cst.Attribute)) and dotted_name(target) is None:
        target = target.value  # x[i] = v, x.data[...] = v: x changes
    if isinstance(target, cst.Subscript):
        target = target.value
    dotted = dotted_name(target)  # type: ignore[arg-type]
    return {dotted} if dotted is not None else set()


def names_written(node: cst.CSTNode) -> set[str]:
    """Names a statement (or block) binds or changes in place.

    Covers assignments (also to ``x[i]`` and ``x.data``), ``for`` targets, ``with ... as``,
    walrus, ``del``, imports, and in-place method calls such as ``x.add_(...)`` or
    ``x.data.copy_(...)``. For ``x.data`` and ``x.attr`` writes the base ``x`` counts too.
    """
    out: set[str] = set()
    for current in walk(node):
        targets: list[cst.CSTNode] = []
        if isinstance(current, cst.Assign):
            targets = [t.target for t in current.targets]
        elif isinstance(current, (cst.AugAssign, cst.AnnAssign)):
            targets = [current.target]
        elif isinstance(current, (cst.For, cst.CompFor)):
            targets = [current.target]
        elif isinstance(current, cst.WithItem) and current.asname is not None:
            targets = [current.asname.name]
        elif isinstance(current, cst.NamedExpr):
            targets = [current.target]
        elif isinstance(current, cst.Del):
            targets = [current.target]
        elif isinstance(current, (cst.FunctionDef, cst.ClassDef)) and current is not node:
            out.add(current.name.value)
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            method = current.func.attr.value
            if method.endswith("_") and not method.startswith("_"):
                targets = [current.func.value]
        for target in targets:
            for name in _target_names(target):
                out.add(name)
                # `self.w.data = v` changes self.w; `x.data.fill_()` changes x
                parts = name.split(".")
                for i in range(1, len(parts)):
                    out.add(".".join(parts[:i]))
    return out


def flows_into(body: Iterable[cst.CSTNode], seeds: set[str]) -> set[str]:
    """Names that hold values computed from ``seeds`` anywhere in ``body`` (two passes, for loops)."""
    tainted = set(seeds)
    body = list(body)
    for _ in range(2):
        for stmt in body:
            for node in walk(stmt):
                if isinstance(node, cst.Assign) and mentions(node.value, tainted):
                    for target in node.targets:
                        tainted |= _target_names(target.target)
                elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and node.value is not None and mentions(node.value, tainted):
                    tainted |= _target_names(node.target)
    return tainted


# Backward calls --------------------------------------------------------------------------
_AUTOGRAD = {"torch.autograd.backward", "torch.autograd.grad"}


def is_backward_call(ctx: FileContext, node: cst.CSTNode) -> bool:
    """``loss.backward(...)``, ``torch.autograd.backward(...)`` or ``torch.autograd.grad(...)``."""
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward":
        return True
    return imports(ctx).qualify(node.func) in _AUTOGRAD


def backward_calls(ctx: FileContext, node: cst.CSTNode) -> list[cst.Call]:
    return [n for n in walk(node) if is_backward_call(ctx, n)]  # type: ignore[misc]


def backward_roots(call: cst.Call) -> list[cst.BaseExpression]:
    """What a backward call differentiates: the receiver of ``x.backward()``, else its first argument."""
    if isinstance(call.func, cst.Attribute) and call.func.attr.value == "backward" and not (dotted_name(call.func) or "").endswith("autograd.backward"):
        return [call.func.value]
    return [call.args[0].value] if call.args else []


def loop_targets(loop: cst.CSTNode) -> set[str]:
    return _target_names(loop.target) if isinstance(loop, cst.For) else set()
