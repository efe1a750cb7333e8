"""Static tensor ranks and lengths, where the code states them.

Enough to tell a 0-d element (``a[0] * 2`` of a 1-D Parameter, ``loss.sum()``) from one of
unknown shape, and the length of a 1-D tensor built as ``torch.zeros([3])``. Anything the
code does not spell out is ``None`` (unknown): rules then choose the shape-agnostic rewrite.
"""

from __future__ import annotations

import libcst as cst

from gradfix.context import FileContext

from ._graph import scope_of
from ._names import dotted_name, imports
from ._scopes import class_facts, enclosing_class

_CREATORS_BY_SIZE = {"zeros", "ones", "empty", "rand", "randn", "full"}
_ELEMENTWISE = {
    "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "abs", "sin", "cos",
    "softplus", "neg", "square", "clamp", "clip", "pow", "mul", "div", "add", "sub", "erf", "gelu",
    "silu", "elu", "leaky_relu", "float", "double", "half", "clone", "to", "contiguous", "cpu", "cuda",
    "exp2", "log2", "log10", "reciprocal", "sign", "floor", "ceil", "round", "tan", "atan", "asin", "acos",
}
_REDUCTIONS = {"sum", "mean", "prod", "norm", "max", "min", "std", "var", "logsumexp", "amax", "amin", "median", "item"}


def int_literal(expr: cst.BaseExpression) -> int | None:
    """The value of ``3`` or ``-3``, else None."""
    if isinstance(expr, cst.Integer):
        return int(expr.value, 0)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(expr.expression, cst.Integer):
        return -int(expr.expression.value, 0)
    return None


def _size_args(call: cst.Call) -> list[int] | None:
    """The sizes of ``torch.zeros(3)``, ``torch.zeros([3])``, ``torch.zeros(2, 3)``, ``torch.zeros((2,3))``."""
    positional = [a.value for a in call.args if a.keyword is None]
    if call.args and call.args[0].keyword is None and isinstance(call.args[0].value, (cst.List, cst.Tuple)):
        positional = [e.value for e in call.args[0].value.elements]
    if "full" in (dotted_name(call.func) or "") and positional:
        positional = positional[:1]
        if isinstance(positional[0], (cst.List, cst.Tuple)):
            positional = [e.value for e in positional[0].elements]
    sizes = [int_literal(p) for p in positional]
    if not sizes or any(s is None for s in sizes):
        return None
    return sizes  # type: ignore[return-value]


