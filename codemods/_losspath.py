"""The loss path: which expressions of a file flow into a loss that is backpropagated.

Several rules ask the same question before they speak: does this value (an ``.item()``, a
``no_grad`` output, an ``argmax``, a detached tensor) end up in what ``backward()``
differentiates? Logging, metrics and evaluation compute the same expressions off that path,
and must stay silent.

A *loss root* is what a backward call differentiates (the receiver of ``loss.backward()``,
the first argument of ``torch.autograd.backward/grad`` and of ``accelerator.backward(loss)``
-style wrappers), what a ``training_step`` method returns (Lightning backpropagates it), and
what an optimizer's ``step(closure)`` closure returns. From the roots the path grows
backwards, over the whole file:

- every sub-expression of a path expression is on the path (the rules then ask the value
  analysis whether a part carries a graph);
- a name on the path brings in its definitions that can reach the use: those before it in
  the same scope, and every one inside the outermost loop around the use (loop-carried);
  definitions are assignments, augmented assignments, ``for`` targets (their iterable),
  ``with ... as`` targets, container and in-place updates (``xs.append(v)``, ``xs[k] = v``,
  ``x.add_(v)``); a name the scope never binds is looked up in the enclosing scopes;
- ``self.x`` on the path brings in every ``self.x = ...`` of the class's methods;
- a call on the path to a function, method or module of this file brings in what the
  callee returns; a parameter of the callee on the path brings in the arguments of the
  calls on the path (of every call, when the callee runs backward itself).

It is an over-approximation in one direction only (what may flow into the loss), computed
once per file, linear in the file's size.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field
from typing import Iterator

from ._flow_ast import _CHILD_FIELDS, LOOPS, backward_roots, child_fields, is_backward_call, walk
from ._values import Analysis, Function, Kind, dotted

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef)
# Methods that put their arguments into their receiver (a container, or a tensor in place).
_STORING = {"append", "extend", "insert", "add", "update", "setdefault", "copy_"}
# Methods whose return value a training framework backpropagates.
_LOSS_RETURNING_METHODS = {"training_step"}
# Wrappers whose ``backward(loss)`` differentiates their argument (accelerate, Lightning
# Fabric, DeepSpeed engines, ``self.manual_backward(loss)``).
_BACKWARD_METHODS = {"backward", "manual_backward"}

Position = tuple[int, int]


def _start(node: ast.AST) -> Position:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> Position:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


@dataclass
class _Definitions:
    """The definitions of one name in one scope, in source order."""

    positions: list[Position] = field(default_factory=list)
    values: list[list[ast.AST]] = field(default_factory=list)
    marked: int = 0  # definitions[:marked] are on the path already


@dataclass
class _Scope:
    node: ast.AST
    outer: "_Scope | None"
    parameters: set[str]
    cls: str | None = None  # the class a method belongs to
    definitions: dict[str, _Definitions] = field(default_factory=dict)

    def define(self, name: str | None, position: Position, values: list[ast.AST]) -> None:
        if not name:
            return
        table = self.definitions.setdefault(name, _Definitions())
        index = bisect.bisect_right(table.positions, position)
        table.positions.insert(index, position)
        table.values.insert(index, values)


class LossPath:
    """Built once per file by :func:`loss_path`."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.roots: list[ast.AST] = []
        self._on: set[int] = set()
        self._scope_of: dict[int, _Scope] = {}  # expression node id -> its scope
        self._loop_end: dict[int, Position] = {}  # node id -> end of the outermost loop around it (same scope)
        self._scopes: dict[int, _Scope] = {}
        self._attributes: dict[tuple[str, str], list[list[ast.AST]]] = {}  # (class, "self.x") -> values
        self._attributes_marked: set[tuple[str, str]] = set()
        self._returns: dict[int, list[ast.AST]] = {}
        self._path_calls: dict[int, list[ast.Call]] = {}  # callee id -> its calls on the path
        self._path_parameters: dict[int, set[str]] = {}  # callee id -> its parameters on the path
        self._calls_backward: set[int] = set()  # functions that run backward themselves
        self._calls_of: dict[int, list[ast.Call]] = {}  # callee id -> every call of it
        self._work: list[ast.AST] = []
        self._seed()
        if self.roots:  # most library files backpropagate nothing: no index to build
            self._index()
            for root in self.roots:
                self._mark(root)
            self._propagate()

    # Queries -------------------------------------------------------------------------
    def on_path(self, node: ast.AST) -> bool:
        """``node`` (an expression) may flow into a loss that is backpropagated."""
        return id(node) in self._on

    @property
    def has_losses(self) -> bool:
        """The file backpropagates something (else no value of it is on a loss path)."""
        return bool(self.roots)

    def loss_functions(self) -> Iterator[Function]:
        """Functions and methods whose return value is on the path."""
        for scope in self._scopes.values():
            node = scope.node
            if isinstance(node, _SCOPES) and any(id(r) in self._on for r in self._returns.get(id(node), [])):
                yield node

    def reaching(self, use: ast.AST) -> tuple[list[ast.AST], ast.AST | None, bool]:
        """What the name or ``self.x`` read at ``use`` can hold, by the rule the path follows:
        (the value expressions of its definitions that can reach ``use``, the scope node that
        binds it, whether it may be a parameter of that scope). Built only for files with losses."""
        scope = self._scope_of.get(id(use))
        name = dotted(use)
        if scope is None or name is None:
            return [], None, False
        if name.startswith("self.") and scope.cls is not None and (scope.cls, name) in self._attributes:
            return [v for values in self._attributes[(scope.cls, name)] for v in values], None, False
        table = scope.definitions.get(name)
        if table is None:
            outer = scope if name in scope.parameters else scope.outer
            while outer is not None:
                if name in outer.parameters and outer.definitions.get(name) is None:
                    return [], outer.node, True
                table = outer.definitions.get(name)
                if table is not None:
                    return [v for values in table.values for v in values], outer.node, name in outer.parameters
                outer = outer.outer
            return [], None, False
        position = max(_start(use), self._loop_end.get(id(use), (0, 0)))
        reaching = bisect.bisect_right(table.positions, position)
        values = [v for values in table.values[:reaching] for v in values]
        return values, scope.node, reaching == 0 and name in scope.parameters

    # Index ---------------------------------------------------------------------------
    def _index(self) -> None:
        tree = self.analysis.tree
        module = _Scope(tree, None, set())
        self._scopes[id(tree)] = module
        self._walk_scope(module, tree.body)
        calls_of(self.analysis, tree)  # builds the file's table of calls by callee
        self._calls_of = self.analysis.memo["calls by callee"]  # type: ignore[assignment]

    def _walk_scope(self, scope: _Scope, body: list[ast.stmt]) -> None:
        nested: list[tuple[ast.AST, _Scope, str | None]] = []
        self._walk_nodes(scope, list(reversed(body)), None, nested)
        for function, outer, cls in nested:
            arguments = function.args  # type: ignore[attr-defined]
            parameters = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
            parameters |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
            inner = _Scope(function, outer, parameters, cls)
            self._scopes[id(function)] = inner
            self._walk_scope(inner, function.body)  # type: ignore[attr-defined]

    def _walk_nodes(self, scope: _Scope, stack: list[ast.AST], loop_end: Position | None, nested: list) -> None:
        """The nodes of ``stack`` (reversed) and under them, depth first in source order, not
        entering nested scopes; ``loop_end``: the end of the outermost loop around them in this
        scope (a loop met outside any is walked by a call of its own with its end)."""
        scope_of, loop_ends, fields_of = self._scope_of, self._loop_end, _CHILD_FIELDS
        in_function = isinstance(scope.node, _SCOPES)
        Name, Attribute, Call = ast.Name, ast.Attribute, ast.Call
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            kind = type(node)
            if kind is Name or kind is Attribute:
                # Only names and attributes are looked up by their scope (`_name`, `reaching`).
                scope_of[id(node)] = scope
                if loop_end is not None:
                    loop_ends[id(node)] = loop_end
                if kind is Name:
                    continue  # no children to visit
                push(node.value)  # an attribute's one child
                continue
            elif kind is Call:
                # The two things a call may be here: a storing or in-place method (a definition
                # of its receiver), a backward call (this function runs backward itself).
                func = node.func
                if type(func) is Attribute:
                    method = func.attr
                    if method in _STORING or (method[-1:] == "_" and method[:1] != "_"):
                        self._bind(scope, func.value, _end(node), [*node.args, *(k.value for k in node.keywords)])
                    if in_function and (method == "backward" or method == "grad") and is_backward_call(self.analysis, node):
                        self._calls_backward.add(id(scope.node))
                elif in_function and type(func) is Name and is_backward_call(self.analysis, node):
                    self._calls_backward.add(id(scope.node))  # `grad(...)` imported from torch.autograd
                # Its children, in walk order: the function, the arguments, the keywords.
                keywords, args = node.keywords, node.args
                if keywords:
                    stack.extend(reversed(keywords))
                if args:
                    stack.extend(reversed(args))
                push(func)
                continue
            elif kind in _SPECIAL:
                if kind is ast.ClassDef:
                    for stmt in node.body:  # methods are scopes; the class body's own statements are not followed
                        if isinstance(stmt, _SCOPES):
                            nested.append((stmt, scope, node.name))
                    continue
                if kind in _SCOPE_TYPES:
                    nested.append((node, scope, scope.cls))  # a closure in a method sees its self
                    for decorator in node.decorator_list:
                        push(decorator)
                    continue
                if kind in _DEFINING:
                    self._definition(scope, node)
                elif kind is ast.Return:
                    if node.value is not None and in_function:
                        self._returns.setdefault(id(scope.node), []).append(node.value)
                if loop_end is None and kind in _LOOP_TYPES:
                    self._walk_nodes(scope, _children(node), _end(node), nested)
                    continue
            fields = fields_of.get(kind)
            if fields is None:
                fields = child_fields(kind)
            if not fields:
                continue
            # ast.iter_child_nodes, written out (its generators cost more than this loop's work);
            # expression contexts and operators are no part of the path (nor looked up in it)
            children = []
            for name in fields:
                child = getattr(node, name, None)
                if type(child) is list:
                    children.extend(item for item in child if isinstance(item, AST))
                elif isinstance(child, AST):
                    children.append(child)
            children.reverse()
            stack.extend(children)

    def _definition(self, scope: _Scope, node: ast.AST) -> None:  # for the types of _DEFINING
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind(scope, target, _end(node), [node.value])
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            self._bind(scope, node.target, _end(node), [node.value, node.target] if isinstance(node, ast.AugAssign) else [node.value])
        elif isinstance(node, ast.NamedExpr):
            self._bind(scope, node.target, _end(node), [node.value])
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self._bind(scope, node.target, _start(node), [node.iter])
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind(scope, item.optional_vars, _start(node), [item.context_expr])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in _STORING or (method.endswith("_") and not method.startswith("_")):
                values = [*node.args, *(k.value for k in node.keywords)]
                self._bind(scope, node.func.value, _end(node), values)

    def _bind(self, scope: _Scope, target: ast.AST, position: Position, values: list[ast.AST]) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(scope, element, position, values)
        elif isinstance(target, ast.Starred):
            self._bind(scope, target.value, position, values)
        elif isinstance(target, ast.Subscript):
            self._bind(scope, target.value, position, values)  # xs[k] = v puts v into xs
        else:
            name = dotted(target)
            if name is None:
                return
            scope.define(name, position, values)
            if name.startswith("self.") and scope.cls is not None:
                self._attributes.setdefault((scope.cls, name), []).append(values)

    # Seeds and propagation -------------------------------------------------------------
    def _seed(self) -> None:
        analysis = self.analysis
        for call in analysis.calls():
            if is_backward_call(analysis, call):
                roots = backward_roots(analysis, call)
                receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
                if receiver is not None and call.args and _backward_wrapper(analysis, receiver):
                    roots = [call.args[0]]  # accelerator.backward(loss)
                self.roots.extend(roots)
            elif isinstance(call.func, ast.Attribute) and call.func.attr in _BACKWARD_METHODS and call.args:
                self.roots.append(call.args[0])
            elif (
                isinstance(call.func, ast.Attribute) and call.func.attr == "step" and call.args
                and analysis.value(call.func.value).kind is Kind.OPTIMIZER
            ):
                closure = self._closure(call, call.args[0])
                if closure is not None:
                    self.roots.extend(_returned(closure))
        for info in analysis.classes.values():
            for name in _LOSS_RETURNING_METHODS & info.methods.keys():
                method = info.methods[name]
                if not any(_runs_backward(analysis, n) for n in walk(method.body)):  # else: manual optimization
                    self.roots.extend(_returned(method))

    def _closure(self, call: ast.Call, expr: ast.AST) -> Function | None:
        """The function of this file named by ``expr`` where ``call`` stands."""
        if not isinstance(expr, ast.Name):
            return None
        for ancestor in self.analysis.ancestors(call):
            body = getattr(ancestor, "body", None)
            if isinstance(ancestor, (*_SCOPES, ast.Module)) and isinstance(body, list):
                for stmt in walk(body):
                    if isinstance(stmt, _SCOPES) and stmt.name == expr.id:
                        return stmt
        return None

    def _mark(self, node: ast.AST) -> None:
        if id(node) not in self._on:
            self._on.add(id(node))
            self._work.append(node)

    def _propagate(self) -> None:
        while self._work:
            node = self._work.pop()
            for child in reversed(_children(node)):  # every child but contexts and operators
                self._mark(child)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self._name(node, node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                name = dotted(node)
                if name is not None:
                    self._name(node, name)
            elif isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Lambda):
                self._mark(node.body)

    def _name(self, use: ast.AST, name: str) -> None:
        scope = self._scope_of.get(id(use))
        if scope is None:
            return
        if name.startswith("self.") and scope.cls is not None:
            key = (scope.cls, name)
            if key in self._attributes:
                if key not in self._attributes_marked:
                    self._attributes_marked.add(key)
                    for values in self._attributes[key]:
                        for value in values:
                            self._mark(value)
                return
        table = scope.definitions.get(name)
        if table is None:
            if name in scope.parameters:
                self._parameter(scope.node, name)
                return
            outer = scope.outer
            while outer is not None:  # a free name: every binding of an enclosing scope
                table = outer.definitions.get(name)
                if table is not None:
                    self._mark_prefix(table, len(table.positions))
                    return
                if name in outer.parameters:
                    self._parameter(outer.node, name)
                    return
                outer = outer.outer
            return
        position = max(_start(use), self._loop_end.get(id(use), (0, 0)))
        reaching = bisect.bisect_right(table.positions, position)
        if reaching == 0 and name in scope.parameters:
            self._parameter(scope.node, name)
        self._mark_prefix(table, reaching)

    def _mark_prefix(self, table: _Definitions, count: int) -> None:
        for values in table.values[table.marked:count]:
            for value in values:
                self._mark(value)
        table.marked = max(table.marked, count)

    def _call(self, call: ast.Call) -> None:
        callee = self.analysis.callee(call)
        if callee is None:
            return
        key = id(callee)
        for value in self._returns.get(key, []):
            self._mark(value)
        self._path_calls.setdefault(key, []).append(call)
        for name in self._path_parameters.get(key, ()):
            for argument in arguments_for(callee, call, name):
                self._mark(argument)

    def _parameter(self, function: ast.AST, name: str) -> None:
        key = id(function)
        names = self._path_parameters.setdefault(key, set())
        if name in names:
            return
        names.add(name)
        calls = self._calls_of.get(key, []) if key in self._calls_backward else self._path_calls.get(key, [])
        for call in calls:
            for argument in arguments_for(function, call, name):  # type: ignore[arg-type]
                self._mark(argument)


