"""Which trainable sources reach each backpropagated loss, and where their gradient dies.

The loss path (``_losspath.py``) says what *may* flow into a loss. Rules about cuts that
people make on purpose (``detach``, ``argmax``, comparisons) need more: whether a cut
leaves a parameter with no gradient at all. This module answers it per file:

- a *source* is something the optimizer trains: a module that is called (``G(z)``,
  ``self.encoder(x)``, a function parameter called like a model), a Parameter or leaf that
  requires grad, ``m.parameters()``; Parameters and submodules of a module class of this
  file are named by class (``HardSelect.self.scorer``), so a call of the module reaches them
  through its ``forward``;
- the *flow* of an expression maps each source reaching it to ``LIVE`` (some path from the
  source is differentiable) or to the set of nodes where every path from it is cut
  (``.detach()``, ``.data``, ``argmax``, a comparison, ``round``, an integer cast, a
  ``no_grad`` region, ...: :func:`cut_kind` says which);
- flows follow definitions as the loss path does, substitute a local function's or
  module's parameters by the arguments of the call, and treat data (loop targets over
  loaders, unsubstituted parameters) as constants.

:meth:`GradPath.lost` then gives the cut nodes that leave a source without gradient: every
source of a loss is cut (backward raises, or the gradient is all zero), or a source that is
live in no loss is cut on the way to a loss whose backward is followed by the ``step()`` of
an optimizer that holds it. Unknown stays unknown: a source whose optimizer the file does
not show is not reported by the second test.
"""

from __future__ import annotations

import ast
import re
from functools import partial
from typing import Iterable

from . import _torch
from ._ast import child_nodes
from ._flow_ast import forcing_call, is_backward_call, walk
from ._hacks import forcing_before
from ._losspath import arguments_for, calls_of, loss_path
from ._values import Analysis, Kind, dotted

Key = tuple
Status = "frozenset[int] | None"  # None: live; else the ids of the cut nodes
Flow = dict

LIVE = None
_DISCRETE_FUNCTIONS = {
    "argmax", "argmin", "argsort", "argwhere", "nonzero", "bucketize", "searchsorted", "bincount",
    "unique", "unique_consecutive", "histc", "count_nonzero",
}
_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
                "logical_and", "logical_or", "logical_not", "logical_xor", "isclose", "isnan", "isinf", "isfinite"}
_ZERO_GRADIENT = {"round", "floor", "ceil", "trunc", "sign", "fix"}
_INTEGER_CASTS = {"long", "int", "bool", "byte", "short", "char"}
_SCALAR_METHODS = {"item", "tolist", "numpy"}
_INDEX_RESULTS = {"max", "min", "sort", "topk", "kthvalue", "median", "mode", "aminmax"}
# Objects whose ``backward(loss)`` differentiates its argument (accelerate, Fabric, DeepSpeed, AMP).
_BACKWARD_WRAPPERS = re.compile(r"accelerat|fabric|engine|scaler|strategy|trainer|deepspeed|amp|booster", re.I)
# Called values that are loss functions or metrics, not models.
_NOT_A_MODEL = re.compile(r"loss|criterion|crit\b|metric|_fn$|^fn$|func|score_fn|distance|dist\b|kl\b|mse|bce", re.I)


