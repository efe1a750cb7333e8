"""GF103 inplace-self-write."""

from __future__ import annotations

import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._graph import Carry, flow_for, scope_of
from ._names import dotted_name, imports, torch_module
from ._scopes import enclosing_class, in_grad_disabled, is_function_parameter
from ._shapes import int_literal, shapes

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

    def check(self, ctx):
        if not imports(ctx).imports_module("torch"):
            return
        for assign in (n for n in ctx.walk() if isinstance(n, cst.Assign) and len(n.targets) == 1):
            target = assign.targets[0].target
            if not isinstance(target, cst.Subscript):
                continue
            base = dotted_name(target.value)
            if base is None or not _reads(assign.value, base) or in_grad_disabled(ctx, assign):
                continue
            if _is_method_argument(ctx, assign, target.value) or _is_python_container(ctx, base, assign):
                continue  # a caller's object (maybe not a tensor at all), or a list of tensors
            flow = flow_for(ctx, assign)
            if flow.carries(target.value, assign) is not Carry.YES:
                continue
            def requires_grad(operand: cst.BaseExpression) -> bool:
                return not is_function_parameter(ctx, assign, operand) and flow.carries(operand, assign) is Carry.YES

            if not _saves_a_view(assign.value, base, requires_grad):
                continue
            fix, reason = None, _why_not_rewritable(ctx, assign, base)
            if reason is None:
                fix = self._fix(ctx, assign, target, base)
            message = f"`{ctx.code(target)} = ...` writes into `{base}` while its value was computed from `{base}`; backward will raise"
            message += f" (not rewritten: {reason})" if reason else "; build a new tensor instead"
            yield self.finding(assign, message, fix)

    def _fix(self, ctx, assign: cst.Assign, target: cst.Subscript, base: str) -> Fix:
        stacked = _stack_form(ctx, assign, target, base)
        if stacked is not None:
            return Fix(stacked, Applicability.SAFE, f"rebuild `{base}` with `torch.stack`")
        line = ctx.parent(assign)
        temp = _fresh_name(ctx, f"{base}_new")
        clone = cst.parse_statement(f"{temp} = {base}.clone()")
        write = cst.Assign(
            targets=[cst.AssignTarget(target.with_changes(value=cst.Name(temp)), whitespace_before_equal=assign.targets[0].whitespace_before_equal, whitespace_after_equal=assign.targets[0].whitespace_after_equal)],
            value=assign.value,
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
        return Fix([(assign, cst.FlattenSentinel(small))], Applicability.SAFE, f"write into a copy of `{base}`")




_METADATA = {"device", "dtype", "shape", "ndim", "is_cuda", "layout"}
_METADATA_METHODS = {"size", "dim", "numel", "type", "get_device", "stride"}


def _reads(expr: cst.CSTNode, dotted: str) -> bool:
    """Whether ``expr`` reads the values of ``dotted`` (``x.dtype``, ``x.size(0)`` do not)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute) and node.attr.value in _METADATA:
            continue
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _METADATA_METHODS:
            stack.extend(a.value for a in node.args)
            continue
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) == dotted:
            return True
        stack.extend(node.children)
    return False


def _saves_a_view(expr: cst.BaseExpression, base: str, requires_grad) -> bool:
    """Whether computing ``expr`` saves (a view of) ``base`` for the backward pass.

    ``requires_grad(operand)`` says whether an operand not read from ``base`` carries a
    graph: ``x[0] * w`` saves ``x[0]`` only when ``w`` needs a gradient.
    """
    if not _reads(expr, base):
        return False
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript)):
        return False
    if isinstance(expr, cst.UnaryOperation):
        return _saves_a_view(expr.expression, base, requires_grad)
    if isinstance(expr, cst.BinaryOperation):
        left, right = expr.left, expr.right
        if _saves_a_view(left, base, requires_grad) or _saves_a_view(right, base, requires_grad):
            return True
        if isinstance(expr.operator, (cst.Add, cst.Subtract)):
            return False

        def needs_grad(operand: cst.BaseExpression) -> bool:
            return _reads(operand, base) or requires_grad(operand)

        if _is_view(left, base) and needs_grad(right):
            return True  # x[0] * w, x[0] / w, x[0] ** w: the other side's gradient needs x[0]
        if _is_view(left, base) and isinstance(expr.operator, cst.Power):
            return True  # x[0] ** 2 saves x[0]
        if _is_view(right, base) and (isinstance(expr.operator, cst.Divide) or needs_grad(left)):
            return True  # a / x[0] saves the divisor; w * x[0] saves x[0] for w's gradient
        return False
    if isinstance(expr, cst.Call):
        name = expr.func.attr.value if isinstance(expr.func, cst.Attribute) else dotted_name(expr.func)
        receiver = expr.func.value if isinstance(expr.func, cst.Attribute) else None
        if receiver is not None and name in _CUT_METHODS:
            return False  # `(x[0] / x[1]).detach()`: the saved views are never used by backward
        if (name or "").endswith("_like"):
            return False  # zeros_like(x): only x's shape and dtype are read
        if receiver is not None and name in _SHAPE_ONLY_METHODS:
            return _saves_a_view(receiver, base, requires_grad)  # w.expand_as(x[0]): x's shape only
        if name in _SAVE_OUTPUT_ONLY:
            arguments = [a.value for a in expr.args]
            if receiver is not None and _reads(receiver, base) and not arguments:
                return _saves_a_view(receiver, base, requires_grad)
            return any(_saves_a_view(a, base, requires_grad) for a in arguments)
        return True
    return True


def _is_method_argument(ctx, at: cst.CSTNode, expr: cst.BaseExpression) -> bool:
    """An argument of a method: its callers cannot be told apart by name, so whether it is a
    graph-carrying tensor is a guess (plain functions' callers are checked by the flow)."""
    return is_function_parameter(ctx, at, expr) and enclosing_class(ctx, at) is not None


def _is_python_container(ctx, base: str, at: cst.CSTNode) -> bool:
    """Whether ``base`` was last bound to a list, tuple, dict or set: ``xs[i] = f(xs[i])``
    then replaces a list element, which is no in-place tensor write."""
    value = shapes(ctx).binding_before(base, at)
    if isinstance(value, (cst.List, cst.ListComp, cst.Tuple, cst.Dict, cst.DictComp, cst.Set, cst.SetComp)):
        return True
    return isinstance(value, cst.Call) and dotted_name(value.func) in ("list", "tuple", "dict", "sorted", "reversed")


def _is_view(expr: cst.BaseExpression, base: str) -> bool:
    """``x``, ``x[i]``, ``x[..., 0]``: the tensor itself or an indexing view of it."""
    while isinstance(expr, cst.Subscript):
        expr = expr.value
    return dotted_name(expr) == base


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float))


