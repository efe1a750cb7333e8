"""PyTensor / Theano ``scan``: its arguments, its step function, and the random draws the
step makes (directly or through a helper it calls).

Shared by the rules about symbolic loops. Everything here is syntactic and scope-blind in
the way ``_names`` is: a name is resolved to the function or stream it was bound to in this
file, and anything less certain is reported as unknown (``None``) so rules stay precise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from gradfix.context import FileContext

from ._names import dotted_name, imports
from ._scopes import enclosing_class, enclosing_function

SCAN_FUNCTIONS = {
    "pytensor.scan",
    "pytensor.scan.scan",
    "pytensor.scan.basic.scan",
    "theano.scan",
    "theano.scan_module.scan",
    "theano.scan.scan",
    "theano.scan.basic.scan",
}

# Random stream classes, and how their draw methods take the size: "keyword" (PyTensor's
# ``normal(loc, scale, size=...)``) or "first" (Theano's ``normal(size, avg, std)``).
STREAM_CLASSES = {
    "pytensor.tensor.random.utils.RandomStream": "keyword",
    "pytensor.tensor.random.RandomStream": "keyword",
    "theano.tensor.random.utils.RandomStream": "keyword",
    "theano.tensor.shared_randomstreams.RandomStreams": "first",
    "theano.sandbox.rng_mrg.MRG_RandomStreams": "first",
}
MRG_STREAMS = {"theano.sandbox.rng_mrg.MRG_RandomStreams"}

DRAW_METHODS = {
    "normal", "uniform", "binomial", "multinomial", "choice", "permutation", "poisson",
    "gamma", "beta", "exponential", "random_integers", "integers", "truncated_normal",
    "standard_normal", "bernoulli", "categorical", "laplace", "logistic", "lognormal",
}

_SCAN_PARAMS = ["fn", "sequences", "outputs_info", "non_sequences", "n_steps"]


@dataclass
class ScanCall:
    """One ``scan(...)`` call and its arguments (``None`` where absent)."""

    call: cst.Call
    args: dict[str, cst.Arg] = field(default_factory=dict)

    def value(self, name: str) -> cst.BaseExpression | None:
        arg = self.args.get(name)
        return arg.value if arg is not None else None


def scan_calls(ctx: FileContext) -> list[ScanCall]:
    names = imports(ctx)
    found = []
    for node in preorder(ctx.module):
        if isinstance(node, cst.Call) and names.qualify(node.func) in SCAN_FUNCTIONS:
            found.append(_scan_call(node))
    return found


def _scan_call(call: cst.Call) -> ScanCall:
    scan = ScanCall(call)
    for index, arg in enumerate(call.args):
        if arg.keyword is not None:
            scan.args[arg.keyword.value] = arg
        elif arg.star == "" and index < len(_SCAN_PARAMS):
            scan.args[_SCAN_PARAMS[index]] = arg
    return scan


def list_items(expr: cst.BaseExpression | None) -> list[cst.BaseExpression] | None:
    """The elements of a list/tuple literal (None if not one, or if one is starred)."""
    if not isinstance(expr, (cst.List, cst.Tuple)):
        return None
    items = []
    for element in expr.elements:
        if isinstance(element, cst.StarredElement):
            return None
        items.append(element.value)
    return items


# Functions ------------------------------------------------------------------------------
def resolve_function(ctx: FileContext, expr: cst.BaseExpression, at: cst.CSTNode) -> cst.FunctionDef | None:
    """The ``def`` that ``expr`` names where it is used: a local or module-level function
    for ``f``, a method of the enclosing class for ``self.f``."""
    if isinstance(expr, cst.Name):
        scopes = [a for a in ctx.ancestors(at) if isinstance(a, cst.FunctionDef)] + [ctx.module]
        for scope in scopes:
            body = scope.body.body if isinstance(scope, cst.FunctionDef) else scope.body
            for statement in body:
                if isinstance(statement, cst.FunctionDef) and statement.name.value == expr.value:
                    return statement
        return None
    if dotted_name(expr) is not None and dotted_name(expr).count(".") == 1 and dotted_name(expr).startswith("self."):
        cls = enclosing_class(ctx, at)
        if cls is None:
            return None
        for statement in cls.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == expr.attr.value:  # type: ignore[attr-defined]
                return statement
    return None


def is_method(ctx: FileContext, func: cst.FunctionDef) -> bool:
    parent = ctx.parent(ctx.parent(func))  # IndentedBlock -> ClassDef
    return isinstance(parent, cst.ClassDef)


def bound_names(func: cst.FunctionDef) -> set[str]:
    """Names a function binds locally: parameters, assignment and loop targets, imports."""
    bound = {p.name.value for p in _all_params(func.params)}
    for node in preorder(func.body):
        if isinstance(node, cst.FunctionDef):
            bound.add(node.name.value)
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        elif isinstance(node, (cst.For, cst.CompFor)):
            targets = [node.target]
        elif isinstance(node, cst.AsName):
            targets = [node.name]
        for target in targets:
            for sub in preorder(target):
                if isinstance(sub, cst.Name):
                    bound.add(sub.value)
    return bound


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    out = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            out.append(star)
    return out


def free_names(expr: cst.CSTNode) -> set[str]:
    """Names read by ``expr`` (the heads of attribute chains, not attribute names)."""
    names: set[str] = set()
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            names.add(node.value)
        elif isinstance(node, cst.Attribute):
            stack.append(node.value)
        elif isinstance(node, cst.Arg):
            stack.append(node.value)  # not the keyword
        else:
            stack.extend(node.children)
    return names


def all_names(node: cst.CSTNode, skip: cst.FunctionDef | None = None) -> set[str]:
    """Every identifier below ``node``; inside ``skip`` only the names it does not bind."""
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current is skip:
            names |= all_names(current) - bound_names(current)
            continue
        if isinstance(current, cst.Name):
            names.add(current.value)
        stack.extend(current.children)
    return names


def fresh_name(base: str, taken: set[str]) -> str:
    name, index = base, 2
    while name in taken:
        name, index = f"{base}_{index}", index + 1
    return name


# Random streams and draws -------------------------------------------------------------
@dataclass
class Stream:
    """Where a random stream object is bound: ``srng = RandomStream(...)`` or ``self.srng = ...``."""

    reference: str  # "srng" or "self.srng"
    qualified: str  # the stream class
    constructor: cst.Call
    statement: cst.CSTNode  # the SimpleStatementLine binding it
    function: cst.FunctionDef | None  # where it is bound (None: module level)

    @property
    def size_style(self) -> str:
        return STREAM_CLASSES[self.qualified]


@dataclass
class Draw:
    call: cst.Call
    method: str
    stream: Stream
    function: cst.FunctionDef  # the function whose body makes the draw


def _stream_bindings(ctx: FileContext) -> list[Stream]:
    names = imports(ctx)
    streams = []
    for node in preorder(ctx.module):
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call)):
                continue
            qualified = names.qualify(small.value.func)
            reference = dotted_name(small.targets[0].target)
            if qualified in STREAM_CLASSES and reference is not None:
                streams.append(Stream(reference, qualified, small.value, node, enclosing_function(ctx, node)))
    return streams


def stream_bindings(ctx: FileContext) -> list[Stream]:
    return ctx.cached("pt_stream_bindings", lambda: _stream_bindings(ctx))


def resolve_stream(ctx: FileContext, expr: cst.BaseExpression) -> Stream | None:
    """The stream ``expr`` refers to at its position, if it was bound in this file."""
    reference = dotted_name(expr)
    if reference is None:
        return None
    candidates = [s for s in stream_bindings(ctx) if s.reference == reference]
    if reference.startswith("self."):
        cls = enclosing_class(ctx, expr)
        matches = [s for s in candidates if s.function is not None and enclosing_class(ctx, s.function) is cls]
        return matches[0] if len(matches) == 1 else None
    if "." in reference:
        return None
    # The nearest function scope that binds the name, else the module.
    for scope in [a for a in ctx.ancestors(expr) if isinstance(a, cst.FunctionDef)]:
        if reference in bound_names(scope):
            matches = [s for s in candidates if s.function is scope]
            return matches[0] if len(matches) == 1 else None
    matches = [s for s in candidates if s.function is None]
    return matches[0] if len(matches) == 1 else None


def draws_in(ctx: FileContext, func: cst.FunctionDef) -> list[Draw]:
    """Draws from a known random stream in ``func``'s body (nested functions included), in
    source order."""
    draws = []
    for node in preorder(func.body):
        stream = drawn_stream(ctx, node)
        if stream is not None:
            draws.append(Draw(node, node.func.attr.value, stream, func))  # type: ignore[attr-defined]
    return draws


def drawn_stream(ctx: FileContext, node: cst.CSTNode) -> Stream | None:
    """The stream ``node`` draws from, when it is a draw like ``srng.normal(...)``."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in DRAW_METHODS:
        return resolve_stream(ctx, node.func.value)
    return None


def helper_calls(ctx: FileContext, func: cst.FunctionDef) -> list[tuple[cst.Call, cst.FunctionDef]]:
    """Calls in ``func`` to functions (or ``self.`` methods) defined in this file, in source order."""
    found = []
    for node in preorder(func.body):
        if isinstance(node, cst.Call):
            target = resolve_function(ctx, node.func, node)
            if target is not None and target is not func:
                found.append((node, target))
    return found


def preorder(node: cst.CSTNode):
    """Every node below ``node`` (itself included), parents before children, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
