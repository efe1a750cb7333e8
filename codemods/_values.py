"""The value analysis: what every expression of a file is, and whether it carries a graph.

Built once per file on CPython's ``ast`` and shared by every rule (the way Ruff's semantic
model is). For each expression it answers two questions:

- its **kind**: a tensor (a Parameter or leaf that requires grad among them), a list /
  tuple / dict / set and what they hold, a Python number, bool, str or None, a numpy array,
  an ``nn.Module`` (and its class), an optimizer, a distribution, or unknown;
- its **graph**: ``YES`` (it may carry an autograd graph), ``NO`` (it cannot; ``cut`` says
  why: ``.detach()``, ``.data``, ``.item()``, a constructor, a grad-disabled region, a
  non-differentiable op), or ``UNKNOWN``.

How it works: an abstract interpretation of every scope (module body, each function and
method) in source order, with an environment from names (and ``self.x`` attributes) to
values. Branches join, loops run until their environment is stable, comprehensions bind
their targets. It follows assignment, augmented assignment, tuple and starred unpacking,
containers (literals, comprehensions, ``append``/``extend``/``insert``/``+=``, ``x[k] = v``),
``for`` targets over containers, ``requires_grad`` set after creation, grad-disabled regions
(``with torch.no_grad()``, ``inference_mode``, ``set_grad_enabled(False)``, decorators),
module calls (a local class's ``forward``), torch functions by qualified name
(``codemods/_torch.py``), tensor methods, and the file's own functions: what each returns,
and what its callers pass it (summaries, iterated to a fixed point, at most a few rounds).
Attributes of ``self`` set in one method are seen in the others, through ``@property``
getters too.

What it cannot see stays ``UNKNOWN``; each rule decides what unknown means for it (usually:
report without a fix, or stay silent).
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

from . import _torch
from ._ast import _CHILD_FIELDS, attributes_named, child_fields, child_nodes, imports_of, names_named

_Built = TypeVar("_Built")


class Kind(enum.Enum):
    UNKNOWN = "unknown"
    TENSOR = "tensor"
    LIST = "list"
    TUPLE = "tuple"
    DICT = "dict"
    SET = "set"
    ITERATOR = "iterator"  # generators, zip/enumerate/range, .parameters(): iterated once
    NUMBER = "number"
    BOOL = "bool"
    STR = "str"
    NONE = "none"
    NDARRAY = "ndarray"
    SIZE = "size"  # torch.Size / tensor.shape: a tuple of ints
    DTYPE = "dtype"
    DEVICE = "device"
    MODULE = "module"  # an nn.Module instance
    OPTIMIZER = "optimizer"
    DISTRIBUTION = "distribution"
    INSTANCE = "instance"  # an instance of a class of this file that is not a module
    FUNCTION = "function"
    CLASS = "class"
    IMPORTED = "imported"  # a module or object named through an import: see Value.name


CONTAINERS = {Kind.LIST, Kind.TUPLE, Kind.DICT, Kind.SET, Kind.ITERATOR}
PYTHON_SCALARS = {Kind.NUMBER, Kind.BOOL, Kind.STR, Kind.NONE}


class Graph(enum.IntEnum):
    """Whether a value may carry an autograd graph. Joins take the larger: "may" carry."""

    NO = 0
    UNKNOWN = 1
    YES = 2


@dataclass(frozen=True, init=False)
class Value:
    kind: Kind = Kind.UNKNOWN
    graph: Graph = Graph.UNKNOWN
    # Containers: the join of what they hold; TUPLE of known length: each item.
    element: "Value | None" = None
    items: "tuple[Value, ...] | None" = None
    cut: str | None = None  # why graph is NO, when it was cut: ".detach()", ".data", ...
    leaf: bool = False  # a tensor that requires grad and has no grad_fn (Parameter, requires_grad=True)
    parameter: bool = False  # an nn.Parameter
    name: str | None = None  # IMPORTED/FUNCTION: qualified name; MODULE/INSTANCE/CLASS: class name
    shape: "tuple[int | None, ...] | None" = None  # tensors: sizes where the code states them
    optional: bool = False  # may also be None

    def __init__(
        self, kind: Kind = Kind.UNKNOWN, graph: Graph = Graph.UNKNOWN, element: "Value | None" = None,
        items: "tuple[Value, ...] | None" = None, cut: str | None = None, leaf: bool = False,
        parameter: bool = False, name: str | None = None, shape: "tuple[int | None, ...] | None" = None,
        optional: bool = False,
    ) -> None:
        # The fields in one dictionary, not one frozen-dataclass `object.__setattr__` each: a
        # Value is made for most expressions of a file. (Same fields, same order.)
        object.__setattr__(self, "__dict__", {
            "kind": kind, "graph": graph, "element": element, "items": items, "cut": cut, "leaf": leaf,
            "parameter": parameter, "name": name, "shape": shape, "optional": optional,
        })

    # Queries ---------------------------------------------------------------------------
    @property
    def is_tensor(self) -> bool:
        return self.kind is Kind.TENSOR and not self.optional

    @property
    def carries(self) -> bool:
        return self.graph is Graph.YES

    def holds(self, kind: Kind) -> bool:
        """A list/tuple/set/iterator known to hold only values of ``kind``."""
        element = self.element_value()
        return self.kind in CONTAINERS and element is not None and element.kind is kind and not element.optional

    def element_value(self) -> "Value | None":
        if self.items is not None:
            return join_all(self.items) if self.items else None
        return self.element

    def join(self, other: "Value | None") -> "Value":
        if other is None or other is self:
            return self
        if self.kind is Kind.NONE and other.kind is not Kind.NONE:
            return replace(other, optional=True)
        if other.kind is Kind.NONE and self.kind is not Kind.NONE:
            return replace(self, optional=True)
        graph = max(self.graph, other.graph)
        if self.kind is not other.kind:
            return Value(Kind.UNKNOWN, graph)
        items = None
        if self.items is not None and other.items is not None and len(self.items) == len(other.items):
            items = tuple(a.join(b) for a, b in zip(self.items, other.items))
        element = None
        if items is None:
            mine, theirs = self.element_value(), other.element_value()
            element = mine.join(theirs) if mine is not None else theirs
        return Value(
            self.kind,
            graph,
            element=element,
            items=items,
            cut=self.cut if self.cut == other.cut else (self.cut or other.cut if graph is Graph.NO else None),
            leaf=self.leaf and other.leaf,
            parameter=self.parameter and other.parameter,
            name=self.name if self.name == other.name else None,
            shape=self.shape if self.shape == other.shape else None,
            optional=self.optional or other.optional,
        )


def replace(value: Value, **changes) -> Value:
    """``dataclasses.replace`` for a Value, without its per-field checks (it runs for most
    expressions of a file): a copy of the fields, some changed."""
    copy = object.__new__(Value)
    fields = copy.__dict__
    fields.update(value.__dict__)
    fields.update(changes)
    return copy


def join_all(values: Iterable[Value | None]) -> Value | None:
    result: Value | None = None
    for value in values:
        if value is None:
            continue
        result = value if result is None else result.join(value)
    return result


UNKNOWN = Value()
NOTHING = Value(Kind.UNKNOWN, Graph.NO)
NONE = Value(Kind.NONE, Graph.NO)
NUMBER = Value(Kind.NUMBER, Graph.NO)
BOOL = Value(Kind.BOOL, Graph.NO)
STR = Value(Kind.STR, Graph.NO)
SIZE = Value(Kind.SIZE, Graph.NO, element=NUMBER)
TENSOR_NO = Value(Kind.TENSOR, Graph.NO)
_PY_KINDS = {"number": NUMBER, "bool": BOOL, "size": SIZE, "dtype": Value(Kind.DTYPE, Graph.NO),
             "device": Value(Kind.DEVICE, Graph.NO), "unknown": NOTHING}


def tensor(graph: Graph, shape=None, cut: str | None = None) -> Value:
    return Value(Kind.TENSOR, graph, shape=shape, cut=cut if graph is Graph.NO else None)


def container(kind: Kind, element: Value | None, graph: Graph | None = None) -> Value:
    graph = graph if graph is not None else (element.graph if element is not None else Graph.NO)
    return Value(kind, graph, element=element)


def as_cut(value: Value, why: str) -> Value:
    """``value`` with its graph cut (its kind kept)."""
    if value.kind in CONTAINERS:
        element = value.element_value()
        return replace(value, graph=Graph.NO, items=None,
                       element=as_cut(element, why) if element is not None else None)
    return replace(value, graph=Graph.NO, cut=why, leaf=False, parameter=False)


# Imports ---------------------------------------------------------------------------------
_CANONICAL = {
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.autograd.grad_mode.no_grad": "torch.no_grad",
    "torch.autograd.no_grad": "torch.no_grad",
    "torch.autograd.grad_mode.inference_mode": "torch.inference_mode",
    "torch.autograd.grad_mode.set_grad_enabled": "torch.set_grad_enabled",
    "torch.autograd.set_grad_enabled": "torch.set_grad_enabled",
    "torch.distributions.normal.Normal": "torch.distributions.Normal",
    "torch.autograd.variable.Variable": "torch.autograd.Variable",
}


def dotted(expr: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


class Imports:
    """Local name -> the qualified name it was imported as (every import in the file)."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        by_type = indexed(tree)[1]
        statements = by_type.get(ast.Import, []) + by_type.get(ast.ImportFrom, [])
        statements.sort(key=lambda node: (node.lineno, node.col_offset))  # source order: a later import wins
        for node in statements:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.aliases[head] = head
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def qualify(self, expr: ast.AST) -> str | None:
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.aliases.get(head)
        if base is None:
            return None
        full = f"{base}.{rest}" if rest else base
        return _CANONICAL.get(full, full)

    def imports_module(self, prefix: str) -> bool:
        return any(v == prefix or v.startswith(prefix + ".") for v in self.aliases.values())

    def local_name_of(self, qualified: str) -> str | None:
        """How this file spells ``qualified`` (``T`` for torch after ``import torch as T``)."""
        for local, name in self.aliases.items():
            if name == qualified:
                return local
        return None


# Classes and functions of the file --------------------------------------------------------
Function = ast.FunctionDef | ast.AsyncFunctionDef
_MODULE_BASES = ("torch.nn.Module", "torch.nn.")
_FRAMEWORK_MODULE_BASES = ("LightningModule", "PreTrainedModel", "ModelMixin")


@dataclass
class ClassInfo:
    node: ast.ClassDef
    is_module: bool
    methods: dict[str, Function]
    properties: set[str]
    # self.<attr> -> the join of every value assigned to it, in any method (read it with
    # `Analysis.attributes_of`, which runs the methods first)
    attributes: dict[str, Value]


def _decorator_names(function: Function, imports: Imports) -> list[str]:
    names = []
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(imports.qualify(target) or dotted(target) or "")
    return names


def grad_disabling(expr: ast.AST, imports: Imports) -> bool | None:
    """True for ``torch.no_grad()`` and friends, False for ``torch.enable_grad()``, else None."""
    func = expr.func if isinstance(expr, ast.Call) else expr
    qualified = imports.qualify(func)
    args = expr.args if isinstance(expr, ast.Call) else []
    if qualified in _torch.GRAD_DISABLING:
        if args and isinstance(args[0], ast.Constant) and args[0].value is False:
            return None
        return True
    if qualified == "torch.set_grad_enabled" and args and isinstance(args[0], ast.Constant):
        return not args[0].value
    if qualified == "torch.enable_grad":
        return False
    return None


