"""GF114 require-grad-typo."""

from __future__ import annotations

import ast
import functools
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._values import Analysis, Kind

_RIGHT = "requires_grad"
_GRADIENT_SPELLINGS = {"requires_gradient", "require_gradient", "requires_gradients", "require_gradients"}
# Iterating these on a module (or an object not known to be anything else) yields tensors.
_TENSOR_ITERATORS = {"parameters": 0, "buffers": 0, "named_parameters": 1, "named_buffers": 1}


class RequireGradTypo(Rule):
    """
    A misspelled `requires_grad` is a new attribute, and setting it does nothing.

    Python lets you set any attribute on a tensor or a module, so `p.require_grad = False`
    (or `requires_grads`, `require_grad_()` ...) raises nothing and changes nothing: the
    parameter still requires grad and keeps training ("frozen" layers are not frozen), or a
    tensor meant to be learned stays without a gradient (backward then raises "element 0 of
    tensors does not require grad"). The same holds for the right name on a module:
    `model.requires_grad = False` sets a plain attribute on the module, while
    `model.requires_grad_(False)` freezes its parameters.

    Bad:

        for p in backbone.parameters():
            p.require_grad = False
        encoder.requires_grad = False

    Good:

        for p in backbone.parameters():
            p.requires_grad = False
        encoder.requires_grad_(False)

    Only on values the analysis knows are tensors or modules, and on the elements of a
    `.parameters()`/`.named_parameters()`/`.buffers()` loop (that method name is
    `nn.Module`'s). A class of the file that has an attribute of that name, argparse
    namespaces and config objects are left alone; a misspelled name the file also reads is
    reported without a fix (the reads would change too).

    Fix safety: safe; it changes the behaviour on purpose (the freeze, or the gradient,
    now happens). The forward values are unchanged, except that a tensor that now
    requires grad carries a graph.
    """

    code = "GF114"
    name = "require-grad-typo"
    summary = "a misspelled `requires_grad` (or `requires_grad = ...` on a module) is a new attribute and does nothing"
    trigger = re.compile(r"\.(?:re?qu?i?e?r?i?e?s?_?gr?a?d\w*)\s*[=(]", re.I)

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        read = {n.attr for n in analysis.nodes(ast.Attribute) if isinstance(n.ctx, ast.Load) and _misspelled(n.attr)}  # type: ignore[attr-defined]
        read |= {  # getattr(p, "require_grad", ...), hasattr(...)
            c.args[1].value for c in analysis.calls()
            if isinstance(c.func, ast.Name) and c.func.id in ("getattr", "hasattr") and len(c.args) > 1
            and isinstance(c.args[1], ast.Constant) and isinstance(c.args[1].value, str)
        }
        for stmt in analysis.nodes(ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Attribute):  # type: ignore[attr-defined]
                continue
            target = stmt.targets[0]  # type: ignore[attr-defined]
            wrong = _misspelled(target.attr) or target.attr == _RIGHT + "_"
            if not (wrong or target.attr == _RIGHT):
                continue  # nothing below reports another attribute (asked first: it is cheap)
            what = _receiver(analysis, target.value)
            if what is None or _own_attribute(analysis, target.value, target.attr):
                continue
            if what == "module" and (wrong or target.attr == _RIGHT):
                yield self._module(analysis, stmt, target)
            elif what == "tensor" and wrong:
                message = f"`.{target.attr}` is not a tensor attribute: setting it does nothing; use `.{_RIGHT}`"
                if target.attr in read:
                    yield self.finding(target, f"{message} (not fixed: the file also reads `.{target.attr}`)")
                    continue
                yield self.finding(target, message, LazyFix(partial(_rename, attr=target, name=_RIGHT), Applicability.SAFE, f"rename to `{_RIGHT}`"))
        for call in analysis.calls():
            func = call.func
            if not isinstance(func, ast.Attribute) or not (_misspelled(func.attr) or func.attr == _RIGHT):
                continue
            what = _receiver(analysis, func.value)
            if what is None or _own_attribute(analysis, func.value, func.attr):
                continue
            if func.attr == _RIGHT:
                message = f"`.{_RIGHT}` is a bool, not a method: calling it raises TypeError; use `.{_RIGHT}_(...)`"
            else:
                message = f"`.{func.attr}()` does not exist (AttributeError); use `.{_RIGHT}_()`"
            yield self.finding(func, message, LazyFix(partial(_rename, attr=func, name=_RIGHT + "_"), Applicability.SAFE, f"call `{_RIGHT}_`"))

    def _module(self, analysis: Analysis, stmt: ast.Assign, target: ast.Attribute):
        spelled = "" if target.attr == _RIGHT else " (and misspelled)"
        message = (
            f"`.{target.attr} = ...` on a module sets a plain attribute{spelled} and freezes nothing; "
            f"use `.{_RIGHT}_(...)`, which sets it on every parameter"
        )
        if isinstance(target.value, ast.Name) and target.value.id == "self":
            return self.finding(target, f"{message} (not fixed: on `self` it may be a flag that code elsewhere reads)")
        return self.finding(target, message, LazyFix(partial(_module_call, stmt=stmt), Applicability.SAFE, f"call `{_RIGHT}_`"))