class GradPath:
    def __init__(self, analysis: Analysis) -> None:
        self.a = analysis
        self.path = loss_path(analysis)
        self._flows: dict[int, Flow] = {}
        self._busy: set[int] = set()
        self._cuts: dict[int, str] = {}
        self.nodes: dict[int, ast.AST] = {}
        self._returns: dict[int, list[ast.AST]] = {}  # callee id -> its return values
        self._method_classes: dict[int, object] | None = None  # method id -> its class
        self.root_flows: list[tuple[ast.AST, Flow]] = []
        self._forcing: dict[int, list[ast.AST]] = {}  # root id -> what forced requires_grad on it
        if self.path.has_losses:
            for root in self.path.roots:
                if not self._differentiated(root):
                    continue
                try:
                    flow = self._root_flow(root)
                except RecursionError:  # a definition chain deeper than Python's stack: unknown
                    continue
                # Parameters no call of this file binds are data here: the caller's tensors.
                flow = {k: s for k, s in flow.items() if k[0] != "param"}
                self.root_flows.append((root, flow))

    def _root_flow(self, root: ast.AST) -> Flow:
        """What backward differentiates from ``root``. A loss the code forced ``requires_grad``
        on (``loss.requires_grad = True`` on a value with no graph: a fresh leaf that hides the
        cut) is not a source of its own: its sources are what it was computed from."""
        if isinstance(root, (ast.Name, ast.Attribute)):
            value = self.a.value(root)
            if value.leaf and not value.parameter:
                values, _, _ = self.path.reaching(root)
                forcing = forcing_before(self.a, root) + [v for v in values if forcing_call(v)]
                if forcing and values:
                    self._forcing[id(root)] = forcing
                    return _join(self._definition(root, v.func.value if forcing_call(v) else v) for v in values)
        return self.flow(root)

    def forcing(self, cut: ast.AST) -> list[ast.AST]:
        """What forces ``requires_grad`` on the losses that ``cut`` cuts (a fix of the cut drops it):
        statements, and ``x.requires_grad_()`` calls whose result is the loss."""
        found: list[ast.AST] = []
        for root, flow in self.root_flows:
            if id(root) in self._forcing and any(status is not LIVE and id(cut) in status for status in flow.values()):
                found += [s for s in self._forcing[id(root)] if s not in found]
        return found

    def _differentiated(self, root: ast.AST) -> bool:
        """Whether ``root`` is what autograd differentiates: not the ``gradient`` argument of
        ``out.backward(grad)`` on an output of unknown kind (the loss path reads it as
        ``accelerator.backward(loss)``), not what a ``training_step`` that runs backward
        itself returns for logging (``return loss.detach()``)."""
        parent = self.a.parent(root)
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "backward" and root in parent.args:
            receiver = dotted(parent.func.value) or ""
            return bool(_BACKWARD_WRAPPERS.search(receiver.rsplit(".", 1)[-1])) or receiver == "self"
        if isinstance(parent, ast.Return):
            function = self.a.enclosing_function(parent)
            if function is not None and any(is_backward_call(self.a, n) for n in ast.walk(function)):
                return False
        return True

    # Queries -------------------------------------------------------------------------
    @staticmethod
    def describe(key: Key) -> str:
        """A source as the code names it: ``G``, ``self.scorer`` (of ``HardSelect``)."""
        return key[2]

    def kind_of(self, node: ast.AST) -> str:
        """What cuts the gradient at ``node``: "detach", "data", "discrete", "indices", "compare",
        "zero" (round, floor...: a zero gradient), "cast", "scalar", "constructor", "state_dict",
        "sample", "no_grad"; "" if nothing does."""
        return self._cuts.get(id(node), "")

    def lost(self, kinds: Iterable[str]) -> list[tuple[ast.AST, Key]]:
        """(cut node, source) for every cut of one of ``kinds`` that leaves a source without gradient."""
        kinds = set(kinds)
        live = {key for _, flow in self.root_flows for key, status in flow.items() if status is LIVE}
        found: dict[int, tuple[ast.AST, Key]] = {}
        for root, flow in self.root_flows:
            everything_cut = bool(flow) and all(status is not LIVE for status in flow.values())
            covered = None
            for key, status in flow.items():
                if status is LIVE:
                    continue
                if not everything_cut:
                    if key in live:
                        continue
                    if covered is None:
                        covered = self._stepped_coverage(root)
                    if not self._covers(covered, key):
                        continue
                for cut in status:
                    if self._cuts.get(cut) not in kinds:
                        continue
                    # Name the source as the code around the cut does: `model`, not the `self.head` inside it.
                    if cut not in found or (key[0] == "name" and found[cut][1][0] != "name"):
                        found[cut] = (self.nodes[cut], key)
        return sorted(found.values(), key=lambda item: (item[0].lineno, item[0].col_offset))

    # Flows ---------------------------------------------------------------------------
    def flow(self, node: ast.AST | None) -> Flow:
        if node is None:
            return {}
        key = id(node)
        if key in self._flows:
            return self._flows[key]
        if key in self._busy:
            return {}  # a loop-carried or recursive definition: its other definitions say the rest
        self._busy.add(key)
        try:
            result = self._flow(node)
        finally:
            self._busy.discard(key)
        self._flows[key] = result
        return result

    def _cut(self, node: ast.AST, kind: str, flow: Flow) -> Flow:
        """Every source of ``flow`` cut at ``node`` (the innermost cut of a path is kept)."""
        if not flow:
            return {}
        self._cuts.setdefault(id(node), kind)
        self.nodes[id(node)] = node
        mark = frozenset((id(node),))
        return {k: (mark if status is LIVE else status) for k, status in flow.items()}

    def _flow(self, node: ast.AST) -> Flow:
        a = self.a
        if isinstance(node, ast.Call) and a.grad_disabled(node):
            return self._cut(node, "no_grad", self._generic(node))
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, (ast.Load, ast.Store)):
            return self._name(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Compare):
            return self._cut(node, "compare", _join(self.flow(n) for n in [node.left, *node.comparators]))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.IfExp):
            return _join([self.flow(node.body), self.flow(node.orelse)])
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self.flow(node.elt)
        if isinstance(node, ast.DictComp):
            return self.flow(node.value)
        if isinstance(node, ast.Lambda):
            return {}
        return self._generic(node)

    def _generic(self, node: ast.AST) -> Flow:
        return _join(self.flow(child) for child in _expression_children(node))

    def _source(self, node: ast.AST) -> Key | None:
        """The key of the module or Parameter a Name/Attribute names."""
        name = dotted(node)
        if name is None:
            return None
        if name.startswith("self."):
            cls = self.a.enclosing_class(node)
            return ("attr", cls.node.name, name) if cls is not None else None
        _, binder, _ = self.path.reaching(node)
        return ("name", id(binder) if binder is not None else id(self.a.tree), name)

    def _name(self, node: ast.AST) -> Flow:
        a = self.a
        if isinstance(node, ast.Attribute) and node.attr == "data" and isinstance(node.ctx, ast.Load):
            return self._cut(node, "data", self.flow(node.value))
        if isinstance(node, ast.Attribute) and node.attr == "indices":
            return self._cut(node, "indices", self.flow(node.value))
        if isinstance(node, ast.Attribute) and node.attr in _torch.NON_VALUE_ATTRIBUTES:
            return {}
        value = a.value(node)
        if value.kind in (Kind.MODULE, Kind.OPTIMIZER, Kind.IMPORTED, Kind.FUNCTION, Kind.CLASS) or value.kind in (Kind.NUMBER, Kind.STR, Kind.BOOL, Kind.NONE, Kind.SIZE, Kind.DTYPE, Kind.DEVICE):
            return {}
        if value.parameter or (value.leaf and value.carries):
            key = self._source(node)
            if key is not None:
                return {key: LIVE}
        generator = _comprehension_binding(self.a, node)
        if generator is not None:
            return self._definition(node, generator.iter)
        values, binder, parameter = self.path.reaching(node)
        values = self._not_killed(node, values)
        result = _join(self._definition(node, v) for v in values)
        if parameter and binder is not None and isinstance(binder, (ast.FunctionDef, ast.AsyncFunctionDef)):
            result = _join([result, {("param", id(binder), dotted(node)): LIVE}])
        if isinstance(node, ast.Attribute) and not values:
            if dotted(node) in ("self.weight", "self.bias") and self._inherits_a_layer(node):
                key = self._source(node)
                return {key: LIVE} if key is not None else {}
            return self.flow(node.value) if not isinstance(node.value, ast.Name) or node.value.id != "self" else {}
        return result

    def _inherits_a_layer(self, node: ast.AST) -> bool:
        """``self`` is an instance of a subclass of a torch layer (``class Q(nn.Linear)``): its
        ``weight`` and ``bias`` are the layer's Parameters."""
        cls = self.a.enclosing_class(node)
        if cls is None:
            return False
        for base in cls.node.bases:
            qualified = self.a.qualify(base) or ""
            if qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[-1] not in ("Module", "Sequential", "ModuleList", "ModuleDict"):
                return True
        return False

    def _not_killed(self, use: ast.AST, values: list[ast.AST]) -> list[ast.AST]:
        """Drop the definitions that a plain ``name = ...`` earlier in the use's own block overwrites
        (the loss path keeps every loop-carried one: ``code = enc(x); code = code.detach()``)."""
        statement = _statement(self.a, use)
        block = _block(self.a, statement)
        name = dotted(use)
        if block is None or name is None or len(values) < 2:
            return values
        last = None
        for stmt in block:
            if stmt is statement:
                break
            if isinstance(stmt, ast.Assign) and any(dotted(t) == name for t in stmt.targets):
                last = stmt
        if last is None:
            return values
        start, end = (last.lineno, last.col_offset), (statement.lineno, statement.col_offset)
        kept = []
        for value in values:
            where = _statement(self.a, value)
            if where is not None and start <= (where.lineno, where.col_offset) < end:
                kept.append(value)
        return kept or values

    def _definition(self, use: ast.AST, value: ast.AST) -> Flow:
        """The flow a definition's value gives the name read at ``use`` (loop targets over data: none)."""
        holder = self.a.parent(value)
        if isinstance(holder, (ast.For, ast.AsyncFor, ast.comprehension)) and holder.iter is value:
            iterable = self.a.value(value)
            element = iterable.element_value()
            if iterable.kind is not Kind.TENSOR and (element is None or not element.carries):
                return {}  # for x, y in loader: data
            return self.flow(value)
        flow = self.flow(value)
        if isinstance(holder, ast.Assign) and isinstance(value, ast.Call) and _index_result(value):
            position = _tuple_position(holder, dotted(use))
            if position == 1:
                return self._cut(value, "indices", flow)  # _, idx = x.max(1)
        return flow

    def _subscript(self, node: ast.Subscript) -> Flow:
        base = node.value
        index = node.slice
        if isinstance(base, ast.Call) and _index_result(base) and isinstance(index, ast.Constant) and index.value == 1:
            return self._cut(node, "indices", self.flow(base))
        return self.flow(base)

    def _call(self, node: ast.Call) -> Flow:
        a = self.a
        func = node.func
        qualified = a.qualify(func) or ""
        last = qualified.rsplit(".", 1)[-1] if qualified else (func.attr if isinstance(func, ast.Attribute) else "")
        args = [*node.args, *(k.value for k in node.keywords)]
        if qualified.startswith("torch."):
            inputs = _join(self.flow(x) for x in args)
            if last in _DISCRETE_FUNCTIONS or last == "one_hot":
                return self._cut(node, "discrete", inputs)
            if last in _COMPARISONS:
                return self._cut(node, "compare", inputs)
            if last in _ZERO_GRADIENT:
                return self._cut(node, "zero", inputs)
            if last in _torch.COPYING_CONSTRUCTORS:
                return self._cut(node, "constructor", inputs)
            if last == "where" and node.args:
                return _join([self._cut(node, "compare", self.flow(node.args[0])), *(self.flow(x) for x in node.args[1:])])
            return inputs
        if qualified.startswith(("math.", "numpy.")):
            return self._cut(node, "scalar", _join(self.flow(x) for x in args))
        if isinstance(func, ast.Name) and func.id in ("float", "int", "bool") and not qualified:
            return self._cut(node, "scalar", _join(self.flow(x) for x in args))
        if isinstance(func, ast.Attribute):
            method = func.attr
            receiver = func.value
            if method in ("detach", "detach_"):
                return self._cut(node, "detach", self.flow(receiver))
            if method in _SCALAR_METHODS:
                return self._cut(node, "scalar", self.flow(receiver))
            if method in ("parameters", "named_parameters", "modules", "children"):
                return self._module(receiver)
            if method == "state_dict":
                keeps = any(k.arg == "keep_vars" for k in node.keywords)
                return self._module(receiver) if keeps else self._cut(node, "state_dict", self._module(receiver))
            if method in _DISCRETE_FUNCTIONS:
                return self._cut(node, "discrete", self.flow(receiver))
            if method in _COMPARISONS:
                return self._cut(node, "compare", _join(self.flow(x) for x in [receiver, *args]))
            if method in _ZERO_GRADIENT:
                return self._cut(node, "zero", self.flow(receiver))
            if method in _INTEGER_CASTS or (method in ("type", "to") and _integer_dtype(a, node)):
                return self._cut(node, "cast", self.flow(receiver))
            if method in ("sample", "sample_n"):
                return self._cut(node, "sample", self.flow(receiver))
        callee = a.callee(node)
        if callee is not None:
            return self._substitute(node, callee)
        called = self._called_source(func)
        inputs = _join(self.flow(x) for x in args)
        if isinstance(func, ast.Attribute) and called is None:
            inputs = _join([inputs, self.flow(func.value)])  # a tensor method: the receiver flows on
        if called is not None:
            inputs = _join([inputs, {called: LIVE}])
        return inputs

    def _module(self, receiver: ast.AST) -> Flow:
        """``m.parameters()``: the module ``m`` (and, for a module class of this file, its attributes)."""
        key = self._source(receiver)
        if key is None:
            return {}
        return {key: LIVE}

    def _called_source(self, func: ast.AST) -> Key | None:
        """The key of a called model: a module value, or a name of unknown kind that is not a loss function."""
        name = dotted(func)
        if name is None:
            return None
        value = self.a.value(func)
        if value.kind is Kind.MODULE:
            if value.name in _torch.PARAMETER_FREE_MODULES:
                return None
            return self._source(func)
        if value.kind is not Kind.UNKNOWN or _NOT_A_MODEL.search(name.rsplit(".", 1)[-1]):
            return None
        if isinstance(func, ast.Attribute) and not name.startswith("self."):
            return None  # x.method(...): a method, not a model
        return self._source(func)

    def _substitute(self, call: ast.Call, callee) -> Flow:
        """What a call of a function or module of this file returns, its parameters replaced by the arguments."""
        returns = self._returns.get(id(callee))
        if returns is None:
            returns = self._returns[id(callee)] = _own_returns(self.a, callee)
        inner = _join(self.flow(r) for r in returns)
        result: Flow = {}
        for key, status in inner.items():
            if key[0] == "param" and key[1] == id(callee):
                for argument in arguments_for(callee, call, key[2]):
                    result = _join([result, _compose(self.flow(argument), status)])
            else:
                result = _join([result, {key: status}])
        called = self._called_source(call.func)
        cls = self._class_of_method(callee)
        if called is not None and cls is not None:
            # The instance (`model`) stands for its class's own sources (`self.head`, ...).
            own = [status for key, status in result.items() if key[0] == "attr" and key[1] == cls.node.name]
            if own:
                result = _join([result, {called: LIVE if LIVE in own else frozenset().union(*own)}])
        return result

    def _class_of_method(self, callee):
        """The first class (in the analysis's order) that has ``callee`` among its methods, from
        a table built once (a scan of every class per call is quadratic in large files)."""
        if self._method_classes is None:
            table: dict[int, object] = {}
            for info in self.a.classes.values():
                for method in info.methods.values():
                    table.setdefault(id(method), info)
            self._method_classes = table
        return self._method_classes.get(id(callee))

    # Optimizers ----------------------------------------------------------------------
    def _stepped_coverage(self, root: ast.AST) -> set | None:
        """The sources held by the optimizer stepped next after the backward of ``root``, in its
        function or, when that function does not step, after a call of it (``self.backward_G();
        self.optimizer_G.step()``). None: not known."""
        backward = next((n for n in self.a.ancestors(root) if isinstance(n, ast.Call) and is_backward_call(self.a, n)), None)
        if backward is None:
            return None
        scope = self.a.enclosing_function(backward)
        step = self._next_step(scope or self.a.tree, backward)
        if step is None and scope is not None:
            callers = calls_of(self.a, scope)
            steps = [self._next_step(self.a.enclosing_function(c) or self.a.tree, c) for c in callers]
            if steps and all(s is not None for s in steps):
                covered: set = set()
                for s in steps:
                    covered |= self._optimizer_sources(s.func.value) or set()
                return covered
        return self._optimizer_sources(step.func.value) if step is not None else None

    def _next_step(self, scope: ast.AST, after_node: ast.AST) -> ast.Call | None:
        """The first ``optimizer.step()`` in ``scope`` after ``after_node``."""
        after = (after_node.lineno, after_node.col_offset)
        steps = [
            call for call in walk(scope.body) if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "step" and (call.lineno, call.col_offset) > after
            and self.a.value(call.func.value).kind is Kind.OPTIMIZER
        ]
        return min(steps, key=lambda c: (c.lineno, c.col_offset)) if steps else None

    def _optimizer_sources(self, optimizer: ast.AST) -> set | None:
        values, _, parameter = self.path.reaching(optimizer) if dotted(optimizer) else ([], None, False)
        if parameter or not values:
            return None
        covered: set = set()
        for value in values:
            if not (isinstance(value, ast.Call) and self.a.value(value).kind is Kind.OPTIMIZER and value.args):
                return None
            covered |= self._held(value.args[0], depth=0)
        return covered

    def _held(self, expr: ast.AST, depth: int) -> set:
        if depth > 4:
            return set()
        held: set = set()
        for node in ast.walk(expr):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("parameters", "named_parameters"):
                key = self._source(node.func.value)
                if key is not None:
                    held.add(key)
                    held |= self._class_keys(node.func.value)
            elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load) and dotted(node):
                value = self.a.value(node)
                if value.parameter or value.leaf:
                    key = self._source(node)
                    if key is not None:
                        held.add(key)
                elif isinstance(node, ast.Name) and value.kind in (Kind.LIST, Kind.ITERATOR, Kind.UNKNOWN, Kind.TUPLE):
                    values, _, _ = self.path.reaching(node)
                    for v in values:
                        held |= self._held(v, depth + 1)
        return held

    def _class_keys(self, module: ast.AST) -> set:
        value = self.a.value(module)
        name = value.name if value.kind is Kind.MODULE else None
        if dotted(module) == "self":
            cls = self.a.enclosing_class(module)
            name = cls.node.name if cls is not None else None
        return {("class", name)} if name and name in self.a.classes else set()

    def _covers(self, covered: set | None, key: Key) -> bool:
        if not covered:
            return False
        if key in covered:
            return True
        return key[0] == "attr" and ("class", key[1]) in covered


