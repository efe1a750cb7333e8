"""GF105 nonleaf-grad."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._ast import called_name
from ._graph import Carry, flow_for, scope_of
from ._leaves import LEAF, is_factory_with_grad, is_parameter_call, name_ids_in, occurrences, span
from ._names import imports
from ._scopes import enclosing_class, class_facts, in_grad_disabled

# Differentiable conversions that turn a leaf into a non-leaf (float results only).
_CONVERSIONS = {
    "to", "cuda", "cpu", "double", "float", "half", "bfloat16", "view", "reshape", "t",
    "contiguous", "unsqueeze", "squeeze", "flatten", "permute", "transpose",
}
_OPERATORS = (cst.Multiply, cst.Divide, cst.Add, cst.Subtract)
_NON_FLOAT = {
    "long", "int", "int64", "int32", "int16", "int8", "uint8", "bool", "short", "char", "byte",
}


class NonleafGrad(Rule):
    """
    A leaf that requires grad, converted before it is used, is no leaf any more.

    `torch.randn(3, requires_grad=True).to(device)` (or `.cuda()`, `.double()`, `* 0.01`)
    creates a leaf and returns a *copy* computed from it. The name holds the copy, a
    non-leaf: its `.grad` stays None after `backward()` (with a UserWarning), and
    `torch.optim.SGD([w])` raises "can't optimize a non-leaf Tensor". The real leaf gets
    the gradient but nothing can reach it. In a module, `self.w = nn.Parameter(x).to(dev)`
    assigns a plain tensor, so `w` is never registered and never trained. On a CPU-only
    machine `.to('cpu')` returns the tensor itself, so the bug only shows on a GPU.

    The fix keeps the creation expression exactly as written (the random draws do not
    change) and makes the converted tensor the leaf: `requires_grad=True` moves to a
    `.requires_grad_()` after the last conversion, and `nn.Parameter(...)` wraps the
    converted value. It never moves the conversion into the factory's `dtype=`/`device=`:
    drawing in another dtype or on another device gives different numbers.

    Bad:

        w = torch.randn(3, 1, requires_grad=True).to(device)
        opt = torch.optim.SGD([w], lr=0.1)   # ValueError: can't optimize a non-leaf Tensor

        self.w = nn.Parameter(torch.randn(3)).to(device)   # never registered

    Good:

        w = torch.randn(3, 1).to(device).requires_grad_()
        opt = torch.optim.SGD([w], lr=0.1)

        self.w = nn.Parameter(torch.randn(3).to(device))

    Fix safety: safe; forward values are bitwise equal. Only reported when the converted
    tensor is used as a leaf later (its `.grad` is read or it is given to an optimizer) or
    is a module attribute wrapped in `nn.Parameter`. `torch.autograd.grad(y, x)` works
    with a non-leaf `x` (PINN-style inputs), so it alone is no reason to report.
    """

    code = "GF105"
    name = "nonleaf-grad"
    summary = "a leaf that requires grad is converted (`.to`, `.double()`, `* s`) before use and is no leaf any more"
    trigger = re.compile(r"requires_grad\s*=\s*True|Parameter\s*\(")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A conversion (``.to()``, ``* s``, ...) applied directly to a leaf-creating call."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CONVERSIONS:
                if _ast_creation(node.func.value):
                    return True
            elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.Add, ast.Sub)):
                if _ast_creation(node.left) or _ast_creation(node.right):
                    return True
        return False

    def check(self, ctx):
        for assign in _assigns(ctx.module):
            value = assign.value
            chain = _conversion_chain(ctx, value)
            if chain is None or in_grad_disabled(ctx, assign):
                continue
            creation, steps = chain
            target = assign.targets[0].target if isinstance(assign, cst.Assign) else assign.target
            parameter = is_parameter_call(ctx, creation)
            if parameter:
                if not (self._module_attribute(ctx, assign, target) or self._used_as_leaf(ctx, assign, target)):
                    continue
                replacement = _wrap_parameter(creation, value)
                message = (
                    f"`nn.Parameter(...){_describe(steps) if not _describe(steps).startswith(('*', '/', '+', '-')) else ' ' + _describe(steps)}` returns a plain non-leaf tensor (never registered, "
                    "no `.grad`); wrap the converted value in `nn.Parameter(...)`"
                )
            else:
                if not self._used_as_leaf(ctx, assign, target):
                    continue
                replacement = _requires_grad_at_end(creation, value)
                message = (
                    f"`requires_grad=True` is set before `{_describe(steps)}`, so the name holds a non-leaf whose "
                    "`.grad` stays None; create without it and call `.requires_grad_()` after the conversion"
                )
            yield self.finding(
                value,
                message,
                Fix([(value, replacement)], Applicability.SAFE, "make the converted tensor the leaf"),
            )

    @staticmethod
    def _module_attribute(ctx, assign, target) -> bool:
        """``self.x = ...`` in a method of an ``nn.Module`` subclass."""
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"):
            return False
        cls = enclosing_class(ctx, assign)
        return cls is not None and class_facts(ctx, cls).is_module

    @staticmethod
    def _used_as_leaf(ctx, assign, target) -> bool:
        """A later ``.grad`` read or optimizer parameter list names ``target``."""
        if not isinstance(target, cst.Name):
            return False
        scope = scope_of(ctx, assign)
        occs = occurrences(ctx, scope).of(target.value)
        _, last = span(occs, name_ids_in(assign))
        loop_ids: set[int] = set()
        for ancestor in ctx.ancestors(assign):
            if ancestor is scope:
                break
            if isinstance(ancestor, (cst.For, cst.While)):
                loop_ids = name_ids_in(ancestor)
        return any(o.kind == LEAF and (o.index > last or id(o.node) in loop_ids) for o in occs)


def _ast_creation(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    return called_name(node) == "Parameter" or any(
        k.arg == "requires_grad" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords
    )


def _assigns(module: cst.Module):
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            yield node
            continue
        if isinstance(node, cst.AnnAssign) and node.value is not None:
            yield node
            continue
        if isinstance(node, cst.BaseExpression):
            continue
        stack.extend(reversed(node.children))


def _conversion_chain(ctx, value: cst.BaseExpression):
    """(the leaf creation, the conversions applied to it) when ``value`` is such a chain."""
    steps: list[str] = []
    node = value
    flow = flow_for(ctx, value)
    names = imports(ctx)
    while True:
        if is_factory_with_grad(ctx, node) or is_parameter_call(ctx, node):
            if is_parameter_call(ctx, node) and not (node.args and node.args[0].keyword is None):
                return None
            return (node, list(reversed(steps))) if steps else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _CONVERSIONS:
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "requires_grad":
                    return None
                qualified = names.qualify(arg.value) or ""
                text = arg.value.value if isinstance(arg.value, cst.SimpleString) else ""
                if qualified.rsplit(".", 1)[-1] in _NON_FLOAT or any(t in text for t in ("Long", "Int", "Bool", "Byte")):
                    return None
            steps.append(node.func.attr.value + "()")
            node = node.func.value
            continue
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _OPERATORS):
            left_is_chain = _looks_like_chain(ctx, node.left)
            inner, other = (node.left, node.right) if left_is_chain else (node.right, node.left)
            if flow.carries(other, value) is not Carry.NO:
                return None
            steps.append(type(node.operator).__name__.lower())
            node = inner
            continue
        return None


def _looks_like_chain(ctx, node: cst.BaseExpression) -> bool:
    while True:
        if is_factory_with_grad(ctx, node) or is_parameter_call(ctx, node):
            return True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, cst.BinaryOperation):
            return _looks_like_chain(ctx, node.left) or _looks_like_chain(ctx, node.right)
        else:
            return False


def _describe(steps: list[str]) -> str:
    """``.to()`` / ``* s`` / ``.double() * s``: the conversions, as code."""
    words = {"multiply": " * s", "divide": " / s", "add": " + b", "subtract": " - b"}
    return "".join(words.get(s, "." + s) for s in steps).strip()


def _atomic(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``expr`` parenthesised when it cannot take ``.method()`` as it is."""
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _without_requires_grad(call: cst.Call) -> cst.Call:
    args = [a for a in call.args if not (a.keyword is not None and a.keyword.value == "requires_grad")]
    if args:
        last = args[-1]
        original_last = call.args[-1]
        args[-1] = last.with_changes(comma=original_last.comma if last is original_last else cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=args)


def _requires_grad_at_end(creation: cst.Call, value: cst.BaseExpression) -> cst.BaseExpression:
    converted = value.deep_replace(creation, _without_requires_grad(creation))
    return cst.Call(func=cst.Attribute(_atomic(converted), cst.Name("requires_grad_")))


def _wrap_parameter(creation: cst.Call, value: cst.BaseExpression) -> cst.BaseExpression:
    data = creation.args[0].value
    converted = value.deep_replace(creation, _atomic(data))
    first = creation.args[0].with_changes(value=converted)
    return creation.with_changes(args=[first, *creation.args[1:]])