# Receivers whose ``backward(loss)`` differentiates the argument, when the analysis cannot type
# them (an ``Accelerator()`` from another package): ``out.backward(grad)`` passes a gradient.
_WRAPPER_NAMES = {"accelerator", "fabric", "engine", "model_engine", "self", "trainer", "deepspeed", "scaler", "amp"}


def _runs_backward(analysis: Analysis, node: ast.AST) -> bool:
    if is_backward_call(analysis, node):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _BACKWARD_METHODS


def _backward_wrapper(analysis: Analysis, receiver: ast.AST) -> bool:
    value = analysis.value(receiver)
    if value.kind is Kind.TENSOR:
        return False
    if value.kind in (Kind.MODULE, Kind.INSTANCE, Kind.IMPORTED):
        return True
    name = dotted(receiver) or ""
    return name.rsplit(".", 1)[-1].lower() in _WRAPPER_NAMES


def _returned(function: Function) -> list[ast.AST]:
    return [n.value for n in walk(function.body) if isinstance(n, ast.Return) and n.value is not None]


def arguments_for(function: Function, call: ast.Call, name: str) -> list[ast.AST]:
    """The argument expressions of ``call`` that bind ``function``'s parameter ``name``."""
    keywords = [k.value for k in call.keywords if k.arg == name or k.arg is None]
    positional = [p.arg for p in [*function.args.posonlyargs, *function.args.args]]
    if isinstance(call.func, ast.Attribute) or _is_method(function):
        # self / cls is bound by the call's receiver (a module call binds it too).
        positional = positional[1:] if positional and positional[0] in ("self", "cls") else positional
    if any(isinstance(a, ast.Starred) for a in call.args):
        return [*call.args, *keywords]
    if name in positional:
        index = positional.index(name)
        if index < len(call.args):
            return [call.args[index], *keywords]
    if function.args.vararg is not None and name == function.args.vararg.arg:
        return [*call.args[len(positional):], *keywords]
    return keywords


