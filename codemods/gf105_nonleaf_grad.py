"""GF105 nonleaf-grad."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of
from ._quick_leaves import grad_disabled, imports_of, imports_torch, leaf_used_names
from ._text import names_grad_or_optim
from ._uses import assigned_values, used_as_leaf
from ._values import Analysis, Graph, Kind, dotted

# Differentiable conversions that turn a leaf into a non-leaf (float results only).
_CONVERSIONS = {
    "to", "cuda", "cpu", "double", "float", "half", "bfloat16", "view", "reshape", "t", "type",
    "contiguous", "unsqueeze", "squeeze", "flatten", "permute", "transpose",
}
_OPERATORS = {ast.Mult: "multiply", ast.Div: "divide", ast.Add: "add", ast.Sub: "subtract"}
# Dtypes (and legacy tensor types) that can require grad.
_FLOATING = {
    "float", "float32", "float64", "double", "half", "float16", "bfloat16", "FloatTensor", "DoubleTensor",
    "HalfTensor", "BFloat16Tensor", "complex64", "complex128", "cfloat", "cdouble",
}


_PARAMETER_ALIAS = re.compile(r"Parameter\s+as\s+(\w+)")  # `from torch.nn import Parameter as P`
_CONVERSION_AFTER = re.compile(r"[\s)\\]*(?:[*/+\-#]|\.\s*(?:" + "|".join(sorted(_CONVERSIONS)) + r")\b)")


def _converted_call(source: str, match: "re.Match[str]") -> bool:
    """The call that ``match`` opens is the bottom of a chain: a conversion method or an
    operator right after its closing bracket (past closing parentheses), or an operator before
    it (before the dotted name it is called by: ``0.1 * nn.Parameter(x)``)."""
    depth, pos, end = 1, match.end(), len(source)
    while depth and pos < end:
        char = source[pos]
        if char in "\"'#":
            return True  # a string or a comment may hide a bracket: maybe
        depth += char in "([{"
        depth -= char in ")]}"
        pos += 1
    if _CONVERSION_AFTER.match(source, pos):
        return True
    start = match.start()
    while start and (source[start - 1].isalnum() or source[start - 1] in "_."):
        start -= 1
    before = source[max(0, start - 40):start].rstrip(" \t\n\\(")
    return before.endswith(("*", "/", "+", "-"))


def _chain_bottoms(value: ast.expr) -> "list[ast.expr]":
    """What ``_conversion_chain`` may stop at below at least one step: the receivers of
    conversion methods and both sides of ``* / + -``, down to a call or a name (a superset:
    ``detect`` follows one side of an operator)."""
    bottoms, stack = [], [(value, False)]
    while stack:
        node, stepped = stack.pop()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CONVERSIONS:
            stack.append((node.func.value, True))
            if stepped:
                bottoms.append(node)  # (`_creation` is asked first: a conversion may be a creation)
        elif isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            stack += [(node.left, True), (node.right, True)]
        elif stepped and isinstance(node, (ast.Call, ast.Name)):
            bottoms.append(node)
    return bottoms


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
    is a module attribute wrapped in `nn.Parameter`. `torch.autograd.grad(y, x)` works with a
    non-leaf `x` (PINN-style inputs), so it alone is no reason to report. Unsafe when a dtype
    the conversion names (`.type(dtype)`, `dtype=`) is not known to be floating:
    `.requires_grad_()` raises on integer tensors.
    """

    code = "GF105"
    name = "nonleaf-grad"
    summary = "a leaf that requires grad is converted (`.to`, `.double()`, `* s`) before use and is no leaf any more"
    # detect reports a chain only when its target is used as a leaf (`used_as_leaf`: `.grad`, or
    # a `torch.optim` optimizer, named with the word `optim`), or when it is `self.w =
    # nn.Parameter(...)<conversion>` in a module (`_module_attribute`; see `text_check`).
    requires = ((".grad", "optim", "Parameter"),)
    trigger = re.compile(r"torch")  # (a required string, searched first; `text_check` does the rest)

    @staticmethod
    def text_check(source: str) -> bool:
        """``.grad`` or ``optim``; else (only a module attribute can be reported) a
        ``Parameter(...)`` call that a conversion or an operator applies to."""
        if names_grad_or_optim(source):
            return True
        names = {"Parameter", *_PARAMETER_ALIAS.findall(source)}
        return any(_converted_call(source, match) for name in names for match in re.finditer(rf"{name}\s*\(", source))

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """An assignment of a conversion chain (conversions and ``* / + -`` down to a name or a
        call): to a name with a leaf use (``.grad``, an optimizer), or to ``self.w`` from an
        ``nn.Parameter(...)``, the targets ``detect`` reports."""
        if not imports_torch(tree):
            return False
        leafy = None
        for stmt in nodes_of(tree, ast.Assign, ast.AnnAssign):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) != 1 or stmt.value is None:
                continue
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if isinstance(target, ast.Name):
                if leafy is None:
                    leafy = leaf_used_names(tree)
                if target.id in leafy and any(_chain_bottoms(e) for e in _values_of(stmt.value)) and not grad_disabled(tree, stmt):
                    return True  # (every bottom is a possible creation or a leaf name)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                imports = imports_of(tree)
                if any(isinstance(b, ast.Call) and imports.qualify(b.func) == "torch.nn.Parameter" for b in _chain_bottoms(stmt.value)) and not grad_disabled(tree, stmt):
                    return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for stmt in analysis.nodes(ast.Assign, ast.AnnAssign):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) != 1 or stmt.value is None:
                continue
            if isinstance(stmt.value, (ast.List, ast.Tuple, ast.ListComp)):
                yield from self._elements(analysis, stmt)
                continue
            chain = _conversion_chain(analysis, stmt.value)
            if chain is None or analysis.grad_disabled(stmt):
                continue
            creation, steps, how = chain
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            described = _describe(steps)
            if how == "parameter":
                if not (_module_attribute(analysis, stmt, target) or used_as_leaf(analysis, stmt, target)):
                    continue
                spaced = " " + described if described.startswith(("*", "/", "+", "-")) else described
                message = (
                    f"`nn.Parameter(...){spaced}` returns a plain non-leaf tensor (never registered, "
                    "no `.grad`); wrap the converted value in `nn.Parameter(...)`"
                )
            elif how == "name":
                if _target_name(target) in (None, creation.id) or not used_as_leaf(analysis, stmt, target):
                    continue  # `x = x.to(dev)` is a rebinding (GF104)
                yield self.finding(
                    stmt.value,
                    f"`{_target_name(target)}` holds a converted copy (`{described}`) of the leaf `{creation.id}`, a non-leaf "
                    f"whose `.grad` stays None; convert before requiring grad (not fixed: `{creation.id}` may be used elsewhere)",
                )
                continue
            else:
                if not used_as_leaf(analysis, stmt, target):
                    continue
                flag = "`.requires_grad_()` is called" if how == "requires_grad_" else "`requires_grad=True` is set"
                message = (
                    f"{flag} before `{described}`, so the name holds a non-leaf whose "
                    "`.grad` stays None; create without it and call `.requires_grad_()` after the conversion"
                )
            unsure = _unsure_dtype(analysis, stmt.value, creation)
            applicability = Applicability.SAFE
            if unsure is not None:
                applicability = Applicability.UNSAFE
                message += f" (unsafe fix: `{unsure}` is not known to be a floating dtype)"
            yield self.finding(
                stmt.value,
                message,
                LazyFix(partial(_fix, value=stmt.value, creation=creation, how=how, applicability=applicability), applicability, "make the converted tensor the leaf"),
            )


    def _elements(self, analysis: Analysis, stmt: ast.Assign | ast.AnnAssign):
        """``params = [torch.randn(n, requires_grad=True).cuda() for ...]`` (or a list literal of
        such): every element is a non-leaf, and an optimizer given the list raises "can't optimize
        a non-leaf Tensor"."""
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        if _target_name(target) is None or analysis.grad_disabled(stmt) or not used_as_leaf(analysis, stmt, target):
            return
        for element in _values_of(stmt.value):
            chain = _conversion_chain(analysis, element)
            if chain is None or chain[2] in ("parameter", "name"):
                continue
            creation, steps, how = chain
            flag = "`.requires_grad_()` is called" if how == "requires_grad_" else "`requires_grad=True` is set"
            message = (
                f"{flag} before `{_describe(steps)}`, so the elements of `{_target_name(target)}` are non-leaves whose "
                "`.grad` stays None (an optimizer given them raises \"can't optimize a non-leaf Tensor\"); create "
                "without it and call `.requires_grad_()` after the conversion"
            )
            unsure = _unsure_dtype(analysis, element, creation)
            applicability = Applicability.UNSAFE if unsure is not None else Applicability.SAFE
            if unsure is not None:
                message += f" (unsafe fix: `{unsure}` is not known to be a floating dtype)"
            yield self.finding(
                element, message,
                LazyFix(partial(_fix, value=element, creation=creation, how=how, applicability=applicability), applicability, "make the converted tensors the leaves"),
            )


