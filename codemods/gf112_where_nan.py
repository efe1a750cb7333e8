"""GF112 where-nan."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import called_name, calls_named
from ._quick_leaves import grad_disabled, imports_of, imports_torch
from ._flow_ast import names_read
from ._names import torch_module
from ._losspath import loss_path
from ._uses import assigned_values
from ._values import Analysis, Graph, Kind, _parameter_names, dotted

# Unsafe elementwise ops: name -> the fill value that is inside the op's domain (finite
# value and finite derivative there).
_UNSAFE_FUNCTIONS = {
    "sqrt": "1.0", "rsqrt": "1.0", "log": "1.0", "log2": "1.0", "log10": "1.0", "reciprocal": "1.0",
    "log1p": "0.0", "acos": "0.0", "asin": "0.0", "arccos": "0.0", "arcsin": "0.0", "atanh": "0.0", "arctanh": "0.0",
}
_DIVISIONS = {"div", "divide", "true_divide"}
# Ops the search for an unsafe op goes through: the where's condition then still lines up
# elementwise (after broadcasting) with the unsafe op's input.
_ELEMENTWISE = {
    "exp", "expm1", "sigmoid", "tanh", "abs", "neg", "square", "sin", "cos", "mul", "multiply", "add", "sub",
    "subtract", "clamp", "clip", "float", "double", "half", "relu", "softplus", "erf", "atan", "sinh", "cosh",
    "to", "type_as", "minimum", "maximum", "nan_to_num",
} | set(_UNSAFE_FUNCTIONS) | _DIVISIONS | {"pow"}
# Pure calls a duplicated condition may make (it is evaluated once more for the mask).
_PURE_CALLS = {
    "abs", "isnan", "isfinite", "isinf", "isneginf", "isposinf", "logical_and", "logical_or", "logical_not",
    "gt", "ge", "lt", "le", "eq", "ne", "greater", "less", "bool", "sum", "norm", "square", "detach", "squeeze",
    "unsqueeze", "float", "any", "all", "sign", "expand_as", "view", "reshape", "vector_norm",
}
_NOT_VARIABLES = {"self", "cls"}
# Ops whose other arguments are indices, not values.
_INDEXING = {"gather", "index_select", "take_along_dim", "take", "masked_select", "index"}
_EPSILON = re.compile(r"eps|epsilon|tiny", re.I)
_UNIT_DOMAIN = {"acos", "asin", "arccos", "arcsin", "atanh", "arctanh"}
_SANITIZERS = {"where", "clamp", "clamp_min", "clip", "clamp_", "masked_fill", "nan_to_num"}


_SPELLED = {"division": "the division", "pow": "the fractional or negative power"}  # the others: `sqrt`, ...


@dataclass
class _Unsafe:
    node: ast.expr  # the unsafe op
    operand: ast.expr  # its input that the mask replaces
    fill: str
    op: str
    fixable: bool


class WhereNan(Rule):
    """
    `torch.where(c, f(x), y)` whose unselected branch has a NaN or infinite gradient: the
    gradient of `x` is NaN even where `c` picked `y`.

    `torch.where` selects values, but backward goes through both branches: at the points
    where `c` picks `y`, the gradient reaching `f(x)` is zero, and autograd multiplies that
    zero by `f'(x)`. When `f'(x)` is infinite or NaN there (`sqrt`, `rsqrt` or `log` at `x <=
    0`, `1 / x` at 0, `x ** -0.5`, `x ** 0.5`, `log1p` at `x <= -1`, `acos`/`asin` at
    `|x| >= 1`), `0 * inf` is NaN and the whole gradient of `x` (and of everything before
    it) becomes NaN. Nothing fails: training diverges or the weights turn NaN.

    The fix is the "double where": mask the input first, with a value inside the op's
    domain (1 for `sqrt`, `rsqrt`, `log`, division and fractional or negative powers; 0 for
    `log1p`, `acos`, `asin`, `atanh`), so `f` is never evaluated outside its domain:
    `torch.where(c, torch.sqrt(torch.where(c, x, 1.0)), y)`. The mask uses a Python scalar,
    not `torch.ones_like(x)`: `torch.where(c, x, 1.0)` has the shape `c` and `x` broadcast
    to and the dtype of `x`, so it never raises where the original did not, and at every
    point the outer `where` selects it holds exactly `x`.

    The rule reports only when the condition tests the op's input against the edge of the
    op's domain (`x > 0` or `x > eps` for `sqrt(x)`, `x != 0` or `x.abs() > eps` for `1 / x`,
    `x.abs() < 1` for `acos(x)`, also through a name: `mask = d2 > 0`), so the masked-out
    points are the invalid ones; a piecewise function's breakpoint (`u <= 0.04045`) is not
    such a test. The path from the op to the `where` must be elementwise, the code must not
    run under `torch.no_grad()`, and the input must be on a backpropagated path: in a file
    with a backward call, the `where` is on its loss path (`codemods/_losspath.py`) and its
    input may carry a graph; in library code without one, the input carries a graph (a
    Parameter, a module output) or comes from the arguments of a module's `forward` or of a
    loss function. An input the analysis cannot see into whose names are all the data a
    loss compares with (`torch.log(target)` in a KL term) gets no gradient and is left
    alone. An input already masked or clamped (`torch.where(...)`,
    `clamp(min=eps)`, `+ eps`) is left alone, and so is `masked_fill` after an unsafe op
    (another pattern). A vector's norm needs no mask (torch gives a zero vector's norm a zero
    gradient); a division by it does, and gets one.

    Bad:

        y = torch.where(x > 0, torch.sqrt(x), 0.0)      # x.grad is NaN where x < 0

    Good:

        y = torch.where(x > 0, torch.sqrt(torch.where(x > 0, x, 1.0)), 0.0)

    Fix safety: safe. The forward values are bitwise equal (the op sees the same values at
    every selected point; the others are discarded by the outer `where`), and the gradient
    at the selected points is unchanged. The condition is evaluated twice; a condition that
    is not a plain expression of names, constants, comparisons and pure tensor functions gets
    no fix, and neither does a division or power whose input is not known to be a tensor.
    """

    code = "GF112"
    name = "where-nan"
    summary = "`torch.where(c, f(x), y)` with `f` unsafe where `c` is false gives NaN gradients; mask the input first"
    requires = (("torch",),)  # detect: `imports_module("torch")`
    trigger = re.compile(r"where(?:\s*\(|\s+as\s)")  # (`from torch import where as W` too)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A ``where`` that ``_where_branches`` takes (``torch.where(c, x, y)`` through the
        imports, or ``t.where(c, y)`` on a receiver no import names) with an op ``_unsafe_ops``
        may yield (a division, a power, an unsafe function) somewhere in a branch."""
        if not imports_torch(tree):
            return False
        imports = imports_of(tree)
        spelled = {"where"} | {local for local, name in imports.aliases.items() if name == "torch.where"}
        for node in calls_named(tree, spelled):
            qualified = imports.qualify(node.func)
            if qualified == "torch.where":
                branches = [*node.args[1:], *(k.value for k in node.keywords if k.arg in ("input", "other"))]
            elif qualified is None and isinstance(node.func, ast.Attribute) and len(node.args) == 2 and not node.keywords:
                branches = [node.func.value, node.args[1]]
            else:
                continue
            if any(_may_be_unsafe(imports, n) for branch in branches for n in ast.walk(branch)) and not grad_disabled(tree, node):
                return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for call in analysis.calls():
            branches = _where_branches(analysis, call)
            if branches is None or analysis.grad_disabled(call):
                continue
            condition, (selected, discarded) = branches
            found: list[tuple[_Unsafe, bool]] = []
            for branch, when_true in ((selected, True), (discarded, False)):
                for unsafe in _unsafe_ops(analysis, branch):
                    if _tested_by(analysis, condition, unsafe) and _may_need_grad(analysis, call, unsafe.operand):
                        found.append((unsafe, when_true))
            if not found:
                continue
            yield self._finding(analysis, call, condition, found)

    def _finding(self, analysis: Analysis, call: ast.Call, condition: ast.expr, found):
        ops = sorted({u.op for u, _ in found})
        spelled = " and ".join(_SPELLED.get(op, f"`{op}`") for op in ops)
        fixable = all(u.fixable for u, _ in found) and _pure(analysis, condition) and _positional(call)
        fill = found[0][0].fill
        message = (
            f"{spelled} in the branch `where` does not select has an infinite or NaN derivative at the masked-out "
            f"points, which makes the gradient NaN; mask its input first (`torch.where(c, x, {fill})`)"
        )
        fix = None
        if fixable:
            targets = [(u.operand, u.fill, when_true) for u, when_true in found]
            fix = LazyFix(partial(_double_where, call=call, condition=condition, targets=targets), Applicability.SAFE,
                          "mask the input of the unsafe op with the same condition (double `where`)")
        return self.finding(call, message, fix)