class Shapes:
    """Shapes (as lists of ints, or None when unknown) of expressions in one file."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.names = imports(ctx)
        self._assignments: dict[int, tuple] = {}

    def _scope_assignments(self, scope) -> tuple[dict[str, list[tuple[int, cst.BaseExpression]]], dict[int, int]]:
        """name -> [(statement order, value)], and statement id -> order, in source order."""
        key = id(scope)
        if key not in self._assignments:
            found: dict[str, list[tuple[int, cst.BaseExpression]]] = {}
            order: dict[int, int] = {}
            unknown = cst.Name("__unknown__")

            def walk(node: cst.CSTNode) -> None:
                if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node is not scope:
                    return
                if isinstance(node, cst.BaseExpression):
                    return
                if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                    order[id(node)] = len(order)
                index = len(order) - 1
                if isinstance(node, cst.Assign):
                    for target in node.targets:
                        name = dotted_name(target.target)
                        if name is not None:
                            found.setdefault(name, []).append((index, node.value))
                        elif isinstance(target.target, (cst.Tuple, cst.List)):
                            for element in target.target.elements:
                                inner = dotted_name(element.value)
                                if inner is not None:
                                    found.setdefault(inner, []).append((index, unknown))
                elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.For)):
                    name = dotted_name(node.target)
                    if name is not None:
                        value = node.value if isinstance(node, cst.AnnAssign) and node.value is not None else unknown
                        found.setdefault(name, []).append((index, value))
                for child in node.children:
                    walk(child)

            walk(scope)
            self._assignments[key] = (found, order)
        return self._assignments[key]

    def binding_before(self, name: str, at: cst.CSTNode) -> cst.BaseExpression | None:
        """The value last assigned to ``name`` before the statement holding ``at``."""
        found, order = self._scope_assignments(scope_of(self.ctx, at))
        position = None
        current: cst.CSTNode | None = at
        while current is not None and position is None:
            position = order.get(id(current))
            current = self.ctx.parent(current)
        earlier = [value for index, value in found.get(name, []) if position is None or index < position]
        return earlier[-1] if earlier else None

    def shape(self, expr: cst.BaseExpression, at: cst.CSTNode, depth: int = 0) -> list[int] | None:
        if depth > 12:
            return None
        if isinstance(expr, (cst.Integer, cst.Float)):
            return []
        if isinstance(expr, (cst.Name, cst.Attribute)):
            return self._named(expr, at, depth)
        if isinstance(expr, cst.Subscript):
            return self._subscript(expr, at, depth)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.MatrixMultiply):
                return None
            return _broadcast(self.shape(expr.left, at, depth + 1), self.shape(expr.right, at, depth + 1))
        if isinstance(expr, cst.UnaryOperation):
            return self.shape(expr.expression, at, depth + 1)
        if isinstance(expr, cst.Call):
            return self._call(expr, at, depth)
        return None

    def _named(self, expr, at, depth) -> list[int] | None:
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        if dotted.startswith("self.") and dotted.count(".") == 1:
            cls = enclosing_class(self.ctx, at)
            if cls is not None:
                facts = class_facts(self.ctx, cls)
                declaration = facts.parameters.get(dotted[5:]) or facts.buffers.get(dotted[5:])
                if declaration is not None and declaration.init is not None:
                    return self.shape(declaration.init, declaration.small, depth + 1)
                value = facts.attributes.get(dotted[5:])
                return None if value is None else self.shape(value, value, depth + 1)
        value = self.binding_before(dotted, at)
        return None if value is None else self.shape(value, value, depth + 1)

    def _subscript(self, expr: cst.Subscript, at, depth) -> list[int] | None:
        base = self.shape(expr.value, at, depth + 1)
        if base is None or len(expr.slice) != 1:
            return None
        index = expr.slice[0].slice
        if isinstance(index, cst.Index) and int_literal(index.value) is not None and base:
            return base[1:]
        return None

    def _call(self, call: cst.Call, at, depth) -> list[int] | None:
        qualified = self.names.qualify(call.func)
        if qualified is not None and qualified.startswith("torch."):
            last = qualified.rsplit(".", 1)[-1]
            if last in _CREATORS_BY_SIZE:
                return _size_args(call)
            if last in ("tensor", "as_tensor", "Tensor") and call.args and isinstance(call.args[0].value, (cst.List, cst.Tuple)):
                elements = call.args[0].value.elements
                if all(isinstance(e.value, (cst.Integer, cst.Float, cst.UnaryOperation)) for e in elements):
                    return [len(elements)]
            if last == "Parameter" and call.args:
                return self.shape(call.args[0].value, at, depth + 1)
            if last in _ELEMENTWISE and call.args:
                return self.shape(call.args[0].value, at, depth + 1)
            if last in _REDUCTIONS and len([a for a in call.args if a.keyword is None]) == 1 and not any(a.keyword for a in call.args):
                return []
            if last == "stack" and call.args and isinstance(call.args[0].value, (cst.List, cst.Tuple)) and len(call.args) == 1:
                elements = call.args[0].value.elements
                inner = self.shape(elements[0].value, at, depth + 1) if elements else None
                return None if inner is None else [len(elements), *inner]
            return None
        if isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            if method in _REDUCTIONS and not call.args:
                return []
            if method in _ELEMENTWISE and method not in ("to",):
                return self.shape(call.func.value, at, depth + 1)
        return None


def _broadcast(a: list[int] | None, b: list[int] | None) -> list[int] | None:
    if a is None or b is None:
        return None
    if len(a) < len(b):
        a, b = b, a
    b = [1] * (len(a) - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return out


def shapes(ctx: FileContext) -> Shapes:
    return ctx.cached(Shapes, lambda: Shapes(ctx))
