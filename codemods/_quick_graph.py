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
from ._ast import imports_of, nodes_of, parents_of
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


class GraphFlow:
    """The flow of one tree; ``may_carry(expr)`` answers for its expressions. Made per quick
    check and dropped with it (it holds the tree: stored on the tree, it would make a cycle
    that only the cyclic collector frees)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.parents = parents_of(tree)
        self.imports = imports_of(tree)
        self.bindings: dict[tuple, list] = {}  # key -> expressions (with their scope) or _SOURCE
        self.settled: dict = {}  # node -> bool, for nodes whose answer is final
        self.calls_by_name: "dict | None" = None
        self.referenced: "set[str] | None" = None
        self._names()
        self._collect()

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
        self.variables = {n.id for n in nodes_of(tree, ast.Name) if not isinstance(n.ctx, ast.Load)}
        self.variables |= {n.arg for n in nodes_of(tree, ast.arg)}
        self.used = {n.id for n in nodes_of(tree, ast.Name) if isinstance(n.ctx, ast.Load)}
        self.used |= {n.attr for n in nodes_of(tree, ast.Attribute)}
        self.self_called = any(isinstance(c.func, ast.Name) and c.func.id == "self" for c in nodes_of(tree, ast.Call))
        # ParameterList / ParameterDict: indexing or iterating one gives Parameters.
        spelled = self.used | {q.rsplit(".", 1)[-1] for q in self.imports.aliases.values()}
        self.parameter_containers = "ParameterList" in spelled or "ParameterDict" in spelled

    def scope_of(self, node: ast.AST) -> ast.AST:
        scope = self.parents.get(id(node))
        while scope is not None and not isinstance(scope, _SCOPES):
            scope = self.parents.get(id(scope))
        return scope if scope is not None else self.tree

    def _bind(self, key: tuple, value, scope) -> None:
        self.bindings.setdefault(key, []).append(_SOURCE if value is _SOURCE else (value, scope))

    def _key_of(self, target: ast.AST, scope) -> "tuple | None":
        """The key ``target`` stores into: a name in its scope, an attribute by its name, the
        base of ``x[k]`` (``x[i][j] = v`` stores into x)."""
        while isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name):
            return ("n", id(scope), target.id)
        if isinstance(target, ast.Attribute):
            return ("a", target.attr)
        return None

    def _target(self, target: ast.AST, value, scope) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element, value, scope)  # each carries what the whole carries
            return
        if isinstance(target, ast.Starred):
            self._target(target.value, value, scope)
            return
        key = self._key_of(target, scope)
        if key is not None:
            self._bind(key, value, scope)

    def _collect(self) -> None:
        tree = self.tree
        for node in nodes_of(tree, ast.Assign):
            scope = self.scope_of(node)
            for target in node.targets:
                self._target(target, node.value, scope)
        for node in nodes_of(tree, ast.AnnAssign, ast.AugAssign):
            if node.value is not None:
                self._target(node.target, node.value, self.scope_of(node))
        for node in nodes_of(tree, ast.NamedExpr):
            self._target(node.target, node.value, self.scope_of(node))
        for node in nodes_of(tree, ast.For, ast.AsyncFor, ast.comprehension):
            scope = self.scope_of(node)
            self._target(node.target, node.iter, scope)
            if self.parameter_containers:
                self._target(node.target, _SOURCE, scope)
        for node in nodes_of(tree, ast.withitem):
            if node.optional_vars is not None:
                self._target(node.optional_vars, node.context_expr, self.scope_of(node))
        for node in nodes_of(tree, ast.Global, ast.Nonlocal):
            for name in node.names:
                self._bind(("global", name), _SOURCE, None)
        for node in nodes_of(tree, ast.Return):
            if node.value is not None:
                function = self.scope_of(node)
                if isinstance(function, _FUNCTIONS):
                    self._bind(("r", function.name), node.value, function)
        for node in nodes_of(tree, ast.Attribute):
            if node.attr == "requires_grad" and isinstance(node.ctx, ast.Store):
                key = self._key_of(node.value, self.scope_of(node))
                if key is not None:
                    self._bind(key, _SOURCE, None)
        for call in nodes_of(tree, ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            method = func.attr
            if method in _REGISTRATIONS:
                if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                    self._bind(("a", call.args[0].value), _SOURCE, None)
                continue
            if method in _CONTAINER_ADDS or (method.endswith("_") and not method.startswith("_")):
                key = self._key_of(func.value, None)
                if key is None:
                    continue
                scope = self.scope_of(call)
                key = self._key_of(func.value, scope)
                if method == "requires_grad_":
                    self._bind(key, _SOURCE, None)
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    self._bind(key, arg, scope)

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
        if node[0] == "n":
            return self._name(node)
        if node[0] == "p":
            return self._parameter(node[1], node[2])
        found = []
        for binding in self.bindings.get(node, ()):
            if binding is _SOURCE:
                return _SOURCE
            found.append(("x", binding[0], binding[1]))
        if node[0] == "a":
            found.append(("r", node[1]))  # a property getter
        return found

    def _name(self, node):
        _, scope_id, name = node
        found = []
        for binding in self.bindings.get(node, ()):
            if binding is _SOURCE:
                return _SOURCE
            found.append(("x", binding[0], binding[1]))
        return found

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
            found = [("a", attr)]
            if attr in _BASE_ATTRIBUTES:
                found.append(("x", expr.value, scope))
            return found
        if isinstance(expr, ast.Subscript):
            if self.parameter_containers:
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
        if ("global", name) in self.bindings:
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
            return _SOURCE if owner.name in self.used or self.self_called or made_by_classmethod else []
        if method and function.name == "__init__":
            # `Class(...)`; a class held in a variable, or a classmethod's `cls(...)`: any call.
            if owner.name in self._referenced() or made_by_classmethod:
                return _SOURCE
            sites = self._calls_of(owner.name, names=True, attributes=True)
        else:
            if function.name in self._referenced():
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

    def _referenced(self) -> "set[str]":
        """Names and attributes the file uses other than as what a call calls (a function or
        class taken as a value), and the names ``getattr`` is given."""
        if self.referenced is None:
            called = {id(call.func) for call in nodes_of(self.tree, ast.Call)}
            found = {n.id for n in nodes_of(self.tree, ast.Name) if isinstance(n.ctx, ast.Load) and id(n) not in called}
            found |= {n.attr for n in nodes_of(self.tree, ast.Attribute) if id(n) not in called}
            for call in nodes_of(self.tree, ast.Call):
                if isinstance(call.func, ast.Name) and call.func.id == "getattr" and len(call.args) > 1:
                    name = call.args[1]
                    found.add(name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else "*")
            self.referenced = found
        return self.referenced if "*" not in self.referenced else _Everything()

    def _calls_of(self, name: str, names: bool, attributes: bool) -> list:
        if self.calls_by_name is None:
            self.calls_by_name = {}
            for call in nodes_of(self.tree, ast.Call):
                func = call.func
                if isinstance(func, ast.Name):
                    self.calls_by_name.setdefault(("n", func.id), []).append(call)
                elif isinstance(func, ast.Attribute):
                    self.calls_by_name.setdefault(("a", func.attr), []).append(call)
        return (self.calls_by_name.get(("n", name), []) if names else []) + (self.calls_by_name.get(("a", name), []) if attributes else [])

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
            and not (isinstance(func, ast.Attribute) and ("a", func.attr) in self.bindings)
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
            if method in _SOURCE_METHODS or ("a", method) in self.bindings or method in self.properties:
                return _SOURCE  # a submodule's output (a property may give the submodule), a module's parameters
            found = [("x", func.value, scope), *arguments]
            if method in self.defs:
                found.append(("r", method))
            return found
        return _SOURCE  # `self.layers[i](x)`: maybe a module


class _Everything:
    """A set that holds every name (``getattr(obj, name)`` of a name not written out)."""

    def __contains__(self, item) -> bool:
        return True