_MAY_BE_UNSAFE = {*_UNSAFE_FUNCTIONS, *_DIVISIONS, "pow"}


def _may_be_unsafe(imports, node: ast.AST) -> bool:
    """A node ``_unsafe_ops`` may yield: a division, a power, or a call of an unsafe op (by the
    name ``_call_name`` gives it: the attribute, or the last part of what the imports qualify)."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Div, ast.Pow))
    if not isinstance(node, ast.Call):
        return False
    return called_name(node) in _MAY_BE_UNSAFE or (imports.qualify(node.func) or "").rsplit(".", 1)[-1] in _MAY_BE_UNSAFE


def _where_branches(analysis: Analysis, call: ast.Call):
    """(condition, (selected-if-true branch, selected-if-false branch)) of a ``where`` call."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "where" and analysis.qualify(call.func) != "torch.where":
        receiver = analysis.value(call.func.value)
        if receiver.kind is not Kind.TENSOR or len(call.args) != 2 or call.keywords:
            return None
        return call.args[0], (call.func.value, call.args[1])
    if analysis.qualify(call.func) != "torch.where":
        return None
    given = dict(zip(("condition", "input", "other"), call.args))
    for k in call.keywords:
        if k.arg in ("condition", "input", "other") and k.arg not in given:
            given[k.arg] = k.value
    if len(given) != 3 or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    return given["condition"], (given["input"], given["other"])