# The interpreter ------------------------------------------------------------------------------
_MAX_ROUNDS = 4
_MAX_LOOP_PASSES = 3


class Analysis:
    """The value analysis of one file (the engine builds one per file).

    Scopes are interpreted on demand: a query about an expression (its value, the callee of a
    call, what a function returns or is passed) runs the scopes of its *component* first, and
    each component runs once. Components group the scopes that can exchange a value through
    the summaries (see `_components`); a component's summaries are read and written by its own
    scopes only, so running one alone gives each of its expressions the value that running the
    whole file gives. Code no rule asks about is never interpreted.
    """

    def __init__(self, tree: ast.Module, source: str = "", path: str = "", on_demand: bool = True) -> None:
        """``on_demand=False``: every scope now, as one fixed point over the whole file (what
        the components must agree with; the tests and benchmarks compare the two)."""
        self.tree = tree
        self.source = source
        self.path = path
        self.imports = imports_of(tree)
        self._parents: dict[int, ast.AST] | None = None
        self._by_type: dict[type, list[ast.AST]] | None = None
        self._values: dict[int, Value] = {}
        self.functions: dict[str, Function] = {}  # module-level functions by name
        self.classes: dict[str, ClassInfo] = {}
        self._scopes: list[tuple[Function | ast.Module, ClassInfo | None]] = []
        self._returns: dict[int, Value] = {}  # function id -> join of its return values
        self._arguments: dict[int, dict[str, Value]] = {}  # function id -> parameter -> join of call-site values
        self._module_env: dict[str, Value] = {}
        # function id -> name -> the join of every value the function binds to the name (its
        # parameters included), for the functions nested in it, which read those names when
        # they run (a closure; any time after the binding, so every binding counts).
        self._closures: dict[int, dict[str, Value]] = {}
        self._reading: dict = {}  # what the running scope has read: summary key -> value
        self._writing: tuple[dict, dict, dict] = ({}, {}, {})
        self._nested: dict[int, dict[str, Function]] = {}  # function id -> functions defined in it
        self._callees: dict[int, Function] = {}  # call id -> the function of this file it runs
        self._method_classes: dict[int, ClassInfo] | None = None  # method id -> its class
        # What shared modules build on this analysis once (the loss path, def-use chains), by
        # their key. Its values hold the analysis: `release` breaks that cycle.
        self.memo: dict[str, object] = {}
        self._collect()
        self._scope_index = {id(scope): index for index, (scope, _) in enumerate(self._scopes)}
        self._component: list[int] | None = None  # scope index -> the first scope index of its component
        self._members: dict[int, list[int]] = {}  # that first index -> the component's scopes, in order
        self._analysed: set[int] = set()  # components run (by their first index)
        self._running = False
        self._resolved: list[ast.Call] = []  # the calls the running component resolved to a function of the file
        self._callers: dict[int, list[ast.Call]] = {}  # function id -> the calls that run it
        self._call_order: dict[int, int] | None = None
        if not on_demand:
            everything = list(range(len(self._scopes)))
            self._component, self._members = [0] * len(everything), {0: everything}
            self._analyse(0)

    def shared(self, key: str, build: Callable[[], _Built]) -> _Built:
        """What ``build()`` returns, built on first use and kept in the memo under ``key``: one
        for the file, shared by every rule that asks."""
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = build()
        return found  # type: ignore[return-value]

    def release(self) -> None:
        """Free what this analysis and its memo hold, now (the engine calls it when a file is done)."""
        self.memo.clear()
        release(self.tree)

    # Structure -------------------------------------------------------------------------
    def _collect(self) -> None:
        self._scopes.append((self.tree, None))
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[stmt.name] = stmt
        # Source order, as a walk of the blocks would give: of two classes of one name the last wins.
        classes = sorted(indexed(self.tree)[1].get(ast.ClassDef, []), key=lambda node: (node.lineno, node.col_offset))
        for cls in classes:
            methods = {s.name: s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
            properties = {
                name for name, m in methods.items()
                if any(n in ("property", "functools.cached_property", "cached_property") for n in _decorator_names(m, self.imports))
            }
            self.classes[cls.name] = ClassInfo(cls, False, methods, properties, {})
        changed = True
        while changed:  # a class is a module if a base is nn.Module(-like) or a module class of this file
            changed = False
            for info in self.classes.values():
                if info.is_module:
                    continue
                for base in info.node.bases:
                    qualified = self.imports.qualify(base) or ""
                    local = dotted(base) or ""
                    if (
                        qualified.startswith(_MODULE_BASES)
                        or (local in self.classes and self.classes[local].is_module)
                        or local.rsplit(".", 1)[-1] in _FRAMEWORK_MODULE_BASES
                    ):
                        info.is_module = changed = True
                        break
        self._parents, self._by_type = indexed(self.tree)
        for node in self._by_type.get(ast.FunctionDef, []) + self._by_type.get(ast.AsyncFunctionDef, []):
            self._scopes.append((node, self._class_of_method(node)))
        for function, _ in self._scopes[1:]:
            outer = self.enclosing_function(function)
            if outer is not None:
                self._nested.setdefault(id(outer), {})[function.name] = function

    def _class_of_method(self, function: Function) -> ClassInfo | None:
        if self._method_classes is None:  # one table, not a scan of every class per function
            self._method_classes = {}
            for info in self.classes.values():
                for method in info.methods.values():
                    self._method_classes.setdefault(id(method), info)
        return self._method_classes.get(id(function))

    def parent(self, node: ast.AST) -> ast.AST | None:
        if self._parents is None:
            self._parents = {}
            for parent in ast.walk(self.tree):
                for child in ast.iter_child_nodes(parent):
                    self._parents[id(child)] = parent
        return self._parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def enclosing_function(self, node: ast.AST) -> Function | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return ancestor
        return None

    def enclosing_class(self, node: ast.AST) -> ClassInfo | None:
        function = self.enclosing_function(node)
        while function is not None:
            info = self._class_of_method(function)
            if info is not None:
                return info
            function = self.enclosing_function(function)
        return None

    def grad_disabled(self, node: ast.AST) -> bool:
        """Inside ``with torch.no_grad():`` (or alike), or a function decorated with it."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.With, ast.AsyncWith)):
                states = [grad_disabling(item.context_expr, self.imports) for item in ancestor.items]
                if True in states:
                    return True
                if False in states:
                    return False
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return self._decorated_no_grad(ancestor)
        return False

    def _decorated_no_grad(self, function: Function) -> bool:
        return any(grad_disabling(d, self.imports) for d in function.decorator_list)

    def qualify(self, expr: ast.AST) -> str | None:
        return self.imports.qualify(expr)

    def nodes(self, *types: type) -> list[ast.AST]:
        """Every node of these types, in ``ast.walk`` order (one walk per file, shared)."""
        if self._by_type is None:
            self._by_type = {}
            for node in ast.walk(self.tree):
                self._by_type.setdefault(type(node), []).append(node)
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        return [n for t in types for n in self._by_type.get(t, [])]

    def calls(self) -> list[ast.Call]:
        return self.nodes(ast.Call)  # type: ignore[return-value]

    def call_order(self) -> dict[int, int]:
        """Call id -> its position in :meth:`calls` (one table per file)."""
        if self._call_order is None:
            self._call_order = {id(call): index for index, call in enumerate(self.calls())}
        return self._call_order

    def in_call_order(self, calls: Iterable[ast.Call]) -> list[ast.Call]:
        """``calls`` (say, from a table by name) in :meth:`calls` order."""
        order = self.call_order()
        return sorted(calls, key=lambda call: order[id(call)])

    def attributes_named(self, attr: str) -> list[ast.Attribute]:
        """Every ``x.attr`` of the file (loads and stores), from the tree's table by name
        (``_ast.attributes_named``): a rule that asks about each attribute of each class stays
        linear in the file."""
        return attributes_named(self.tree, attr)

    # Queries ---------------------------------------------------------------------------
    def value(self, expr: ast.AST) -> Value:
        """What ``expr`` is where it stands (UNKNOWN for code the analysis never reached)."""
        found = self._values.get(id(expr))
        if found is None:
            found = self._values[id(expr)] = self._value_after_running(expr)
        return found

    def returns(self, function: Function) -> Value:
        self._analyse_scope_of(function)
        return self._returns.get(id(function), UNKNOWN)

    def arguments(self, function: Function) -> dict[str, Value]:
        """Parameter -> the join of what this file's callers pass for it."""
        self._analyse_scope_of(function)
        return self._arguments.get(id(function), {})

    def callee(self, call: ast.Call) -> Function | None:
        """The function or method of this file that ``call`` runs (a module call: its ``forward``)."""
        found = self._callees.get(id(call), _UNASKED)
        if found is _UNASKED:
            self._analyse(self._owner(call))
            found = self._callees.setdefault(id(call), None)  # (None kept: its scopes have run)
        return found  # type: ignore[return-value]

    def callers(self, function: Function) -> list[ast.Call]:
        """Every call of this file that runs ``function``, in ``calls()`` order (they are all in
        its component)."""
        self._analyse_scope_of(function)
        return self._callers.get(id(function), [])

    def attributes_of(self, cls: ClassInfo) -> dict[str, Value]:
        """``self.<attr>`` -> the join of every value a method of the class assigns to it."""
        for method in cls.methods.values():
            self._analyse_scope_of(method)
            break  # (the methods of a class are one component)
        return cls.attributes

    def complete(self) -> "Analysis":
        """Interpret every scope now (queries do it on demand)."""
        for index in range(len(self._scopes)):
            self._analyse(index)
        return self

    # On demand -----------------------------------------------------------------------------
    def _value_after_running(self, expr: ast.AST) -> Value:
        self._analyse(self._owner(expr))
        return self._values.get(id(expr), UNKNOWN)  # (UNKNOWN is kept: the scope that could record it has run)

    def _owner(self, node: ast.AST) -> int:
        """The scope that interprets ``node``: the function it is in, or (a decorator) the scope
        around that function, or the module."""
        parents, below = self._parents or {}, node
        current = parents.get(id(node))
        while current is not None:
            if type(current) in _FUNCTION_TYPES and not any(below is d for d in current.decorator_list):  # type: ignore[attr-defined]
                return self._scope_index[id(current)]
            below, current = current, parents.get(id(current))
        return 0

    def _analyse_scope_of(self, function: Function) -> None:
        index = self._scope_index.get(id(function))
        if index is not None:
            self._analyse(index)

    def _analyse(self, index: int) -> None:
        if self._component is None:
            self._component, self._members = _components(self)
        first = self._component[index]
        if first in self._analysed or self._running:
            return  # (a scope's own run reads what it recorded: never a query that runs more)
        self._analysed.add(first)
        self._running = True
        try:
            self._run(self._members[first])
        finally:
            self._running = False
        self._index_callers()

    def _index_callers(self) -> None:
        """File the calls the component resolved under their callees (their final ones: a scope
        that ran again may have resolved a call otherwise)."""
        resolved = {id(call): call for call in self._resolved}
        self._resolved = []
        if not resolved:
            return
        filed = set()
        for key, call in resolved.items():
            callee = self._callees.get(key)
            if callee is not None:
                self._callers.setdefault(id(callee), []).append(call)
                filed.add(id(callee))
        order = self.call_order()
        for key in filed:
            self._callers[key].sort(key=lambda call: order.get(id(call), 0))

    def module_class(self, name: str | None) -> ClassInfo | None:
        info = self.classes.get(name or "")
        return info if info is not None and info.is_module else None

    # Driver ------------------------------------------------------------------------------
    def _run(self, scopes: list[int]) -> None:
        # The scopes of one component, in source order. Each scope reads the summaries (what
        # functions return, what callers pass them, self attributes, module globals) and
        # contributes fresh ones. The summaries are updated as soon as a scope has run, so a
        # scope that runs after the functions it calls reads their final returns at once; a
        # scope runs again only when a summary it read has changed since it read it (at most
        # a few rounds). Runs of one round and the joins of one summary go in source order,
        # so the result does not depend on timing.
        contributions: dict[int, tuple[dict, dict, dict]] = {}
        seen: dict[int, dict] = {}  # scope index -> what its last run read: key -> value
        returns: dict[int, dict[int, Value]] = {}  # function id -> scope index -> value
        arguments: dict[int, dict[str, dict[int, Value]]] = {}
        attributes: dict[tuple[str, str], dict[int, Value]] = {}
        dirty = list(scopes)
        for _ in range(_MAX_ROUNDS):
            for index in dirty:
                scope, cls = self._scopes[index]
                self._reading, self._writing = {}, ({}, {}, {})
                _ScopeInterpreter(self, scope, cls).run()
                seen[index] = self._reading
                old = contributions.get(index, ({}, {}, {}))
                new = contributions[index] = self._writing
                for key in old[0].keys() | new[0].keys():
                    _replace_part(returns, key, index, new[0].get(key))
                    self._returns[key] = _joined(returns.get(key))
                for key in old[1].keys() | new[1].keys():
                    params = arguments.setdefault(key, {})
                    for name in old[1].get(key, {}).keys() | new[1].get(key, {}).keys():
                        _replace_part(params, name, index, new[1].get(key, {}).get(name))
                    # A new table, not an update: a scope's record of what it read holds the old one.
                    table = {name: _joined(parts) for name, parts in params.items() if parts}
                    if table:
                        self._arguments[key] = table
                    else:
                        self._arguments.pop(key, None)
                for key in old[2].keys() | new[2].keys():
                    _replace_part(attributes, key, index, new[2].get(key))
                    info = self.classes.get(key[0])
                    if info is None:
                        continue  # not a class of this file's table: nothing reads it
                    value = _joined(attributes.get(key))
                    if value is None:
                        info.attributes.pop(key[1], None)
                    else:
                        info.attributes[key[1]] = value
            dirty = [index for index in sorted(seen) if any(self._current(key) != value for key, value in seen[index].items())]
            if not dirty:
                break

    def _current(self, key: tuple):
        """What a summary read as ``key`` (see the readers below) gives now."""
        kind = key[0]
        if kind == "r":
            return self._returns.get(key[1])
        if kind == "a":
            return self._arguments.get(key[1], {})
        if kind == "t":
            info = self.classes.get(key[1])
            return None if info is None else info.attributes.get(key[2])
        if kind == "c":
            return self._closures.get(key[1], {}).get(key[2])
        return self._module_env.get(key[1])

    # Summaries, read by the scopes (each read is a dependency of the running scope).
    def returned(self, function: Function) -> Value | None:
        found = self._reading[("r", id(function))] = self._returns.get(id(function))
        return found

    def passed(self, function: Function) -> dict[str, Value]:
        found = self._reading[("a", id(function))] = self._arguments.get(id(function), {})
        return found

    def attribute(self, cls: ClassInfo, attr: str) -> Value | None:
        found = self._reading[("t", cls.node.name, attr)] = cls.attributes.get(attr)
        return found

    def module_global(self, name: str) -> Value | None:
        found = self._reading[("m", name)] = self._module_env.get(name)
        return found

    def closure_variable(self, function: Function, name: str) -> Value | None:
        found = self._reading[("c", id(function), name)] = self._closures.get(id(function), {}).get(name)
        return found

    def _record(self, node: ast.AST, value: Value) -> Value:
        self._values[id(node)] = value
        return value

    @staticmethod
    def _merge(table: dict, key, value: Value) -> None:
        old = table.get(key)
        table[key] = value if old is None else old.join(value)

    def _add_return(self, function: Function, value: Value) -> None:
        self._merge(self._writing[0], id(function), value)

    def _add_argument(self, function: Function, parameter: str, value: Value) -> None:
        self._merge(self._writing[1].setdefault(id(function), {}), parameter, value)

    def _add_attribute(self, cls: ClassInfo, attr: str, value: Value) -> None:
        self._merge(self._writing[2], (cls.node.name, attr), value)


def _replace_part(parts: dict, key, index: int, value: Value | None) -> None:
    """Set scope ``index``'s part of summary ``key`` (None: it has none any more)."""
    table = parts.get(key)
    if value is None:
        if table is not None:
            table.pop(index, None)
        return
    if table is None:
        table = parts[key] = {}
    table[index] = value


def _joined(parts: dict[int, Value] | None) -> Value | None:
    """The join of the scopes' parts of one summary, in source order (None: no part)."""
    if not parts:
        return None
    found: Value | None = None
    for index in sorted(parts):
        value = parts[index]
        found = value if found is None else found.join(value)
    return found


def _components(analysis: Analysis) -> tuple[list[int], dict[int, list[int]]]:
    """The scopes that may exchange values through the summaries, grouped: for each scope
    index, the first index of its group, and each group's scopes in order.

    Every way a value crosses scopes ends in a scope that names what it reaches: a function
    is called by its name, or through a value that came from a scope that names it; a class
    is instantiated by its name (a library module of the same last name counts as it), and
    its attributes and methods are reached through ``self`` or such an instance; a module
    global is read by its name. So two scopes are joined when one names a function of the
    file or a class of the file (Name, attribute or imported alias: the other is that
    function, or a method of that class), when one is nested in the other, when both are
    methods of classes of one name or one class is based on the other, and when one reads a
    global that the module body binds by anything but ``def``, ``class`` or ``import``. (A
    global bound only by those reads the same value whether or not the module body has run:
    the function, the class, or the import.)
    """
    scopes = analysis._scopes
    index_of = analysis._scope_index
    group = list(range(len(scopes)))

    def find(index: int) -> int:
        while group[index] != index:
            group[index] = group[group[index]]
            index = group[index]
        return index

    def join(one: int, other: int) -> None:
        one, other = find(one), find(other)
        if one != other:
            group[max(one, other)] = min(one, other)

    owner = analysis._owner
    functions: dict[str, list[int]] = {}
    for index in range(1, len(scopes)):
        function = scopes[index][0]
        functions.setdefault(function.name, []).append(index)
        outer = analysis.enclosing_function(function)
        if outer is not None:
            join(index, index_of[id(outer)])
    methods: dict[str, int] = {}  # class name -> a method of a class of that name
    class_nodes = analysis._by_type.get(ast.ClassDef, []) if analysis._by_type else []
    for cls in class_nodes:
        for stmt in cls.body:
            if type(stmt) in _FUNCTION_TYPES:
                index = index_of[id(stmt)]
                if cls.name in methods:
                    join(methods[cls.name], index)
                else:
                    methods[cls.name] = index
    for cls in class_nodes:
        for base in cls.bases:
            based = methods.get((dotted(base) or "").rsplit(".", 1)[-1])
            if based is not None and cls.name in methods:
                join(based, methods[cls.name])
    aliased = {}  # an imported name that a library module of the name of a class of the file is spelled with
    for local, qualified in analysis.imports.aliases.items():
        last = qualified.rsplit(".", 1)[-1]
        if last in methods:
            aliased[local] = methods[last]
    changing = _rebound_globals(analysis.tree, set(analysis.functions), set(analysis.classes), set(analysis.imports.aliases))
    wanted = functions.keys() | methods.keys() | aliased.keys() | changing
    for node in names_named(analysis.tree, wanted):
        name = node.id  # type: ignore[attr-defined]
        named = functions.get(name)
        method = methods.get(name, aliased.get(name))
        where = owner(node)
        for index in named or ():
            join(where, index)
        if method is not None:
            join(where, method)
        if name in changing:
            join(where, 0)
    for node in attributes_named(analysis.tree, methods) if methods else ():
        join(owner(node), methods[node.attr])  # type: ignore[attr-defined]
    first = [find(index) for index in range(len(scopes))]
    members: dict[int, list[int]] = {}
    for index, root in enumerate(first):
        members.setdefault(root, []).append(index)
    return first, members


_FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_UNASKED = object()
_NAME = ast.Name  # (a module global: one lookup, not two, in the interpreter's hottest line)


def _rebound_globals(tree: ast.Module, functions: set[str], classes: set[str], imported: set[str]) -> set[str]:
    """The names the module body binds other than by one kind of ``def`` (at its top level),
    ``class`` or ``import``: what a function reads of them depends on the module body's run."""
    rebound: set[str] = set()
    kinds: dict[str, set[str]] = {}
    top_level = {id(stmt) for stmt in tree.body}
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _FUNCTION_TYPES or kind is ast.ClassDef:
            top = id(node) in top_level or kind is ast.ClassDef
            kinds.setdefault(node.name, set()).add("def" if kind is not ast.ClassDef else "class")  # type: ignore[attr-defined]
            if not top:
                rebound.add(node.name)  # type: ignore[attr-defined]
            stack.extend(node.decorator_list)  # type: ignore[attr-defined]
            if kind is ast.ClassDef:
                stack.extend(node.bases)  # type: ignore[attr-defined]
            continue
        if kind is ast.Lambda:
            continue
        if kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:  # type: ignore[attr-defined]
                kinds.setdefault((alias.asname or alias.name).split(".")[0], set()).add("import")
            continue
        if kind is ast.Name:
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                rebound.add(node.id)  # type: ignore[attr-defined]
            continue
        for field in ("name", "rest"):  # except ... as e, match captures
            bound = getattr(node, field, None)
            if type(bound) is str:
                rebound.add(bound)
        stack.extend(child_nodes(node))
    for name, how in kinds.items():
        if len(how) > 1 or (how == {"def"} and (name in classes or name in imported)) or (how == {"class"} and (name in functions or name in imported)) or (how == {"import"} and (name in functions or name in classes)):
            rebound.add(name)
    return rebound


def indexed(tree: ast.AST) -> tuple[dict[int, ast.AST], dict[type, list[ast.AST]]]:
    """:func:`_index` of ``tree``, computed once per tree (the rules' ``quick_check`` share it).

    Stored on the tree. The index holds the tree (the parent of its top-level statements), so
    the two make a cycle: :func:`release` breaks it when the file is done, and the tree is then
    freed by reference counting, not by a pass of the cyclic collector over a large tree. (A
    weak-keyed table would never free it: its value holds the key.)
    """
    found = tree.__dict__.get("_gradfix_index")
    if found is None:
        found = tree._gradfix_index = _index(tree)  # type: ignore[attr-defined]
    return found


def release(tree: ast.AST) -> None:
    """Drop what is kept on ``tree`` and holds it, :func:`indexed`'s index and the quick
    checks' graph flow (the engine calls it when a file is done). The tables of names and
    nodes by name that ``_ast`` keeps on the tree hold only its descendants: they go with it."""
    tree.__dict__.pop("_gradfix_index", None)
    tree.__dict__.pop("_gradfix_graph_flow", None)


def _index(tree: ast.AST) -> tuple[dict[int, ast.AST], dict[type, list[ast.AST]]]:
    """Every node's parent, and the nodes by type (breadth first), in one pass.

    Written out instead of ``ast.walk`` + ``ast.iter_child_nodes``: their generators cost
    more than the rest of this loop on large files. Each node type's child fields are looked
    up once; contexts and operators (a third of a tree's nodes) are left out.
    """
    parents: dict[int, ast.AST] = {}
    by_type: dict[type, list[ast.AST]] = {}
    AST, queue = ast.AST, [tree]
    append = queue.append
    fields_of = _CHILD_FIELDS  # (child_fields' table, read directly: one call less per node)
    for node in queue:  # the list grows as it is read
        kind = type(node)
        found = by_type.get(kind)
        if found is None:
            found = by_type[kind] = []
        found.append(node)
        fields = fields_of.get(kind)
        if fields is None:
            fields = child_fields(kind)
        for name in fields:
            child = getattr(node, name, None)
            if child is None:
                continue
            if type(child) is list:
                for item in child:
                    if isinstance(item, AST):
                        parents[id(item)] = node
                        append(item)
            elif isinstance(child, AST):
                parents[id(child)] = node
                append(child)
    return parents, by_type


_HANDLERS: dict[tuple[type, str], dict[type, object]] = {}


def _handlers(interpreter: type, prefix: str) -> dict[type, object]:
    """The interpreter's methods by node type (``_e_Call``, ``_stmt_If``), each looked up once
    (a missing one is None): one dictionary lookup per node instead of an attribute search."""
    table = _HANDLERS.get((interpreter, prefix))
    if table is None:
        table = _HANDLERS[(interpreter, prefix)] = _HandlerTable(interpreter, prefix)
    return table


class _HandlerTable(dict):
    def __init__(self, interpreter: type, prefix: str) -> None:
        super().__init__()
        self.interpreter, self.prefix = interpreter, prefix

    def __missing__(self, node_type: type):
        found = self[node_type] = getattr(self.interpreter, self.prefix + node_type.__name__, None)
        return found


def _parameter_names(function: Function) -> list[ast.arg]:
    args = function.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs] + [a for a in (args.vararg, args.kwarg) if a]