def _expression_children(node: ast.AST) -> list[ast.expr]:
    """The expression children of ``node``, in ``ast.iter_child_nodes`` order (without its
    generators, and without the contexts and operators it yields)."""
    expr = ast.expr
    return [child for child in child_nodes(node) if isinstance(child, expr)]


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_returns(analysis: Analysis, function: ast.AST) -> list[ast.expr]:
    """The values of ``function``'s own ``return`` statements (not those of nested scopes), in
    ``ast.walk`` (breadth-first) order: from one table per file, the returns of the node index
    (breadth first from the module, which orders each function's the same) by their nearest
    enclosing scope, instead of a walk of each callee."""
    table: dict[int, list[ast.expr]] | None = analysis.memo.get("returns by scope")  # type: ignore[assignment]
    if table is None:
        table = analysis.memo["returns by scope"] = {}
        parent = analysis.parent
        for node in analysis.nodes(ast.Return):
            if node.value is None:  # type: ignore[attr-defined]
                continue
            scope = parent(node)
            while scope is not None and not isinstance(scope, _NESTED_SCOPES):
                scope = parent(scope)
            if scope is not None:
                table.setdefault(id(scope), []).append(node.value)  # type: ignore[attr-defined]
    return table.get(id(function), [])


def _comprehension_binding(analysis: Analysis, name: ast.AST) -> ast.comprehension | None:
    """The ``for`` clause of the comprehension around ``name`` that binds it."""
    if not isinstance(name, ast.Name):
        return None
    for ancestor in analysis.ancestors(name):
        if isinstance(ancestor, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for generator in ancestor.generators:
                if any(isinstance(t, ast.Name) and t.id == name.id for t in ast.walk(generator.target)):
                    if not any(n is name for n in ast.walk(generator.iter)):
                        return generator
        if isinstance(ancestor, (ast.stmt, ast.Lambda)):
            return None
    return None


def _statement(analysis: Analysis, node: ast.AST) -> ast.stmt | None:
    if isinstance(node, ast.stmt):
        return node
    return next((a for a in analysis.ancestors(node) if isinstance(a, ast.stmt)), None)


def _block(analysis: Analysis, statement: ast.stmt | None) -> list[ast.stmt] | None:
    parent = analysis.parent(statement) if statement is not None else None
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is statement for s in block):
            return block
    return None