def _positional(call: ast.Call) -> bool:
    return not call.keywords


def _call_name(analysis: Analysis, call: ast.Call) -> tuple[str, ast.expr | None] | None:
    """(op name, receiver) of a torch function (receiver None) or a tensor method call."""
    qualified = analysis.qualify(call.func)
    if qualified is not None and qualified.startswith("torch."):
        return qualified.rsplit(".", 1)[-1], None
    if isinstance(call.func, ast.Attribute) and qualified is None:
        return call.func.attr, call.func.value
    return None


def _unsafe_ops(analysis: Analysis, branch: ast.expr):
    """The unsafe ops on an elementwise path from the branch value down to their inputs."""
    stack = [branch]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div):
                yield _Unsafe(node, node.right, "1.0", "division", analysis.value(node.right).is_tensor)
            elif isinstance(node.op, ast.Pow) and _unsafe_exponent(node.right):
                yield _Unsafe(node, node.left, "1.0", "pow", analysis.value(node.left).is_tensor)
            if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
                stack += [node.right, node.left]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            named = _call_name(analysis, node)
            if named is None:
                continue
            op, receiver = named
            operands = ([receiver] if receiver is not None else []) + list(node.args)
            if op in _UNSAFE_FUNCTIONS and len(operands) == 1 and not node.keywords:
                yield _Unsafe(node, operands[0], _UNSAFE_FUNCTIONS[op], op, True)
            elif op in _DIVISIONS and len(operands) == 2 and not node.keywords:
                yield _Unsafe(node, operands[1], "1.0", "division", analysis.value(operands[1]).is_tensor)
            elif op == "pow" and len(operands) == 2 and not node.keywords and _unsafe_exponent(operands[1]):
                yield _Unsafe(node, operands[0], "1.0", "pow", True)
            if op in _ELEMENTWISE:
                stack += reversed([o for o in operands if not isinstance(o, ast.Starred)])


