"""GF114 require-grad-typo."""

from __future__ import annotations

import ast
import functools
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of, parents_of
from ._values import Analysis, Kind

_RIGHT = "requires_grad"
_GRADIENT_SPELLINGS = {"requires_gradient", "require_gradient", "requires_gradients", "require_gradients"}
# Iterating these on a module (or an object not known to be anything else) yields tensors.
_TENSOR_ITERATORS = {"parameters": 0, "buffers": 0, "named_parameters": 1, "named_buffers": 1}
# What two edits of `requires_grad` leave of it: one of its 4-letter windows, or all of
# `reqiuresg_rad` (two transpositions that break every window). Checked on every string
# within two edits of it.
_WINDOWS = tuple(sorted({_RIGHT[i:i + 4] for i in range(len(_RIGHT) - 3)} | {"reqiuresg_rad"}))


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
    # `.name = ...` or `.name(`, where name may be `requires_grad` within two edits (what
    # `_misspelled` accepts, in any case; it cannot start with `_`). Two edits leave one of the
    # 4-letter windows of `requires_grad` intact (or make `reqiuresg_rad`, two transpositions),
    # so a name that holds none of them is too far; the name must also be 11 letters or more.
    # It must start with `r` or `e` (the first letter kept, or an `r` dropped or swapped): that
    # keeps the search to a few dots of the file (a typo of the first letter is not looked for).
    trigger = re.compile(
        r"\.[ \t]*((?=[re]\w{10})\w*?(?:" + "|".join(_WINDOWS) + r")\w*)[\s)\\]*(=(?!=)|\()",
        re.I,
    )

    @staticmethod
    def text_check(source: str) -> bool:
        """One of those names is misspelled, or is `requires_grad` (set on a module, or called),
        or `requires_grad_` set (detect's three cases); `.requires_grad_(...)` alone is right."""
        for match in RequireGradTypo.trigger.finditer(source):
            name = match.group(1)
            if _misspelled(name) or name == _RIGHT or (name == _RIGHT + "_" and match.group(2) == "="):
                return True
        return False

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """An assignment to, or a call of, such an attribute; `x.requires_grad = ...` only when
        `x` is not the variable of a loop over `.parameters()` (a tensor, never a module)."""
        own_iterators = any(f.name in _TENSOR_ITERATORS for f in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef))  # type: ignore[attr-defined]
        for node in nodes_of(tree, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Attribute):  # type: ignore[attr-defined]
                continue
            target = node.targets[0]  # type: ignore[attr-defined]
            if _misspelled(target.attr) or target.attr == _RIGHT + "_":
                return True
            if target.attr == _RIGHT and (own_iterators or not _parameter_loop_variable(tree, node, target.value)):
                return True
        for node in nodes_of(tree, ast.Call):
            func = node.func  # type: ignore[attr-defined]
            if isinstance(func, ast.Attribute) and (func.attr == _RIGHT or _misspelled(func.attr)):
                return True
        return False

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


@functools.lru_cache(maxsize=4096)
def _misspelled(name: str) -> bool:
    """A spelling of ``requires_grad`` that is not it (nor the method ``requires_grad_``).

    Cached (detect asks it of every attribute read of the file, and the text check of every
    long attribute name), and a name whose length is more than two from ``requires_grad``'s
    is more than two edits away: no distance to compute."""
    if name in (_RIGHT, _RIGHT + "_") or name.startswith("_"):
        return False  # `_requires_grad`: a private attribute of someone's own
    base = name.lower().rstrip("_")
    if base in _GRADIENT_SPELLINGS:
        return True
    return abs(len(base) - len(_RIGHT)) <= 2 and _distance(base, _RIGHT) <= 2


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


def _parameter_loop_variable(tree: ast.Module, stmt: ast.Assign, receiver: ast.expr) -> bool:
    """For the quick check: ``receiver`` is a name that the nearest enclosing ``for`` binding it
    takes from ``x.parameters()`` (or named_/buffers) and that the loop body never binds
    again: the analysis makes it a tensor (or unknown), never a module."""
    if not isinstance(receiver, ast.Name):
        return False
    parents = parents_of(tree)
    node: ast.AST | None = parents.get(id(stmt))
    while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Module)):
        if isinstance(node, (ast.For, ast.AsyncFor)) and receiver.id in {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}:
            call = node.iter
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _TENSOR_ITERATORS):
                return False
            target = node.target
            if _TENSOR_ITERATORS[call.func.attr] == 1:
                if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                    return False
                target = target.elts[1]
            if not (isinstance(target, ast.Name) and target.id == receiver.id):
                return False
            return not any(
                isinstance(n, ast.Name) and n.id == receiver.id and not isinstance(n.ctx, ast.Load)
                for child in node.body for n in ast.walk(child)
            )
        node = parents.get(id(node))
    return False


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
