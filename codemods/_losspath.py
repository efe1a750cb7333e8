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
from functools import partial
from typing import Iterator

from ._ast import called_names, calls_named, child_nodes
from ._flow_ast import LOOPS, _child_positions, backward_roots, file_backward_calls, is_backward_call, walk
from ._values import Analysis, Function, Kind, dotted, indexed

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
        self._on: set[int] = set()
        # node id -> (its scope, the end of the outermost loop around it in that scope), for the
        # nodes a walk of each scope's body would visit, or None; filled on demand (`_where`)
        self._places: dict[int, tuple[_Scope, Position | None] | None] = {}
        self._scopes: dict[int, _Scope] = {}
        self._function_scopes: dict[int, _Scope | None] = {}
        self._pending: dict[int, list] = {}  # scope id -> its definitions, not yet in tables (`_definitions`)
        self._indexed = False
        self._attributes: dict[tuple[str, str], list[list[ast.AST]]] = {}  # (class, "self.x") -> values
        self._attributes_marked: set[tuple[str, str]] = set()
        self._returns: dict[int, list[ast.AST]] = {}
        self._path_calls: dict[int, list[ast.Call]] = {}  # callee id -> its calls on the path
        self._path_parameters: dict[int, set[str]] = {}  # callee id -> its parameters on the path
        self._calls_backward: set[int] = set()  # functions that run backward themselves
        self._work: list[ast.AST] = []
        seeds = _seeds(analysis)
        self.roots = seeds.roots
        self._backward_calls = seeds.backward_calls
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
        scope, loop_end = self._scope_at(use)
        name = dotted(use)
        if scope is None or name is None:
            return [], None, False
        if name.startswith("self.") and scope.cls is not None and (scope.cls, name) in self._attributes:
            return [v for values in self._attributes[(scope.cls, name)] for v in values], None, False
        table = self._definitions(scope).get(name)
        if table is None:
            outer = scope if name in scope.parameters else scope.outer
            while outer is not None:
                if name in outer.parameters and self._definitions(outer).get(name) is None:
                    return [], outer.node, True
                table = self._definitions(outer).get(name)
                if table is not None:
                    return [v for values in table.values for v in values], outer.node, name in outer.parameters
                outer = outer.outer
            return [], None, False
        position = max(_start(use), loop_end or (0, 0))
        reaching = bisect.bisect_right(table.positions, position)
        values = [v for values in table.values[:reaching] for v in values]
        return values, scope.node, reaching == 0 and name in scope.parameters

    # Index ---------------------------------------------------------------------------
    # What a walk of each scope's body would find (a scope: the module, and every function
    # the walks reach; a walk does not enter nested functions, nor class bodies but for their
    # methods), taken from the analysis's node index instead: the defining statements, the
    # storing and backward calls, the returns, each placed in its scope by its ancestors (kept
    # for every node asked about, so each chain is climbed once). Tables keep the walk's
    # order: definitions by position, a tie in the walk's order (`h = h.add_(1)`), the scopes
    # and each `self.x`'s definitions in the order the walks met them.
    def _index(self) -> None:
        analysis = self.analysis
        tree = analysis.tree
        module = _Scope(tree, None, set())
        self._module = module
        self._parents = indexed(tree)[0]
        self._indexed = True
        functions = [f for f in analysis.nodes(*_SCOPES) if self._function_scope(f) is not None]
        functions.sort(key=_start)  # the order the walks create the scopes: depth first, in source order
        self._scopes = {id(tree): module, **{id(f): self._function_scopes[id(f)] for f in functions}}  # type: ignore[misc]
        events: list[tuple[_Scope, ast.AST, ast.AST, Position, list[ast.AST]]] = []  # scope, node, target, position, values
        where, parents, places, scopes = self._where, self._parents, self._places, self._function_scopes
        stmt = ast.stmt
        for node in analysis.nodes(*_DEFINING_STATEMENTS):
            parent = parents.get(id(node))
            if type(parent) in _SCOPE_TYPES and isinstance(node, stmt) and id(parent) in scopes:
                scope = scopes[id(parent)]  # a statement of a function's body (most): no chain to climb
                place = places[id(node)] = (scope, None) if scope is not None else None
            else:
                place = where(node)
            if place is not None:
                self._definition_events(place[0], node, events)
        in_function = _SCOPES
        storing = [name for name in called_names(tree) if name in _STORING or (name[-1:] == "_" and name[:1] != "_")]
        for call in analysis.in_call_order(calls_named(tree, storing)):
            func = call.func
            if type(func) is Attribute:  # (a method: not `append(x)` of a plain name)
                place = where(call)
                if place is not None:
                    events.append((place[0], call, func.value, _end(call), [*call.args, *(k.value for k in call.keywords)]))
        for call in self._backward_calls:  # `loss.backward()`, `grad(...)` imported from torch.autograd
            place = where(call)
            if place is not None and isinstance(place[0].node, in_function):
                self._calls_backward.add(id(place[0].node))
        returns = []
        for node in analysis.nodes(ast.Return):
            if node.value is not None:  # type: ignore[attr-defined]
                place = where(node)
                if place is not None and isinstance(place[0].node, in_function):
                    returns.append((_start(node), id(place[0].node), node.value))  # type: ignore[attr-defined]
        returns.sort(key=lambda r: r[0])  # statements: source order is the walk's
        for _, key, value in returns:
            self._returns.setdefault(key, []).append(value)
        self._define(events)

    def _definition_events(self, scope: _Scope, node: ast.AST, events: list) -> None:
        """The definitions one defining statement (or walrus) makes: (scope, node, target, position, values)."""
        if isinstance(node, ast.Assign):
            for target in node.targets:
                events.append((scope, node, target, _end(node), [node.value]))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            events.append((scope, node, node.target, _end(node), [node.value, node.target] if isinstance(node, ast.AugAssign) else [node.value]))
        elif isinstance(node, ast.NamedExpr):
            events.append((scope, node, node.target, _end(node), [node.value]))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            events.append((scope, node, node.target, _start(node), [node.iter]))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    events.append((scope, node, item.optional_vars, _start(node), [item.context_expr]))

    def _define(self, events: list) -> None:
        """The definitions of the events, as the walks would have made them: each scope's tables
        when it is first asked about (`_definitions`: most scopes of a large file never are),
        every ``self.x``'s now (a method's ``self.x`` may be any method's)."""
        pending = self._pending
        attributes: dict[tuple[str, str], list] = {}
        for sequence, (scope, node, target, position, values) in enumerate(events):
            for name in (target.id,) if type(target) is Name else _bound_names(target):
                found = pending.get(id(scope))
                if found is None:
                    found = pending[id(scope)] = []
                found.append((name, position, sequence, node, values))
                if name[:5] == "self." and scope.cls is not None:
                    attributes.setdefault((scope.cls, name), []).append((scope, node, sequence, values))
        key_of = self._walk_key
        order = {id(scope): i for i, scope in enumerate(self._scopes.values())}
        for key, found in attributes.items():
            if len(found) > 1:
                found.sort(key=lambda event: (order[id(event[0])], key_of(event[1]), event[2]))
            self._attributes[key] = [event[3] for event in found]

    def _definitions(self, scope: _Scope) -> dict[str, _Definitions]:
        """``scope``'s definitions by name: positions in order, a tie in the walk's order."""
        pending = self._pending.pop(id(scope), None)
        if pending is not None:
            tables: dict[str, list] = {}
            for name, *entry in pending:
                found = tables.get(name)
                if found is None:
                    tables[name] = [entry]
                else:
                    found.append(entry)
            key_of = self._walk_key
            for name, found in tables.items():
                if len(found) > 1:
                    found.sort(key=lambda event: (event[0], event[1]))
                    for i in range(len(found) - 1):
                        if found[i][0] == found[i + 1][0]:  # a tie: the walk's order decides
                            found.sort(key=lambda event: (event[0], key_of(event[2]), event[1]))
                            break
                scope.definitions[name] = _Definitions([event[0] for event in found], [event[3] for event in found])
        return scope.definitions

    def _walk_key(self, node: ast.AST) -> tuple[int, ...]:
        """The path of ``node`` from the module (child positions): sorted, the walk's order."""
        positions: dict[int, dict[int, int]] = self.__dict__.setdefault("_child_positions", {})
        parent_of = self.analysis.parent
        path: list[int] = []
        child, parent = node, parent_of(node)
        while parent is not None:
            where = positions.get(id(parent))
            if where is None:
                where = positions[id(parent)] = _child_positions(parent)
            path.append(where.get(id(child), 0))
            child, parent = parent, parent_of(parent)
        path.reverse()
        return tuple(path)

    def _scope_at(self, use: ast.AST) -> tuple[_Scope | None, Position | None]:
        """The scope of a name or attribute (None for other nodes, or one no walk visits), and
        the end of the outermost loop around it there."""
        if not self._indexed or (type(use) is not Name and type(use) is not Attribute):
            return None, None
        place = self._where(use)
        return place if place is not None else (None, None)

    def _where(self, node: ast.AST) -> tuple[_Scope, Position | None] | None:
        """(the scope whose walk visits ``node``, the end of the outermost loop around it in that
        scope), or None when no walk visits it (a class body, a default, an annotation)."""
        places = self._places
        key = id(node)
        if key in places:
            return places[key]
        parents = self._parents
        chain: list[ast.AST] = []  # node and its ancestors whose place is not known yet, upwards
        child = node
        place: tuple[_Scope, Position | None] | None = None
        while True:
            chain.append(child)
            parent = parents.get(id(child))
            if parent is None:  # the module itself: no walk visits it
                place = None
                break
            kind = type(parent)
            if id(parent) in places and kind not in _BOUNDARY_TYPES:  # its children's place is its own
                place = places[id(parent)]
                if place is not None and place[1] is None and kind in _LOOP_TYPES:
                    place = (place[0], _end(parent))
                break
            if kind is ast.Module:
                place = (self._module, None)
                break
            if kind in _SCOPE_TYPES:
                if isinstance(child, ast.stmt):  # its body
                    scope = self._function_scope(parent)
                    place = (scope, None) if scope is not None else None
                    break
                if any(d is child for d in parent.decorator_list) and type(parents.get(id(parent))) is not ast.ClassDef:  # type: ignore[attr-defined]
                    child = parent  # a nested function's decorators: walked where it stands
                    continue
                place = None  # arguments, annotations; a method's decorators
                break
            if kind is ast.ClassDef:
                place = None  # only its methods are walked, each as a scope
                break
            child = parent
        # Down the chain: each node's place is its parent's, the loop's end set below the outermost loop.
        for current in reversed(chain):
            places[id(current)] = place
            if place is not None and place[1] is None and type(current) in _LOOP_TYPES:
                place = (place[0], _end(current))
        return places[key]

    def _function_scope(self, function: ast.AST) -> _Scope | None:
        """The scope of a function some walk reaches (nested in a scope, or a method of a class
        that is), made once; None for the others."""
        key = id(function)
        if key in self._function_scopes:
            return self._function_scopes[key]
        found: _Scope | None = None
        parent = self.analysis.parent(function)
        if type(parent) is ast.ClassDef:
            place = self._where(parent)
            if place is not None:
                found = self._new_scope(function, place[0], parent.name)  # type: ignore[union-attr]
        else:
            place = self._where(function)
            if place is not None:
                found = self._new_scope(function, place[0], place[0].cls)  # a closure in a method sees its self
        self._function_scopes[key] = found
        return found

    @staticmethod
    def _new_scope(function: ast.AST, outer: _Scope, cls: str | None) -> _Scope:
        arguments = function.args  # type: ignore[attr-defined]
        parameters = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        parameters |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        return _Scope(function, outer, parameters, cls)

    # Propagation -------------------------------------------------------------------
    def _mark(self, node: ast.AST) -> None:
        if id(node) not in self._on:
            self._on.add(id(node))
            self._work.append(node)

    def _propagate(self) -> None:
        while self._work:
            node = self._work.pop()
            for child in child_nodes(node):  # every child but contexts and operators
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
        scope, loop_end = self._scope_at(use)
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
        table = self._definitions(scope).get(name)
        if table is None:
            if name in scope.parameters:
                self._parameter(scope.node, name)
                return
            outer = scope.outer
            while outer is not None:  # a free name: every binding of an enclosing scope
                table = self._definitions(outer).get(name)
                if table is not None:
                    self._mark_prefix(table, len(table.positions))
                    return
                if name in outer.parameters:
                    self._parameter(outer.node, name)
                    return
                outer = outer.outer
            return
        position = max(_start(use), loop_end or (0, 0))
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
        calls = calls_of(self.analysis, function) if key in self._calls_backward else self._path_calls.get(key, [])
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
Name, Attribute = ast.Name, ast.Attribute
# The statements (and walrus) a walk of a scope binds names for (`_definition_events`).
_DEFINING_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)