def _unsafe_exponent(node: ast.expr) -> bool:
    """A negative or fractional literal exponent (``0.5``, ``-1``, ``1 / 3``)."""
    try:
        value = ast.literal_eval(node) if not isinstance(node, ast.BinOp) else _fraction(node)
    except (ValueError, SyntaxError, TypeError, ZeroDivisionError):
        return False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value < 0 or value != int(value)


def _fraction(node: ast.BinOp):
    if isinstance(node.op, ast.Div):
        return ast.literal_eval(node.left) / ast.literal_eval(node.right)
    raise ValueError


def _variables(analysis: Analysis, expr: ast.expr, depth: int = 2) -> set[str]:
    """The names whose values ``expr`` computes with (not indices: the ``i`` of ``x[i]`` or
    ``x.gather(1, i)``), and those of their single assignments (``depth`` levels)."""
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) is not None:
            name = dotted(node)
            if name.split(".")[0] not in _NOT_VARIABLES and not _is_library(analysis, name):
                found.add(name)
            if isinstance(node, ast.Name) and depth:
                values = assigned_values(analysis, node)
                if len(values) == 1:
                    found |= _variables(analysis, values[0], depth - 1)
            continue
        if isinstance(node, ast.Subscript):
            stack.append(node.value)
        elif isinstance(node, ast.Call):
            named = _call_name(analysis, node)
            op, receiver = named if named is not None else ("", None)
            if op in _INDEXING:
                stack += [receiver] if receiver is not None else node.args[:1]
            else:
                stack += [*node.args, *([receiver] if receiver is not None else [])]
        elif isinstance(node, (ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp)):
            continue
        else:
            stack += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    return found


def _is_library(analysis: Analysis, name: str) -> bool:
    return name.split(".")[0] in analysis.imports.aliases


def _tested_by(analysis: Analysis, condition: ast.expr, unsafe: _Unsafe) -> bool:
    """The condition compares the unsafe op's input with the edge of the op's domain (``x > 0``
    for ``sqrt(x)``, ``x != 0`` for ``1 / x``, ``x.abs() < 1`` for ``acos(x)``), and that input
    is not masked or clamped already. A piecewise function's breakpoint (``u <= 0.04045``) is
    not a domain test: the other branch may be valid there."""
    operand = unsafe.operand
    if _sanitized(analysis, operand):
        return False
    if isinstance(operand, ast.Name):
        values = assigned_values(analysis, operand)
        if len(values) == 1 and _sanitized(analysis, values[0]):
            return False
    for tested, bound in _comparisons(analysis, condition):
        if _same_value(analysis, tested, operand, unsafe.op) and _at_domain_edge(bound, unsafe.op):
            return True
    return False


_COMPARING_CALLS = {"gt", "ge", "lt", "le", "ne", "eq", "greater", "greater_equal", "less", "less_equal", "not_equal"}


def _comparisons(analysis: Analysis, condition: ast.expr, depth: int = 2):
    """(compared value, bound) pairs of the comparisons in the condition (both ways round),
    through the single assignments of the names it reads (``mask = d2 > 0``)."""
    for node in ast.walk(condition):
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = node.left, node.comparators[0]
            yield left, right
            yield right, left
        elif isinstance(node, ast.Call):
            named = _call_name(analysis, node)
            if named is not None and named[0] in _COMPARING_CALLS:
                operands = ([named[1]] if named[1] is not None else []) + list(node.args)
                if len(operands) == 2:
                    yield operands[0], operands[1]
                    yield operands[1], operands[0]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and depth:
            values = assigned_values(analysis, node)
            if len(values) == 1:
                yield from _comparisons(analysis, values[0], depth - 1)