def _why_not_rewritable(ctx, assign: cst.Assign, base: str) -> str | None:
    if "." in base:
        return f"`{base}` is an attribute that other code may share"
    scope = scope_of(ctx, assign)
    if isinstance(scope, cst.FunctionDef):
        params = {p.name.value for p in (*scope.params.posonly_params, *scope.params.params, *scope.params.kwonly_params)}
        if base in params:
            return f"`{base}` belongs to the caller, who would stop seeing the write"
    alias = _alias_of(ctx, scope, base, assign)
    if alias is not None:
        return f"`{alias}` is another name or view of `{base}` and would stop seeing the write"
    return None


def _alias_of(ctx, scope, base: str, before: cst.CSTNode) -> str | None:
    """A name bound to ``base`` itself or to a view of it, anywhere in the scope."""
    body = scope.body.body if isinstance(scope, cst.FunctionDef) else scope.body
    stack: list[cst.CSTNode] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(node, cst.Assign) and node is not before and _is_view_of(node.value, base):
            for target in node.targets:
                name = dotted_name(target.target)
                if name is not None and name != base:
                    return name
        if not isinstance(node, cst.BaseExpression):
            stack.extend(node.children)
    return None


def _is_view_of(expr: cst.BaseExpression, base: str) -> bool:
    if dotted_name(expr) == base:
        return True
    if isinstance(expr, cst.Subscript):
        return _is_view_of(expr.value, base) and not any(
            isinstance(s.slice, cst.Index) and not isinstance(s.slice.value, (cst.Integer, cst.Name, cst.UnaryOperation))
            for s in expr.slice
        )
    if isinstance(expr, cst.Attribute) and expr.attr.value in ("T", "mT", "data"):
        return _is_view_of(expr.value, base)
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _VIEW_METHODS:
        return _is_view_of(expr.func.value, base)
    return False



def _stack_form(ctx, assign: cst.Assign, target: cst.Subscript, base: str):
    """``x = torch.stack([x[0], ..., value, ...])`` when x is 1-D of stated length and k a literal."""
    if len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
        return None
    index = int_literal(target.slice[0].slice.value)
    shape = shapes(ctx).shape(target.value, assign)
    if index is None or shape is None or len(shape) != 1 or not -shape[0] <= index < shape[0]:
        return None
    if not _only_reads(assign.value, base):
        return None  # another tensor in the value could change the stacked dtype
    length = shape[0]
    index %= length
    torch_name, import_edits = torch_module(ctx)
    elements = [
        cst.Element(assign.value if i == index else cst.Subscript(cst.Name(base), [cst.SubscriptElement(cst.Index(cst.Integer(str(i))))]))
        for i in range(length)
    ]
    value = cst.Call(func=cst.Attribute(torch_name, cst.Name("stack")), args=[cst.Arg(cst.List(elements))])
    replacement = assign.with_changes(targets=[assign.targets[0].with_changes(target=cst.Name(base))], value=value)
    return [(assign, replacement), *import_edits]


def _only_reads(expr: cst.CSTNode, base: str) -> bool:
    """Whether the only names ``expr`` reads are ``base`` (numbers and torch functions aside)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            stack.extend(a.value for a in node.args)
            if isinstance(node.func, cst.Attribute) and _reads(node.func.value, base):
                stack.append(node.func.value)
            continue
        if isinstance(node, (cst.Name, cst.Attribute)):
            if dotted_name(node) != base:
                return False
            continue
        if isinstance(node, cst.Subscript):
            stack.append(node.value)
            continue
        stack.extend(node.children)
    return True


def _fresh_name(ctx, wanted: str) -> str:
    used = ctx.cached("used_names", lambda: {n.value for n in ctx.walk() if isinstance(n, cst.Name)})
    name, n = wanted, 1
    while name in used:
        n += 1
        name = f"{wanted}{n}"
    return name


