"""PyTensor / Theano code on CPython's ``ast``: ``scan`` calls and their step functions, the
random streams a file binds, and the draws a step makes (directly or through a helper).

Symbolic-loop rules read these facts; the torch value analysis does not model them. Names
are resolved the way the file binds them: a function or stream bound in this file, or
``None`` (unknown), so a rule stays precise. The name queries at the end (which names a
function binds, every identifier under a node, a fresh name) serve rewrites that add names.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterator

from ._values import Analysis, dotted

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

SCAN_PARAMETERS = ["fn", "sequences", "outputs_info", "non_sequences", "n_steps"]
Function = ast.FunctionDef | ast.AsyncFunctionDef
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class ScanCall:
    """One ``scan(...)`` call and its arguments by parameter name (positional ones too)."""

    call: ast.Call
    args: dict[str, ast.expr] = field(default_factory=dict)

    def value(self, name: str) -> ast.expr | None:
        return self.args.get(name)


def scan_arguments(call: ast.Call) -> dict[str, ast.expr]:
    args: dict[str, ast.expr] = {}
    for index, arg in enumerate(call.args):
        if not isinstance(arg, ast.Starred) and index < len(SCAN_PARAMETERS):
            args[SCAN_PARAMETERS[index]] = arg
    for keyword in call.keywords:
        if keyword.arg is not None:
            args[keyword.arg] = keyword.value
    return args


def preorder(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and every node below it, parents first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(ast.iter_child_nodes(current))))


def evaluation_order(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and the nodes below it in the order Python finishes evaluating them: children
    before their parent (``b(a(h))`` calls ``a`` first), an assignment's value before its targets."""
    stack: list[tuple[ast.AST, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            yield current
            continue
        children = list(ast.iter_child_nodes(current))
        if isinstance(current, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr)) and current.value is not None:
            children = [current.value, *(c for c in children if c is not current.value)]
        stack.append((current, True))
        stack.extend((child, False) for child in reversed(children))


def list_items(expr: ast.AST | None) -> list[ast.expr] | None:
    """The elements of a list/tuple literal (None if not one, or if one is starred)."""
    if not isinstance(expr, (ast.List, ast.Tuple)) or any(isinstance(e, ast.Starred) for e in expr.elts):
        return None
    return list(expr.elts)


@dataclass
class Stream:
    """Where a random stream object is bound: ``srng = RandomStream(...)`` or ``self.srng = ...``."""

    reference: str  # "srng" or "self.srng"
    qualified: str  # the stream class
    statement: ast.Assign
    function: Function | None  # where it is bound (None: module level)

    @property
    def constructor(self) -> ast.Call:
        return self.statement.value  # type: ignore[return-value]

    @property
    def size_style(self) -> str:
        return STREAM_CLASSES[self.qualified]


@dataclass
class Draw:
    call: ast.Call
    method: str
    stream: Stream
    function: Function  # the function whose body makes the draw


class ScanFacts:
    """The scans, functions and random streams of one file."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.streams: list[Stream] = []
        for node in analysis.nodes(ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.value, ast.Call):  # type: ignore[attr-defined]
                continue
            qualified = analysis.qualify(node.value.func)  # type: ignore[attr-defined]
            reference = dotted(node.targets[0])  # type: ignore[attr-defined]
            if qualified in STREAM_CLASSES and reference is not None:
                self.streams.append(Stream(reference, qualified, node, analysis.enclosing_function(node)))  # type: ignore[arg-type]

    def scan_calls(self) -> list[ScanCall]:
        found = [c for c in self.analysis.calls() if self.analysis.qualify(c.func) in SCAN_FUNCTIONS]
        found.sort(key=lambda c: (c.lineno, c.col_offset))
        return [ScanCall(call, scan_arguments(call)) for call in found]

    # Functions --------------------------------------------------------------------------
    def nearest_class(self, node: ast.AST) -> ast.ClassDef | None:
        return next((a for a in self.analysis.ancestors(node) if isinstance(a, ast.ClassDef)), None)

    def resolve_function(self, expr: ast.AST, at: ast.AST) -> Function | None:
        """The ``def`` that ``expr`` names where it is used: a local or module-level function
        for ``f``, a method of the enclosing class for ``self.f``."""
        if isinstance(expr, ast.Name):
            scopes = [a for a in self.analysis.ancestors(at) if isinstance(a, FUNCTIONS)] + [self.analysis.tree]
            for scope in scopes:
                for statement in scope.body:
                    if isinstance(statement, FUNCTIONS) and statement.name == expr.id:
                        return statement
            return None
        name = dotted(expr)
        if name is not None and name.count(".") == 1 and name.startswith("self."):
            cls = self.nearest_class(at)
            for statement in cls.body if cls is not None else []:
                if isinstance(statement, FUNCTIONS) and statement.name == name[5:]:
                    return statement
        return None

    def is_method(self, function: Function) -> bool:
        return isinstance(self.analysis.parent(function), ast.ClassDef)

    def helper_calls(self, function: Function) -> list[tuple[ast.Call, Function]]:
        """Calls in ``function`` of functions (or ``self.`` methods) of this file, in the order they run."""
        found = []
        for node in _body_in_evaluation_order(function):
            if isinstance(node, ast.Call):
                target = self.resolve_function(node.func, node)
                if target is not None and target is not function:
                    found.append((node, target))
        return found

    # Streams and draws ------------------------------------------------------------------
    def resolve_stream(self, expr: ast.AST) -> Stream | None:
        """The stream ``expr`` refers to at its position, if it was bound in this file."""
        reference = dotted(expr)
        if reference is None:
            return None
        candidates = [s for s in self.streams if s.reference == reference]
        if reference.startswith("self."):
            cls = self.nearest_class(expr)
            matches = [s for s in candidates if s.function is not None and self.nearest_class(s.function) is cls]
            return matches[0] if len(matches) == 1 else None
        if "." in reference:
            return None
        # The nearest function scope that binds the name, else the module.
        for scope in self.analysis.ancestors(expr):
            if isinstance(scope, FUNCTIONS) and reference in bound_names(scope):
                matches = [s for s in candidates if s.function is scope]
                return matches[0] if len(matches) == 1 else None
        matches = [s for s in candidates if s.function is None]
        return matches[0] if len(matches) == 1 else None

    def drawn_stream(self, node: ast.AST) -> Stream | None:
        """The stream ``node`` draws from, when it is a draw like ``srng.normal(...)``."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DRAW_METHODS:
            return self.resolve_stream(node.func.value)
        return None

    def draws_in(self, function: Function) -> list[Draw]:
        """Draws from a known stream in ``function``'s body (nested functions included), in
        the order they are made: each makes its stream's next random variable, so the order
        decides the numbers."""
        draws = []
        for node in _body_in_evaluation_order(function):
            stream = self.drawn_stream(node)
            if stream is not None:
                draws.append(Draw(node, node.func.attr, stream, function))  # type: ignore[attr-defined, arg-type]
        return draws


def _body_preorder(function: Function) -> Iterator[ast.AST]:
    for statement in function.body:
        yield from preorder(statement)


def _body_in_evaluation_order(function: Function) -> Iterator[ast.AST]:
    for statement in function.body:
        yield from evaluation_order(statement)


# Names ----------------------------------------------------------------------------------
def parameters(function: Function | ast.Lambda) -> list[ast.arg]:
    args = function.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a is not None)]


