"""GF103 inplace-self-write."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of
from ._names import torch_module
from ._values import Analysis, dotted, int_literal

# Functions whose backward needs only their own result, so reading `x[i]` into them saves
# nothing of `x`: `x[2] = torch.exp(x[0])` is harmless (checked in torch 2.13).
# Tensor methods that read their arguments' shape or dtype only.
_SHAPE_ONLY_METHODS = {"expand_as", "view_as", "reshape_as", "type_as", "new_zeros", "new_ones", "new_empty", "new_full"}
_SAVE_OUTPUT_ONLY = {"exp", "sigmoid", "tanh", "relu", "sqrt", "rsqrt", "expm1", "exp2", "clone", "contiguous"}
# Tensor methods whose result is out of the graph: nothing computed inside them reaches backward.
_CUT_METHODS = {"detach", "item", "tolist", "numpy"}
# Tensor methods that return a view of (or the same object as) their receiver.
_VIEW_METHODS = {
    "view", "view_as", "reshape", "reshape_as", "transpose", "permute", "t", "squeeze", "unsqueeze",
    "expand", "expand_as", "narrow", "select", "unbind", "split", "chunk", "flatten", "unflatten",
    "diagonal", "movedim", "swapaxes", "as_strided", "detach", "requires_grad_", "to", "T", "mT",
}


class InplaceSelfWrite(Rule):
    """
    `x[k] = f(x)`: an in-place write into a tensor that its own value was computed from.

    Computing `x[0] / x[1]` saves the views `x[0]` and `x[1]` for the backward pass; writing
    the result into `x[2]` then modifies `x` in place, and `backward()` raises "one of the
    variables needed for gradient computation has been modified by an inplace operation".
    (Writes whose value only adds, subtracts or scales by constants, or goes through a
    function that saves only its result such as `exp`, are harmless and not reported.)

    The fix builds a new tensor instead of writing into the old one. When `x` is 1-D with a
    length the code states, it stacks the elements: `x = torch.stack([x[0], x[1], x[0] / x[1]])`.
    Otherwise it writes into a copy: `x_new = x.clone(); x_new[k] = f(x); x = x_new`, which
    keeps setitem's casting and broadcasting. Both are bitwise-equal in the forward pass. A
    naive `torch.cat` of slices is wrong for negative `k` and promotes dtypes: never used.

    The write is not rewritten when `x` has other names or views that would stop seeing
    the write (aliasing would change), or when `x` came from the caller.

    Bad:

        param = paramn * (p_max - p_min) + p_min
        param[2] = param[0] / param[1]
        param.sum().backward()     # RuntimeError: ... modified by an inplace operation

    Good:

        param = paramn * (p_max - p_min) + p_min
        param = torch.stack([param[0], param[1], param[0] / param[1]])
        param.sum().backward()

    Fix safety: safe; refused (reported only) when aliasing would change.
    """

    code = "GF103"
    name = "inplace-self-write"
    summary = "`x[k] = f(x)` modifies a tensor its own value was computed from; backward raises"
    trigger = re.compile(r"^[ \t]*([A-Za-z_][\w.]*)\[[^\n=]*\][ \t]*=(?!=)[^\n]*\b\1\b", re.M)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """Some ``x[k] = <expression reading the values of x>`` (what detect starts from)."""
        for assign in nodes_of(tree, ast.Assign):
            if len(assign.targets) == 1 and isinstance(assign.targets[0], ast.Subscript):
                base = dotted(assign.targets[0].value)
                if base is not None and _reads(assign.value, base):
                    return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for assign in analysis.nodes(ast.Assign):
            if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Subscript):
                continue
            target = assign.targets[0]
            base = dotted(target.value)
            if base is None or not _reads(assign.value, base) or analysis.grad_disabled(assign):
                continue
            holder = analysis.value(target.value)
            if not holder.is_tensor or not holder.carries:
                continue  # a list, a dict, a caller's object: no in-place tensor write to report

            parameters = _parameter_names(analysis.enclosing_function(assign))

            def requires_grad(operand: ast.expr) -> bool:
                # A bare argument may carry a graph, but this rule needs to know it does.
                return analysis.value(operand).carries and not (isinstance(operand, ast.Name) and operand.id in parameters)

            if not _saves_a_view(assign.value, base, requires_grad):
                continue
            fix, reason = None, _why_not_rewritable(analysis, assign, base)
            if reason is None:
                stacked = _stack_length(analysis, assign, target, base)
                how = f"rebuild `{base}` with `torch.stack`" if stacked else f"write into a copy of `{base}`"
                fix = LazyFix(partial(_fix, assign=assign, base=base, length=stacked), Applicability.SAFE, how)
            written = ast.get_source_segment(analysis.source, target) or base
            message = f"`{written} = ...` writes into `{base}` while its value was computed from `{base}`; backward will raise"
            message += f" (not rewritten: {reason})" if reason else "; build a new tensor instead"
            yield self.finding(assign, message, fix)


def _parameter_names(function) -> set[str]:
    if function is None:
        return set()
    return {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}


def _fix(ctx, assign: ast.Assign, base: str, length: int | None) -> Fix | None:
    node = ctx.node_for(assign)
    if node is None:
        return None
    target = node.targets[0].target
    if length is not None:
        return Fix(_stack_form(ctx, node, target, base, length), Applicability.SAFE, f"rebuild `{base}` with `torch.stack`")
    line = ctx.parent(node)
    temp = _fresh_name(ctx, f"{base}_new")
    clone = cst.parse_statement(f"{temp} = {base}.clone()")
    write = cst.Assign(
        targets=[cst.AssignTarget(target.with_changes(value=cst.Name(temp)), whitespace_before_equal=node.targets[0].whitespace_before_equal, whitespace_after_equal=node.targets[0].whitespace_after_equal)],
        value=node.value,
    )
    rebind = cst.parse_statement(f"{base} = {temp}")
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        statements = [
            clone.with_changes(leading_lines=line.leading_lines),
            line.with_changes(body=[write], leading_lines=[]),
            rebind,
        ]
        return Fix([(line, cst.FlattenSentinel(statements))], Applicability.SAFE, f"write into a copy of `{base}`")
    small = [clone.body[0], write, rebind.body[0]]  # type: ignore[attr-defined]
    return Fix([(node, cst.FlattenSentinel(small))], Applicability.SAFE, f"write into a copy of `{base}`")


_METADATA = {"device", "dtype", "shape", "ndim", "is_cuda", "layout"}
_METADATA_METHODS = {"size", "dim", "numel", "type", "get_device", "stride"}


def _reads(expr: ast.AST, name: str) -> bool:
    """Whether ``expr`` reads the values of ``name`` (``x.dtype``, ``x.size(0)`` do not)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute) and node.attr in _METADATA:
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _METADATA_METHODS:
            stack.extend(node.args)
            stack.extend(k.value for k in node.keywords)
            continue
        if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) == name:
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _saves_a_view(expr: ast.expr, base: str, requires_grad) -> bool:
    """Whether computing ``expr`` saves (a view of) ``base`` for the backward pass.

    ``requires_grad(operand)`` says whether an operand not read from ``base`` carries a
    graph: ``x[0] * w`` saves ``x[0]`` only when ``w`` needs a gradient.
    """
    if not _reads(expr, base):
        return False
    if isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript)):
        return False
    if isinstance(expr, ast.UnaryOp):
        return _saves_a_view(expr.operand, base, requires_grad)
    if isinstance(expr, ast.BinOp):
        left, right = expr.left, expr.right
        if _saves_a_view(left, base, requires_grad) or _saves_a_view(right, base, requires_grad):
            return True
        if isinstance(expr.op, (ast.Add, ast.Sub)):
            return False

        def needs_grad(operand: ast.expr) -> bool:
            return _reads(operand, base) or requires_grad(operand)

        if _is_view(left, base) and needs_grad(right):
            return True  # x[0] * w, x[0] / w, x[0] ** w: the other side's gradient needs x[0]
        if _is_view(left, base) and isinstance(expr.op, ast.Pow):
            return True  # x[0] ** 2 saves x[0]
        if _is_view(right, base) and (isinstance(expr.op, ast.Div) or needs_grad(left)):
            return True  # a / x[0] saves the divisor; w * x[0] saves x[0] for w's gradient
        return False
    if isinstance(expr, ast.Call):
        name = expr.func.attr if isinstance(expr.func, ast.Attribute) else dotted(expr.func)
        receiver = expr.func.value if isinstance(expr.func, ast.Attribute) else None
        if receiver is not None and name in _CUT_METHODS:
            return False  # `(x[0] / x[1]).detach()`: the saved views are never used by backward
        if (name or "").endswith("_like"):
            return False  # zeros_like(x): only x's shape and dtype are read
        if receiver is not None and name in _SHAPE_ONLY_METHODS:
            return _saves_a_view(receiver, base, requires_grad)  # w.expand_as(x[0]): x's shape only
        if name in _SAVE_OUTPUT_ONLY:
            arguments = list(expr.args)
            if receiver is not None and _reads(receiver, base) and not arguments:
                return _saves_a_view(receiver, base, requires_grad)
            return any(_saves_a_view(a, base, requires_grad) for a in arguments)
        return True
    return True