def _values_of(value: ast.expr) -> list[ast.expr]:
    """What an assignment binds: the value, or the elements of a list/tuple literal or the
    element of a list comprehension."""
    if isinstance(value, (ast.List, ast.Tuple)):
        return list(value.elts)
    if isinstance(value, ast.ListComp):
        return [value.elt]
    return [value]


def _creation(analysis: Analysis, node: ast.AST) -> str | None:
    """How ``node`` makes a leaf that requires grad, when it is one of the forms the fix rewrites."""
    if not isinstance(node, ast.Call):
        return None
    qualified = analysis.qualify(node.func) or ""
    flag = next((k.value for k in node.keywords if k.arg == "requires_grad"), None)
    if qualified == "torch.nn.Parameter":
        if len(node.args) > 1 and flag is None:
            flag = node.args[1]
        if not node.args or isinstance(node.args[0], ast.Starred) or (isinstance(flag, ast.Constant) and flag.value is False):
            return None
        return "parameter"
    if not (isinstance(flag, ast.Constant) and flag.value is True):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_" and not node.keywords:
            if (not node.args or (isinstance(node.args[0], ast.Constant) and node.args[0].value is True)) and analysis.value(node.func.value).graph is Graph.NO:
                return "requires_grad_"  # `torch.randn(3).requires_grad_()`
        return None
    if qualified == "torch.autograd.Variable":
        return "factory"
    return "factory" if qualified.startswith("torch.") else None