def _bound_names(target: ast.AST) -> Iterator[str]:
    """The names an assignment to ``target`` defines, in order (``xs[k] = v`` puts v into xs)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)
    elif isinstance(target, ast.Subscript):
        yield from _bound_names(target.value)  # xs[k] = v puts v into xs
    else:
        name = dotted(target)
        if name is not None:
            yield name
_SCOPE_TYPES = frozenset(_SCOPES)
_LOOP_TYPES = frozenset(LOOPS)
# Where a walk's place changes: the module and a function start one, a class body is not walked.
_BOUNDARY_TYPES = _SCOPE_TYPES | {ast.Module, ast.ClassDef}


def _is_method(function: Function) -> bool:
    arguments = function.args.posonlyargs + function.args.args
    return bool(arguments) and arguments[0].arg in ("self", "cls")


@dataclass
class _Seeds:
    roots: list[ast.AST]  # in `analysis.calls()` order of the calls that make them, then training steps
    backward_calls: list[ast.Call]


def _seed(analysis: Analysis) -> _Seeds:
    """The roots, and the backward calls among the calls that make them."""
    seeds = _Seeds([], [])
    backward_calls = file_backward_calls(analysis)
    backward = {id(c) for c in backward_calls}
    # The calls that can make a root: backward calls, backward wrappers, `step(closure)`;
    # in `analysis.calls()` order, from the file's table of calls by name.
    candidates = {id(c): c for c in [*backward_calls, *calls_named(analysis.tree, (*_BACKWARD_METHODS, "step"))]}
    for call in analysis.in_call_order(candidates.values()):
        if id(call) in backward:
            seeds.backward_calls.append(call)
            roots = backward_roots(analysis, call)
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if receiver is not None and call.args and _backward_wrapper(analysis, receiver):
                roots = [call.args[0]]  # accelerator.backward(loss)
            seeds.roots.extend(roots)
        elif isinstance(call.func, ast.Attribute) and call.func.attr in _BACKWARD_METHODS and call.args:
            seeds.roots.append(call.args[0])
        elif (
            isinstance(call.func, ast.Attribute) and call.func.attr == "step" and call.args
            and analysis.value(call.func.value).kind is Kind.OPTIMIZER
        ):
            closure = _closure(analysis, call, call.args[0])
            if closure is not None:
                seeds.roots.extend(_returned(closure))
    for info in analysis.classes.values():
        for name in _LOSS_RETURNING_METHODS & info.methods.keys():
            method = info.methods[name]
            if not any(_runs_backward(analysis, n) for n in walk(method.body)):  # else: manual optimization
                seeds.roots.extend(_returned(method))
    return seeds


def _closure(analysis: Analysis, call: ast.Call, expr: ast.AST) -> Function | None:
    """The function of this file named by ``expr`` where ``call`` stands."""
    if not isinstance(expr, ast.Name):
        return None
    for ancestor in analysis.ancestors(call):
        body = getattr(ancestor, "body", None)
        if isinstance(ancestor, (*_SCOPES, ast.Module)) and isinstance(body, list):
            for stmt in walk(body):
                if isinstance(stmt, _SCOPES) and stmt.name == expr.id:
                    return stmt
    return None


def _seeds(analysis: Analysis) -> _Seeds:
    return analysis.shared("loss roots", partial(_seed, analysis))


def loss_roots(analysis: Analysis) -> list[ast.AST]:
    """The file's loss roots alone, without the path grown from them: no index of the file's
    definitions, no walk back from each root (what `loss_path` costs on a large file)."""
    return _seeds(analysis).roots


def loss_path(analysis: Analysis) -> LossPath:
    """The file's loss path, built on first use and shared by every rule."""
    return analysis.shared("loss_path", partial(LossPath, analysis))


def calls_of(analysis: Analysis, function: ast.AST) -> list[ast.Call]:
    """Every call of this file whose callee is ``function``, in ``analysis.calls()`` order."""
    return analysis.callers(function)  # type: ignore[arg-type]


def on_loss_path(analysis: Analysis, node: ast.AST) -> bool:
    return loss_path(analysis).on_path(node)