def _same_value(analysis: Analysis, tested: ast.expr, operand: ast.expr, op: str) -> bool:
    """``tested`` is the op's input: the same expression, its negation (``(-t) ** 0.5`` against
    ``t > 0``), its absolute value (for a division or acos), or a name bound once to it."""
    if isinstance(operand, ast.UnaryOp) and isinstance(operand.op, ast.USub):
        operand = operand.operand
    if op in ("division", "acos", "asin", "arccos", "arcsin", "atanh", "arctanh", "reciprocal"):
        tested = _absolute_of(analysis, tested) or tested
    if _same_expression(tested, operand):
        return True
    for one, other in ((tested, operand), (operand, tested)):
        if isinstance(one, ast.Name):
            values = assigned_values(analysis, one)
            if len(values) == 1 and _same_expression(values[0], other):
                return True
    return False


def _absolute_of(analysis: Analysis, expr: ast.expr) -> ast.expr | None:
    if isinstance(expr, ast.Call):
        named = _call_name(analysis, expr)
        if named is not None and named[0] == "abs":
            operands = ([named[1]] if named[1] is not None else []) + list(expr.args)
            return operands[0] if len(operands) == 1 else None
    return None


def _same_expression(a: ast.expr, b: ast.expr) -> bool:
    return ast.dump(a, annotate_fields=False) == ast.dump(b, annotate_fields=False)


_EDGE_TOLERANCE = 1e-3


def _at_domain_edge(bound: ast.expr, op: str) -> bool:
    """A bound at the edge of the op's domain: 0 (or a small ``eps``) for sqrt, log, powers
    and divisions; -1 for log1p; +-1 for acos, asin, atanh."""
    if _EPSILON.search((dotted(bound) or "").rsplit(".", 1)[-1]) or (isinstance(bound, ast.Attribute) and bound.attr in ("eps", "tiny")):
        return op not in ("log1p",) and op not in _UNIT_DOMAIN
    try:
        value = ast.literal_eval(bound)
    except (ValueError, SyntaxError, TypeError):
        return False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if op == "log1p":
        return abs(value + 1) <= _EDGE_TOLERANCE
    if op in _UNIT_DOMAIN:
        return abs(abs(value) - 1) <= _EDGE_TOLERANCE
    return abs(value) <= _EDGE_TOLERANCE


def _sanitized(analysis: Analysis, expr: ast.expr) -> bool:
    """``torch.where(...)``, ``x.clamp(min=eps)``, ``x + eps``: already kept inside the domain."""
    if isinstance(expr, ast.Call):
        named = _call_name(analysis, expr)
        return named is not None and named[0] in _SANITIZERS
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        for side in (expr.left, expr.right):
            if isinstance(side, ast.Constant) and isinstance(side.value, (int, float)) and side.value > 0:
                return True
            if any(_EPSILON.search(n.split(".")[-1]) for n in names_read(side)):
                return True
    return False


def _may_need_grad(analysis: Analysis, where: ast.Call, operand: ast.expr) -> bool:
    """The input may carry a graph that is backpropagated: in a file with a backward call the
    ``where`` is on its loss path; elsewhere (library code) the input carries a graph (a
    Parameter, a module output), or comes from the parameters of a module's ``forward`` or of
    a loss function."""
    value = analysis.value(operand)
    if value.graph is Graph.NO:
        return False
    if value.graph is Graph.UNKNOWN and _names_data(analysis, operand):
        return False  # log(target) in a KL term: no gradient flows into the targets
    path = loss_path(analysis)
    if path.has_losses:
        return path.on_path(where)  # and its input may carry a graph (not NO)
    if value.graph is Graph.YES:
        return True
    function = analysis.enclosing_function(operand)
    if function is None or not _trained_function(analysis, function, operand):
        return False
    return _from_parameters(analysis, operand)