def _conversion_chain(analysis: Analysis, value: ast.expr):
    """(the leaf creation, the conversions applied to it, how it is created) when ``value`` is such a chain."""
    steps: list[str] = []
    node = value
    while True:
        how = _creation(analysis, node)
        if how is None and isinstance(node, ast.Name) and steps and analysis.value(node).leaf:
            how = "name"  # a leaf made earlier (`x.requires_grad = True`), converted under another name
        if how is not None:
            return (node, list(reversed(steps)), how) if steps else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CONVERSIONS:
            if any(k.arg == "requires_grad" for k in node.keywords) or analysis.value(node).cut == "integer cast":
                return None
            steps.append(node.func.attr)
            node = node.func.value
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            inner, other = (node.left, node.right) if _looks_like_chain(analysis, node.left) else (node.right, node.left)
            if analysis.value(other).graph is not Graph.NO:
                return None  # `leaf * w` with a graph-carrying w is a computation, not an init
            steps.append(_OPERATORS[type(node.op)])
            node = inner
            continue
        return None


def _looks_like_chain(analysis: Analysis, node: ast.AST) -> bool:
    while True:
        if _creation(analysis, node) is not None:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif isinstance(node, ast.BinOp):
            return _looks_like_chain(analysis, node.left) or _looks_like_chain(analysis, node.right)
        else:
            return False


