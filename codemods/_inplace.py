"""In-place writes into tensors, shared by GF103 (self-writes) and GF110 (writes on saved tensors).

Detection facts on CPython's ``ast``: what reading a tensor into an expression saves for the
backward pass, which names are other names or views of a tensor (a write into one is seen
through the others), and the one write GF103 owns (``x[k] = f(x)``, so GF110 does not report
it twice). The fix both rules share: write into a copy (``x_new = x.clone(); x_new[k] = v;
x = x_new``), built with LibCST.
"""

from __future__ import annotations

import ast

import libcst as cst

from gradfix.rule import Applicability, Fix

from ._values import Analysis, Kind, dotted

# Functions whose backward needs only their own result, so reading `x[i]` into them saves
# nothing of `x`: `x[2] = torch.exp(x[0])` is harmless (checked in torch 2.13).
# Tensor methods that read their arguments' shape or dtype only.
_SHAPE_ONLY_METHODS = {"expand_as", "view_as", "reshape_as", "type_as", "new_zeros", "new_ones", "new_empty", "new_full"}
_SAVE_OUTPUT_ONLY = {"exp", "sigmoid", "tanh", "relu", "sqrt", "rsqrt", "expm1", "exp2", "clone", "contiguous"}
# Tensor methods whose result is out of the graph: nothing computed inside them reaches backward.
_CUT_METHODS = {"detach", "item", "tolist", "numpy"}
# Tensor methods that return a view of (or the same object as) their receiver.
VIEW_METHODS = {
    "view", "view_as", "reshape", "reshape_as", "transpose", "permute", "t", "squeeze", "unsqueeze",
    "expand", "expand_as", "narrow", "select", "unbind", "split", "chunk", "flatten", "unflatten",
    "diagonal", "movedim", "swapaxes", "as_strided", "detach", "requires_grad_", "to", "T", "mT",
}
_METADATA = {"device", "dtype", "shape", "ndim", "is_cuda", "layout"}
_METADATA_METHODS = {"size", "dim", "numel", "type", "get_device", "stride"}


def self_write(analysis: Analysis, assign: ast.Assign) -> str | None:
    """The tensor ``x`` of ``x[k] = f(x)`` when computing ``f(x)`` saves (a view of) ``x``
    for backward, which the write then modifies (GF103's finding), else None."""
    if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Subscript):
        return None
    target = assign.targets[0]
    base = dotted(target.value)
    if base is None or not reads(assign.value, base) or analysis.grad_disabled(assign):
        return None
    holder = analysis.value(target.value)
    if not holder.is_tensor or not holder.carries:
        return None  # a list, a dict, a caller's object: no in-place tensor write to report

    parameters = parameter_names(analysis.enclosing_function(assign))

    def requires_grad(operand: ast.expr) -> bool:
        # A bare argument may carry a graph, but this rule needs to know it does.
        return analysis.value(operand).carries and not (isinstance(operand, ast.Name) and operand.id in parameters)

    def integer(index: ast.expr) -> bool:
        return analysis.value(index).kind in (Kind.NUMBER, Kind.BOOL)

    if only_copies_read(assign.value, base, integer):
        return None  # `x[idx]` with a tensor or list index is a copy: nothing of x is saved
    return base if saves_a_view(assign.value, base, requires_grad) else None


def only_copies_read(expr: ast.expr, base: str, integer) -> bool:
    """Whether ``expr`` reads ``base`` only through indexing that copies (advanced indexing:
    ``x[idx]`` with an index not known to be an int, a slice, ``...`` or ``None``), so that
    nothing ``expr`` computes can save ``base`` or a view of it. ``integer(index)`` says
    whether an index expression is known to be a Python int."""
    found_copy = False
    stack: list[ast.AST] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Subscript) and _is_view(node.value, base):
            if not _basic_index(node.slice, integer):
                found_copy = True
                stack.append(node.slice)  # the index itself may read base (x[x > 0])
                continue
        if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) == base:
            return False  # base itself, or a view through basic indexing, is read
        stack.extend(ast.iter_child_nodes(node))
    return found_copy


def _basic_index(index: ast.expr, integer) -> bool:
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    for part in parts:
        if isinstance(part, ast.Slice) or (isinstance(part, ast.Constant) and (part.value is None or part.value is Ellipsis or type(part.value) is int)):
            continue
        if isinstance(part, ast.UnaryOp) and isinstance(part.operand, ast.Constant) and type(part.operand.value) is int:
            continue
        if not integer(part):
            return False
    return True


def parameter_names(function) -> set[str]:
    if function is None:
        return set()
    return {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}


def reads(expr: ast.AST, name: str) -> bool:
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