AST = ast.AST
# The node types `_definition` binds names for (the rest of a scope's nodes skip it).
_DEFINING = frozenset({ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.Call})
_SCOPE_TYPES = frozenset(_SCOPES)
_LOOP_TYPES = frozenset(LOOPS)
# The node types `_walk_nodes` does more for than record their scope and go down (calls: apart).
_SPECIAL = (_DEFINING - {ast.Call}) | _SCOPE_TYPES | _LOOP_TYPES | {ast.ClassDef, ast.Return}


def _children(node: ast.AST) -> list[ast.AST]:
    """The child nodes of ``node`` that :func:`walk` visits, last first (a stack to pop)."""
    children = []
    for name in child_fields(type(node)):
        child = getattr(node, name, None)
        if type(child) is list:
            children.extend(item for item in child if isinstance(item, AST))
        elif isinstance(child, AST):
            children.append(child)
    children.reverse()
    return children


def _is_method(function: Function) -> bool:
    arguments = function.args.posonlyargs + function.args.args
    return bool(arguments) and arguments[0].arg in ("self", "cls")


def loss_path(analysis: Analysis) -> LossPath:
    """The file's loss path, built on first use and shared by every rule."""
    path = analysis.memo.get("loss_path")
    if path is None:
        path = analysis.memo["loss_path"] = LossPath(analysis)
    return path  # type: ignore[return-value]


def calls_of(analysis: Analysis, function: ast.AST) -> list[ast.Call]:
    """Every call of this file whose callee is ``function``, in ``analysis.calls()`` order (one
    table per file instead of a scan of every call per function)."""
    table: dict[int, list[ast.Call]] | None = analysis.memo.get("calls by callee")  # type: ignore[assignment]
    if table is None:
        table = analysis.memo["calls by callee"] = {}
        for call in analysis.calls():
            callee = analysis.callee(call)
            if callee is not None:
                table.setdefault(id(callee), []).append(call)
    return table.get(id(function), [])


def on_loss_path(analysis: Analysis, node: ast.AST) -> bool:
    return loss_path(analysis).on_path(node)
