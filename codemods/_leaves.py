"""Leaves and the uses of a name: which expressions create a leaf that requires grad, and
where, in one scope, a name is bound, loaded, or used in a way that needs the leaf itself
(``x.grad``, an optimizer's parameter list). ``torch.autograd.grad(y, x)`` and
``backward(inputs=[x])`` work on non-leaves too, so they count as plain loads.

``occurrences(ctx, scope)`` lists every occurrence of every local name of a scope (a
function body or the module body) in source order, without entering nested functions,
classes or lambdas (their loads are recorded separately, as ``nested_loads``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from gradfix.context import FileContext

from ._graph import Carry, flow_for
from ._names import imports, is_false, is_true, keyword

# torch factories that accept ``requires_grad=``.
FACTORIES = {
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace",
    "logspace", "eye", "tensor", "as_tensor", "zeros_like", "ones_like", "empty_like", "full_like",
    "rand_like", "randn_like", "normal", "scalar_tensor", "empty_strided", "asarray",
}

LOAD, STORE, LEAF = "load", "store", "leaf"


def is_factory_with_grad(ctx: FileContext, expr: cst.BaseExpression) -> bool:
    """``torch.randn(..., requires_grad=True)`` (any torch factory) or ``Variable(x, requires_grad=True)``."""
    if not isinstance(expr, cst.Call):
        return False
    qualified = imports(ctx).qualify(expr.func) or ""
    flag = keyword(expr, "requires_grad")
    if flag is None or not is_true(flag.value):
        return False
    if qualified in ("torch.autograd.Variable", "torch.autograd.variable.Variable"):
        return True
    return qualified.startswith("torch.") and qualified.rsplit(".", 1)[-1] in FACTORIES


def is_parameter_call(ctx: FileContext, expr: cst.BaseExpression) -> bool:
    """``nn.Parameter(x)`` (not ``requires_grad=False``)."""
    if not isinstance(expr, cst.Call) or imports(ctx).qualify(expr.func) != "torch.nn.Parameter":
        return False
    flag = keyword(expr, "requires_grad")
    if flag is None and len(expr.args) > 1 and expr.args[1].keyword is None:
        flag = expr.args[1]
    return flag is None or not is_false(flag.value)


def is_leaf_creation(ctx: FileContext, expr: cst.BaseExpression) -> bool:
    """An expression whose value is a fresh leaf tensor that requires grad."""
    if is_factory_with_grad(ctx, expr) or is_parameter_call(ctx, expr):
        return True
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "requires_grad_"
        and (not expr.args or is_true(expr.args[0].value))
    ):
        receiver = expr.func.value
        return flow_for(ctx, expr).carries(receiver, expr) is Carry.NO
    return False


@dataclass
class Occurrence:
    node: cst.Name
    kind: str  # LOAD, STORE or LEAF (``x.grad``, or ``x`` in an optimizer's parameters)
    index: int
    # For ``P = [a, b]``: the name P whose list holds this load (optimizer param lists).
    listed_in: str | None = None


@dataclass
class ScopeNames:
    by_name: dict[str, list[Occurrence]] = field(default_factory=dict)
    nested_loads: set[str] = field(default_factory=set)  # names read by nested defs/lambdas
    unsafe: set[str] = field(default_factory=set)  # global/nonlocal/del/comprehension-bound

    def of(self, name: str) -> list[Occurrence]:
        return self.by_name.get(name, [])


class _Walker:
    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.names = imports(ctx)
        self.result = ScopeNames()
        self.count = 0

    def add(self, node: cst.Name, kind: str, listed_in: str | None = None) -> None:
        self.result.by_name.setdefault(node.value, []).append(Occurrence(node, kind, self.count, listed_in))
        self.count += 1

    # Targets ---------------------------------------------------------------------
    def store(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.add(target, STORE)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.store(element.value)
        elif isinstance(target, cst.StarredElement):
            self.store(target.value)
        else:  # x.attr = ..., x[k] = ...: x itself is read
            self.visit(target, leaf=False)

    # Nodes -----------------------------------------------------------------------
    def visit(self, node: cst.CSTNode, leaf: bool = False, listed_in: str | None = None) -> None:
        if isinstance(node, cst.Name):
            self.add(node, LEAF if leaf else LOAD, listed_in)
            return
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for decorator in node.decorators:
                self.visit(decorator)
            self.add(node.name, STORE)
            self._nested(node.body if isinstance(node, cst.ClassDef) else node)
            return
        if isinstance(node, cst.Lambda):
            self._nested(node)
            return
        if isinstance(node, cst.Assign):
            listed = None
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and isinstance(
                node.value, (cst.List, cst.Tuple)
            ):
                listed = node.targets[0].target.value
            self.visit(node.value, listed_in=listed)
            for target in node.targets:
                self.store(target.target)
            return
        if isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.visit(node.value)
            self.store(node.target)
            return
        if isinstance(node, cst.AugAssign):
            self.visit(node.value)
            if isinstance(node.target, cst.Name):
                self.add(node.target, STORE)
            else:
                self.visit(node.target)
            return
        if isinstance(node, cst.For):
            self.visit(node.iter)
            self.store(node.target)
            self.visit(node.body)
            if node.orelse is not None:
                self.visit(node.orelse)
            return
        if isinstance(node, cst.WithItem):
            self.visit(node.item)
            if node.asname is not None:
                self.store(node.asname.name)
            return
        if isinstance(node, cst.NamedExpr):
            self.visit(node.value)
            self.store(node.target)
            return
        if isinstance(node, cst.CompFor):
            self.visit(node.iter)
            for name in _target_names(node.target):
                self.result.unsafe.add(name)
            self.store(node.target)
            for condition in node.ifs:
                self.visit(condition)
            if node.inner_for_in is not None:
                self.visit(node.inner_for_in)
            return
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            self.visit(node.for_in)
            self.visit(node.elt)
            return
        if isinstance(node, cst.DictComp):
            self.visit(node.for_in)
            self.visit(node.key)
            self.visit(node.value)
            return
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            for item in node.names:
                self.result.unsafe.add(item.name.value)
            return
        if isinstance(node, cst.Del):
            for name in _target_names(node.target):
                self.result.unsafe.add(name)
            self.visit(node.target)
            return
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        self.add(alias.asname.name, STORE)
                    elif isinstance(alias.name, cst.Name):
                        self.add(alias.name, STORE)
            return
        if isinstance(node, cst.ExceptHandler):
            if node.type is not None:
                self.visit(node.type)
            if node.name is not None:
                self.store(node.name.name)
            self.visit(node.body)
            return
        if isinstance(node, cst.Attribute):
            value = node.value
            if isinstance(value, cst.Name) and node.attr.value == "grad":
                self.add(value, LEAF)
            else:
                self.visit(value, leaf, listed_in)
            return
        if isinstance(node, cst.Arg):
            self.visit(node.value, leaf, listed_in)
            return
        if isinstance(node, cst.Call):
            self._call(node, leaf, listed_in)
            return
        if isinstance(node, (cst.Element, cst.StarredElement, cst.DictElement)) or isinstance(node, (cst.List, cst.Tuple)):
            for child in node.children:
                self.visit(child, leaf, listed_in)
            return
        if isinstance(node, (cst.Dict, cst.Set)):
            for child in node.children:
                self.visit(child, leaf, listed_in)
            return
        for child in node.children:
            self.visit(child, leaf)

    def _call(self, call: cst.Call, leaf: bool, listed_in: str | None) -> None:
        qualified = self.names.qualify(call.func) or ""
        self.visit(call.func, False)
        for arg in call.args:
            needs_leaf = leaf
            if qualified.startswith("torch.optim.") and qualified.rsplit(".", 1)[-1][:1].isupper():
                needs_leaf = True
            self.visit(arg.value, needs_leaf, listed_in if not needs_leaf else None)

    def _nested(self, node: cst.CSTNode) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Name):
                self.result.nested_loads.add(current.value)
            stack.extend(current.children)


def _target_names(target: cst.CSTNode) -> list[str]:
    out: list[str] = []
    stack = [target]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            out.append(current.value)
        elif isinstance(current, (cst.Tuple, cst.List, cst.StarredElement, cst.Element, cst.Del)):
            stack.extend(current.children)
    return out


def _build(ctx: FileContext, scope: cst.Module | cst.FunctionDef) -> ScopeNames:
    walker = _Walker(ctx)
    body = scope.body if isinstance(scope, cst.FunctionDef) else scope
    walker.visit(body)
    result = walker.result
    # A name in ``params = [w, b]`` needs the leaf when ``params`` later does.
    for occurrences in result.by_name.values():
        for occ in occurrences:
            if occ.kind == LOAD and occ.listed_in is not None:
                if any(o.kind == LEAF and o.index > occ.index for o in result.of(occ.listed_in)):
                    occ.kind = LEAF
    return result


def occurrences(ctx: FileContext, scope: cst.Module | cst.FunctionDef) -> ScopeNames:
    return ctx.cached(("leaves.occurrences", id(scope)), lambda: _build(ctx, scope))


def name_ids_in(node: cst.CSTNode) -> set[int]:
    """Identities of every Name node inside ``node``."""
    out: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            out.add(id(current))
        stack.extend(current.children)
    return out


def span(occs: list[Occurrence], inside: set[int]) -> tuple[int, int]:
    """The first and last index of the occurrences whose node is inside a statement."""
    indexes = [o.index for o in occs if id(o.node) in inside]
    return (min(indexes), max(indexes)) if indexes else (-1, -1)


def all_names(ctx: FileContext) -> set[str]:
    """Every identifier spelled anywhere in the file (to pick names that collide with none)."""

    def build() -> set[str]:
        out: set[str] = set()
        stack: list[cst.CSTNode] = [ctx.module]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Name):
                out.add(current.value)
            stack.extend(current.children)
        return out

    return ctx.cached("leaves.all_names", build)


def fresh_name(ctx: FileContext, base: str, taken: set[str] | None = None) -> str:
    used = all_names(ctx) | (taken or set())
    if base not in used:
        return base
    n = 2
    while f"{base}{n}" in used:
        n += 1
    return f"{base}{n}"