def _is_view(expr: ast.expr, base: str) -> bool:
    """``x``, ``x[i]``, ``x[..., 0]``: the tensor itself or an indexing view of it."""
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return dotted(expr) == base


def _why_not_rewritable(analysis: Analysis, assign: ast.Assign, base: str) -> str | None:
    if "." in base:
        return f"`{base}` is an attribute that other code may share"
    function = analysis.enclosing_function(assign)
    if function is not None:
        if base in _parameter_names(function):
            return f"`{base}` belongs to the caller, who would stop seeing the write"
    alias = _alias_of(function.body if function is not None else analysis.tree.body, base, assign)
    if alias is not None:
        return f"`{alias}` is another name or view of `{base}` and would stop seeing the write"
    return None


def _alias_of(body: list[ast.stmt], base: str, before: ast.Assign) -> str | None:
    """A name bound to ``base`` itself or to a view of it, anywhere in the scope."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign) and node is not before and _is_view_of(node.value, base):
            for target in node.targets:
                name = dotted(target)
                if name is not None and name != base:
                    return name
        if isinstance(node, ast.stmt):
            stack.extend(ast.iter_child_nodes(node))
    return None


def _is_view_of(expr: ast.expr, base: str) -> bool:
    if dotted(expr) == base:
        return True
    if isinstance(expr, ast.Subscript):
        parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        return _is_view_of(expr.value, base) and not any(
            not isinstance(p, (ast.Slice, ast.Name, ast.UnaryOp)) and not (isinstance(p, ast.Constant) and isinstance(p.value, int))
            for p in parts
        )
    if isinstance(expr, ast.Attribute) and expr.attr in ("T", "mT", "data"):
        return _is_view_of(expr.value, base)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _VIEW_METHODS:
        return _is_view_of(expr.func.value, base)
    return False


def _stack_length(analysis: Analysis, assign: ast.Assign, target: ast.Subscript, base: str) -> int | None:
    """The length of ``x`` when ``x = torch.stack([x[0], ..., value, ...])`` can replace the
    write: x is 1-D of a length the code states, k a literal, and the value reads only x."""
    index = int_literal(target.slice)
    shape = analysis.value(target.value).shape
    if index is None or shape is None or len(shape) != 1 or shape[0] is None or not -shape[0] <= index < shape[0]:
        return None
    if not _only_reads(assign.value, base):
        return None  # another tensor in the value could change the stacked dtype
    return shape[0]


def _only_reads(expr: ast.AST, base: str) -> bool:
    """Whether the only names ``expr`` reads are ``base`` (numbers and torch functions aside)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            stack.extend(node.args)
            if isinstance(node.func, ast.Attribute) and _reads(node.func.value, base):
                stack.append(node.func.value)
            continue
        if isinstance(node, (ast.Name, ast.Attribute)):
            if dotted(node) != base:
                return False
            continue
        if isinstance(node, ast.Subscript):
            stack.append(node.value)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return True


def _stack_form(ctx, assign: cst.Assign, target: cst.Subscript, base: str, length: int):
    index = int_literal(ast.parse(ctx.code(target.slice[0].slice.value), mode="eval").body) % length  # type: ignore[attr-defined]
    torch_name, import_edits = torch_module(ctx)
    elements = [
        cst.Element(assign.value if i == index else cst.Subscript(cst.Name(base), [cst.SubscriptElement(cst.Index(cst.Integer(str(i))))]))
        for i in range(length)
    ]
    value = cst.Call(func=cst.Attribute(torch_name, cst.Name("stack")), args=[cst.Arg(cst.List(elements))])
    replacement = assign.with_changes(targets=[assign.targets[0].with_changes(target=cst.Name(base))], value=value)
    return [(assign, replacement), *import_edits]


def _fresh_name(ctx, wanted: str) -> str:
    used = ctx.cached("used_names", lambda: {n.value for n in ctx.walk() if isinstance(n, cst.Name)})
    name, n = wanted, 1
    while name in used:
        n += 1
        name = f"{wanted}{n}"
    return name
