"""Cheap looks at CPython's ``ast`` tree for the quick checks of GF103 (and GF101): whether a
name or ``a.b`` attribute may hold a tensor at a statement (``Value.is_tensor`` of the value
analysis), from the bindings the file makes of it. Each answer is a necessary condition of
what the analysis can find: True whenever the analysis might say "a tensor"; False only when
every binding it reads gives something else (a list, dict, set or tuple display, a
comprehension, a literal, a builtin such as ``dict()``, a call of a non-torch library).

How the analysis makes a name a tensor, and what this module therefore looks at:

- an assignment, ``for``/``with``/comprehension target, walrus or augmented assignment in
  the name's scope (its function, or the module: a function reads a module global when no
  binding of its own reaches the statement), or in any scope for ``a.b`` (``self.x`` set in
  one method is seen in the others; ``obj.x`` of a class of the file too);
- a function parameter: what the annotation says (``Tensor``) joined with what the file's
  callers pass (a parameter of a function the file never names is unknown, not a tensor);
- ``x.requires_grad = ...``, ``x.requires_grad_()``, ``x.detach_()`` (and other ``x.m_()``),
  ``self.register_buffer("x", ...)``/``register_parameter``;
- attributes the analysis knows by name: a module's ``weight``/``bias``, a tensor's ``.T``,
  ``.data``, ``.grad``, a distribution's ``mean``, a property getter.

Computed once per tree for the names asked about (one pass over the binding nodes).
"""

from __future__ import annotations

import ast

from ._ast import bound_names, imports_of, is_named, nodes_of, parents_of
from ._values import dotted

_MAYBE = None  # a binding whose value may be a tensor

_CONTAINER_DISPLAYS = (ast.List, ast.ListComp, ast.Tuple, ast.Dict, ast.DictComp, ast.Set, ast.SetComp, ast.GeneratorExp, ast.JoinedStr, ast.Lambda)
# Builtins the analysis gives a non-tensor kind (``_builtin``) when the file does not bind the name.
_NON_TENSOR_BUILTINS = frozenset({
    "list", "dict", "set", "tuple", "sorted", "reversed", "iter", "range", "zip", "enumerate", "len", "id", "hash",
    "ord", "round", "divmod", "pow", "int", "float", "complex", "bool", "isinstance", "issubclass", "callable",
    "hasattr", "all", "any", "str", "repr", "format", "chr", "print", "setattr", "delattr",
})
# Attributes the analysis may make a tensor without any binding of them.
_KNOWN_ATTRIBUTES = frozenset({
    "weight", "bias", "data", "grad", "T", "mT", "H", "mH", "real", "imag",
    "mean", "stddev", "variance", "loc", "scale", "probs", "logits", "mode",
})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Methods the analysis passes arguments to without the file naming them: a module's
# `forward` (``module(x)``) and a class's `__init__` (``Class(x)``).
_CALLED_UNNAMED = frozenset({"forward", "__init__"})


def scope_of(tree: ast.Module, node: ast.AST) -> ast.AST:
    """The function, lambda, class body or module whose environment ``node`` is in."""
    parents = parents_of(tree)
    scope = parents.get(id(node))
    while scope is not None and not isinstance(scope, _SCOPES):
        scope = parents.get(id(scope))
    return scope if scope is not None else tree


def never_tensor(tree: ast.Module, value: ast.expr) -> bool:
    """Whether the analysis never makes ``value`` a tensor, nor a value whose joins with a
    tensor are one (``None`` joined with a tensor is an optional tensor: not ``is_tensor``)."""
    if isinstance(value, _CONTAINER_DISPLAYS):
        return True
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.BinOp):
        # A tensor only when one side is a tensor; a display on either side makes it a
        # container or unknown (``[0] * n``, ``t * [1]``).
        left, right = value.left, value.right
        if isinstance(left, _CONTAINER_DISPLAYS) or isinstance(right, _CONTAINER_DISPLAYS):
            return True
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            return True
        return never_tensor(tree, left) and never_tensor(tree, right)
    if isinstance(value, ast.IfExp):
        return never_tensor(tree, value.body) or never_tensor(tree, value.orelse)
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Name) and func.id in _NON_TENSOR_BUILTINS:
            return func.id not in bound_names(tree, imports=False) and func.id not in imports_of(tree).aliases
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id not in bound_names(tree, imports=False):
            qualified = imports_of(tree).qualify(func)
            # `_library_call`: a name from outside torch gives an unknown, ndarray or number.
            return qualified is not None and qualified != "torch" and not qualified.startswith("torch.")
    return False


