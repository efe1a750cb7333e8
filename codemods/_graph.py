"""Does this expression carry an autograd graph?

A forward pass over one scope (a function body, or the module body of a script) in source
order, tracking for every local name (and ``self.x``-style attribute) whether the value it
holds is connected to trainable leaves:

- ``YES``: Parameters, tensors created with ``requires_grad=True``, module outputs,
  ``forward`` inputs, and torch operations on any of these;
- ``NO``: Python numbers and strings, plain tensors (``torch.randn(3)``), results of
  ``.detach()``, ``.item()``, ``.data``, ``torch.tensor(...)``, anything computed under
  ``torch.no_grad()``;
- ``UNKNOWN``: everything the pass cannot see through (calls into other code, arguments).

Branches join (a name that may carry a graph does), loops run twice so that loop-carried
values are seen. Rules ask :func:`flow_for` for the flow of the scope a node is in and then
``flow.carries(expr)``.
"""

from __future__ import annotations

import enum

import libcst as cst

from gradfix.context import FileContext

from ._names import dotted_name, imports, is_true, keyword
from ._scopes import (
    argument_for,
    call_sites,
    class_facts,
    enclosing_class,
    is_grad_disabling_call,
    is_module_constructor,
    module_class_names,
)


class Carry(enum.IntEnum):
    NO = 0
    UNKNOWN = 1
    YES = 2
    MODULE = 3  # an nn.Module object: calling it gives YES

    def join(self, other: "Carry") -> "Carry":
        if self == other:
            return self
        if Carry.MODULE in (self, other):
            return Carry.UNKNOWN
        return Carry(max(self, other))


def join_all(values) -> Carry:
    result = None
    for value in values:
        result = value if result is None else result.join(value)
    return Carry.NO if result is None else result


# torch functions whose result never carries a graph.
_TORCH_CREATORS = {
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace",
    "logspace", "eye", "tensor", "as_tensor", "from_numpy", "zeros_like", "ones_like", "empty_like",
    "full_like", "rand_like", "randn_like", "randint_like", "Tensor", "FloatTensor", "DoubleTensor",
    "LongTensor", "IntTensor", "BoolTensor", "HalfTensor", "ByteTensor", "asarray", "frombuffer",
    "tril_indices", "triu_indices", "empty_strided", "scalar_tensor", "complex",
}
_TORCH_NON_DIFFERENTIABLE = {
    "argmax", "argmin", "argsort", "argwhere", "nonzero", "eq", "ne", "lt", "le", "gt", "ge", "equal",
    "isnan", "isinf", "isfinite", "isclose", "allclose", "logical_and", "logical_or", "logical_not",
    "logical_xor", "bincount", "bucketize", "searchsorted", "numel", "is_tensor", "is_floating_point",
    "manual_seed", "seed", "get_rng_state", "multinomial", "bernoulli", "poisson", "count_nonzero",
    "is_grad_enabled", "no_grad", "inference_mode", "enable_grad", "set_grad_enabled", "device",
    "get_default_dtype", "finfo", "iinfo", "broadcast_shapes", "Size", "Generator", "save", "load",
}
# Tensor methods whose result never carries a graph.
_NON_DIFFERENTIABLE_METHODS = {
    "detach", "detach_", "item", "tolist", "numpy", "size", "dim", "ndimension", "numel", "nelement",
    "argmax", "argmin", "argsort", "nonzero", "long", "int", "bool", "byte", "short", "char",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "data_ptr", "stride",
    "element_size", "is_contiguous", "storage_offset", "get_device", "type", "new_zeros",
    "new_ones", "new_empty", "new_full", "new_tensor", "zero_", "all", "any", "equal",
    "allclose", "count_nonzero", "bincount", "is_floating_point", "requires_grad_",
    "__len__", "keys", "values", "items", "state_dict",
}
# List/dict/set methods that put their arguments into the receiver.
_CONTAINER_ADDERS = {"append", "extend", "insert", "add", "update", "setdefault"}
_NON_TENSOR_ATTRIBUTES = {
    "data", "grad", "shape", "dtype", "device", "ndim", "requires_grad", "is_leaf", "grad_fn",
    "is_cuda", "layout", "names", "itemsize", "nbytes",
}
_PYTHON_SCALAR_BUILTINS = {"len", "int", "float", "bool", "str", "range", "round", "isinstance", "print", "id", "hash", "repr", "type"}
_PYTHON_PASSING_BUILTINS = {"max", "min", "sum", "abs", "list", "tuple", "reversed", "sorted", "zip", "enumerate"}