_DATA_NAME = re.compile(r"target|label|^y_?true$|^gt(_|$)|ground_?truth", re.I)


def _names_data(analysis: Analysis, operand: ast.expr) -> bool:
    """Every variable the input reads is named like the data a loss compares with."""
    names = {n.rsplit(".", 1)[-1] for n in _variables(analysis, operand, depth=0)}
    return bool(names) and all(_DATA_NAME.search(n) for n in names)


_LOSS_FUNCTION = re.compile(r"loss|criterion|objective|likelihood|nll|energy|penalty", re.I)


def _trained_function(analysis: Analysis, function, node: ast.AST) -> bool:
    """A module's ``forward`` or a loss function: what they compute is usually differentiated."""
    cls = analysis.enclosing_class(node)
    if function.name == "forward" and cls is not None and cls.is_module:
        return True
    return bool(_LOSS_FUNCTION.search(function.name))


def _from_parameters(analysis: Analysis, operand: ast.expr) -> bool:
    function = analysis.enclosing_function(operand)
    if function is None:
        return False
    parameters = {a.arg for a in _parameter_names(function)} - _NOT_VARIABLES
    return bool({n.split(".")[0] for n in _variables(analysis, operand)} & parameters)


def _pure(analysis: Analysis, condition: ast.expr) -> bool:
    """Evaluating the condition once more changes nothing: names, constants, comparisons, pure calls."""
    for node in ast.walk(condition):
        if isinstance(node, ast.Call):
            named = _call_name(analysis, node)
            if named is None or named[0] not in _PURE_CALLS:
                return False
        elif isinstance(node, (ast.NamedExpr, ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom, ast.ListComp, ast.GeneratorExp)):
            return False
    return True


# The fix ------------------------------------------------------------------------------------
def _masker(targets: dict[int, tuple[str, bool]], mask) -> cst.CSTTransformer:
    class _Masker(cst.CSTTransformer):  # defined on use: rule modules must not import LibCST at load
        def on_leave(self, original_node, updated_node):  # type: ignore[override]
            target = targets.get(id(original_node))
            if target is None:
                return updated_node
            fill, when_true = target
            return mask(updated_node, fill, when_true)

    return _Masker()


def _bare(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``expr`` without its own parentheses (an argument needs none)."""
    if isinstance(expr, (cst.Tuple, cst.GeneratorExp)) or not getattr(expr, "lpar", None):
        return expr
    return expr.with_changes(lpar=[], rpar=[])


def _double_where(ctx, call: ast.Call, condition: ast.expr, targets) -> Fix | None:
    node = ctx.node_for(call)
    cst_condition = ctx.node_for(condition)
    if not isinstance(node, cst.Call) or cst_condition is None:
        return None
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "where" and _is_method(call):
        torch_name, import_edits = torch_module(ctx)
        where_func: cst.BaseExpression = cst.Attribute(torch_name, cst.Name("where"))
    else:
        where_func, import_edits = node.func, []
    by_node: dict[int, tuple[str, bool]] = {}
    for operand, fill, when_true in targets:
        cst_operand = ctx.node_for(operand)
        if cst_operand is None:
            return None
        by_node[id(cst_operand)] = (fill, when_true)

    def mask(expr, fill, when_true):
        kept, filler = cst.Arg(_bare(expr)), cst.Arg(cst.Float(fill))
        args = [cst.Arg(_bare(cst_condition.deep_clone()))] + ([kept, filler] if when_true else [filler, kept])
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args = [a.with_changes(comma=comma) for a in args[:-1]] + [args[-1]]
        return cst.Call(where_func.deep_clone(), args)

    new = node.visit(_masker(by_node, mask))
    return Fix([(node, new), *import_edits], Applicability.SAFE, "mask the input of the unsafe op with the same condition (double `where`)")


def _is_method(call: ast.Call) -> bool:
    """``t.where(c, y)`` (a tensor method), not ``torch.where(...)`` spelled through a module."""
    return isinstance(call.func, ast.Attribute) and len(call.args) == 2