class _Bindings:
    """The bindings of the names and attributes asked about, by key: a name's by scope
    (``(id(scope), name)``), an attribute's by its last part (``("." , attr)``, every scope),
    each the bound expression or ``_MAYBE``."""

    def __init__(self, tree: ast.Module, names: "set[str]", attributes: "set[str]") -> None:
        self.tree = tree
        self.found: dict[tuple, list] = {}
        self.names, self.attributes = names, attributes
        for node in nodes_of(tree, ast.Assign):
            for target in node.targets:
                self._target(node, target, node.value)
        for node in nodes_of(tree, ast.AnnAssign):
            if node.value is not None:
                self._target(node, node.target, node.value)
        for node in nodes_of(tree, ast.NamedExpr):
            self._target(node, node.target, node.value)
        for node in nodes_of(tree, ast.AugAssign):
            self._target(node, node.target, _MAYBE)
        for node in nodes_of(tree, ast.For, ast.AsyncFor, ast.comprehension):
            self._target(node, node.target, _MAYBE)
        for node in nodes_of(tree, ast.withitem):
            if node.optional_vars is not None:
                self._target(node, node.optional_vars, _MAYBE)
        for node in nodes_of(tree, ast.Global, ast.Nonlocal):
            for name in node.names:
                if name in names:
                    self._add((0, name), _MAYBE)  # any scope: the module's too
        for node in nodes_of(tree, ast.Attribute):
            store = isinstance(node.ctx, ast.Store) and node.attr == "requires_grad"
            if store or node.attr.endswith("_") or node.attr in ("register_buffer", "register_parameter"):
                self._by_method(node, store)

    def _add(self, key: tuple, value) -> None:
        self.found.setdefault(key, []).append(value)

    def _target(self, node: ast.AST, target: ast.AST, value) -> None:
        if isinstance(target, ast.Name):
            if target.id in self.names:
                self._add((id(scope_of(self.tree, node)), target.id), value)
        elif isinstance(target, ast.Attribute):
            if target.attr in self.attributes:
                self._add((".", target.attr), value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(node, element, _MAYBE)
        elif isinstance(target, ast.Starred):
            self._target(node, target.value, _MAYBE)
        # `x[k] = v` keeps the kind of x: no binding

    def _by_method(self, node: ast.Attribute, store: bool) -> None:
        """``x.requires_grad = ...``, ``x.requires_grad_()``, ``x.detach_()``, ``self.register_buffer("x", ...)``."""
        if node.attr in ("register_buffer", "register_parameter"):
            call = parents_of(self.tree).get(id(node))
            if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant):
                if call.args[0].value in self.attributes:
                    self._add((".", call.args[0].value), _MAYBE)
            return
        receiver = node.value
        if isinstance(receiver, ast.Name) and receiver.id in self.names:
            self._add((id(scope_of(self.tree, node)), receiver.id), _MAYBE)
        elif isinstance(receiver, ast.Attribute) and receiver.attr in self.attributes:
            self._add((".", receiver.attr), _MAYBE)

    def any_maybe(self, key: tuple) -> bool:
        return any(value is _MAYBE or not never_tensor(self.tree, value) for value in self.found.get(key, ()))


def tensor_holders(tree: ast.Module, holders: "list[tuple[ast.AST, str]]") -> "list[tuple[ast.AST, str]]":
    """The (statement, holder) pairs where the dotted name ``holder`` may be a tensor at the
    statement, in the order given."""
    if not holders:
        return []
    names = {h for _, h in holders if "." not in h}
    attributes = {h.rsplit(".", 1)[-1] for _, h in holders if "." in h}
    bindings = _Bindings(tree, names, attributes)
    properties = None
    kept = []
    for stmt, holder in holders:
        if "." in holder:
            attr = holder.rsplit(".", 1)[-1]
            if properties is None:
                properties = {f.name for f in nodes_of(tree, *_FUNCTIONS)}
            if (
                attr in _KNOWN_ATTRIBUTES or attr.startswith(("weight_", "bias_")) or attr in properties
                or bindings.any_maybe((".", attr))
            ):
                kept.append((stmt, holder))
            continue
        scope = scope_of(tree, stmt)
        if not isinstance(scope, (*_FUNCTIONS, ast.Module)):
            kept.append((stmt, holder))  # a class body or lambda: not one the analysis runs, keep it simple
            continue
        if (
            bindings.found.get((0, holder))
            or bindings.any_maybe((id(scope), holder))
            or bindings.any_maybe((id(tree), holder))
            or (isinstance(scope, _FUNCTIONS) and _parameter_may_be_tensor(tree, scope, holder))
        ):
            kept.append((stmt, holder))
    return kept


def _parameter_may_be_tensor(tree: ast.Module, function, name: str) -> bool:
    """Whether parameter ``name`` of ``function`` may be a tensor: annotated as one (or with an
    annotation the analysis does not read), or passed by a caller of the file."""
    args = function.args
    if (args.vararg is not None and args.vararg.arg == name) or (args.kwarg is not None and args.kwarg.arg == name):
        return False  # a tuple, a dict
    for param in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if param.arg != name:
            continue
        annotation = param.annotation
        if annotation is not None:
            if isinstance(annotation, ast.Subscript):  # `List[Tensor]`: a list (`_annotated`)
                known = (dotted(annotation.value) or "").rsplit(".", 1)[-1].lower() in ("list", "tuple", "dict")
            else:  # `int`: a number; a bare `list` is not read (unknown, then what callers pass)
                known = (dotted(annotation) or "").rsplit(".", 1)[-1] in ("int", "float", "bool", "str")
            if known:
                return False  # a number, a list: joined with a caller's tensor, not a tensor
            return True  # `Tensor` (or what the analysis may read as one)
        return function.name in _CALLED_UNNAMED or is_named(tree, function.name)
    return False