def _join(flows: Iterable[Flow]) -> Flow:
    result: Flow = {}
    for flow in flows:
        for key, status in flow.items():
            if key not in result:
                result[key] = status
            elif result[key] is LIVE or status is LIVE:
                result[key] = LIVE
            else:
                result[key] = result[key] | status
    return result


def _compose(outer: Flow, inner_status) -> Flow:
    """An argument's flow after passing through a callee whose path from the parameter has ``inner_status``."""
    if inner_status is LIVE:
        return outer
    return {k: (inner_status if s is LIVE else s) for k, s in outer.items()}


def _index_result(call: ast.Call) -> bool:
    """``x.max(1)``, ``torch.max(x, dim=1)``, ``x.topk(k)``: a (values, indices) pair."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else "")
    if name not in _INDEX_RESULTS:
        return False
    positional = len(call.args) - (0 if isinstance(func, ast.Attribute) and not _is_torch_function(func) else 1)
    if name in ("max", "min"):
        return positional >= 1 or any(k.arg == "dim" for k in call.keywords)
    return True


def _is_torch_function(func: ast.Attribute) -> bool:
    return isinstance(func.value, ast.Name) and func.value.id in ("torch", "T", "th")


def _tuple_position(assign: ast.Assign, name: str | None) -> int | None:
    for target in assign.targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                if dotted(element) == name:
                    return index
    return None


def _integer_dtype(analysis: Analysis, call: ast.Call) -> bool:
    for arg in [*call.args, *(k.value for k in call.keywords if k.arg == "dtype")]:
        name = analysis.qualify(arg) or dotted(arg) or ""
        if name.rsplit(".", 1)[-1] in _torch.INTEGER_DTYPES:
            return True
    return False


def grad_path(analysis: Analysis) -> GradPath:
    """The file's gradient path, built on first use and shared by the rules that ask."""
    return analysis.shared("grad_path", partial(GradPath, analysis))