class Flow:
    """Graph-carrying state of names in one scope, statement by statement."""

    def __init__(self, ctx: FileContext, scope: cst.Module | cst.FunctionDef) -> None:
        self.ctx = ctx
        self.scope = scope
        self.names = imports(ctx)
        self.local_modules = module_class_names(ctx)
        self.cls = enclosing_class(ctx, scope) if isinstance(scope, cst.FunctionDef) else None
        self.facts = class_facts(ctx, self.cls) if self.cls is not None else None
        self.before: dict[int, dict[str, Carry]] = {}  # statement id -> state before it
        env: dict[str, Carry] = {}
        if isinstance(scope, cst.FunctionDef):
            self._bind_parameters(scope, env)
            self._block(scope.body, env, grad_enabled=True)
        else:
            self._block(scope, env, grad_enabled=True)
        self.final = env

    # Parameters of the scope's function --------------------------------------------------
    def _bind_parameters(self, func: cst.FunctionDef, env: dict[str, Carry]) -> None:
        params = [*func.params.posonly_params, *func.params.params, *func.params.kwonly_params]
        is_forward = func.name.value == "forward" and self.facts is not None and self.facts.is_module
        for index, param in enumerate(params):
            name = param.name.value
            if index == 0 and self.cls is not None and name in ("self", "cls"):
                continue
            literal_default = param.default is not None and isinstance(
                param.default, (cst.Integer, cst.Float, cst.SimpleString, cst.Name)
            )
            annotation = dotted_name(param.annotation.annotation) if param.annotation else None
            if annotation in ("int", "float", "bool", "str"):
                env[name] = Carry.NO
            elif is_forward and not literal_default:
                env[name] = Carry.YES
            elif _passed_a_graph(self.ctx, func, name, is_method=self.cls is not None):
                env[name] = Carry.YES
            else:
                env[name] = Carry.UNKNOWN

    # Statements ----------------------------------------------------------------------------
    def _block(self, block, env: dict[str, Carry], grad_enabled: bool) -> None:
        """A Module, an IndentedBlock, or a one-line SimpleStatementSuite."""
        if isinstance(block, cst.SimpleStatementSuite):
            for small in block.body:
                self.before[id(small)] = dict(env)
                self._small(small, env, grad_enabled)
            return
        for stmt in block.body:
            self._statement(stmt, env, grad_enabled)

    def _statement(self, stmt: cst.CSTNode, env: dict[str, Carry], grad_enabled: bool) -> None:
        self.before[id(stmt)] = dict(env)
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.before[id(small)] = dict(env)
                self._small(small, env, grad_enabled)
        elif isinstance(stmt, cst.If):
            self._branches(env, grad_enabled, stmt.body, stmt.orelse)
        elif isinstance(stmt, (cst.For, cst.While)):
            for _ in range(2):  # twice: values carried around the loop
                if isinstance(stmt, cst.For):
                    self._bind_iteration(stmt.target, stmt.iter, env)
                self._block(stmt.body, env, grad_enabled)
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, env, grad_enabled)
        elif isinstance(stmt, cst.With):
            disabling = any(is_grad_disabling_call(self.ctx, item.item) for item in stmt.items)
            for item in stmt.items:
                if item.asname is not None:
                    self._bind(item.asname.name, Carry.UNKNOWN, env)
            self._block(stmt.body, env, grad_enabled and not disabling)
        elif isinstance(stmt, cst.Try):
            self._branches(env, grad_enabled, stmt.body, *[h.body for h in stmt.handlers])
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, env, grad_enabled)
            if stmt.finalbody is not None:
                self._block(stmt.finalbody.body, env, grad_enabled)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            env[stmt.name.value] = Carry.NO  # a definition: its body is its own scope

    def _branches(self, env, grad_enabled, *bodies) -> None:
        results = []
        for body in bodies:
            if body is None:
                results.append(dict(env))
                continue
            if isinstance(body, cst.Else):
                body = body.body
            elif isinstance(body, cst.If):  # elif chain
                branch = dict(env)
                self._statement(body, branch, grad_enabled)
                results.append(branch)
                continue
            branch = dict(env)
            self._block(body, branch, grad_enabled)
            results.append(branch)
        if len(results) == 1:
            results.append(dict(env))  # the branch may not run
        merged: dict[str, Carry] = {}
        for result in results:
            for key, value in result.items():
                merged[key] = merged[key].join(value) if key in merged else value
        env.clear()
        env.update(merged)

    def _small(self, small: cst.BaseSmallStatement, env: dict[str, Carry], grad_enabled: bool) -> None:
        def produced(expr: cst.BaseExpression) -> Carry:
            value = self.value(expr, env)
            return Carry.NO if not grad_enabled and value is not Carry.MODULE else value

        if isinstance(small, cst.Assign):
            value = produced(small.value)
            for target in small.targets:
                self._bind(target.target, value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind(small.target, produced(small.value), env)
        elif isinstance(small, cst.AugAssign):
            key = self._key(small.target)
            if key is not None:
                env[key] = self.value(small.target, env).join(produced(small.value))
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            # x.copy_(y), x.add_(y) and friends write y's graph into x; xs.append(y) puts it in xs.
            call = small.value
            method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
            if (method.endswith("_") or method in _CONTAINER_ADDERS) and call.args:
                key = self._key(call.func.value)
                if key is not None and grad_enabled:
                    env[key] = self.value(call.func.value, env).join(join_all(self.value(a.value, env) for a in call.args))

    def _bind_iteration(self, target: cst.BaseExpression, iterable: cst.BaseExpression, env: dict[str, Carry]) -> None:
        """``for a, b in zip(xs, ys)`` / ``for i, x in enumerate(xs)``: each name gets its own sequence's value."""
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name):
            args = [a.value for a in iterable.args if a.keyword is None and a.star == ""]
            names = [e.value for e in target.elements]
            if iterable.func.value == "zip" and len(args) == len(names) == len(iterable.args):
                for name, arg in zip(names, args):
                    self._bind(name, self.value(arg, env), env)
                return
            if iterable.func.value == "enumerate" and len(names) == 2 and args:
                self._bind(names[0], Carry.NO, env)
                self._bind(names[1], self.value(args[0], env), env)
                return
        self._bind(target, self.value(iterable, env), env)

    def _key(self, target: cst.BaseExpression) -> str | None:
        while isinstance(target, cst.Subscript):
            target = target.value
        return dotted_name(target)

    def _bind(self, target: cst.BaseExpression, value: Carry, env: dict[str, Carry]) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                inner = element.value
                self._bind(inner, value if value is not Carry.MODULE else Carry.UNKNOWN, env)
            return
        if isinstance(target, cst.StarredElement):
            self._bind(target.value, value, env)
            return
        if isinstance(target, cst.Subscript):
            key = self._key(target)
            if key is not None:  # x[k] = v: x now holds v's graph too
                env[key] = env.get(key, self.value(target.value, env)).join(value)
            return
        key = dotted_name(target)
        if key is not None:
            env[key] = value

    # Expressions -----------------------------------------------------------------------
    def value(self, expr: cst.BaseExpression, env: dict[str, Carry]) -> Carry:
        if isinstance(expr, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return Carry.NO
        if isinstance(expr, cst.Name):
            if expr.value in ("None", "True", "False"):
                return Carry.NO
            if expr.value in env:
                return env[expr.value]
            return self._global(expr.value)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, env)
        if isinstance(expr, cst.Call):
            return self._call(expr, env)
        if isinstance(expr, cst.BinaryOperation):
            return self.value(expr.left, env).join(self.value(expr.right, env))
        if isinstance(expr, cst.UnaryOperation):
            if isinstance(expr.operator, cst.Not):
                return Carry.NO
            return self.value(expr.expression, env)
        if isinstance(expr, cst.BooleanOperation):
            return self.value(expr.left, env).join(self.value(expr.right, env))
        if isinstance(expr, cst.Comparison):
            return Carry.NO
        if isinstance(expr, cst.Subscript):
            base = self.value(expr.value, env)
            return Carry.UNKNOWN if base is Carry.MODULE else base
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return join_all(self.value(e.value, env) for e in expr.elements)
        if isinstance(expr, cst.IfExp):
            return self.value(expr.body, env).join(self.value(expr.orelse, env))
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            inner = dict(env)
            for_in: cst.CompFor | None = expr.for_in
            while for_in is not None:
                self._bind(for_in.target, self.value(for_in.iter, inner), inner)
                for_in = for_in.inner_for_in
            return self.value(expr.elt, inner)
        if isinstance(expr, cst.StarredElement):
            return self.value(expr.value, env)
        if isinstance(expr, cst.NamedExpr):
            value = self.value(expr.value, env)
            self._bind(expr.target, value, env)
            return value
        return Carry.UNKNOWN

    def _global(self, name: str) -> Carry:
        """A module-level name read in a function: its Parameters and modules are seen."""
        if isinstance(self.scope, cst.Module):
            return Carry.UNKNOWN
        value = flow_for(self.ctx, self.ctx.module).final.get(name, Carry.UNKNOWN)
        return value if value in (Carry.YES, Carry.MODULE) else Carry.UNKNOWN

    def _self_attribute(self, attr: str) -> Carry | None:
        if self.facts is None:
            return None
        if attr in self.facts.parameters:
            return Carry.YES
        if attr in self.facts.submodules:
            return Carry.MODULE
        if attr in self.facts.buffers:
            return Carry.NO
        return None

    def _attribute(self, expr: cst.Attribute, env: dict[str, Carry]) -> Carry:
        dotted = dotted_name(expr)
        if dotted is not None and dotted in env:
            return env[dotted]
        attr = expr.attr.value
        if attr in _NON_TENSOR_ATTRIBUTES:
            return Carry.NO
        if isinstance(expr.value, cst.Name) and expr.value.value == "self":
            known = self._self_attribute(attr)
            if known is not None:
                return known
            return Carry.UNKNOWN
        base = self.value(expr.value, env)
        if base is Carry.MODULE:
            return Carry.YES if attr in ("weight", "bias") or attr.startswith(("weight_", "bias_")) else Carry.UNKNOWN
        if attr in ("T", "mT", "H", "mH", "real", "imag"):
            return base
        return Carry.UNKNOWN

    def _call(self, call: cst.Call, env: dict[str, Carry]) -> Carry:
        args = [a.value for a in call.args if a.keyword is None or a.keyword.value not in ("dtype", "device", "dim", "out")]
        qualified = self.names.qualify(call.func)
        if qualified is not None:
            if qualified == "torch.nn.Parameter":
                flag = keyword(call, "requires_grad")
                if flag is not None and not is_true(flag.value):
                    return Carry.NO
                return Carry.YES
            if qualified.startswith("torch.") or qualified == "torch":
                last = qualified.rsplit(".", 1)[-1]
                if is_module_constructor(self.ctx, call, self.local_modules):
                    return Carry.MODULE
                if last in _TORCH_CREATORS:
                    flag = keyword(call, "requires_grad")
                    return Carry.YES if flag is not None and is_true(flag.value) else Carry.NO
                if last in _TORCH_NON_DIFFERENTIABLE:
                    return Carry.NO
                return join_all(self.value(a, env) for a in args)
            return Carry.UNKNOWN
        if isinstance(call.func, cst.Name):
            name = call.func.value
            if name in self.local_modules:
                return Carry.MODULE
            if name in env or self._global(name) is Carry.MODULE:
                return Carry.YES if env.get(name, Carry.MODULE) is Carry.MODULE else Carry.UNKNOWN
            if name in _PYTHON_SCALAR_BUILTINS:
                return Carry.NO
            if name in _PYTHON_PASSING_BUILTINS:
                return join_all(self.value(a, env) for a in args)
            return Carry.UNKNOWN
        if isinstance(call.func, cst.Attribute):
            if self._attribute(call.func, env) is Carry.MODULE:
                return Carry.YES  # self.proj(x): a submodule's output
            receiver = self.value(call.func.value, env)
            method = call.func.attr.value
            if receiver is Carry.MODULE:
                if method in ("parameters", "named_parameters", "forward", "__call__"):
                    return Carry.YES
                return Carry.UNKNOWN
            if method in _NON_DIFFERENTIABLE_METHODS:
                return Carry.NO if method != "requires_grad_" else Carry.YES
            if method == "apply" and receiver is not Carry.NO:
                return Carry.UNKNOWN
            arguments = join_all(self.value(a, env) for a in args)
            if receiver is Carry.YES:
                return Carry.YES
            if receiver is Carry.NO:
                return arguments if arguments is not Carry.NO else Carry.NO
            return Carry.YES if arguments is Carry.YES else Carry.UNKNOWN
        return Carry.UNKNOWN

    # Queries ---------------------------------------------------------------------------
    def state_before(self, node: cst.CSTNode) -> dict[str, Carry]:
        """The names' state just before the statement holding ``node``."""
        current: cst.CSTNode | None = node
        while current is not None:
            state = self.before.get(id(current))
            if state is not None:
                return state
            current = self.ctx.parent(current)
        return self.final

    def carries(self, expr: cst.BaseExpression, at: cst.CSTNode | None = None) -> Carry:
        """Whether ``expr``, evaluated where ``at`` (default: ``expr``) is, carries a graph."""
        return self.value(expr, dict(self.state_before(at if at is not None else expr)))


def _passed_a_graph(ctx: FileContext, func: cst.FunctionDef, parameter: str, is_method: bool) -> bool:
    """Whether a call in this file passes a graph-carrying value for ``parameter`` of ``func``.

    Caller flows are built on demand; a caller whose flow is itself being built (recursion,
    mutual calls) is skipped.
    """
    building: set[int] = ctx.cached("flows_in_progress", set)
    for call in call_sites(ctx, func):
        argument = argument_for(call, func, parameter, is_method)
        if argument is None or id(scope_of(ctx, call)) in building:
            continue
        if flow_for(ctx, call).carries(argument, call) is Carry.YES:
            return True
    return False


def scope_of(ctx: FileContext, node: cst.CSTNode) -> cst.Module | cst.FunctionDef:
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            return ancestor
    return ctx.module


def flow_for(ctx: FileContext, node: cst.CSTNode) -> Flow:
    """The flow of the function (or module body) that ``node`` is in, built once per scope."""
    scope = scope_of(ctx, node)
    building: set[int] = ctx.cached("flows_in_progress", set)

    def build() -> Flow:
        building.add(id(scope))
        try:
            return Flow(ctx, scope)
        finally:
            building.discard(id(scope))

    return ctx.cached(("flow", id(scope)), build)