def saves_a_view(expr: ast.expr, base: str, requires_grad) -> bool:
    """Whether computing ``expr`` saves (a view of) ``base`` for the backward pass.

    ``requires_grad(operand)`` says whether an operand not read from ``base`` carries a
    graph: ``x[0] * w`` saves ``x[0]`` only when ``w`` needs a gradient.
    """
    if not reads(expr, base):
        return False
    if isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript)):
        return False
    if isinstance(expr, ast.UnaryOp):
        return saves_a_view(expr.operand, base, requires_grad)
    if isinstance(expr, ast.BinOp):
        left, right = expr.left, expr.right
        if saves_a_view(left, base, requires_grad) or saves_a_view(right, base, requires_grad):
            return True
        if isinstance(expr.op, (ast.Add, ast.Sub)):
            return False

        def needs_grad(operand: ast.expr) -> bool:
            return reads(operand, base) or requires_grad(operand)

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
            return saves_a_view(receiver, base, requires_grad)  # w.expand_as(x[0]): x's shape only
        if name in _SAVE_OUTPUT_ONLY:
            arguments = list(expr.args)
            if receiver is not None and reads(receiver, base) and not arguments:
                return saves_a_view(receiver, base, requires_grad)
            return any(saves_a_view(a, base, requires_grad) for a in arguments)
        return True
    return True


def _is_view(expr: ast.expr, base: str) -> bool:
    """``x``, ``x[i]``, ``x[..., 0]``: the tensor itself or an indexing view of it."""
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return dotted(expr) == base


def why_not_rewritable(analysis: Analysis, stmt: ast.stmt, base: str) -> str | None:
    """Why replacing an in-place write into ``base`` by a new tensor would change what other
    code sees (None when it would not): an attribute, the caller's tensor, an alias or view."""
    if "." in base:
        return f"`{base}` is an attribute that other code may share"
    function = analysis.enclosing_function(stmt)
    if function is not None:
        if base in parameter_names(function):
            return f"`{base}` belongs to the caller, who would stop seeing the write"
        if not binds_locally(function, base):
            return f"`{base}` is not a variable of this function (a global or a closure's): rebinding it here would make it local"
    alias = alias_of(function.body if function is not None else analysis.tree.body, base, stmt)
    if alias is not None:
        return f"`{alias}` is another name or view of `{base}` and would stop seeing the write"
    return None


def binds_locally(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Whether ``name`` is a local variable of ``function``: a parameter, or bound in its own
    body (not in a nested function, class or comprehension) and not declared global or nonlocal."""
    starred = [a.arg for a in (function.args.vararg, function.args.kwarg) if a is not None]
    if name in parameter_names(function) or name in starred:
        return True
    bound = False
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return False
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = bound or node.name == name
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # Their own scopes; only a walrus inside binds in the function.
            bound = bound or any(isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name) and n.target.id == name for n in ast.walk(node))
            continue
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound = True
        elif isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            bound = True
        elif isinstance(node, ast.ExceptHandler) and node.name == name:
            bound = True
        stack.extend(ast.iter_child_nodes(node))
    return bound


def alias_of(body: list[ast.stmt], base: str, before: ast.stmt) -> str | None:
    """A name bound to ``base`` itself or to a view of it, anywhere in the scope."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign) and node is not before and is_view_of(node.value, base):
            for target in node.targets:
                name = dotted(target)
                if name is not None and name != base:
                    return name
        if isinstance(node, ast.stmt):
            stack.extend(ast.iter_child_nodes(node))
    return None


def is_view_of(expr: ast.expr, base: str) -> bool:
    if dotted(expr) == base:
        return True
    if isinstance(expr, ast.Subscript):
        parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        return is_view_of(expr.value, base) and not any(
            not isinstance(p, (ast.Slice, ast.Name, ast.UnaryOp)) and not (isinstance(p, ast.Constant) and isinstance(p.value, int))
            for p in parts
        )
    if isinstance(expr, ast.Attribute) and expr.attr in ("T", "mT", "data"):
        return is_view_of(expr.value, base)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in VIEW_METHODS:
        return is_view_of(expr.func.value, base)
    return False


def clone_write(ctx, node: cst.Assign | cst.AugAssign, base: str) -> Fix:
    """``x[k] = v`` (or ``x[k] += v``) -> ``x_new = x.clone(); x_new[k] = v; x = x_new``
    (setitem's casting and broadcasting kept: bitwise equal)."""
    line = ctx.parent(node)
    temp = fresh_name(ctx, f"{base}_new")
    clone = cst.parse_statement(f"{temp} = {base}.clone()")
    if isinstance(node, cst.AugAssign):
        write = node.with_changes(target=node.target.with_changes(value=cst.Name(temp)), semicolon=cst.MaybeSentinel.DEFAULT)
    else:
        target = node.targets[0].target
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


def fresh_name(ctx, wanted: str) -> str:
    used = ctx.cached("used_names", lambda: {n.value for n in ctx.walk() if isinstance(n, cst.Name)})
    name, n = wanted, 1
    while name in used:
        n += 1
        name = f"{wanted}{n}"
    return name