@functools.lru_cache(maxsize=4096)  # asked for every attribute of a file: a few distinct names
def _misspelled(name: str) -> bool:
    """A spelling of ``requires_grad`` that is not it (nor the method ``requires_grad_``)."""
    if name in (_RIGHT, _RIGHT + "_") or name.startswith("_"):
        return False  # `_requires_grad`: a private attribute of someone's own
    base = name.lower().rstrip("_")
    return _distance(base, _RIGHT) <= 2 or base in _GRADIENT_SPELLINGS


def _distance(a: str, b: str) -> int:
    """Edit distance with transpositions (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _receiver(analysis: Analysis, node: ast.expr) -> str | None:
    """"tensor" or "module" when the analysis knows ``node`` is one (or it is a loop variable over
    ``.parameters()`` of a module or of an object not known to be anything else)."""
    value = analysis.value(node)
    if value.is_tensor:
        return "tensor"
    if value.kind is Kind.MODULE and not value.optional:
        return "module"
    if value.kind is Kind.UNKNOWN and isinstance(node, ast.Name) and _parameters_loop_variable(analysis, node):
        return "tensor"
    return None


def _parameters_loop_variable(analysis: Analysis, name: ast.Name) -> bool:
    """``name`` is bound by the nearest enclosing ``for`` over ``x.parameters()`` (or named_/buffers)."""
    for ancestor in analysis.ancestors(name):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            return False
        if not isinstance(ancestor, (ast.For, ast.AsyncFor)):
            continue
        call = ancestor.iter
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _TENSOR_ITERATORS):
            continue
        target = ancestor.target
        position = _TENSOR_ITERATORS[call.func.attr]
        if position == 1:
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                continue
            target = target.elts[1]
        if not (isinstance(target, ast.Name) and target.id == name.id):
            continue
        owner = analysis.value(call.func.value)
        return owner.kind in (Kind.MODULE, Kind.UNKNOWN) and not _rebound_in(ancestor, name.id)
    return False


def _rebound_in(loop: ast.For | ast.AsyncFor, name: str) -> bool:
    return any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) and n is not loop.target
        for stmt in loop.body for n in ast.walk(stmt)
    )


def _own_attribute(analysis: Analysis, receiver: ast.expr, attr: str) -> bool:
    """A class of this file defines or reads ``attr`` itself (its own flag of that name)."""
    value = analysis.value(receiver)
    info = analysis.classes.get(value.name or "")
    if info is None and isinstance(receiver, ast.Name) and receiver.id == "self":
        info = analysis.enclosing_class(receiver)
    if info is None:
        return False
    if attr in info.methods or attr in info.properties:
        return True
    return any(
        isinstance(n.ctx, ast.Load)
        and (analysis.enclosing_class(n) is info or analysis.value(n.value).name == info.node.name)
        for n in analysis.attributes_named(attr)
    )


def _rename(ctx, attr: ast.Attribute, name: str) -> Fix | None:
    node = ctx.node_for(attr)
    if not isinstance(node, cst.Attribute):
        return None
    return Fix([(node, node.with_changes(attr=cst.Name(name)))], Applicability.SAFE, f"use `{name}`")


def _module_call(ctx, stmt: ast.Assign) -> Fix | None:
    """``m.requires_grad = v`` -> ``m.requires_grad_(v)``."""
    node = ctx.node_for(stmt)
    if not isinstance(node, cst.Assign):
        return None
    target = node.targets[0].target
    if not isinstance(target, cst.Attribute):
        return None
    call = cst.Call(func=target.with_changes(attr=cst.Name(_RIGHT + "_")), args=[cst.Arg(node.value)])
    return Fix([(node, cst.Expr(call))], Applicability.SAFE, f"call `{_RIGHT}_`")