class _ScopeInterpreter:
    """One pass over one scope's statements (not into nested functions or classes)."""

    def __init__(self, analysis: Analysis, scope: Function | ast.Module, cls: ClassInfo | None) -> None:
        self.a = analysis
        self.scope = scope
        self.cls = cls
        self.env: dict[str, Value] = {}
        self.grad_enabled = True
        self.is_function = not isinstance(scope, ast.Module)
        # The functions around this one, innermost first (a free name is read from them).
        self._enclosing: list[Function] = []
        # What this function binds, when functions nested in it read it (`Analysis._closures`).
        self._bindings: dict[str, Value] | None = None
        self._recorded = analysis._values
        self._statement_handlers = _handlers(type(self), "_stmt_")
        self._expression_handlers = _handlers(type(self), "_e_")

    # Entry -----------------------------------------------------------------------------
    def run(self) -> None:
        if isinstance(self.scope, ast.Module):
            self._block(self.scope.body)
            self.a._module_env = dict(self.env)
            return
        function = self.scope
        outer = self.a.enclosing_function(function)
        while outer is not None:
            self._enclosing.append(outer)
            outer = self.a.enclosing_function(outer)
        self.grad_enabled = not self.a._decorated_no_grad(function)
        self._bind_parameters(function)
        if id(function) in self.a._nested:
            self._bindings = dict(self.env)
        self._block(function.body)
        if self._bindings is not None:
            self.a._closures[id(function)] = self._bindings

    def _bind_parameters(self, function: Function) -> None:
        params = _parameter_names(function)
        passed = self.a.passed(function)
        decorators = _decorator_names(function, self.a.imports)
        is_static = "staticmethod" in decorators
        for index, param in enumerate(params):
            if index == 0 and self.cls is not None and not is_static:
                if "classmethod" in decorators:
                    value = Value(Kind.CLASS, Graph.NO, name=self.cls.node.name)
                else:
                    value = Value(Kind.MODULE if self.cls.is_module else Kind.INSTANCE, Graph.UNKNOWN, name=self.cls.node.name)
                self.env[param.arg] = value
                continue
            value = self._annotated(param.annotation)
            from_callers = passed.get(param.arg)
            if from_callers is not None:
                # What this file's callers pass (a forward input: what the module is called with).
                value = from_callers if value.kind is Kind.UNKNOWN else value.join(from_callers)
            if param is function.args.vararg:
                value = Value(Kind.TUPLE, value.graph, element=value)
            elif param is function.args.kwarg:
                value = Value(Kind.DICT, value.graph, element=value)
            self.env[param.arg] = value
        self._defaults(function)

    def _defaults(self, function: Function) -> None:
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        for param, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            self._join_default(param, default)
        for param, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                self._join_default(param, default)

    def _join_default(self, param: ast.arg, default: ast.expr) -> None:
        value = self._expr(default)
        current = self.env.get(param.arg)
        if current is None or current is UNKNOWN:
            return  # an unknown argument stays unknown, whatever the default
        self.env[param.arg] = current.join(value)

    def _annotated(self, annotation: ast.AST | None) -> Value:
        if annotation is None:
            return UNKNOWN
        text = (self.a.qualify(annotation) or dotted(annotation) or "").rsplit(".", 1)[-1]
        if text == "Tensor":
            return Value(Kind.TENSOR, Graph.UNKNOWN)
        if text in ("int", "float"):
            return NUMBER
        if text == "bool":
            return BOOL
        if text == "str":
            return STR
        if isinstance(annotation, ast.Subscript):
            outer = (dotted(annotation.value) or "").rsplit(".", 1)[-1].lower()
            inner = self._annotated(annotation.slice if not isinstance(annotation.slice, ast.Tuple) else None)
            if outer in ("list", "sequence", "iterable"):
                return Value(Kind.LIST, inner.graph, element=inner) if outer == "list" else UNKNOWN
            if outer == "tuple":
                return Value(Kind.TUPLE, Graph.UNKNOWN)
            if outer == "dict":
                return Value(Kind.DICT, Graph.UNKNOWN)
        return UNKNOWN

    # Statements --------------------------------------------------------------------------
    def _block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self._statement(stmt)

    def _statement(self, stmt: ast.stmt) -> None:
        method = self._statement_handlers[type(stmt)]
        if method is not None:
            method(self, stmt)
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self._expr(child)

    def _stmt_Expr(self, stmt: ast.Expr) -> None:
        self._expr(stmt.value)

    def _stmt_Assign(self, stmt: ast.Assign) -> None:
        value = self._expr(stmt.value)
        for target in stmt.targets:
            self._bind(target, value)

    def _stmt_AnnAssign(self, stmt: ast.AnnAssign) -> None:
        if stmt.value is not None:
            self._bind(stmt.target, self._expr(stmt.value))

    def _stmt_AugAssign(self, stmt: ast.AugAssign) -> None:
        current = self._expr(stmt.target)
        value = self._binop(current, self._expr(stmt.value), stmt.op)
        if current.kind is Kind.LIST and isinstance(stmt.op, ast.Add):
            value = current.join(container(Kind.LIST, self._element_of(self._recorded.get(id(stmt.value), UNKNOWN))))
        self._bind(stmt.target, value)

    def _stmt_Return(self, stmt: ast.Return) -> None:
        value = self._expr(stmt.value) if stmt.value is not None else NONE
        if self.is_function:
            if not self.grad_enabled:
                value = self._no_grad(value)
            self.a._add_return(self.scope, value)  # type: ignore[arg-type]

    def _stmt_If(self, stmt: ast.If) -> None:
        self._expr(stmt.test)
        self._branches([stmt.body, stmt.orelse])

    def _stmt_While(self, stmt: ast.While) -> None:
        self._loop(stmt, lambda: self._expr(stmt.test))

    def _stmt_For(self, stmt: ast.For) -> None:
        iterable = self._expr(stmt.iter)
        self._loop(stmt, lambda: self._bind(stmt.target, self._iteration(iterable, stmt.iter)))

    _stmt_AsyncFor = _stmt_For

    def _loop(self, stmt, header) -> None:
        before = dict(self.env)
        for _ in range(_MAX_LOOP_PASSES):
            start = dict(self.env)
            header()
            self._block(stmt.body)
            merged = _join_envs([start, self.env])
            if merged == start:
                break
            self.env = merged
        self.env = _join_envs([before, self.env])  # the body may not run
        self._block(stmt.orelse)

    def _stmt_With(self, stmt: ast.With) -> None:
        enabled = self.grad_enabled
        for item in stmt.items:
            value = self._expr(item.context_expr)
            state = grad_disabling(item.context_expr, self.a.imports)
            if state is not None:
                self.grad_enabled = not state
            if item.optional_vars is not None:
                self._bind(item.optional_vars, UNKNOWN if value.kind is not Kind.UNKNOWN else value)
        self._block(stmt.body)
        self.grad_enabled = enabled

    _stmt_AsyncWith = _stmt_With

    def _stmt_Try(self, stmt: ast.Try) -> None:
        before = dict(self.env)
        self._block(stmt.body)
        after_body = dict(self.env)
        envs = [after_body]
        for handler in stmt.handlers:
            self.env = _join_envs([before, after_body])
            if handler.name:
                self.env[handler.name] = UNKNOWN
            self._block(handler.body)
            envs.append(self.env)
        self.env = after_body
        self._block(stmt.orelse)
        envs[0] = self.env
        self.env = _join_envs(envs)
        self._block(stmt.finalbody)

    _stmt_TryStar = _stmt_Try

    def _stmt_Match(self, stmt) -> None:
        self._expr(stmt.subject)
        self._branches([case.body for case in stmt.cases] + [[]])

    def _branches(self, bodies: list[list[ast.stmt]]) -> None:
        before = self.env
        results = []
        for body in bodies:
            self.env = dict(before)
            self._block(body)
            results.append(self.env)
        self.env = _join_envs(results)

    def _stmt_FunctionDef(self, stmt: Function) -> None:
        for decorator in stmt.decorator_list:
            self._expr(decorator)
        self.env[stmt.name] = Value(Kind.FUNCTION, Graph.NO, name=stmt.name)

    _stmt_AsyncFunctionDef = _stmt_FunctionDef

    def _stmt_ClassDef(self, stmt: ast.ClassDef) -> None:
        self.env[stmt.name] = Value(Kind.CLASS, Graph.NO, name=stmt.name)

    def _stmt_Import(self, stmt) -> None:
        for alias in stmt.names:
            local = alias.asname or alias.name.split(".")[0]
            self.env.pop(local, None)

    _stmt_ImportFrom = _stmt_Import

    def _stmt_Delete(self, stmt: ast.Delete) -> None:
        for target in stmt.targets:
            key = _key(target)
            if key is not None and isinstance(target, (ast.Name, ast.Attribute)):
                self.env.pop(key, None)

    # Binding -------------------------------------------------------------------------------
    def _bind(self, target: ast.AST, value: Value) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            self._record(target, value)
            self._unpack(target.elts, value)
            return
        if isinstance(target, ast.Starred):
            self._bind(target.value, container(Kind.LIST, self._element_of(value)))
            return
        if isinstance(target, ast.Subscript):
            self._expr(target.slice)
            holder = self._expr(target.value)
            key = _key(target.value)
            if key is not None and self.grad_enabled:
                self._set(key, self._store_into(holder, value), target.value)
            return
        if isinstance(target, ast.Attribute):
            if target.attr == "requires_grad" and isinstance(target.value, (ast.Name, ast.Attribute)):
                self._set_requires_grad(target.value, value)
                return
            self._expr(target.value)
        key = _key(target)
        if key is None:
            return
        self._record(target, value)
        self._set(key, value, target)

    def _set(self, key: str, value: Value, target: ast.AST) -> None:
        self.env[key] = value
        bindings = self._bindings
        if bindings is not None and "." not in key:
            old = bindings.get(key)
            bindings[key] = value if old is None else old.join(value)
        if key.startswith("self.") and key.count(".") == 1 and self.cls is not None:
            self.a._add_attribute(self.cls, key[5:], value)

    def _unpack(self, targets: list[ast.expr], value: Value) -> None:
        starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        if value.items is not None and not starred and len(value.items) == len(targets):
            for target, item in zip(targets, value.items):
                self._bind(target, item)
            return
        element = self._element_of(value)
        if element is None or (value.kind is Kind.UNKNOWN):
            # One output of an unknown call (`boxes, scores = self.head(x)`): unknown kind,
            # but it carries what the whole carried.
            element = Value(Kind.UNKNOWN, value.graph)
        for target in targets:
            self._bind(target, element)

    def _store_into(self, holder: Value, value: Value) -> Value:
        """The holder after ``holder[k] = value``."""
        if holder.kind in (Kind.LIST, Kind.DICT):
            element = holder.element_value()
            return replace(holder, items=None, element=value if element is None else element.join(value),
                           graph=max(holder.graph, value.graph))
        if holder.kind is Kind.TENSOR:
            return replace(holder, graph=max(holder.graph, value.graph) if value.kind is not Kind.UNKNOWN or value.graph is not Graph.UNKNOWN else holder.graph, leaf=False, cut=None if value.carries else holder.cut)
        return replace(holder, graph=max(holder.graph, value.graph))

    def _set_requires_grad(self, target: ast.expr, flag: Value) -> None:
        key = _key(target)
        holder = self._expr(target)
        if key is None:
            return
        on = self._constant_true(flag)
        if on and holder.kind in (Kind.TENSOR, Kind.UNKNOWN):
            self._set(key, replace(holder, kind=Kind.TENSOR, graph=Graph.YES, leaf=not holder.carries or holder.leaf, cut=None), target)
        elif on is False and holder.kind is Kind.TENSOR:
            self._set(key, as_cut(holder, "requires_grad=False"), target)

    def _constant_true(self, value: Value) -> bool | None:
        return None if value.kind is not Kind.BOOL else value.name == "True" if value.name else None

    def _iteration(self, iterable: Value, node: ast.expr) -> Value:
        """What a ``for`` target over ``iterable`` is bound to."""
        element = self._element_of(iterable)
        if element is None:
            return Value(Kind.UNKNOWN, iterable.graph if iterable.kind is not Kind.MODULE else Graph.UNKNOWN)
        return element

    def _element_of(self, value: Value) -> Value | None:
        if value.kind in CONTAINERS:
            if value.kind is Kind.DICT:
                return Value(Kind.UNKNOWN, Graph.NO)  # iterating a dict gives its keys
            return value.element_value()
        if value.kind is Kind.TENSOR:
            return replace(value, shape=value.shape[1:] if value.shape else None, leaf=False, parameter=False)
        if value.kind is Kind.SIZE:
            return NUMBER
        if value.kind is Kind.STR:
            return STR
        if value.kind is Kind.MODULE and value.name in _torch.MODULE_CONTAINERS:
            return value.element if value.element is not None and value.element.kind is Kind.MODULE else Value(Kind.MODULE, Graph.UNKNOWN)
        if value.kind is Kind.MODULE and value.name in _torch.PARAMETER_CONTAINERS:
            return Value(Kind.TENSOR, Graph.YES, leaf=True, parameter=True)
        return None

    # Expressions -------------------------------------------------------------------------
    def _record(self, node: ast.AST, value: Value) -> Value:
        return self.a._record(node, value)

    def _expr(self, node: ast.AST | None) -> Value:
        if node is None:
            return NONE
        kind = type(node)
        known = self.env.get(node.id) if kind is _NAME else None  # `_e_Name`'s first case, the most common
        if known is not None:
            value = known
        else:
            method = self._expression_handlers[kind]
            value = method(self, node) if method is not None else self._generic(node)
        self._recorded[id(node)] = value  # Analysis._record, inlined: this runs for every expression
        return value

    def _generic(self, node: ast.AST) -> Value:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
        return UNKNOWN

    def _no_grad(self, value: Value) -> Value:
        """A value computed under no_grad: no graph (a Parameter read stays what it is)."""
        if value.kind in (Kind.TENSOR, Kind.UNKNOWN) and not value.leaf:
            return as_cut(value, "no_grad") if value.kind is Kind.TENSOR else replace(value, graph=Graph.NO)
        if value.kind in CONTAINERS:
            element = value.element_value()
            if element is not None and not element.leaf and element.kind in (Kind.TENSOR, Kind.UNKNOWN):
                return as_cut(value, "no_grad")
        return value

    def _computed(self, value: Value) -> Value:
        return value if self.grad_enabled else self._no_grad(value)

    def _e_Constant(self, node: ast.Constant) -> Value:
        v = node.value
        if v is None:
            return NONE
        if isinstance(v, bool):
            return Value(Kind.BOOL, Graph.NO, name=str(v))
        if isinstance(v, (int, float, complex)):
            return NUMBER
        if isinstance(v, (str, bytes)):
            return STR
        return NOTHING

    def _e_JoinedStr(self, node: ast.JoinedStr) -> Value:
        self._generic(node)
        return STR

    def _e_Name(self, node: ast.Name) -> Value:
        if node.id in self.env:
            return self.env[node.id]
        for function in self._enclosing:
            known = self.a.closure_variable(function, node.id)
            if known is not None:
                return known
        if self.is_function:
            known = self.a.module_global(node.id)
            if known is not None:
                return known
        qualified = self.a.imports.aliases.get(node.id)
        if qualified is not None:
            return Value(Kind.IMPORTED, Graph.NO, name=_CANONICAL.get(qualified, qualified))
        if node.id in self.a.functions:
            return Value(Kind.FUNCTION, Graph.NO, name=node.id)
        if node.id in self.a.classes:
            return Value(Kind.CLASS, Graph.NO, name=node.id)
        return UNKNOWN

    def _e_Attribute(self, node: ast.Attribute) -> Value:
        owner = node.value
        base = self._expr(owner)
        # The environment key `_key` gives, built from the owner's (the common case, `self.x`,
        # without a second walk down the chain).
        kind = type(owner)
        key = f"{owner.id}.{node.attr}" if kind is ast.Name else dotted(node) if kind is ast.Attribute else None
        if key is not None and key in self.env:
            return self.env[key]
        attr = node.attr
        if base.kind is Kind.IMPORTED:
            return Value(Kind.IMPORTED, Graph.NO, name=_CANONICAL.get(f"{base.name}.{attr}", f"{base.name}.{attr}"))
        if base.kind is Kind.TENSOR or (base.kind is Kind.UNKNOWN and attr in ("data", "grad", "shape", "dtype", "device")):
            if attr == "data":
                return tensor(Graph.NO, base.shape, ".data")
            if attr == "grad":
                return replace(tensor(Graph.NO, base.shape, ".grad"), optional=True)
            if attr in _torch.NON_VALUE_ATTRIBUTES:
                return _PY_KINDS[_torch.NON_VALUE_ATTRIBUTES[attr]]
            if attr in _torch.VIEW_ATTRIBUTES and base.kind is Kind.TENSOR:
                return replace(base, leaf=False, parameter=False, shape=None)
            return UNKNOWN
        if base.kind in (Kind.MODULE, Kind.INSTANCE):
            return self._object_attribute(base, attr)
        if base.kind is Kind.DISTRIBUTION:
            if attr in ("mean", "stddev", "variance", "loc", "scale", "probs", "logits", "mode"):
                return tensor(base.graph)
        return UNKNOWN

    def _object_attribute(self, base: Value, attr: str) -> Value:
        info = self.a.classes.get(base.name or "")
        if info is not None:
            if attr in info.properties:
                return self.a.returned(info.methods[attr]) or UNKNOWN
            known = self.a.attribute(info, attr)
            if known is not None:
                return known
            if attr in info.methods:
                return Value(Kind.FUNCTION, Graph.NO, name=f"{info.node.name}.{attr}")
            return UNKNOWN
        if base.kind is Kind.MODULE and base.name is not None and (attr in ("weight", "bias") or attr.startswith(("weight_", "bias_"))):
            return Value(Kind.TENSOR, Graph.YES, leaf=True, parameter=True)
        return UNKNOWN

    def _e_Subscript(self, node: ast.Subscript) -> Value:
        base = self._expr(node.value)
        index = self._expr(node.slice)
        return self._computed(self._index(base, node.slice, index))

    def _index(self, base: Value, index_node: ast.AST, index: Value) -> Value:
        if base.kind is Kind.TUPLE and base.items is not None and isinstance(index_node, ast.Constant) and isinstance(index_node.value, int):
            if -len(base.items) <= index_node.value < len(base.items):
                return base.items[index_node.value]
        if base.kind in (Kind.LIST, Kind.TUPLE):
            if isinstance(index_node, ast.Slice):
                return replace(base, items=None, element=base.element_value())
            return base.element_value() or UNKNOWN
        if base.kind is Kind.DICT:
            return base.element_value() or UNKNOWN
        if base.kind is Kind.SIZE:
            return SIZE if isinstance(index_node, ast.Slice) else NUMBER
        if base.kind is Kind.TENSOR:
            shape = None
            if base.shape is not None and index.kind is Kind.NUMBER and base.shape:
                shape = base.shape[1:]
            return replace(base, leaf=False, parameter=False, shape=shape, cut=base.cut)
        if base.kind is Kind.NDARRAY:
            return base
        if base.kind is Kind.MODULE and base.name in _torch.MODULE_CONTAINERS:
            return self._element_of(base) or UNKNOWN
        if base.kind is Kind.MODULE and base.name in _torch.PARAMETER_CONTAINERS:
            return Value(Kind.TENSOR, Graph.YES, leaf=True, parameter=True)
        return Value(Kind.UNKNOWN, base.graph if base.kind is Kind.UNKNOWN else Graph.UNKNOWN)

    def _e_BinOp(self, node: ast.BinOp) -> Value:
        left, right = self._expr(node.left), self._expr(node.right)
        return self._computed(self._binop(left, right, node.op))

    def _binop(self, left: Value, right: Value, op: ast.operator) -> Value:
        kinds = {left.kind, right.kind}
        graph = max(left.graph, right.graph)
        if Kind.TENSOR in kinds:
            other = right if left.kind is Kind.TENSOR else left
            if other.kind in (Kind.TENSOR, Kind.NUMBER, Kind.BOOL):
                return Value(Kind.TENSOR, graph, shape=_broadcast(left, right))
            # tensor <op> x is a tensor whatever x is (or it raises); x * tensor and x + tensor
            # may be list repetition or another type's operator.
            if other.kind not in (Kind.LIST, Kind.TUPLE, Kind.STR, Kind.DICT) and (
                left.kind is Kind.TENSOR or not isinstance(op, (ast.Add, ast.Mult))
            ):
                return Value(Kind.TENSOR, graph)
            return Value(Kind.UNKNOWN, graph)
        if kinds <= {Kind.NUMBER, Kind.BOOL}:
            return NUMBER
        if left.kind is right.kind and left.kind in (Kind.LIST, Kind.TUPLE) and isinstance(op, ast.Add):
            if left.items is not None and right.items is not None:
                return Value(left.kind, graph, items=left.items + right.items)
            return container(left.kind, join_all([left.element_value(), right.element_value()]))
        if left.kind in (Kind.LIST, Kind.TUPLE) and right.kind is Kind.NUMBER and isinstance(op, ast.Mult):
            return replace(left, items=None, element=left.element_value())
        if kinds == {Kind.STR} or (Kind.STR in kinds and isinstance(op, ast.Mod)):
            return STR
        if Kind.NDARRAY in kinds and kinds <= {Kind.NDARRAY, Kind.NUMBER, Kind.BOOL}:
            return Value(Kind.NDARRAY, Graph.NO)
        return Value(Kind.UNKNOWN, graph)

    def _e_UnaryOp(self, node: ast.UnaryOp) -> Value:
        operand = self._expr(node.operand)
        if isinstance(node.op, ast.Not):
            return BOOL
        if operand.kind is Kind.TENSOR:
            return self._computed(replace(operand, leaf=False, parameter=False))
        return operand if operand.kind in (Kind.NUMBER, Kind.BOOL) else Value(Kind.UNKNOWN, operand.graph)

    def _e_BoolOp(self, node: ast.BoolOp) -> Value:
        return join_all(self._expr(v) for v in node.values) or UNKNOWN

    def _e_Compare(self, node: ast.Compare) -> Value:
        values = [self._expr(node.left)] + [self._expr(c) for c in node.comparators]
        if any(v.kind is Kind.TENSOR for v in values) and not any(isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in node.ops):
            return tensor(Graph.NO, cut="comparison")
        return BOOL

    def _e_IfExp(self, node: ast.IfExp) -> Value:
        self._expr(node.test)
        return self._expr(node.body).join(self._expr(node.orelse))

    def _e_List(self, node: ast.List) -> Value:
        values = [self._expr(e) for e in node.elts]
        return container(Kind.LIST, self._elements(node.elts, values))

    def _e_Set(self, node: ast.Set) -> Value:
        values = [self._expr(e) for e in node.elts]
        return container(Kind.SET, self._elements(node.elts, values))

    def _e_Tuple(self, node: ast.Tuple) -> Value:
        values = [self._expr(e) for e in node.elts]
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return container(Kind.TUPLE, self._elements(node.elts, values))
        return Value(Kind.TUPLE, max((v.graph for v in values), default=Graph.NO), items=tuple(values))

    def _elements(self, nodes: list[ast.expr], values: list[Value]) -> Value | None:
        parts = []
        for node, value in zip(nodes, values):
            parts.append(self._element_of(value) if isinstance(node, ast.Starred) else value)
        return join_all(parts) if all(p is not None for p in parts) else (UNKNOWN if parts else None)

    def _e_Starred(self, node: ast.Starred) -> Value:
        return self._expr(node.value)

    def _e_Dict(self, node: ast.Dict) -> Value:
        for key in node.keys:
            if key is not None:
                self._expr(key)
        values = [self._expr(v) for v in node.values]
        element = join_all(v if k is not None else (v.element_value() or UNKNOWN) for k, v in zip(node.keys, values))
        return container(Kind.DICT, element)

    def _comprehension(self, generators: list[ast.comprehension]) -> dict[str, Value]:
        saved = dict(self.env)
        for generator in generators:
            iterable = self._expr(generator.iter)
            self._bind(generator.target, self._iteration(iterable, generator.iter))
            for condition in generator.ifs:
                self._expr(condition)
        return saved

    def _e_ListComp(self, node: ast.ListComp) -> Value:
        saved = self._comprehension(node.generators)
        element = self._expr(node.elt)
        self.env = saved
        return container(Kind.LIST, element)

    def _e_SetComp(self, node: ast.SetComp) -> Value:
        saved = self._comprehension(node.generators)
        element = self._expr(node.elt)
        self.env = saved
        return container(Kind.SET, element)

    def _e_GeneratorExp(self, node: ast.GeneratorExp) -> Value:
        saved = self._comprehension(node.generators)
        element = self._expr(node.elt)
        self.env = saved
        return container(Kind.ITERATOR, element)

    def _e_DictComp(self, node: ast.DictComp) -> Value:
        saved = self._comprehension(node.generators)
        self._expr(node.key)
        element = self._expr(node.value)
        self.env = saved
        return container(Kind.DICT, element)

    def _e_NamedExpr(self, node: ast.NamedExpr) -> Value:
        value = self._expr(node.value)
        self._bind(node.target, value)
        return value

    def _e_Lambda(self, node: ast.Lambda) -> Value:
        return Value(Kind.FUNCTION, Graph.NO)

    # Calls --------------------------------------------------------------------------------
    def _e_Call(self, node: ast.Call) -> Value:
        func = self._expr(node.func)
        args = [self._expr(a) for a in node.args]
        kwargs = {k.arg: self._expr(k.value) for k in node.keywords}
        value = self._call(node, func, args, kwargs)
        if not self.grad_enabled and not value.leaf:
            value = self._no_grad(value)
        return value

    def _call(self, node: ast.Call, func: Value, args: list[Value], kwargs: dict[str | None, Value]) -> Value:
        if func.kind is Kind.IMPORTED and func.name:
            return self._library_call(node, func.name, args, kwargs)
        if func.kind is Kind.FUNCTION and func.name:
            return self._local_call(node, func.name, args, kwargs)
        if func.kind is Kind.CLASS and func.name:
            return self._instantiate(node, func.name, args, kwargs)
        if func.kind is Kind.MODULE:
            return self._module_output(node, func, args, kwargs)
        if isinstance(node.func, ast.Attribute):
            receiver = self._recorded.get(id(node.func.value), UNKNOWN)
            return self._method(node, receiver, node.func.attr, args, kwargs)
        if isinstance(node.func, ast.Name):
            return self._builtin(node, node.func.id, args, kwargs)
        return UNKNOWN

    def _library_call(self, node: ast.Call, qualified: str, args: list[Value], kwargs) -> Value:
        last = qualified.rsplit(".", 1)[-1]
        inputs = [*args, *(v for k, v in kwargs.items() if k not in ("dtype", "device", "out", "dim", "requires_grad"))]
        graph = _tensor_graph(inputs)
        if qualified in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
            flag = kwargs.get("requires_grad")
            if flag is not None and self._constant_true(flag) is False:
                return Value(Kind.TENSOR, Graph.NO, parameter=True, shape=args[0].shape if args else None)
            return Value(Kind.TENSOR, Graph.YES, leaf=True, parameter=True, shape=args[0].shape if args else None)
        if qualified in ("torch.autograd.Variable", "torch.autograd.variable.Variable"):
            flag = kwargs.get("requires_grad")
            if flag is not None and self._constant_true(flag):
                return Value(Kind.TENSOR, Graph.YES, leaf=not graph == Graph.YES)
            return tensor(graph if args else Graph.NO)
        if qualified.startswith("torch.nn.") and last[:1].isupper() and not qualified.startswith(("torch.nn.functional.", "torch.nn.init.", "torch.nn.utils.")):
            element = None
            if last in _torch.MODULE_CONTAINERS or last in _torch.PARAMETER_CONTAINERS:
                if last == "Sequential":
                    element = join_all(args)
                elif args:
                    element = args[0].element_value() if args[0].kind is not Kind.DICT else args[0].element
            shape = () if last.endswith("Loss") and _reduces(node) else None  # the output's shape
            # A Sequential keeps its layers in order: its output is what the layers make of a tensor.
            layers = tuple(args) if last == "Sequential" and args and all(a.kind is Kind.MODULE for a in args) else None
            return Value(Kind.MODULE, Graph.UNKNOWN, name=last, element=element, items=layers, shape=shape)
        if qualified.startswith("torch.optim.") and last[:1].isupper():
            return Value(Kind.OPTIMIZER if ".lr_scheduler." not in qualified else Kind.INSTANCE, Graph.NO, name=last)
        if qualified.startswith("torch.distributions.") and last[:1].isupper():
            # A wrapper (Independent(Normal(...), 1)) keeps its base distribution as element.
            base = args[0] if args else kwargs.get("base_distribution")
            base = base if base is not None and base.kind is Kind.DISTRIBUTION else None
            return Value(Kind.DISTRIBUTION, graph, name=last, element=base)
        if qualified.startswith(("numpy.", "math.")):
            what = "numpy" if qualified.startswith("numpy.") else "math"
            if what == "math":
                return Value(Kind.NUMBER, Graph.NO, cut="math." + last)
            return Value(Kind.NDARRAY, Graph.NO, cut="numpy")
        if not qualified.startswith("torch.") and qualified != "torch":
            return UNKNOWN
        namespace = qualified.rsplit(".", 1)[0]
        if namespace not in _torch.TENSOR_NAMESPACES:
            if qualified == "torch.autograd.grad":
                return container(Kind.TUPLE, tensor(Graph.YES if "create_graph" in kwargs else Graph.NO, cut="autograd.grad"))
            # torch.utils, torch.jit, torch.cuda, ...: not known to return a tensor.
            return Value(Kind.UNKNOWN, graph)
        if last in _torch.TUPLE_RESULTS:
            return container(Kind.TUPLE, tensor(graph))
        if qualified in ("torch.no_grad", "torch.enable_grad", "torch.inference_mode", "torch.set_grad_enabled"):
            return NOTHING
        if last in _torch.CREATORS:
            flag = kwargs.get("requires_grad")
            if flag is not None and self._constant_true(flag):
                return Value(Kind.TENSOR, Graph.YES, leaf=True, shape=_size_of(node))
            return tensor(Graph.NO, _size_of(node) if last in ("zeros", "ones", "empty", "rand", "randn", "full") else None, "creator")
        if last in _torch.COPYING_CONSTRUCTORS:
            flag = kwargs.get("requires_grad")
            if flag is not None and self._constant_true(flag):
                return Value(Kind.TENSOR, Graph.YES, leaf=True)
            if last == "as_tensor" or last == "asarray":
                return tensor(graph, _literal_shape(node.args[0]) if node.args else None)
            if last in ("Tensor", "FloatTensor", "DoubleTensor") and len(args) == 1 and args[0].kind is Kind.TENSOR:
                return tensor(graph, args[0].shape)  # a view of one tensor keeps its graph
            return tensor(Graph.NO, _literal_shape(node.args[0]) if node.args else None, cut="constructor")
        if last == "as_tensor":
            return tensor(graph, args[0].shape if args else None)
        if last in _torch.NON_DIFFERENTIABLE:
            return tensor(Graph.NO, cut=last)
        if last in _torch.PYTHON_RESULT:
            return NOTHING if last not in ("numel",) else NUMBER
        if last in ("stack", "cat", "concat", "concatenate", "hstack", "vstack"):
            element = args[0].element_value() if args else None
            graph = element.graph if element is not None else (args[0].graph if args else Graph.UNKNOWN)
            shape = None
            if last == "stack" and args and args[0].items is not None and args[0].items:
                shapes = {i.shape for i in args[0].items}
                if len(shapes) == 1 and None not in shapes:
                    shape = (len(args[0].items), *next(iter(shapes)))  # type: ignore[misc]
            return tensor(graph, shape)
        if last in ("split", "chunk", "unbind", "tensor_split"):
            return container(Kind.TUPLE, tensor(graph))
        if last in ("max", "min", "sort", "topk", "kthvalue", "median", "mode") and (len(args) > 1 or "dim" in kwargs):
            if not (len(args) == 2 and args[1].kind is Kind.TENSOR):
                return Value(Kind.TUPLE, graph, items=(tensor(graph), tensor(Graph.NO, cut="indices")))
        shape = None
        if last in _torch.ELEMENTWISE and args:
            shape = args[0].shape
        elif last in _torch.REDUCTIONS and len(args) == 1 and not kwargs:
            shape = ()
        elif (last in _torch.FUNCTIONAL_LOSSES or last.endswith("_loss")) and _reduces(node):
            shape = ()
        return tensor(graph, shape)

    def _local_call(self, node: ast.Call, name: str, args, kwargs) -> Value:
        function = self.a.functions.get(name)
        if "." in name:  # Class.method
            cls_name, _, method = name.partition(".")
            info = self.a.classes.get(cls_name)
            function = info.methods.get(method) if info else None
            if function is not None and isinstance(node.func, ast.Attribute):
                self._pass_arguments(function, node, args, kwargs, skip_first=True)
                return self.a.returned(function) or UNKNOWN
        if function is None:
            function = self._nested_function(name)
        if function is None:
            return UNKNOWN
        self._pass_arguments(function, node, args, kwargs, skip_first=False)
        return self.a.returned(function) or UNKNOWN

    def _nested_function(self, name: str) -> Function | None:
        if not self.is_function:
            return None
        return self.a._nested.get(id(self.scope), {}).get(name)

    def _pass_arguments(self, function: Function, node: ast.Call, args, kwargs, skip_first: bool) -> None:
        self.a._callees[id(node)] = function
        self.a._resolved.append(node)
        params = [p.arg for p in [*function.args.posonlyargs, *function.args.args]]
        if skip_first and "staticmethod" not in _decorator_names(function, self.a.imports):
            params = params[1:]
        if any(isinstance(a, ast.Starred) for a in node.args) or None in kwargs:
            return
        for name, value in zip(params, args):
            self.a._add_argument(function, name, value)
        known = set(params) | {p.arg for p in function.args.kwonlyargs}
        for name, value in kwargs.items():
            if name in known:
                self.a._add_argument(function, name, value)

    def _instantiate(self, node: ast.Call, name: str, args, kwargs) -> Value:
        info = self.a.classes.get(name)
        if info is None:
            return UNKNOWN
        init = info.methods.get("__init__")
        if init is not None:
            self._pass_arguments(init, node, args, kwargs, skip_first=True)
        return Value(Kind.MODULE if info.is_module else Kind.INSTANCE, Graph.UNKNOWN, name=name)

    def _module_output(self, node: ast.Call, module: Value, args, kwargs) -> Value:
        graph_in = _tensor_graph([*args, *kwargs.values()])
        info = self.a.module_class(module.name)
        if info is not None:
            forward = info.methods.get("forward")
            if forward is None:
                return Value(Kind.UNKNOWN, Graph.YES)
            self._pass_arguments(forward, node, args, kwargs, skip_first=True)
            result = self.a.returned(forward) or Value(Kind.UNKNOWN, Graph.YES)
            return result
        name = module.name or ""
        if name in _torch.PARAMETER_FREE_MODULES:
            if name.endswith("Loss"):
                return tensor(graph_in, module.shape)
            return tensor(graph_in, args[0].shape if args and name in ("ReLU", "Dropout", "Identity", "Sigmoid", "Tanh", "GELU", "SiLU", "LeakyReLU") else None)
        if name in _torch.TUPLE_OUTPUT_MODULES:
            # A PackedSequence in gives a PackedSequence out: the output is a tensor only for a tensor input.
            first = tensor(Graph.YES) if args and args[0].is_tensor else Value(Kind.UNKNOWN, Graph.YES)
            return Value(Kind.TUPLE, Graph.YES, items=(first, _rnn_state(name)))
        if name == "LSTMCell":
            return _rnn_state(name)
        if name in ("ModuleList", "ModuleDict"):
            return UNKNOWN
        if name == "Sequential" and module.items and all(self._tensor_layer(layer) for layer in module.items):
            return tensor(Graph.YES)
        if name and name != "Sequential":
            return tensor(Graph.YES)
        return Value(Kind.UNKNOWN, Graph.YES)

    def _tensor_layer(self, layer: Value) -> bool:
        """A torch.nn layer (or a Sequential of them) that maps a tensor to a tensor."""
        if layer.kind is not Kind.MODULE or not layer.name or self.a.module_class(layer.name) is not None:
            return False
        if layer.name == "Sequential":
            return bool(layer.items) and all(self._tensor_layer(inner) for inner in layer.items or ())
        return layer.name not in _torch.TUPLE_OUTPUT_MODULES | _torch.MODULE_CONTAINERS | {"LSTMCell", "ModuleList", "ModuleDict", "Identity"}

    def _method(self, node: ast.Call, receiver: Value, method: str, args: list[Value], kwargs) -> Value:
        key = _key(node.func.value)  # type: ignore[attr-defined]
        if receiver.kind is Kind.TENSOR or (receiver.kind is Kind.UNKNOWN and method in _torch.CUT_METHODS):
            return self._tensor_method(node, key, receiver, method, args, kwargs)
        if receiver.kind in (Kind.LIST, Kind.DICT, Kind.SET):
            return self._container_method(node, key, receiver, method, args)
        if receiver.kind in (Kind.MODULE, Kind.INSTANCE):
            return self._object_method(node, receiver, method, args, kwargs)
        if receiver.kind is Kind.CLASS:
            return self._class_method(node, receiver, method, args, kwargs)
        if receiver.kind is Kind.DISTRIBUTION:
            if method in _torch.NON_REPARAMETERISED_DRAWS:
                return tensor(Graph.NO, cut=".sample()")
            if method == "rsample":
                return tensor(receiver.graph)
            return tensor(max(receiver.graph, _tensor_graph(args)))
        if receiver.kind is Kind.OPTIMIZER:
            return NONE
        if receiver.kind is Kind.SIZE and method == "numel":
            return NUMBER
        if receiver.kind is Kind.STR:
            return STR if method not in ("split", "splitlines") else container(Kind.LIST, STR)
        if receiver.kind is Kind.NDARRAY:
            return Value(Kind.NDARRAY, Graph.NO)
        if receiver.kind is Kind.UNKNOWN and method.endswith("_") and not method.startswith("_") and key is not None and self.grad_enabled:
            incoming = _tensor_graph(args)
            if incoming is Graph.YES:
                self._set(key, replace(receiver, graph=Graph.YES), node.func)
        return Value(Kind.UNKNOWN, receiver.graph if receiver.kind is Kind.UNKNOWN else Graph.UNKNOWN)

    def _tensor_method(self, node: ast.Call, key, receiver: Value, method: str, args, kwargs) -> Value:
        if method in _torch.CUT_METHODS:
            what = _torch.CUT_METHODS[method]
            if what == "number":
                return Value(Kind.NUMBER, Graph.NO, cut=".item()")
            if what == "list":
                return Value(Kind.LIST, Graph.NO, element=NUMBER, cut=".tolist()")
            if what == "ndarray":
                return Value(Kind.NDARRAY, Graph.NO, cut=".numpy()")
            result = replace(as_cut(receiver, ".detach()"), kind=Kind.TENSOR) if receiver.kind is Kind.TENSOR else tensor(Graph.NO, cut=".detach()")
            if method == "detach_" and key is not None:
                self._set(key, result, node.func)
            return result
        if method in _torch.PYTHON_RESULT_METHODS:
            what = _torch.PYTHON_RESULT_METHODS[method]
            if method == "size" and (args or kwargs):
                return NUMBER
            return _PY_KINDS.get(what, NOTHING)
        if method == "requires_grad_":
            off = args and self._constant_true(args[0]) is False
            result = as_cut(receiver, "requires_grad_(False)") if off else replace(receiver, graph=Graph.YES, leaf=not receiver.carries or receiver.leaf, cut=None)
            if key is not None:
                self._set(key, result, node.func)
            return result
        if method in _torch.NON_DIFFERENTIABLE_METHODS:
            return tensor(Graph.NO, receiver.shape if method in ("long", "int", "bool") else None, method)
        if method in ("type", "to") and _casts_to_integer(node, self.a.imports):
            return tensor(Graph.NO, receiver.shape, "integer cast")
        if method in ("type",) and not node.args and not node.keywords:
            return STR
        graph = max(receiver.graph, _tensor_graph([*args, *kwargs.values()]))
        if method.endswith("_") and not method.startswith("_") and key is not None and self.grad_enabled:
            # x.add_(y), x.copy_(y): x now holds y's graph too; it is no longer a leaf.
            incoming = _tensor_graph(args)
            updated = replace(receiver, graph=max(receiver.graph, incoming), leaf=receiver.leaf and incoming is not Graph.YES)
            if method == "copy_" and incoming is not Graph.YES:
                updated = receiver
            self._set(key, updated, node.func)
            return updated
        shape = None
        if method in _torch.ELEMENTWISE:
            shape = receiver.shape
        elif method in _torch.REDUCTIONS and not args and not kwargs:
            shape = ()
        elif method in ("view", "reshape") and args and all(isinstance(a, ast.Constant) and isinstance(a.value, int) and a.value >= 0 for a in node.args):
            shape = tuple(a.value for a in node.args)  # type: ignore[attr-defined]
        if method in ("split", "chunk", "unbind", "tensor_split"):
            return container(Kind.TUPLE, tensor(graph))
        if method in ("max", "min", "sort", "topk", "kthvalue", "median", "mode") and (args or "dim" in kwargs):
            if not (method in ("max", "min") and args and args[0].kind is Kind.TENSOR):
                return Value(Kind.TUPLE, graph, items=(tensor(graph), tensor(Graph.NO, cut="indices")))
        return Value(Kind.TENSOR, graph, shape=shape)

    def _container_method(self, node: ast.Call, key, receiver: Value, method: str, args: list[Value]) -> Value:
        element = receiver.element_value()
        if method in ("append", "add", "insert", "extend", "update", "setdefault") and args:
            added = args[-1] if method != "extend" else (self._element_of(args[0]) or UNKNOWN)
            if method == "update":
                added = args[0].element_value() or UNKNOWN
            if method == "setdefault" and len(args) < 2:
                added = NONE
            if not self.grad_enabled:
                added = self._no_grad(added)
            if key is not None:
                joined = added if element is None else element.join(added)
                self._set(key, replace(receiver, items=None, element=joined, graph=max(receiver.graph, added.graph)), node.func)
            return NONE if method != "setdefault" else (element or UNKNOWN)
        if method in ("pop", "get", "popitem") or method == "__getitem__":
            return element.join(NONE) if method == "get" and element is not None else (element or UNKNOWN)
        if method == "values":
            return container(Kind.ITERATOR, element)
        if method == "keys":
            return container(Kind.ITERATOR, NOTHING)
        if method == "items":
            return container(Kind.ITERATOR, Value(Kind.TUPLE, element.graph if element else Graph.NO, items=(NOTHING, element or UNKNOWN)))
        if method in ("copy",):
            return receiver
        if method in ("index", "count"):
            return NUMBER
        return UNKNOWN

    def _object_method(self, node: ast.Call, receiver: Value, method: str, args, kwargs) -> Value:
        info = self.a.classes.get(receiver.name or "")
        if info is not None and method in info.methods:
            function = info.methods[method]
            self._pass_arguments(function, node, args, kwargs, skip_first=True)
            return self.a.returned(function) or UNKNOWN
        if info is not None and info.is_module and self.a.attribute(info, method) is not None:
            # self.backbone(x) with a backbone from another package: a submodule's output
            # (its kind unknown) may carry a graph.
            return Value(Kind.UNKNOWN, Graph.YES)
        if receiver.kind is Kind.MODULE:
            if method in ("parameters", "buffers"):
                return container(Kind.ITERATOR, Value(Kind.TENSOR, Graph.YES if method == "parameters" else Graph.NO, leaf=method == "parameters", parameter=method == "parameters"))
            if method in ("named_parameters",):
                return container(Kind.ITERATOR, Value(Kind.TUPLE, Graph.YES, items=(STR, Value(Kind.TENSOR, Graph.YES, leaf=True, parameter=True))))
            if method == "state_dict":
                return container(Kind.DICT, tensor(Graph.NO, cut="state_dict()"))
            if method in _torch.MODULE_SELF_METHODS:
                return receiver
            if method == "forward":
                return self._module_output(node, receiver, args, kwargs)
            if method in ("children", "modules"):
                return container(Kind.ITERATOR, Value(Kind.MODULE, Graph.UNKNOWN))
            if method in ("zero_grad", "register_buffer", "register_parameter", "add_module", "load_state_dict"):
                self._registration(node, method)
                return NONE
        return UNKNOWN

    def _class_method(self, node: ast.Call, receiver: Value, method: str, args, kwargs) -> Value:
        """``Net.build(...)`` (or ``cls.build(...)``): a classmethod or staticmethod of a class
        of this file gives what it returns (``cls(...)`` in it is an instance of the class)."""
        info = self.a.classes.get(receiver.name or "")
        function = info.methods.get(method) if info is not None else None
        if function is None:
            return UNKNOWN
        decorators = _decorator_names(function, self.a.imports)
        if "classmethod" not in decorators and "staticmethod" not in decorators:
            return UNKNOWN  # `Net.forward(model, x)`: a plain function of the class, self passed by hand
        self._pass_arguments(function, node, args, kwargs, skip_first=True)
        return self.a.returned(function) or UNKNOWN

    def _registration(self, node: ast.Call, method: str) -> None:
        """``self.register_buffer("x", t)`` / ``register_parameter``: a ``self.x`` binding."""
        receiver = node.func.value  # type: ignore[attr-defined]
        if not (isinstance(receiver, ast.Name) and receiver.id == "self") or len(node.args) < 2:
            return
        name = node.args[0]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            return
        value = self._recorded.get(id(node.args[1]), UNKNOWN)
        if method == "register_buffer":
            value = as_cut(value, "buffer") if value.kind is Kind.TENSOR else tensor(Graph.NO, cut="buffer")
        elif method == "register_parameter":
            value = Value(Kind.TENSOR, Graph.YES, leaf=True, parameter=True) if value.kind is not Kind.NONE else NONE
        elif method == "add_module":
            value = Value(Kind.MODULE, Graph.UNKNOWN)
        else:
            return
        self._set(f"self.{name.value}", value, node)

    def _builtin(self, node: ast.Call, name: str, args: list[Value], kwargs) -> Value:
        first = args[0] if args else None
        if name in ("len", "id", "hash", "ord", "round", "abs", "divmod", "pow") and name != "abs":
            return NUMBER
        if name in ("int", "float", "complex"):
            if first is not None and first.kind is Kind.TENSOR:
                return Value(Kind.NUMBER, Graph.NO, cut=f"{name}()")
            return NUMBER
        if name in ("bool", "isinstance", "issubclass", "callable", "hasattr", "all", "any"):
            return BOOL
        if name in ("str", "repr", "format", "chr"):
            return STR
        if name in ("print", "setattr", "delattr"):
            return NONE
        if name == "range":
            return container(Kind.ITERATOR, NUMBER)
        if name in ("list", "sorted", "reversed", "tuple", "set", "iter"):
            kind = {"list": Kind.LIST, "sorted": Kind.LIST, "tuple": Kind.TUPLE, "set": Kind.SET}.get(name, Kind.ITERATOR)
            if first is None:
                return container(kind, None)
            element = self._element_of(first)
            if element is None:
                return Value(kind, first.graph, element=Value(Kind.UNKNOWN, first.graph))
            return container(kind, element)
        if name == "dict":
            return container(Kind.DICT, first.element_value() if first is not None and first.kind is Kind.DICT else join_all(kwargs.values()))
        if name == "zip":
            elements = [self._element_of(a) or Value(Kind.UNKNOWN, a.graph) for a in args]
            return container(Kind.ITERATOR, Value(Kind.TUPLE, max((e.graph for e in elements), default=Graph.NO), items=tuple(elements)))
        if name == "enumerate" and first is not None:
            element = self._element_of(first) or Value(Kind.UNKNOWN, first.graph)
            return container(Kind.ITERATOR, Value(Kind.TUPLE, element.graph, items=(NUMBER, element)))
        if name in ("sum", "max", "min") and first is not None:
            if len(args) > 1 and name != "sum":
                return join_all(args) or UNKNOWN
            element = self._element_of(first)
            if element is None:
                return Value(Kind.UNKNOWN, first.graph)
            if name == "sum" and element.kind is Kind.TENSOR:
                return replace(element, leaf=False, parameter=False)
            return element
        if name == "abs" and first is not None:
            return first if first.kind in (Kind.NUMBER, Kind.TENSOR) else UNKNOWN
        if name == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) and first is not None:
            if first.kind in (Kind.MODULE, Kind.INSTANCE):
                return self._object_attribute(first, node.args[1].value)
        if name == "super":
            return NOTHING
        return UNKNOWN


