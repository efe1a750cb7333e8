"""Where each name of a scope is bound and used, in evaluation order, on CPython's ``ast``.

The value analysis says what a name holds; rules that rename or follow a name also need to
know where it is bound and read. ``uses(analysis, scope)`` lists every occurrence of every
local name of a scope (a function body or the module body) in the order Python evaluates
them (an assignment's value before its targets, a comprehension's ``for`` before its
element), without entering nested functions, classes or lambdas: their reads are only
recorded as ``nested_loads``.

An occurrence is a ``STORE``, a ``LOAD``, or a ``LEAF``: a use that needs the tensor object
itself, not its value (``x.grad``, ``x`` in an optimizer's parameter list, directly or
through ``params = [x, b]`` handed to one later). ``torch.autograd.grad(y, x)`` works on
non-leaves too, so it is a plain load.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ._ast import class_calls
from ._values import _CANONICAL, Analysis

LOAD, STORE, LEAF = "load", "store", "leaf"

_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass
class Use:
    node: ast.AST  # an ast.Name, or the import alias / except handler that binds the name
    kind: str
    index: int
    listed_in: str | None = None  # for ``P = [a, b]``: the name of the list holding this load


@dataclass
class ScopeUses:
    by_name: dict[str, list[Use]] = field(default_factory=dict)
    nested_loads: set[str] = field(default_factory=set)  # names read by nested defs/lambdas
    unsafe: set[str] = field(default_factory=set)  # global/nonlocal/del/comprehension-bound

    def of(self, name: str) -> list[Use]:
        return self.by_name.get(name, [])


class _Walker:
    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.result = ScopeUses()
        self.count = 0

    def add(self, name: str, node: ast.AST, kind: str, listed_in: str | None = None) -> None:
        self.result.by_name.setdefault(name, []).append(Use(node, kind, self.count, listed_in))
        self.count += 1

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.visit(stmt)

    def store(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.add(target.id, target, STORE)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.store(element)
        elif isinstance(target, ast.Starred):
            self.store(target.value)
        else:  # x.attr = ..., x[k] = ...: x itself is read
            self.visit(target)

    def visit(self, node: ast.AST, leaf: bool = False, listed_in: str | None = None) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                self.add(node.id, node, STORE)
            else:
                if isinstance(node.ctx, ast.Del):
                    self.result.unsafe.add(node.id)
                self.add(node.id, node, LEAF if leaf else LOAD, listed_in)
            return
        if isinstance(node, _NESTED):
            self._nested(node)
            return
        if isinstance(node, ast.Assign):
            listed = None
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, (ast.List, ast.Tuple)):
                listed = node.targets[0].id
            self.visit(node.value, listed_in=listed)
            for target in node.targets:
                self.store(target)
            return
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.visit(node.value)
            self.store(node.target)
            return
        if isinstance(node, ast.AugAssign):
            self.visit(node.value)
            self.store(node.target)
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.visit(node.iter)
            self.store(node.target)
            self.block(node.body)
            self.block(node.orelse)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.visit(item.context_expr)
                if item.optional_vars is not None:
                    self.store(item.optional_vars)
            self.block(node.body)
            return
        if isinstance(node, ast.NamedExpr):
            self.visit(node.value)
            self.store(node.target)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for generator in node.generators:
                self.visit(generator.iter)
                for name in ast.walk(generator.target):
                    if isinstance(name, ast.Name):
                        self.result.unsafe.add(name.id)
                self.store(generator.target)
                for condition in generator.ifs:
                    self.visit(condition)
            if isinstance(node, ast.DictComp):
                self.visit(node.key)
                self.visit(node.value)
            else:
                self.visit(node.elt)
            return
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            self.result.unsafe.update(node.names)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    self.add(alias.asname or alias.name.split(".")[0], alias, STORE)
            return
        if isinstance(node, ast.ExceptHandler):
            if node.type is not None:
                self.visit(node.type)
            if node.name:
                self.add(node.name, node, STORE)
            self.block(node.body)
            return
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.attr == "grad" and isinstance(node.value.ctx, ast.Load):
                self.add(node.value.id, node.value, LEAF)
            else:
                self.visit(node.value, leaf, listed_in)
            return
        if isinstance(node, ast.Call):
            self.visit(node.func)
            needs_leaf = leaf or _is_optimizer(self.analysis, node)
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.visit(arg, needs_leaf, None if needs_leaf else listed_in)
            return
        if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Starred)):
            for child in ast.iter_child_nodes(node):
                self.visit(child, leaf, listed_in)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child, leaf)

    def _nested(self, node: ast.AST) -> None:
        """A nested def, class or lambda: its decorators and defaults run here, its body later."""
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
            self.add(node.name, node, STORE)
        inner: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        if not isinstance(node, ast.ClassDef):
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            for default in defaults:
                self.visit(default)
        for child in inner:
            for name in ast.walk(child):
                if isinstance(name, ast.Name):
                    self.result.nested_loads.add(name.id)


def _is_optimizer(analysis: Analysis, call: ast.Call) -> bool:
    qualified = analysis.qualify(call.func) or ""
    return qualified.startswith("torch.optim.") and qualified.rsplit(".", 1)[-1][:1].isupper() and ".lr_scheduler." not in qualified


def _build(analysis: Analysis, scope: ast.AST) -> ScopeUses:
    walker = _Walker(analysis)
    walker.block(scope.body)  # type: ignore[attr-defined]
    result = walker.result
    # A name in ``params = [w, b]`` needs the leaf when ``params`` later does.
    for occurrences in result.by_name.values():
        for use in occurrences:
            if use.kind == LOAD and use.listed_in is not None:
                if any(o.kind == LEAF and o.index > use.index for o in result.of(use.listed_in)):
                    use.kind = LEAF
    return result


def uses(analysis: Analysis, scope: ast.AST) -> ScopeUses:
    """Every occurrence of every local name of ``scope`` (a function or the module)."""
    per_file: dict[int, ScopeUses] = analysis.memo.setdefault("uses", {})  # type: ignore[assignment]
    if id(scope) not in per_file:
        per_file[id(scope)] = _build(analysis, scope)
    return per_file[id(scope)]


def may_be_leaf(analysis: Analysis, scope: ast.AST, name: str) -> bool:
    """Whether ``uses(analysis, scope).of(name)`` can hold a ``LEAF``: only a ``.grad`` read
    of the name, the name inside an optimizer's arguments, or inside ``params = [w, b]``
    (which passes a leaf on) make one; for any other name of the scope its uses need not be
    built to know it. One table per file: for the scope (function or module) whose walk meets
    such a node, the names there (a superset of what that walk finds)."""
    table: dict[int, set[str]] | None = analysis.memo.get("leaf names by scope")  # type: ignore[assignment]
    if table is None:
        table = analysis.memo["leaf names by scope"] = {}
        found: list[tuple[ast.AST, set[str]]] = []
        for node in analysis.attributes_named("grad"):
            if isinstance(node.value, ast.Name):
                found.append((node, {node.value.id}))
        # `x.y.Z(...)` qualifies to a name ending in `Z` (no canonical name of an optimizer
        # differs), so only a capitalised attribute can be one: no qualify of every other call.
        renamed = any(v.startswith("torch.optim.") for v in _CANONICAL.values())
        for call in analysis.calls() if renamed else class_calls(analysis.tree, analysis.imports.aliases):
            if _is_optimizer(analysis, call):
                found.append((call, {n.id for a in [*call.args, *call.keywords] for n in ast.walk(a) if isinstance(n, ast.Name)}))
        for stmt in analysis.nodes(ast.Assign):
            if isinstance(stmt.value, (ast.List, ast.Tuple)):  # type: ignore[attr-defined]
                found.append((stmt, {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}))  # type: ignore[attr-defined]
        for node, names in found:
            if not names:
                continue
            # Up to the function (or the module) whose body holds the node: its walk is the one
            # that meets it (a decorator or default of a def: the walk around that def).
            child: ast.AST = node
            for ancestor in analysis.ancestors(node):
                if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                    table.setdefault(id(ancestor), set()).update(names)
                    if isinstance(child, ast.stmt):  # in its body
                        break
                child = ancestor
    return name in table.get(id(scope), ())


def names_in(node: ast.AST) -> set[int]:
    """Identities of every Name node inside ``node``."""
    return {id(n) for n in ast.walk(node) if isinstance(n, ast.Name)}


def span(occurrences: list[Use], inside: set[int]) -> tuple[int, int]:
    """The first and last index of the occurrences whose node is inside a statement."""
    indexes = [o.index for o in occurrences if id(o.node) in inside]
    return (min(indexes), max(indexes)) if indexes else (-1, -1)


def used_as_leaf(analysis: Analysis, stmt: ast.stmt, target: ast.expr) -> bool:
    """A ``.grad`` read or optimizer parameter list names ``target`` (a name) after ``stmt``,
    or anywhere in the loop around it (the next iteration reads it)."""
    if not isinstance(target, ast.Name):
        return False
    scope = analysis.enclosing_function(stmt) or analysis.tree
    occurrences = uses(analysis, scope).of(target.id)
    _, last = span(occurrences, names_in(stmt))
    loop_ids: set[int] = set()
    for ancestor in analysis.ancestors(stmt):
        if ancestor is scope:
            break
        if isinstance(ancestor, (ast.For, ast.AsyncFor, ast.While)):
            loop_ids = names_in(ancestor)
    return any(o.kind == LEAF and (o.index > last or id(o.node) in loop_ids) for o in occurrences)


def assigned_values(analysis: Analysis, name: ast.Name) -> list[ast.expr]:
    """Every expression assigned to ``name``'s variable (in its function, else the module),
    or [] when one of its bindings is not a plain ``name = value`` (a parameter, a loop target)."""
    scope = analysis.enclosing_function(name)
    stores = [u for u in uses(analysis, scope).of(name.id) if u.kind == STORE] if scope is not None else []
    if scope is not None and any(isinstance(a, ast.arg) and a.arg == name.id for a in ast.walk(scope.args)):
        return []
    if not stores:
        stores = [u for u in uses(analysis, analysis.tree).of(name.id) if u.kind == STORE]
    statements = [analysis.parent(u.node) for u in stores]
    if not all(isinstance(s, ast.Assign) and len(s.targets) == 1 for s in statements):
        return []
    return [s.value for s in statements]  # type: ignore[union-attr]


def fresh_name(analysis: Analysis, base: str) -> str:
    """``base``, or ``base2``, ``base3``...: a name no identifier of the file spells."""
    used: set[str] = set()
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.arg):
            used.add(node.arg)
        elif isinstance(node, ast.keyword) and node.arg:
            used.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            used.add(node.name)
        elif isinstance(node, ast.alias):
            used.add((node.asname or node.name).split(".")[0])
    if base not in used:
        return base
    n = 2
    while f"{base}{n}" in used:
        n += 1
    return f"{base}{n}"
