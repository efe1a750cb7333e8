"""Whether an expression may carry a graph (``Value.carries`` of the value analysis), on
CPython's ``ast`` alone, for the quick checks of GF101 (and GF103): a coarse, flow-insensitive
over-approximation of the analysis, cheap enough to run before it.

The analysis gives an expression a graph only from a *source* (``requires_grad=True``,
``.requires_grad = ...``, ``.requires_grad_()``, ``nn.Parameter``, ``autograd.grad(...,
create_graph=...)``, a module's output, a module's ``weight``/``bias``, ``parameters()``, the
elements of a ``ParameterList``, ``register_parameter``, an argument a caller of the file
passes) carried on through names, attributes, returns, operators, containers and tensor
methods. This module builds the same flow coarsely: the *keys* are a name in one scope (a
function or the module), an attribute by its last name in any scope (``self.x`` set in one
method is read in the others), and what the functions of a name return; each key depends on
the expressions bound to it (assignments, ``for`` and comprehension targets, ``x[k] = v``,
``x.append(v)``, ``x.add_(v)``, returns). An expression may carry a graph when a source is
reachable from it. Where the analysis cuts a graph (``.detach()``, ``no_grad``, ``int(x)``,
a comparison) this module may still follow it: only more is kept, never less.

Everything it does not model (an unknown kind of expression, a call of a local variable, a
class body, a lambda) counts as a source. One pass over the binding nodes per tree, then a
search per question, with what is settled kept for the next question.
"""

from __future__ import annotations

import ast

from . import _torch
from ._ast import attributes_named, calls_named, imports_of, is_named, names_named, nodes_of, parents_of
from ._values import dotted

_SOURCE = "source"

# Copying constructors whose result keeps its data's graph (`as_tensor`, a view of one tensor).
_GRAPH_CONSTRUCTORS = frozenset({"asarray", "Tensor", "FloatTensor", "DoubleTensor"})
_NOT_MODULES = ("torch.nn.functional.", "torch.nn.init.", "torch.nn.utils.")
_OPTIONS = frozenset({"dtype", "device", "out", "dim", "requires_grad"})

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

# Builtins whose result never carries a graph (`_builtin`: numbers, bools, strings, None).
_INERT_BUILTINS = frozenset({
    "len", "id", "hash", "ord", "round", "divmod", "pow", "int", "float", "complex", "bool", "isinstance",
    "issubclass", "callable", "hasattr", "all", "any", "str", "repr", "format", "chr", "print", "setattr",
    "delattr", "range", "super",
})
# Attributes of a tensor (`.T`) or a distribution (`.mean`) that carry what their base carries.
_BASE_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "real", "imag", "mean", "stddev", "variance", "loc", "scale", "probs", "logits", "mode"})
# Methods that start a graph, or give a module's parameters or output.
_SOURCE_METHODS = frozenset({"requires_grad_", "parameters", "named_parameters", "forward"})
_CONTAINER_ADDS = frozenset({"append", "add", "insert", "extend", "update", "setdefault"})
_REGISTRATIONS = frozenset({"register_parameter", "register_buffer", "add_module"})


class _Iterated:
    """What a ``for`` or comprehension target is bound to: an element of ``iterable``."""

    __slots__ = ("iterable",)

    def __init__(self, iterable: ast.expr) -> None:
        self.iterable = iterable