def _join_envs(envs: list[dict[str, Value]]) -> dict[str, Value]:
    """Each name's values joined across ``envs``, left to right (a name missing in some is
    what the others hold). Branches share most of their values with the state before them:
    an identical value needs no join."""
    merged = dict(envs[0])
    for env in envs[1:]:
        for key, value in env.items():
            old = merged.get(key)
            if old is not value:
                merged[key] = value if old is None else old.join(value)
    return merged


def _rnn_state(name: str) -> Value:
    """The state a recurrent module returns: ``h_n`` for RNN/GRU, ``(h, c)`` for LSTM(Cell)."""
    if name in ("RNN", "GRU"):
        return tensor(Graph.YES)
    if name in ("LSTM", "LSTMCell"):
        return Value(Kind.TUPLE, Graph.YES, items=(tensor(Graph.YES), tensor(Graph.YES)))
    return Value(Kind.UNKNOWN, Graph.YES)  # MultiheadAttention's weights: None when not asked for


def _key(target: ast.AST) -> str | None:
    """The environment key of a name, ``self.x``-style attribute, or the base of ``x[k]``."""
    while isinstance(target, ast.Subscript):
        target = target.value
    return dotted(target)


def _tensor_graph(values: Iterable[Value]) -> Graph:
    graph = Graph.NO
    for value in values:
        if value.kind in (Kind.NUMBER, Kind.BOOL, Kind.STR, Kind.NONE, Kind.DTYPE, Kind.DEVICE, Kind.SIZE, Kind.FUNCTION, Kind.CLASS, Kind.IMPORTED):
            continue
        g = value.graph
        if value.kind in CONTAINERS:
            element = value.element_value()
            g = element.graph if element is not None else value.graph
        if g > graph:
            graph = g
    return graph