def _unsure_dtype(analysis: Analysis, value: ast.expr, creation: ast.AST) -> str | None:
    """The source of a dtype a ``.type``/``.to`` conversion names that is not known to be floating."""
    for node in ast.walk(value):
        if node is creation:
            break
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("type", "to")):
            continue
        named = [k.value for k in node.keywords if k.arg == "dtype"]
        if node.func.attr == "type":
            named += node.args[:1]
        else:  # .to(device), .to(dtype), .to(device, dtype): a positional not known to be a dtype is a device
            named += [a for a in node.args if analysis.value(a).kind is Kind.DTYPE or (analysis.value(a).name or "").startswith("torch.")]
        for arg in named:
            if not _floating(analysis, arg):
                return ast.get_source_segment(analysis.source, arg) or dotted(arg) or "dtype"
    return None


def _floating(analysis: Analysis, arg: ast.expr, follow: bool = True) -> bool:
    """``arg`` names a floating dtype: directly, or every value the file binds to its name does
    (``dtype = torch.cuda.FloatTensor if use_cuda else torch.FloatTensor``)."""
    name = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else analysis.qualify(arg) or analysis.value(arg).name or ""
    if isinstance(name, str) and name.startswith("torch.") and name.rsplit(".", 1)[-1] in _FLOATING:
        return True
    if isinstance(arg, ast.IfExp):
        return _floating(analysis, arg.body, follow) and _floating(analysis, arg.orelse, follow)
    if isinstance(arg, ast.Name) and follow:
        values = assigned_values(analysis, arg)
        return bool(values) and all(_floating(analysis, v, False) for v in values)
    return False


def _target_name(target: ast.expr) -> str | None:
    return target.id if isinstance(target, ast.Name) else None


def _module_attribute(analysis: Analysis, stmt: ast.stmt, target: ast.expr) -> bool:
    """``self.x = ...`` in a method of an ``nn.Module`` subclass."""
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"):
        return False
    info = analysis.enclosing_class(stmt)
    return info is not None and info.is_module


def _describe(steps: list[str]) -> str:
    """``.to()`` / ``* s`` / ``.double() * s``: the conversions, as code."""
    words = {"multiply": " * s", "divide": " / s", "add": " + b", "subtract": " - b"}
    return "".join(words.get(s, "." + s) for s in steps).strip()


def _fix(ctx, value: ast.expr, creation: ast.Call, how: str, applicability: Applicability) -> Fix | None:
    node, leaf = ctx.node_for(value), ctx.node_for(creation)
    if node is None or leaf is None:
        return None
    if how == "parameter":
        replacement = _wrap_parameter(leaf, node)
    elif how == "requires_grad_":
        replacement = _requires_grad_at_end(leaf, node, leaf.func.value)  # type: ignore[attr-defined]
    else:
        replacement = _requires_grad_at_end(leaf, node, _without_requires_grad(leaf))
    return Fix([(node, replacement)], applicability, "make the converted tensor the leaf")


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


def _requires_grad_at_end(creation: cst.Call, value: cst.BaseExpression, unflagged: cst.BaseExpression) -> cst.BaseExpression:
    """``value`` with ``creation`` replaced by ``unflagged`` (it without the flag), then ``.requires_grad_()``."""
    converted = value.deep_replace(creation, unflagged)
    return cst.Call(func=cst.Attribute(_atomic(converted), cst.Name("requires_grad_")))


def _wrap_parameter(creation: cst.Call, value: cst.BaseExpression) -> cst.BaseExpression:
    data = creation.args[0].value
    converted = value.deep_replace(creation, _atomic(data))
    first = creation.args[0].with_changes(value=converted)
    return creation.with_changes(args=[first, *creation.args[1:]])