class GraphFlow:
    """The flow of one tree; ``may_carry(expr)`` answers for its expressions. ``of(tree)``
    makes it once per tree, kept on the tree like the node index, so that the quick checks of
    one file share it; it holds the tree, and ``_values.release(tree)`` breaks that cycle when
    the file is done."""

    @classmethod
    def of(cls, tree: ast.Module) -> "GraphFlow":
        found = tree.__dict__.get("_gradfix_graph_flow")
        if found is None:
            found = tree._gradfix_graph_flow = cls(tree)  # type: ignore[attr-defined]
        return found

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.parents = parents_of(tree)
        self.imports = imports_of(tree)
        self.settled: dict = {}  # node -> bool, for nodes whose answer is final
        self.scopes: dict[int, ast.AST] = {}
        self.bound: dict[tuple, list] = {}  # key -> what is bound to it (expressions or _SOURCE)
        self.fetched: "set[str] | None" = None
        self.returns: "dict | None" = None
        self._names()
        self._collect()
        # Every name the file binds other than by an import or a def (a Name stored to is a
        # binding target: an assignment, `for`, `with`, walrus, comprehension), or takes as a
        # parameter.
        self.variables = set(self.raw_names) | {n.arg for n in nodes_of(tree, ast.arg)}

    def may_carry(self, expr: ast.expr) -> bool:
        """Whether the analysis may say ``expr`` carries a graph (a superset)."""
        return self.reaches_source(("e", expr))

    # What the file binds ------------------------------------------------------------------
    def _names(self) -> None:
        tree = self.tree
        functions = nodes_of(tree, *_FUNCTIONS)
        self.defs = {n.name for n in functions}
        self.properties = {n.name for n in functions if any((dotted(d) or "").endswith("property") for d in n.decorator_list)}
        self.classes = {n.name for n in nodes_of(tree, ast.ClassDef)}
        self.containers: "bool | None" = None  # see parameter_containers
        self.globals = {name for n in nodes_of(tree, ast.Global, ast.Nonlocal) for name in n.names}

    def scope_of(self, node: ast.AST) -> ast.AST:
        """The function, lambda, class body or module whose environment ``node`` is in."""
        scopes, parents = self.scopes, self.parents
        found = scopes.get(id(node))
        if found is not None:
            return found
        path = []
        scope = parents.get(id(node))
        while scope is not None and not isinstance(scope, _SCOPES):
            known = scopes.get(id(scope))
            if known is not None:
                scope = known
                break
            path.append(scope)
            scope = parents.get(id(scope))
        if scope is None:
            scope = self.tree
        scopes[id(node)] = scope
        for step in path:
            scopes[id(step)] = scope
        return scope

    def _collect(self) -> None:
        """Every binding of the file, by the name it binds (its scope worked out only when that
        name is asked about): ``raw_names[x]`` / ``raw_attributes[attr]`` hold (node, target, value)."""
        self.raw_names: dict[str, list] = {}
        self.raw_attributes: dict[str, list] = {}
        tree = self.tree
        target = self._target
        names, Name = self.raw_names, ast.Name
        for node in nodes_of(tree, ast.Assign):
            value = node.value
            for each in node.targets:
                if type(each) is Name:  # most targets: one name (inlined `_target`)
                    found = names.get(each.id)
                    if found is None:
                        names[each.id] = [(node, each, value)]
                    else:
                        found.append((node, each, value))
                else:
                    target(node, each, value)
        for node in nodes_of(tree, ast.AnnAssign, ast.AugAssign, ast.NamedExpr):
            if node.value is not None:
                target(node, node.target, node.value)
        for node in nodes_of(tree, ast.For, ast.AsyncFor, ast.comprehension):
            target(node, node.target, _Iterated(node.iter))
        for node in nodes_of(tree, ast.withitem):
            if node.optional_vars is not None:
                target(node, node.optional_vars, node.context_expr)
        Attribute = ast.Attribute
        for call in nodes_of(tree, ast.Call):
            func = call.func
            if type(func) is not Attribute:
                continue
            method = func.attr
            if method[-1] != "_" and method not in _CONTAINER_ADDS and method not in _REGISTRATIONS:
                continue
            if method in _REGISTRATIONS:
                if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                    self.raw_attributes.setdefault(call.args[0].value, []).append((call, None, _SOURCE))
            elif method in _CONTAINER_ADDS or (method[-1] == "_" and method[0] != "_"):
                if method == "requires_grad_":
                    self._store(call, func.value, _SOURCE)
                for arg in call.args:
                    self._store(call, func.value, arg)
                for keyword in call.keywords:
                    self._store(call, func.value, keyword.value)

    def _target(self, node: ast.AST, target: ast.AST, value) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(node, element, value)  # each carries what the whole carries
            return
        if isinstance(target, ast.Starred):
            self._target(node, target.value, value)
            return
        if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
            self._store(node, target.value, _SOURCE)  # `x.requires_grad = True`: x becomes a leaf
        self._store(node, target, value)

    def _store(self, node: ast.AST, target: ast.AST, value) -> None:
        """``value`` is stored into ``target`` (the base of ``x[k]``: ``x[i][j] = v`` stores into x)."""
        while isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name):
            self.raw_names.setdefault(target.id, []).append((node, target, value))
        elif isinstance(target, ast.Attribute):
            self.raw_attributes.setdefault(target.attr, []).append((node, target, value))

    def bindings(self, key: tuple) -> list:
        """What is bound to ``key`` (``_key``, ``_set``): ``("n", scope id, x)`` a name in its
        scope; ``("a", x)`` ``self.x``, the attribute of every class (read in the other methods,
        and through any instance; ``register_buffer("x", ...)`` too); ``("d", scope id, "a.b")``
        another attribute, in its scope only; ``("r", f)`` what functions named f return."""
        found = self.bound.get(key)
        if found is not None:
            return found
        kind = key[0]
        found = []
        if kind == "n":
            for node, _, value in self.raw_names.get(key[2], ()):
                if id(self.scope_of(node)) == key[1]:
                    found.append(value)
        elif kind == "a":
            wanted = "self." + key[1]
            for node, target, value in self.raw_attributes.get(key[1], ()):
                if target is None or dotted(target) == wanted:
                    found.append(value)
        elif kind == "d" and key[2] is not None:
            name = key[2]
            for node, target, value in self.raw_attributes.get(name.rsplit(".", 1)[-1], ()):
                if target is not None and dotted(target) == name and id(self.scope_of(node)) == key[1]:
                    found.append(value)
        elif kind == "r":
            if self.returns is None:
                self.returns = {}
                for node in nodes_of(self.tree, ast.Return):
                    function = self.scope_of(node)
                    if node.value is not None and isinstance(function, _FUNCTIONS):
                        self.returns.setdefault(function.name, []).append(node.value)
            found = self.returns.get(key[1], [])
        self.bound[key] = found
        return found

    # Is a source reachable? ---------------------------------------------------------------
    def reaches_source(self, start) -> bool:
        """Depth-first from ``start``. A True is final; a False is final for every node the
        search met (nothing they reach is a source), so both are kept."""
        settled = self.settled
        found = settled.get(start)
        if found is not None:
            return found
        seen = {start}
        stack = [start]
        met = [start]
        while stack:
            node = stack.pop()
            known = settled.get(node)
            if known is False:
                continue
            successors = self._successors(node)
            if successors is _SOURCE or known:
                settled[start] = True
                return True
            for successor in successors:
                if successor not in seen:
                    seen.add(successor)
                    met.append(successor)
                    stack.append(successor)
        for node in met:
            settled[node] = False
        return False

    def _successors(self, node):
        """What ``node`` carries from: ``_SOURCE``, or a list of nodes."""
        if node[0] == "e":
            return self._expression(node[1], None)
        if node[0] == "x":  # an expression in a given scope
            return self._expression(node[1], node[2])
        if node[0] == "p":
            return self._parameter(node[1], node[2])
        found = []
        for value in self.bindings(node):
            if value is _SOURCE:
                return _SOURCE
            if type(value) is _Iterated:
                if self.parameter_containers():
                    return _SOURCE  # iterating a ParameterList gives Parameters
                value = value.iterable
            found.append(("e", value))
        return found

    def parameter_containers(self) -> bool:
        """Whether the file may make a ParameterList or ParameterDict: indexing or iterating
        one gives Parameters, whatever the container itself carries."""
        if self.containers is None:
            self.containers = any(q.rsplit(".", 1)[-1] in _torch.PARAMETER_CONTAINERS for q in self.imports.aliases.values()) or any(
                n.attr in _torch.PARAMETER_CONTAINERS for n in nodes_of(self.tree, ast.Attribute)
            )
        return self.containers

    def _expression(self, expr: ast.AST, scope):
        if scope is None:
            scope = self.scope_of(expr)
        if isinstance(expr, ast.Name):
            return self._read_name(expr.id, scope)
        if isinstance(expr, (ast.Constant, ast.JoinedStr, ast.Compare, ast.Lambda)):
            return []
        if isinstance(expr, ast.Attribute):
            attr = expr.attr
            if attr in ("weight", "bias") or attr.startswith(("weight_", "bias_")):
                return _SOURCE  # a module's Parameter
            found = [("a", attr), ("r", attr)]  # an instance's attribute or property
            name = dotted(expr)
            if name is not None:
                found.append(("d", id(scope), name))  # bound as such in this scope
            if attr in _BASE_ATTRIBUTES:
                found.append(("x", expr.value, scope))
            return found
        if isinstance(expr, ast.Subscript):
            if self.parameter_containers():
                return _SOURCE
            return [("x", expr.value, scope)]
        if isinstance(expr, ast.Call):
            return self._call(expr, scope)
        if isinstance(expr, ast.BinOp):
            return [("x", expr.left, scope), ("x", expr.right, scope)]
        if isinstance(expr, ast.UnaryOp):
            return [] if isinstance(expr.op, ast.Not) else [("x", expr.operand, scope)]
        if isinstance(expr, ast.BoolOp):
            return [("x", v, scope) for v in expr.values]
        if isinstance(expr, ast.IfExp):
            return [("x", expr.body, scope), ("x", expr.orelse, scope)]
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            return [("x", e, scope) for e in expr.elts]
        if isinstance(expr, ast.Dict):
            return [("x", v, scope) for v in expr.values]
        if isinstance(expr, ast.Starred):
            return [("x", expr.value, scope)]
        if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return [("x", expr.elt, scope)]
        if isinstance(expr, ast.DictComp):
            return [("x", expr.value, scope)]
        if isinstance(expr, ast.NamedExpr):
            return [("x", expr.value, scope)]
        return _SOURCE  # anything not modelled

    def _read_name(self, name: str, scope):
        """A name read in ``scope``: its bindings there, the module's (a global), and, for a
        parameter, what the file's callers may pass."""
        if not isinstance(scope, (*_FUNCTIONS, ast.Module)):
            return _SOURCE  # a lambda or class body: not run by the analysis, keep it simple
        if name in self.globals:
            return _SOURCE
        found = [("n", id(scope), name)]
        if scope is not self.tree:
            found.append(("n", id(self.tree), name))
            found.append(("p", scope, name))
        return found

    def _parameter(self, function, name: str):
        """What the file's callers may pass ``function`` for parameter ``name`` (`_pass_arguments`):
        the arguments at every call that may be of it (``f(...)`` for a function, ``x.f(...)``
        for a method, ``Class(...)`` for ``__init__``), and the default. ``self`` is the module
        or instance; ``*args``/``**kwargs`` get nothing."""
        args = function.args
        params = [*args.posonlyargs, *args.args]
        owner = self.parents.get(id(function))
        method = isinstance(owner, ast.ClassDef)
        if method and params and not any(dotted(d) == "staticmethod" for d in function.decorator_list):
            params = params[1:]
        index = next((i for i, p in enumerate(params) if p.arg == name), None)
        if index is None and not any(p.arg == name for p in args.kwonlyargs):
            return []
        made_by_classmethod = method and any(
            isinstance(s, _FUNCTIONS) and any(dotted(d) == "classmethod" for d in s.decorator_list) for s in owner.body
        )
        if method and function.name == "forward":
            # A module call passes these: any call may be of an instance (made by name, by a
            # classmethod's `cls(...)`, or `self(...)`).
            return _SOURCE if self._used(owner.name) or self._used("self", called=True) or made_by_classmethod else []
        if method and function.name == "__init__":
            # `Class(...)`; a class held in a variable, or a classmethod's `cls(...)`: any call.
            if self._referenced(owner.name) or made_by_classmethod:
                return _SOURCE
            sites = self._calls_of(owner.name, names=True, attributes=True)
        else:
            if self._referenced(function.name):
                return _SOURCE  # `fn = helper` (or `self.method`, `getattr(self, "m")`), then `fn(x)`
            sites = self._calls_of(function.name, names=not method, attributes=method)
        found = []
        for call in sites:
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return _SOURCE  # where the arguments go is not known
            if index is not None and index < len(call.args):
                found.append(("e", call.args[index]))
            found.extend(("e", k.value) for k in call.keywords if k.arg == name)
        # (An annotated parameter joins its default even when no caller passes it.)
        found.extend(("e", d) for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)])
        return found

    def _fetched(self) -> set[str]:
        """The names ``getattr`` is given (``"*"``: one not written out)."""
        if self.fetched is None:
            self.fetched = {
                name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else "*"
                for call in calls_named(self.tree, "getattr") if type(call.func) is ast.Name and len(call.args) > 1
                for name in [call.args[1]]
            }
        return self.fetched

    def _used(self, name: str, called: bool = False) -> bool:
        """Whether the file reads ``name`` or names an attribute ``name`` (only as what a call
        calls, with ``called``)."""
        if called:
            return any(type(call.func) is ast.Name for call in calls_named(self.tree, name))
        return is_named(self.tree, name)

    def _referenced(self, name: str) -> bool:
        """Whether the file uses ``name`` (a name or an attribute) other than as what a call
        calls, so as a value (``fn = helper``, ``self.method`` passed on), or ``getattr`` may
        fetch it."""
        load = ast.Load
        uses = sum(1 for n in names_named(self.tree, name) if type(n.ctx) is load) + len(attributes_named(self.tree, name))
        called = sum(1 for call in calls_named(self.tree, name) if type(call.func) in (ast.Name, ast.Attribute))
        fetched = self._fetched()
        return uses > called or name in fetched or "*" in fetched

    def _calls_of(self, name: str, names: bool, attributes: bool) -> list:
        """The calls of ``name`` (by a plain name, then as an attribute), each in walk order."""
        calls = calls_named(self.tree, name)
        return [c for c in calls if names and type(c.func) is ast.Name] + [c for c in calls if attributes and type(c.func) is ast.Attribute]

    def _call(self, call: ast.Call, scope):
        arguments = [("x", a, scope) for a in call.args] + [("x", k.value, scope) for k in call.keywords]
        if any(k.arg in ("requires_grad", "create_graph") for k in call.keywords):
            return _SOURCE
        func = call.func
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if (
            isinstance(root, ast.Name) and root.id not in self.variables and root.id not in self.defs and root.id not in self.classes
            and not (isinstance(func, ast.Attribute) and self.bindings(("d", id(scope), dotted(func))))
        ):
            qualified = self.imports.qualify(func)
            if qualified is not None:  # `_library_call`
                last = qualified.rsplit(".", 1)[-1]
                if qualified == "torch" or qualified.startswith("torch."):
                    if last.startswith(("Parameter", "Variable")):
                        return _SOURCE
                    if qualified.startswith("torch.nn.") and last[:1].isupper() and not qualified.startswith(_NOT_MODULES):
                        return []  # a module made: its outputs are calls of it
                    if qualified.rsplit(".", 1)[0] in _torch.TENSOR_NAMESPACES and (
                        last in _torch.CREATORS or last in _torch.NON_DIFFERENTIABLE or last in _torch.PYTHON_RESULT
                        or (last in _torch.COPYING_CONSTRUCTORS and last not in _GRAPH_CONSTRUCTORS)
                    ):
                        return []  # a new tensor (`torch.zeros`, `torch.tensor`), an index, a number
                    # What carries is the data: not dtype=, device=, out=, dim= (`_library_call`).
                    return [("x", a, scope) for a in call.args] + [("x", k.value, scope) for k in call.keywords if k.arg not in _OPTIONS]
                return []  # numpy, math, another library: not a graph
            if isinstance(func, ast.Name):  # a builtin (`_builtin`)
                if func.id == "getattr":
                    return _SOURCE  # `getattr(module, "weight")`: an attribute by its name
                return [] if func.id in _INERT_BUILTINS else arguments
        if isinstance(func, ast.Name):
            name = func.id
            if name in self.variables:
                return _SOURCE  # a variable: maybe a module
            if name in self.defs:
                return [("r", name)]
            return []  # a class of the file: an instance
        if isinstance(func, ast.Attribute):
            method = func.attr
            if (
                method in _SOURCE_METHODS or method in self.properties
                or self.bindings(("a", method)) or self.bindings(("d", id(scope), dotted(func)))
            ):
                return _SOURCE  # a submodule's output (a property may give the submodule), a module's parameters
            found = [("x", func.value, scope), *arguments]
            if method in self.defs:
                found.append(("r", method))
            return found
        return _SOURCE  # `self.layers[i](x)`: maybe a module