def _broadcast(left: Value, right: Value):
    shapes = [v.shape if v.kind is Kind.TENSOR else () for v in (left, right) if v.kind in (Kind.TENSOR, Kind.NUMBER, Kind.BOOL)]
    if len(shapes) == 1:
        return shapes[0]
    a, b = shapes
    if a is None or b is None:
        return None
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x is None or y is None or (x != y and 1 not in (x, y)):
            return None
        out.append(max(x, y))
    return tuple(out)


def _literal_shape(node: ast.AST):
    """The shape of a (nested) list literal of numbers: ``[[1, 2], [3, 4]]`` -> (2, 2)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        if not node.elts:
            return (0,)
        inner = {_literal_shape(e) for e in node.elts}
        if len(inner) != 1 or None in inner:
            return None
        return (len(node.elts), *next(iter(inner)))  # type: ignore[misc]
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return ()
    return None


def _reduces(call: ast.Call) -> bool:
    """No ``reduction=`` argument, or a literal "mean"/"sum": a loss that returns a 0-d tensor."""
    for keyword in call.keywords:
        if keyword.arg == "reduction":
            return isinstance(keyword.value, ast.Constant) and keyword.value.value in ("mean", "sum")
        if keyword.arg in ("reduce", "size_average"):
            return False
    return True


def _size_of(call: ast.Call):
    positional = call.args
    if positional and isinstance(positional[0], (ast.List, ast.Tuple)):
        positional = positional[0].elts
    sizes = []
    for arg in positional:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
            sizes.append(arg.value)
        else:
            return None
    return tuple(sizes) if sizes else None


def _casts_to_integer(call: ast.Call, imports: Imports) -> bool:
    candidates = list(call.args) + [k.value for k in call.keywords if k.arg == "dtype"]
    for arg in candidates:
        name = imports.qualify(arg) or dotted(arg) or (arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "")
        if isinstance(name, str) and name.rsplit(".", 1)[-1] in _torch.INTEGER_DTYPES:
            return True
    return False


def int_literal(node: ast.AST) -> int | None:
    """The value of ``3`` or ``-3``, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_literal(node.operand)
        return -inner if inner is not None else None
    return None