def bound_names(function: Function) -> set[str]:
    """Names ``function`` binds: its parameters, and every name stored, defined or imported
    in its body (nested scopes included: a conservative over-approximation)."""
    bound = {a.arg for a in parameters(function)}
    for node in _body_preorder(function):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _own_identifiers(node: ast.AST) -> list[str]:
    """The identifiers ``node`` itself spells (not those of its children)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.keyword):
        return [node.arg] if node.arg else []
    if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.alias):
        return [*node.name.split("."), *([node.asname] if node.asname else [])]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    return []


def identifier_uses(node: ast.AST) -> list[str]:
    """Every identifier written under ``node``: names, attribute and keyword names,
    parameters, definitions, imports, ``global`` lists (one entry per occurrence)."""
    return [name for current in preorder(node) for name in _own_identifiers(current)]


def identifiers(node: ast.AST, skip: Function | None = None) -> set[str]:
    """Every identifier under ``node``; inside ``skip`` only those it does not bind (its
    locals do not block a name chosen outside it)."""
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current is skip:
            names |= set(identifier_uses(current)) - bound_names(current)
            continue
        names.update(_own_identifiers(current))
        stack.extend(ast.iter_child_nodes(current))
    return names


def fresh_name(base: str, taken: set[str]) -> str:
    name, index = base, 2
    while name in taken:
        name, index = f"{base}_{index}", index + 1
    return name


def free_names(expr: ast.AST) -> set[str]:
    """Names ``expr`` reads (the heads of attribute chains)."""
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
