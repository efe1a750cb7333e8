"""GF110 inplace-on-saved."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property, partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from . import _torch
from ._ast import calls_by_name, import_aliases, names_named, nodes_of, parents_of
from ._flow_ast import block_of
from ._inplace import VIEW_METHODS, binds_locally, clone_write, parameter_names, reads, why_not_rewritable
from ._uses import STORE, uses
from ._values import Analysis, Kind, dotted

# In-place tensor methods whose out-of-place form is the same name without the `_`.
_OUT_OF_PLACE_METHODS = {
    "add_", "sub_", "mul_", "div_", "pow_", "clamp_", "clamp_min_", "clamp_max_", "masked_fill_",
    "relu_", "sigmoid_", "tanh_", "exp_", "sqrt_", "neg_", "abs_", "log_", "addcmul_", "addcdiv_",
    "lerp_", "sign_", "floor_", "round_", "reciprocal_", "square_", "fill_diagonal_", "index_fill_",
    "masked_scatter_", "scatter_", "scatter_add_", "index_add_", "index_copy_", "copy_",
}
# Methods ending in `_` that change autograd or memory state, not values.
_NOT_VALUE_WRITES = {"requires_grad_", "share_memory_", "detach_", "retain_grad_", "set_", "resize_", "record_stream_"}
_METADATA = {"device", "dtype", "shape", "ndim", "is_cuda", "layout", "requires_grad", "grad_fn", "is_leaf"}
_METADATA_METHODS = {"size", "dim", "numel", "type", "get_device", "stride", "is_contiguous", "data_ptr"}
# LibCST's augmented operators by name (``AddAssign`` -> ``Add``): names, not classes, since a
# rule module must not import LibCST when it loads.
_AUG_OPERATORS = {
    "AddAssign": "Add", "SubtractAssign": "Subtract", "MultiplyAssign": "Multiply", "DivideAssign": "Divide",
    "PowerAssign": "Power", "MatrixMultiplyAssign": "MatrixMultiply", "FloorDivideAssign": "FloorDivide",
    "ModuloAssign": "Modulo",
}


@dataclass
class _Write:
    node: ast.AST  # the statement or call reported
    stmt: ast.stmt
    name: ast.Name  # the written tensor's occurrence at the write
    how: str  # how the message names the write
    kind: str  # "augassign", "subscript", "method", "function", "module"
    inplace_arg: ast.AST | None = None  # the `inplace=True` (or positional True) of a call or construction
    construction: ast.Call | None = None  # the module's constructor call


@dataclass
class _Definition:
    stmt: ast.Assign | None  # `x = value` that made the written tensor (None: the caller passed it)
    index: int  # its store's index in the scope's uses (-1 for a parameter)


class InplaceOnSaved(Rule):
    """
    An in-place write into a tensor that autograd saved for the backward pass.

    Many ops keep tensors for their backward: `sigmoid`, `tanh`, `exp`, `softmax`, `relu`
    keep their *output*; `x * w`, `x @ w`, convolutions, `Linear`, the norms and `log` keep
    their *input*. Writing into such a tensor afterwards (`x += y`, `x[mask] = 0`,
    `x[mask] *= 2`, `x.mul_(2)`, `F.relu(x, inplace=True)`, `nn.ReLU(inplace=True)`) bumps
    its version, and `backward()` raises "one of the variables needed for gradient
    computation has been modified by an inplace operation". In-place writes into a leaf that requires grad raise
    at once ("a leaf Variable that requires grad is being used in an in-place operation").

    A third case raises nothing: `out = self.relu(x)` with an in-place ReLU overwrites `x`
    too, so a later `out + x` (a residual) reads relu(x), not x. The forward is already wrong;
    it is reported, and the fix (`inplace=False`) is unsafe because it changes the forward.

    Writes that nothing saved are fine and not reported: `conv -> bn -> relu(inplace)`
    (BatchNorm saves its input, not its output), `out += identity` on a BatchNorm output,
    writes into fresh buffers, `.clone()`d copies, anything under `torch.no_grad()`.
    `x[k] = f(x)` self-writes are GF103's.

    Bad:

        s = torch.sigmoid(logits)
        s[s < 0.5] = 0                 # sigmoid saved s
        loss = (s * target).sum()
        loss.backward()                # RuntimeError: ... modified by an inplace operation

    Good:

        s = torch.sigmoid(logits)
        s = s.masked_fill(s < 0.5, 0)
        loss = (s * target).sum()
        loss.backward()

    Fix safety: the out-of-place form (`x = x + y`, `x = x.masked_fill(mask, v)`, a write
    into a copy, `x = x.mul(2)`, dropping `inplace=True`) is bitwise equal in the forward
    and safe, except that `x = x + y` promotes dtypes where `x += y` keeps `x`'s (they
    differ only when `y` has the wider dtype). Not rewritten when another name or view of
    the tensor, or the caller, would stop seeing the write: a helper's write into a module
    global or a closure's variable made by a saving op (`probs[probs < t] = 0` in a function
    that never binds `probs`) is reported only. Writes into leaves are reported only (an update
    belongs under `torch.no_grad()`; a computation needs a new tensor).
    Dropping `inplace=True` where a later read saw the overwritten value is unsafe.
    """

    code = "GF110"
    name = "inplace-on-saved"
    summary = "an in-place write into a tensor that autograd saved for backward (or a leaf)"
    # detect needs torch imported (a file that never names it imports nothing of it); what
    # else it needs is too spread out for the text (a write is `=`, `op=` or `.m_(`, a reason
    # is any `*` or `/`): the quick check below looks at the tree.
    trigger = re.compile(r"torch")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A write detect may judge: see `_quick_check`."""
        return _quick_check(tree)

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for write in _writes(analysis):
            if analysis.value(write.name).kind not in (Kind.TENSOR, Kind.UNKNOWN) or analysis.grad_disabled(write.node):
                continue  # a counter, a list, an array: no tensor is written in place
            if _in_autograd_function(analysis, write.node):
                continue  # a custom Function's forward and backward run with grad disabled
            finding = _judge(analysis, write)
            if finding is not None:
                message, fix = finding
                yield self.finding(write.node, message, fix)


def _in_autograd_function(analysis: Analysis, node: ast.AST) -> bool:
    info = analysis.enclosing_class(node)
    return info is not None and any(
        (analysis.qualify(base) or "").startswith("torch.autograd.") or dotted(base) in ("Function", "autograd.Function")
        for base in info.node.bases
    )


# The writes ------------------------------------------------------------------------------
def _writes(analysis: Analysis):
    for stmt in analysis.nodes(ast.AugAssign):
        target = stmt.target
        if isinstance(target, ast.Name):
            yield _Write(stmt, stmt, target, f"`{target.id} {_op(stmt.op)}= ...`", "augassign")
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and analysis.value(target.value).is_tensor:
            # `x[mask] += v`: setitem of `x[mask] + v`, in place like `x[mask] = ...`
            yield _Write(stmt, stmt, target.value, f"`{ast.unparse(target)} {_op(stmt.op)}= ...`", "subscript")
    for stmt in analysis.nodes(ast.Assign):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript) and isinstance(stmt.targets[0].value, ast.Name):
            if reads(stmt.value, stmt.targets[0].value.id) or not analysis.value(stmt.targets[0].value).is_tensor:
                continue  # `x[k] = f(x)` is GF103's (self_write); a list or dict entry is no tensor write
            written = ast.unparse(stmt.targets[0])
            yield _Write(stmt, stmt, stmt.targets[0].value, f"`{written} = ...`", "subscript")
    for call in analysis.calls():
        write = _call_write(analysis, call)
        if write is not None:
            yield write


def _call_write(analysis: Analysis, call: ast.Call) -> _Write | None:
    stmt = _statement(analysis, call)
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        method = func.attr
        if method.endswith("_") and not method.startswith("_") and method not in _NOT_VALUE_WRITES:
            if analysis.value(func.value).kind is Kind.TENSOR:
                return _Write(call, stmt, func.value, f"`{func.value.id}.{method}(...)`", "method")
    if not call.args or not isinstance(call.args[0], ast.Name):
        return None
    argument = call.args[0]
    qualified = analysis.qualify(func) or ""
    last = qualified.rsplit(".", 1)[-1]
    if qualified.startswith("torch."):
        if last in _torch.INPLACE_FUNCTIONS:
            return _Write(call, stmt, argument, f"`{_segment(analysis, func)}({argument.id})`", "function")
        flag = _inplace_flag(call, _torch.INPLACE_FUNCTION_ARGUMENT.get(last), offset=0)
        if last in _torch.INPLACE_FUNCTION_ARGUMENT and flag is not None:
            return _Write(call, stmt, argument, f"`{_segment(analysis, func)}(..., inplace=True)`", "function", flag)
        return None
    first, _ = _layers(analysis, func)
    if first is not None and isinstance(func, (ast.Name, ast.Attribute)):
        flag = _inplace_layer(analysis, first)
        if flag is not None:
            return _Write(call, stmt, argument, f"`{dotted(func)}` (`{_segment(analysis, first.func)}` in place)", "module", flag, first)
    return None


def _inplace_flag(call: ast.Call, position: int | None, offset: int) -> ast.AST | None:
    """The ``inplace=True`` keyword (or the positional ``True`` at ``position``) of ``call``."""
    if position is None:
        return None
    for keyword in call.keywords:
        if keyword.arg == "inplace":
            return keyword if _is_true(keyword.value) else None
    index = position - offset
    if 0 <= index < len(call.args) and _is_true(call.args[index]) and len(call.args) == index + 1:
        return call.args[index]
    return None


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _construction(analysis: Analysis, func: ast.expr) -> ast.Call | None:
    """The one constructor call bound to ``self.act`` (in the class) or ``act`` (in the scope)."""
    name = dotted(func)
    if name is None:
        return None
    if name.startswith("self."):
        info = analysis.enclosing_class(func)
        if info is None:
            return None
        bodies = [m for m in info.methods.values()]
    else:
        bodies = [analysis.enclosing_function(func) or analysis.tree]
        if bodies[0] is not analysis.tree:
            bodies.append(analysis.tree)
    if analysis.tree in bodies:
        values = [node.value for node in _assignments(analysis).get(name, [])]
    else:  # the assignments inside one of the class's methods
        inside = _assignments_inside(analysis)
        values = [node.value for body in bodies for node in inside.get((name, id(body)), [])]
        values.sort(key=lambda v: (v.lineno, v.col_offset))
    if name.startswith("self.") is False and len(bodies) == 2:
        local = [v for v in values if analysis.enclosing_function(v) is bodies[0]]
        values = local or values
    if len(values) != 1 or not isinstance(values[0], ast.Call):
        return None
    return values[0]


def _layers(analysis: Analysis, func: ast.expr) -> tuple[ast.Call | None, ast.Call | None]:
    """The constructor calls of the first and the last torch.nn layer a module call runs: the
    module's own (``self.act = nn.ReLU(inplace=True)``, ``nn.Sigmoid()(x)``), or the ends of
    an ``nn.Sequential`` of torch.nn layers."""
    if (dotted(func) or "").count(".") > 1 or analysis.value(func).kind is not Kind.MODULE:
        return None, None
    construction = func if isinstance(func, ast.Call) else _construction(analysis, func)
    if construction is None or _torch_layer(analysis, construction) is None:
        return None, None
    if _torch_layer(analysis, construction) == "Sequential":
        ends = [construction.args[0], construction.args[-1]] if construction.args else []
        if not ends or not all(isinstance(e, ast.Call) and _torch_layer(analysis, e) not in (None, "Sequential") for e in ends) or construction.keywords:
            return None, None
        return ends[0], ends[1]  # type: ignore[return-value]
    return construction, construction


def _assignments_inside(analysis: Analysis) -> dict[tuple[str, int], list[ast.Assign]]:
    """:func:`_assignments` by dotted target and by each function around the assignment (built
    once: asking each method's ancestors would be quadratic in a file of many classes)."""
    table: "dict[tuple[str, int], list[ast.Assign]] | None" = analysis.memo.get("GF110 assignments inside")  # type: ignore[assignment]
    if table is None:
        table = analysis.memo["GF110 assignments inside"] = {}
        for name, nodes in _assignments(analysis).items():
            for node in nodes:
                for ancestor in analysis.ancestors(node):
                    if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        table.setdefault((name, id(ancestor)), []).append(node)
    return table


def _assignments(analysis: Analysis) -> dict[str, list[ast.Assign]]:
    """Every ``name = ...`` / ``self.name = ...`` of the file, by dotted target (built once)."""
    table: "dict[str, list[ast.Assign]] | None" = analysis.memo.get("GF110 assignments")  # type: ignore[assignment]
    if table is None:
        table = {}
        for node in analysis.nodes(ast.Assign):
            for target in node.targets:
                name = dotted(target)
                if name is not None:
                    table.setdefault(name, []).append(node)
        analysis.memo["GF110 assignments"] = table
    return table


def _torch_layer(analysis: Analysis, call: ast.Call) -> str | None:
    qualified = analysis.qualify(call.func) or ""
    return qualified.rsplit(".", 1)[-1] if qualified.startswith("torch.nn.") else None


def _inplace_layer(analysis: Analysis, layer: ast.Call) -> ast.AST | None:
    """The ``inplace=True`` of ``nn.ReLU(inplace=True)``, ``nn.LeakyReLU(0.2, True)`` ..."""
    return _inplace_flag(layer, _torch.INPLACE_MODULE_ARGUMENT.get(_torch_layer(analysis, layer) or ""), offset=0)


# The judgement -----------------------------------------------------------------------------
def _judge(analysis: Analysis, write: _Write):
    name = write.name.id
    scope = analysis.enclosing_function(write.stmt) or analysis.tree
    occurrences = uses(analysis, scope).of(name)
    at = next((o.index for o in occurrences if o.node is write.name), None)
    if at is None:
        return None
    definition = _reaching(analysis, occurrences, at, write.stmt, scope, name)
    outer = None
    if definition is None:
        outer = _outer_definition(analysis, scope, name) if scope is not analysis.tree else None
        if outer is None:
            return None
        definition = _Definition(None, -1)  # in the function, there from the start, as a parameter
    tensor_known = write.kind in ("method", "function", "module")
    via = ""
    producer = _saved_output(analysis, outer.value) if outer is not None else None
    if producer is not None:
        reason = "output", f"{producer} on line {outer.lineno} saved its output for backward"
    else:
        reason = _why_breaks(analysis, definition, occurrences, at, write, tensor_known)
    if reason is None and definition.stmt is not None:
        base = _view_base(definition.stmt.value)
        if base is not None and base.id != name:
            base_occurrences = uses(analysis, scope).of(base.id)
            base_at = next((o.index for o in base_occurrences if o.node is base), None)
            base_def = _reaching(analysis, base_occurrences, base_at, write.stmt, scope, base.id) if base_at is not None else None
            if base_def is not None:
                reason = _why_breaks(analysis, base_def, base_occurrences, at, write, True)
                via = f"`{name}`, a view of `{base.id}`"
    flagged = write.kind == "module" or (write.kind == "function" and write.inplace_arg is not None)
    forward = _read_after(analysis, write, occurrences, at, definition) if flagged else None
    if reason is None and forward is None:
        return None
    target = via or f"`{name}`"
    if forward is not None:
        message = (
            f"{write.how} overwrites `{name}`, and `{name}` is read again on line {forward}: that read sees the"
            " activation's output, so the current forward is already wrong"
        )
        if reason is not None and reason[0] != "leaf":
            message += f" (and backward will raise: {reason[1]})"
    elif reason[0] == "leaf":
        message = f"{write.how} writes in place into {target}, {reason[1]}; outside `torch.no_grad()` this raises"
        return message, None
    else:
        message = f"{write.how} writes in place into {target}, but {reason[1]}; backward will raise"
        if write.construction is not None and "Dropout" in (_torch_layer(analysis, write.construction) or ""):
            message += " in training whenever the dropout rate is nonzero"
    fix, refusal = _plan_fix(analysis, write, forward is not None, via != "")
    if refusal:
        message += f" (not rewritten: {refusal})"
    elif forward is not None:
        message += " (the unsafe fix `inplace=False` changes the forward)"
    return message, fix


def _reaching(analysis, occurrences, at: int, stmt: ast.stmt, scope, name: str) -> _Definition | None:
    """The assignment that made the tensor written at ``at``: the last ``name = value``
    before it (in-place updates ``name += ...`` keep the object) on every path to the write."""
    for use in reversed([o for o in occurrences if o.kind == STORE and o.index < at]):
        binder = analysis.parent(use.node)
        if isinstance(binder, ast.AugAssign):
            continue
        if not isinstance(binder, ast.Assign) or len(binder.targets) != 1 or binder.targets[0] is not use.node:
            return None  # unpacking, a loop target, `with ... as`: not followed
        block = block_of(analysis.parent, binder) or []
        if not any(s is stmt or any(s is a for a in analysis.ancestors(stmt)) for s in block):
            return None  # assigned in a branch the write is not inside: another path may skip it
        return _Definition(binder, use.index)
    if scope is not analysis.tree and name in parameter_names(scope):
        return _Definition(None, -1)
    return None


def _outer_definition(analysis: Analysis, function, name: str) -> ast.Assign | None:
    """The one ``name = value`` of the scope whose variable the free name ``name`` of
    ``function`` is (the module, or an enclosing function), when that scope binds it once and
    no code declares it global or nonlocal (then no other code may rebind it).

    A leaf is not judged this way: a helper that updates a global leaf may be called under
    `torch.no_grad()`. A saved output raises whatever mode the write ran in.
    """
    if binds_locally(function, name) or any(name in node.names for node in analysis.nodes(ast.Global, ast.Nonlocal)):
        return None
    outer = analysis.enclosing_function(function)
    while outer is not None and not binds_locally(outer, name):
        outer = analysis.enclosing_function(outer)
    stores = [o for o in uses(analysis, outer or analysis.tree).of(name) if o.kind == STORE]
    if len(stores) != 1:
        return None
    binder = analysis.parent(stores[0].node)
    if isinstance(binder, ast.Assign) and len(binder.targets) == 1 and binder.targets[0] is stores[0].node:
        return binder
    return None


def _why_breaks(analysis: Analysis, definition: _Definition, occurrences, at: int, write: _Write, tensor_known: bool):
    """("leaf" | "output" | "input", how the message says it) when the write breaks backward."""
    if definition.stmt is not None:
        value = analysis.value(definition.stmt.value)
        if value.leaf and value.is_tensor:
            return "leaf", "a leaf that requires grad"
        producer = _saved_output(analysis, definition.stmt.value)
        if producer is not None:
            return "output", f"{producer} on line {definition.stmt.lineno} saved its output for backward"
    for use in occurrences:
        if definition.index < use.index < at and use.kind != STORE and not _exclusive(analysis, write.stmt, use.node):
            saving = _saving_op(analysis, use.node)
            if saving is None:
                continue
            op, label, known_tensor = saving
            if not (tensor_known or known_tensor or (definition.stmt is not None and analysis.value(definition.stmt.value).is_tensor)):
                continue
            if analysis.grad_disabled(op) or not analysis.value(op).carries:
                continue
            return "input", f"{label} on line {op.lineno} saved it for backward"
    return None


def _saved_output(analysis: Analysis, expr: ast.expr) -> str | None:
    """How to name the op that made ``expr`` (through views) when it saves its output."""
    while True:
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in VIEW_METHODS - {"detach"} and analysis.value(expr.func.value).is_tensor:
            expr = expr.func.value
        else:
            break
    if not isinstance(expr, ast.Call) or not analysis.value(expr).carries:
        return None  # unknown (of a helper's arguments) is usually schedule or data arithmetic
    func = expr.func
    qualified = analysis.qualify(func) or ""
    last = qualified.rsplit(".", 1)[-1]
    if qualified.startswith("torch."):
        if last in _torch.SAVES_OUTPUT:
            return f"`{_segment(analysis, func)}`"
        if last in _torch.INPLACE_SAVES_OUTPUT and _inplace_flag(expr, _torch.INPLACE_FUNCTION_ARGUMENT.get(last), 0) is not None:
            return f"`{_segment(analysis, func)}(..., inplace=True)`"
        return None
    if isinstance(func, ast.Attribute) and analysis.value(func.value).kind is Kind.TENSOR and func.attr in _torch.SAVES_OUTPUT:
        return f"`.{func.attr}()`"
    _, last_layer = _layers(analysis, func)
    if last_layer is not None:
        layer = _torch_layer(analysis, last_layer)
        if layer in _torch.SAVES_OUTPUT_MODULES or (layer in _torch.INPLACE_SAVES_OUTPUT and _inplace_layer(analysis, last_layer) is not None):
            return f"`{_segment(analysis, func)}` (ending in `{_segment(analysis, last_layer.func)}`)"
    return None


def _saving_op(analysis: Analysis, name: ast.Name):
    """(the op, its label, whether it proves a tensor) when the op reading ``name`` (or a
    view of it) saves it for backward."""
    node: ast.AST = name
    parent = analysis.parent(node)
    while True:
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if not analysis.value(node).is_tensor:
                return None  # an element of a list or dict, not a view
            node, parent = parent, analysis.parent(parent)
            continue
        if isinstance(parent, ast.Attribute) and parent.value is node:
            call = analysis.parent(parent)
            if not isinstance(call, ast.Call) or call.func is not parent:
                if parent.attr in ("T", "mT"):
                    node, parent = parent, call
                    continue
                return None
            if parent.attr in VIEW_METHODS - {"detach"}:
                node, parent = call, analysis.parent(call)
                continue
            if parent.attr in _torch.SAVES_INPUT:
                return call, f"`.{parent.attr}()`", False
            if parent.attr in _torch.SAVES_INPUT_FOR_OTHER and any(analysis.value(a).carries for a in call.args):
                return call, f"`.{parent.attr}()`", False
            return None
        break
    if isinstance(parent, ast.BinOp):
        other = parent.right if parent.left is node else parent.left
        symbol = _op(parent.op)
        if isinstance(parent.op, (ast.Mult, ast.MatMult)) and analysis.value(other).carries:
            return parent, f"`{symbol}`", False
        if isinstance(parent.op, ast.Div) and (
            (parent.right is node and analysis.value(other).kind is Kind.TENSOR)
            or (parent.left is node and analysis.value(other).carries)
        ):
            return parent, "`/`", False
        if isinstance(parent.op, ast.Pow) and parent.left is node:
            return parent, "`**`", False
        return None
    if isinstance(parent, ast.Call) and any(a is node for a in parent.args):
        qualified = analysis.qualify(parent.func) or ""
        last = qualified.rsplit(".", 1)[-1]
        if qualified.startswith("torch."):
            if last in _torch.SAVES_INPUT and parent.args[0] is node:
                return parent, f"`{_segment(analysis, parent.func)}`", True
            if last in _torch.SAVES_INPUT_FOR_OTHER and any(analysis.value(a).carries for a in parent.args if a is not node):
                return parent, f"`{_segment(analysis, parent.func)}`", True
            return None
        first, _ = _layers(analysis, parent.func)
        if first is not None and parent.args[0] is node and _torch_layer(analysis, first) in _torch.SAVES_INPUT_MODULES:
            if _inplace_layer(analysis, first) is not None:
                return None  # an in-place activation: the write itself, judged where it is
            return parent, f"`{_segment(analysis, parent.func)}`", True
    return None


def _view_base(expr: ast.expr) -> ast.Name | None:
    """``y`` when ``expr`` is a view of the tensor named ``y`` (``y[:, 0]``, ``y.split(k)[0]``)."""
    seen = False
    while True:
        if isinstance(expr, ast.Subscript):
            expr, seen = expr.value, True
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in VIEW_METHODS - {"detach", "to"}:
            expr, seen = expr.func.value, True
        elif isinstance(expr, ast.Attribute) and expr.attr in ("T", "mT"):
            expr, seen = expr.value, True
        else:
            break
    return expr if seen and isinstance(expr, ast.Name) else None


def _read_after(analysis: Analysis, write: _Write, occurrences, at: int, definition: _Definition) -> int | None:
    """The line of a read of the overwritten tensor (or a name bound to it) after an
    in-place activation whose result the code binds to another name."""
    call = write.node
    if isinstance(analysis.parent(call), ast.Expr):
        return None  # `self.relu(x)` alone: the in-place write is the point
    scope_uses = uses(analysis, analysis.enclosing_function(write.stmt) or analysis.tree)
    names = [(write.name.id, occurrences)]
    for use in occurrences:
        if definition.index < use.index < at and use.kind != STORE:
            binder = analysis.parent(use.node)
            if isinstance(binder, ast.Assign) and binder.value is use.node and len(binder.targets) == 1 and isinstance(binder.targets[0], ast.Name):
                names.append((binder.targets[0].id, scope_uses.of(binder.targets[0].id)))
    inside_call = {id(n) for n in ast.walk(call)}
    for _, uses_of in names:
        following = [o.index for o in uses_of if o.kind == STORE and o.index > at]
        end = min(following) if following else float("inf")
        for use in uses_of:
            if use.kind == STORE or id(use.node) in inside_call or not _reads_value(analysis, use.node):
                continue
            same_statement = _statement(analysis, use.node) is write.stmt
            if isinstance(write.stmt, (ast.Return, ast.Raise)) and not same_statement:
                continue  # nothing after a return runs on the write's path
            if (at < use.index < end or same_statement) and not _exclusive(analysis, write.stmt, use.node):
                return use.node.lineno
    return None


def _reads_value(analysis: Analysis, name: ast.AST) -> bool:
    parent = analysis.parent(name)
    if isinstance(parent, ast.Attribute) and parent.value is name:
        if parent.attr in _METADATA:
            return False
        grand = analysis.parent(parent)
        if isinstance(grand, ast.Call) and grand.func is parent and parent.attr in _METADATA_METHODS:
            return False
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in ("len", "isinstance", "type", "id", "print"):
        return False
    return True


def _exclusive(analysis: Analysis, stmt: ast.stmt, node: ast.AST) -> bool:
    """Whether ``node`` sits in another branch of an ``if``/``try`` than ``stmt``."""
    chain = [stmt, *analysis.ancestors(stmt)]
    previous: ast.AST = node
    for ancestor in analysis.ancestors(node):
        if any(ancestor is c for c in chain):
            if isinstance(ancestor, (ast.If, ast.Try, ast.IfExp)):
                mine = _branch(ancestor, chain)
                theirs = _branch(ancestor, [previous])
                return mine is not None and theirs is not None and mine != theirs
            return False
        previous = ancestor
    return False


def _branch(node: ast.AST, chain) -> str | None:
    for field in ("body", "orelse", "handlers", "finalbody", "test"):
        value = getattr(node, field, None)
        children = value if isinstance(value, list) else [value]
        if any(any(child is c for c in chain) for child in children if child is not None):
            return field
    return None


def _statement(analysis: Analysis, node: ast.AST) -> ast.stmt:
    while not isinstance(node, ast.stmt):
        node = analysis.parent(node)
    return node


def _segment(analysis: Analysis, node: ast.AST) -> str:
    return ast.unparse(node)  # a label for a message (get_source_segment splits the whole file per call)


def _op(op: ast.operator) -> str:
    return {
        ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
        ast.FloorDiv: "//", ast.Mod: "%",
    }.get(type(op), "?")


# The fixes ---------------------------------------------------------------------------------
def _plan_fix(analysis: Analysis, write: _Write, forward_changes: bool, into_view: bool):
    """(the LazyFix, None) or (None, why it is not rewritten)."""
    name = write.name.id
    if into_view:
        return None, "the write goes through a view, which other code sees"
    if write.kind == "module":
        return _plan_module_fix(analysis, write, forward_changes)
    if write.kind == "function":
        bare = isinstance(analysis.parent(write.node), ast.Expr)
        if bare or not forward_changes:
            reason = why_not_rewritable(analysis, write.stmt, name)
            if reason is not None and bare:
                return None, reason
            if reason is not None and not forward_changes:
                return None, reason
        how = "compute the activation out of place"
        applicability = Applicability.UNSAFE if forward_changes else Applicability.SAFE
        if forward_changes:
            how += " (the forward changes: later reads see the input, not its activation)"
        return LazyFix(partial(_fix_function, call=write.node, flag=write.inplace_arg, name=name, bare=bare), applicability, how), None
    if forward_changes:
        return None, "the forward changes"
    if isinstance(write.node, ast.Call) and not isinstance(analysis.parent(write.node), ast.Expr):
        return None, "the result of the in-place call is used"
    reason = why_not_rewritable(analysis, write.stmt, name)
    if reason is not None:
        return None, reason
    if write.kind == "augassign":
        return LazyFix(partial(_fix_augassign, stmt=write.stmt), Applicability.SAFE, f"write `{name} = {name} {_op(write.stmt.op)} ...`"), None
    if write.kind == "subscript":
        if isinstance(write.stmt, ast.AugAssign) and reads(write.stmt.value, name):
            return None, f"the value reads `{name}` too, and a copy could change what it reads"
        masked = isinstance(write.stmt, ast.Assign) and _masked_fill_form(write.stmt)
        how = f"use `{name}.masked_fill`" if masked else f"write into a copy of `{name}`"
        return LazyFix(partial(_fix_subscript, stmt=write.stmt, name=name, masked=masked), Applicability.SAFE, how), None
    method = write.node.func.attr  # type: ignore[attr-defined]
    if method not in _OUT_OF_PLACE_METHODS:
        return None, f"`{method}` has no out-of-place form this rule knows"
    return LazyFix(partial(_fix_method, call=write.node, name=name), Applicability.SAFE, f"use `{name} = {name}.{method[:-1]}(...)`"), None


def _plan_module_fix(analysis: Analysis, write: _Write, forward_changes: bool):
    callee = dotted(write.node.func)  # type: ignore[attr-defined]
    scope = analysis.enclosing_class(write.node)
    nodes = ast.walk(scope.node) if scope is not None and callee.startswith("self.") else ast.walk(analysis.tree)
    sites = [c for c in nodes if isinstance(c, ast.Call) and dotted(c.func) == callee]
    if any(isinstance(analysis.parent(c), ast.Expr) for c in sites):
        return None, f"`{callee}` is also called for its in-place effect alone"
    applicability = Applicability.UNSAFE if forward_changes else Applicability.SAFE
    how = f"construct `{callee}` with `inplace=False`"
    if forward_changes:
        how += " (the forward changes: later reads see the input, not its activation)"
    elif len(sites) > 1:
        applicability = Applicability.UNSAFE
        how += f" (also changes its {len(sites) - 1} other call(s))"
    return LazyFix(partial(_fix_construction, construction=write.construction, flag=write.inplace_arg), applicability, how), None


def _masked_fill_form(stmt: ast.Assign) -> bool:
    """``x[x < c] = v``: the mask has ``x``'s shape and ``v`` is a number, so
    ``x.masked_fill(mask, v)`` writes exactly the same elements."""
    target = stmt.targets[0]
    name = target.value.id  # type: ignore[attr-defined]
    mask = target.slice  # type: ignore[attr-defined]
    value = stmt.value
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        value = value.operand
    number = isinstance(value, ast.Constant) and type(value.value) in (int, float)
    same_shape = isinstance(mask, ast.Compare) and len(mask.ops) == 1 and (
        (isinstance(mask.left, ast.Name) and mask.left.id == name and _scalar(mask.comparators[0]))
        or (isinstance(mask.comparators[0], ast.Name) and mask.comparators[0].id == name and _scalar(mask.left))
    )
    return number and same_shape


def _scalar(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _parenthesized(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _replace_statement(ctx, old: cst.CSTNode, name: str, value: cst.BaseExpression, description: str) -> Fix:
    assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=value)
    return Fix([(old, assign)], Applicability.SAFE, description)


def _fix_augassign(ctx, stmt: ast.AugAssign) -> Fix | None:
    node = ctx.node_for(stmt)
    if node is None or type(node.operator).__name__ not in _AUG_OPERATORS:
        return None
    name = node.target.value
    value = cst.BinaryOperation(cst.Name(name), getattr(cst, _AUG_OPERATORS[type(node.operator).__name__])(), _parenthesized(node.value))
    return _replace_statement(ctx, node, name, value, f"write `{name} = {name} ...`")


def _fix_subscript(ctx, stmt: ast.Assign | ast.AugAssign, name: str, masked: bool) -> Fix | None:
    node = ctx.node_for(stmt)
    if node is None:
        return None
    if not masked:
        return clone_write(ctx, node, name)
    mask = node.targets[0].target.slice[0].slice.value
    value = cst.Call(
        func=cst.Attribute(cst.Name(name), cst.Name("masked_fill")),
        args=[cst.Arg(mask), cst.Arg(node.value)],
    )
    return _replace_statement(ctx, node, name, value, f"use `{name}.masked_fill`")


def _fix_method(ctx, call: ast.Call, name: str) -> Fix | None:
    node = ctx.node_for(call)
    if node is None:
        return None
    statement = ctx.parent(node)
    if not isinstance(statement, cst.Expr):
        return None
    value = node.with_changes(func=node.func.with_changes(attr=cst.Name(node.func.attr.value[:-1])))
    return _replace_statement(ctx, statement, name, value, f"use `{name} = {name}.{node.func.attr.value[:-1]}(...)`")


def _without_flag(node: cst.Call, ctx, flag_node) -> cst.Call:
    args = [a for a in node.args if a is not flag_node]
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(args=args)


def _flag_arg(ctx, node: cst.Call, flag: ast.AST) -> cst.Arg | None:
    for arg in node.args:
        if isinstance(flag, ast.keyword) and arg.keyword is not None and arg.keyword.value == "inplace":
            return arg
        if not isinstance(flag, ast.keyword) and arg.keyword is None and isinstance(arg.value, cst.Name) and arg.value.value == "True" and arg is node.args[-1]:
            return arg
    return None


def _fix_function(ctx, call: ast.Call, flag: ast.AST | None, name: str, bare: bool) -> Fix | None:
    node = ctx.node_for(call)
    if node is None:
        return None
    if flag is None:  # torch.relu_(x) -> torch.relu(x)
        func = node.func
        if not isinstance(func, (cst.Attribute, cst.Name)):
            return None
        renamed = func.with_changes(attr=cst.Name(func.attr.value[:-1])) if isinstance(func, cst.Attribute) else cst.Name(func.value[:-1])
        new = node.with_changes(func=renamed)
    else:
        arg = _flag_arg(ctx, node, flag)
        if arg is None:
            return None
        new = _without_flag(node, ctx, arg)
    if bare:
        return _replace_statement(ctx, ctx.parent(node), name, new, "compute the activation out of place")
    return Fix([(node, new)], Applicability.SAFE, "compute the activation out of place")


def _fix_construction(ctx, construction: ast.Call, flag: ast.AST) -> Fix | None:
    node = ctx.node_for(construction)
    if node is None:
        return None
    arg = _flag_arg(ctx, node, flag)
    if arg is None:
        return None
    return Fix([(node, _without_flag(node, ctx, arg))], Applicability.SAFE, "construct the activation with `inplace=False`")


# The quick check ---------------------------------------------------------------------------
# detect's necessary conditions, each from the branch of detect that needs it:
# - torch is imported (detect's first line);
# - a write (`_writes`): `N op= ...`; `N[k] = v` with v not reading N; `N.m_(...)`; a torch
#   function with N as first argument that is in place (`relu_`) or told so (`inplace=True`,
#   a last positional True); a module call `act(N)` whose (first) torch.nn layer is
#   constructed in place;
# - `_reaching`: N is bound by a single-target `N = value` or is a function's parameter;
# - a reason (`_judge`): `_why_breaks` on N's definition (a leaf, or an op that saves its
#   output), a use of N (or of a view of it) by an op that saves its input, the same for the
#   base N's definition is a view of, or (`_read_after`) an in-place activation whose result
#   the code binds (its input read later).

# Values that are no tensor (so a definition by one proves none).
_NOT_TENSOR = (
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.JoinedStr, ast.Lambda,
)
_NOT_LEAF = (
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.JoinedStr, ast.Lambda,
)
# Calls whose result may be a leaf: nn.Parameter, `.requires_grad_()`, getattr of a module's
# weight, max/min/abs of leaves, an element taken out of a list or dict of them.
_LEAF_CALLS = {"Parameter", "requires_grad_", "getattr", "max", "min", "abs", "get", "pop", "popitem", "setdefault", "__getitem__"}
# What gives a leaf tensor in the analysis (`_values`): nn.Parameter and its containers,
# `requires_grad=True` / `.requires_grad = True` / `.requires_grad_()`, `.parameters()`,
# `register_parameter`, a torch.nn module's `.weight` / `.bias` (also by getattr).
_LEAF_ATTRIBUTES = {
    "requires_grad", "requires_grad_", "parameters", "named_parameters", "register_parameter",
    "Parameter", "ParameterList", "ParameterDict",
}


class _Tree:
    """The tree's facts the filter needs, each gathered once when first asked for."""

    def __init__(self, tree: ast.Module, aliases: dict[str, set[str]]) -> None:
        self.tree = tree
        self.aliases = aliases
        self.parents = parents_of(tree)
        self.defined = {f.name for f in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef)}

    @cached_property
    def constructed(self) -> dict[str, list[ast.Call]]:
        """Dotted target -> the calls assigned to it (`_construction`'s candidates)."""
        table: dict[str, list[ast.Call]] = {}
        for node in nodes_of(self.tree, ast.Assign):
            if isinstance(node.value, ast.Call):
                for target in node.targets:
                    name = dotted(target)
                    if name is not None:
                        table.setdefault(name, []).append(node.value)
        return table

    @cached_property
    def flagged_targets(self) -> set[str]:
        """Dotted targets assigned a call told in place, or a Sequential whose first layer is."""
        found = set()
        for node in nodes_of(self.tree, ast.Assign):
            call = node.value
            if isinstance(call, ast.Call) and (_true_flag(call) or (call.args and isinstance(call.args[0], ast.Call) and _true_flag(call.args[0]))):
                found.update(name for name in map(dotted, node.targets) if name is not None)
        return found

    @cached_property
    def bound_names(self) -> set[str]:
        """Every name some statement or parameter binds."""
        names = {node.id for node in nodes_of(self.tree, ast.Name) if not isinstance(node.ctx, ast.Load)}
        return names | {node.arg for node in nodes_of(self.tree, ast.arg)}

    @cached_property
    def bound_attributes(self) -> set[str]:
        """The attributes the analysis may bind: x of every `a.x = ...`, of `a.x.requires_grad
        = ...` and `a.x.m_(...)` (`_set` on `a.x`), of `register_parameter("x", ...)`,
        `register_buffer`, `add_module`, and every bound name (a class body's `x = ...`)."""
        attributes = set()
        for node in nodes_of(self.tree, ast.Attribute):
            if not isinstance(node.ctx, ast.Load):
                attributes.add(node.attr)
                if node.attr == "requires_grad" and isinstance(node.value, ast.Attribute):
                    attributes.add(node.value.attr)
            elif node.attr.endswith("_") and isinstance(node.value, ast.Attribute):
                attributes.add(node.value.attr)
            elif node.attr in ("register_parameter", "register_buffer", "add_module"):
                call = self.parents.get(id(node))
                if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                    attributes.add(call.args[0].value)
        return attributes | self.bound_names

    @cached_property
    def returns(self) -> dict[str, list[tuple[ast.AST, ast.expr]]]:
        """Function name -> (the function, a value one of its `return`s gives)."""
        table: dict[str, list[tuple[ast.AST, ast.expr]]] = {}
        for node in nodes_of(self.tree, ast.Return):
            function = _scope(self.parents, node)
            if function is not None and node.value is not None:
                table.setdefault(function.name, []).append((function, node.value))
        return table

    @cached_property
    def stores(self) -> dict[tuple[int, str], list[ast.expr | None]]:
        """(scope, name) -> the value of each single-target `name = value`, None for any other
        binding (a loop target, unpacking, `with ... as`, a walrus); `name op= ...` makes no leaf."""
        table: dict[tuple[int, str], list[ast.expr | None]] = {}
        for node in nodes_of(self.tree, ast.Name):
            if isinstance(node.ctx, ast.Load):
                continue
            parent = self.parents.get(id(node))
            if isinstance(parent, ast.AugAssign):
                continue
            single = isinstance(parent, ast.Assign) and len(parent.targets) == 1 and parent.targets[0] is node
            table.setdefault((id(_scope(self.parents, node)), node.id), []).append(parent.value if single else None)
        return table

    @cached_property
    def leaf_names(self) -> dict[tuple[int, str], bool]:
        return {}

    @property
    def calls_by_name(self) -> dict[str, list[ast.Call]]:
        """Last name called (`f(...)`, `x.f(...)`) -> the calls; "" for the other calls (the
        table `_ast.calls_named` keeps on the tree)."""
        return calls_by_name(self.tree)

    def callers(self, name: str) -> list[ast.Call]:
        """The calls that may run the file's function or method ``name``: by that name, by a
        name some statement binds (`f = helper`), through a computed callee (`getattr(m,
        "f")(...)`, `fns[i](...)`); any call for a forward or a constructor."""
        if name in ("forward", "__init__"):
            return nodes_of(self.tree, ast.Call)  # type: ignore[return-value]
        table = self.calls_by_name
        found = list(table.get(name, ())) + list(table.get("", ()))
        for called, calls in table.items():
            if called and called != name and called in self.bound_names:
                found.extend(c for c in calls if isinstance(c.func, ast.Name))
        return found

    def qualified(self, func: ast.AST) -> set[str]:
        name = dotted(func)
        if name is None:
            return set()
        head, _, rest = name.partition(".")
        return {f"{base}.{rest}" if rest else base for base in self.aliases.get(head, ())}

    def torch_last(self, func: ast.AST) -> set[str]:
        """The last names of the torch functions ``func`` may be (`qualify`)."""
        return {q.rsplit(".", 1)[-1] for q in self.qualified(func) if q.startswith("torch.")}

    def layer(self, call: ast.AST) -> set[str]:
        """`_torch_layer`: the torch.nn classes ``call`` may construct."""
        if not isinstance(call, ast.Call):
            return set()
        return {q.rsplit(".", 1)[-1] for q in self.qualified(call.func) if q.startswith("torch.nn.")}

    def layers(self, func: ast.expr) -> list[tuple[ast.Call, ast.Call]]:
        """`_layers`: (first, last) layer constructions a module call of ``func`` may run."""
        if (dotted(func) or "").count(".") > 1:
            return []
        constructions = [func] if isinstance(func, ast.Call) else self.constructed.get(dotted(func) or "", [])
        ends = []
        for construction in constructions:
            kinds = self.layer(construction)
            if kinds - {"Sequential"}:
                ends.append((construction, construction))
            if "Sequential" in kinds and construction.args and not construction.keywords:
                first, last = construction.args[0], construction.args[-1]
                if self.layer(first) - {"Sequential"} and self.layer(last) - {"Sequential"}:
                    ends.append((first, last))  # type: ignore[arg-type]
        return ends

    def inplace_layer(self, call: ast.Call) -> bool:
        return any(_inplace_flag(call, _torch.INPLACE_MODULE_ARGUMENT.get(k), 0) is not None for k in self.layer(call))


def _torch_imported(aliases: dict[str, set[str]]) -> bool:
    return any(q == "torch" or q.startswith("torch.") for qualified in aliases.values() for q in qualified)


def _tree_writes(facts: _Tree) -> dict[str, list[ast.AST]]:
    """Name -> the nodes that may write it in place (`_writes`, without the analysis)."""
    writes: dict[str, list[ast.AST]] = {}
    tree = facts.tree
    for stmt in nodes_of(tree, ast.AugAssign):
        target = stmt.target
        if isinstance(target, ast.Name):
            writes.setdefault(target.id, []).append(stmt)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            writes.setdefault(target.value.id, []).append(stmt)
    for stmt in nodes_of(tree, ast.Assign):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript) and isinstance(stmt.targets[0].value, ast.Name):
            if not reads(stmt.value, stmt.targets[0].value.id):
                writes.setdefault(stmt.targets[0].value.id, []).append(stmt)
    Attribute, Name = ast.Attribute, ast.Name
    aliases = facts.aliases
    for call in nodes_of(tree, ast.Call):  # the hot loop: every call of the file
        func = call.func
        kind = type(func)
        if kind is Attribute and func.attr[-1] == "_" and type(func.value) is Name:
            method = func.attr
            if not method.startswith("_") and method not in _NOT_VALUE_WRITES:
                writes.setdefault(func.value.id, []).append(call)
        args = call.args
        if not args or type(args[0]) is not Name:
            continue
        # Cheap tests first: a flag on the call (a torch function told so), a name that ends
        # in `_` or is imported (`relu_`, however imported), a module constructed in place.
        if (kind is Attribute and func.attr[-1] == "_") or (kind is Name and func.id in aliases) or _true_flag(call):
            if _flagged_write(facts, call) or facts.torch_last(func) & _torch.INPLACE_FUNCTIONS:
                writes.setdefault(args[0].id, []).append(call)
        elif (kind is Name or kind is Attribute) and facts.flagged_targets and dotted(func) in facts.flagged_targets and _flagged_write(facts, call):
            writes.setdefault(args[0].id, []).append(call)
    return writes


def _true_flag(call: ast.Call) -> bool:
    """Whether ``call`` has an `inplace=True` or a last positional True (what `_inplace_flag` needs)."""
    if call.args and _is_true(call.args[-1]):
        return True
    return bool(call.keywords) and any(k.arg == "inplace" and _is_true(k.value) for k in call.keywords)


def _flagged_write(facts: _Tree, call: ast.Call) -> bool:
    """A torch function told `inplace=True`, or a module call of an in-place layer."""
    for last in facts.torch_last(call.func):
        if _inplace_flag(call, _torch.INPLACE_FUNCTION_ARGUMENT.get(last), 0) is not None:
            return True
    if isinstance(call.func, (ast.Name, ast.Attribute)):
        return any(facts.inplace_layer(first) for first, _ in facts.layers(call.func))
    return False


def _leaf_possible(facts: _Tree) -> bool:
    """Whether anything in the file can make a leaf tensor (see `_LEAF_ATTRIBUTES`)."""
    if any(q.rsplit(".", 1)[-1] in _LEAF_ATTRIBUTES for qualified in facts.aliases.values() for q in qualified):
        return True
    for node in nodes_of(facts.tree, ast.Attribute):
        attr = node.attr
        if attr in _LEAF_ATTRIBUTES or attr.startswith(("weight", "bias")):
            return True
    for node in nodes_of(facts.tree, ast.keyword):
        if node.arg == "requires_grad":
            return True
    for call in nodes_of(facts.tree, ast.Call):
        if isinstance(call.func, ast.Name) and call.func.id == "getattr" and len(call.args) >= 2:
            name = call.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.startswith(("weight", "bias")):
                return True
    return False


def _saves_output(facts: _Tree, expr: ast.expr) -> bool:
    """`_saved_output`: ``expr`` (through views) may be made by an op that saves its output."""
    while True:
        if isinstance(expr, ast.Call) and _saving_output_call(facts, expr):
            return True
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in VIEW_METHODS - {"detach"}:
            expr = expr.func.value
        else:
            return False


def _saving_output_call(facts: _Tree, call: ast.Call) -> bool:
    func = call.func
    for last in facts.torch_last(func):
        if last in _torch.SAVES_OUTPUT:
            return True
        if last in _torch.INPLACE_SAVES_OUTPUT and _inplace_flag(call, _torch.INPLACE_FUNCTION_ARGUMENT.get(last), 0) is not None:
            return True
    if isinstance(func, ast.Attribute) and func.attr in _torch.SAVES_OUTPUT:
        return True
    for _, last in facts.layers(func):
        kinds = facts.layer(last)
        if kinds & _torch.SAVES_OUTPUT_MODULES or (kinds & _torch.INPLACE_SAVES_OUTPUT and facts.inplace_layer(last)):
            return True
    return False


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant)


def _saving_use(facts: _Tree, name: ast.Name) -> bool:
    """`_saving_op`: the op reading ``name`` (or a view of it) may save it for backward."""
    parents = facts.parents
    node: ast.AST = name
    parent = parents.get(id(node))
    while True:
        if isinstance(parent, ast.Subscript) and parent.value is node:
            node, parent = parent, parents.get(id(parent))
            continue
        if isinstance(parent, ast.Attribute) and parent.value is node:
            call = parents.get(id(parent))
            if not isinstance(call, ast.Call) or call.func is not parent:
                if parent.attr in ("T", "mT"):
                    node, parent = parent, call
                    continue
                return False
            if parent.attr in VIEW_METHODS - {"detach"}:
                node, parent = call, parents.get(id(call))
                continue
            return parent.attr in _torch.SAVES_INPUT or parent.attr in _torch.SAVES_INPUT_FOR_OTHER
        break
    if isinstance(parent, ast.BinOp):
        other = parent.right if parent.left is node else parent.left
        if isinstance(parent.op, (ast.Mult, ast.MatMult, ast.Div)):
            return not _constant(other)  # a number neither carries a graph nor is a tensor
        return isinstance(parent.op, ast.Pow) and parent.left is node
    if isinstance(parent, ast.Call) and any(a is node for a in parent.args):
        lasts = facts.torch_last(parent.func)
        if (lasts & _torch.SAVES_INPUT and parent.args[0] is node) or lasts & _torch.SAVES_INPUT_FOR_OTHER:
            return "known"
        if parent.args[0] is node and any(facts.layer(first) & _torch.SAVES_INPUT_MODULES for first, _ in facts.layers(parent.func)):
            return "known"
    return False


def _scope(parents, node: ast.AST):
    """The innermost function around ``node`` (None: the module), as `enclosing_function`."""
    while True:
        node = parents.get(id(node))
        if node is None or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node


def _may_be_leaf(facts: _Tree, value: ast.expr, leafy, depth: int, scope) -> bool:
    """Whether the analysis may find ``value`` (in the function ``scope``, None for the
    module) a leaf tensor (`_why_breaks`'s first test)."""
    if isinstance(value, _NOT_LEAF):
        return False  # literals, displays, arithmetic, comparisons: never a leaf
    if depth > 4:
        return True
    if isinstance(value, ast.IfExp):
        return _may_be_leaf(facts, value.body, leafy, depth + 1, scope) and _may_be_leaf(facts, value.orelse, leafy, depth + 1, scope)  # a join
    if isinstance(value, ast.BoolOp):
        return all(_may_be_leaf(facts, v, leafy, depth + 1, scope) for v in value.values)
    if not leafy():
        return False  # nothing in the file makes a leaf
    if isinstance(value, ast.Attribute):
        return _may_be_leaf_attribute(facts, value.attr, leafy, depth)
    if isinstance(value, ast.Name):
        return _name_may_be_leaf(facts, scope, value.id, leafy, depth)
    if not isinstance(value, ast.Call):
        return True  # an element of a container, an await ...: may be one
    if any(k.arg == "requires_grad" for k in value.keywords):
        return True  # a creator or Variable with requires_grad=True
    func = value.func
    lasts = {q.rsplit(".", 1)[-1] for q in facts.qualified(func)}
    if lasts:
        return "Parameter" in lasts  # an imported function: of torch's only nn.Parameter makes a leaf
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) and func.value.func.id == "super":
        return False  # a base class's method: not this file's code
    last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if last is not None and last in facts.defined:
        return _returns_leaf(facts, last, leafy, depth)  # the file's own function or method
    if isinstance(func, ast.Name) and func.id not in facts.bound_names:
        # A builtin: max/min of several values join them, abs gives its argument back,
        # getattr reads an attribute (`_builtin`).
        if func.id in ("max", "min") and len(value.args) > 1 and not value.keywords:
            return all(_may_be_leaf(facts, a, leafy, depth + 1, scope) for a in value.args)
        if func.id == "abs" and len(value.args) == 1:
            return _may_be_leaf(facts, value.args[0], leafy, depth + 1, scope)
        if func.id == "getattr" and len(value.args) >= 2 and isinstance(value.args[1], ast.Constant) and isinstance(value.args[1].value, str):
            return _may_be_leaf_attribute(facts, value.args[1].value, leafy, depth)
    if last is not None and (last in _LEAF_CALLS or (last.endswith("_") and not last.startswith("_"))):
        return True  # max/min of a container, a container's element, x.add_() on a leaf
    # Else only a module call can give a leaf: a local class's forward's result (a torch.nn
    # layer's output never is one); a method name no assignment binds is no module.
    if isinstance(func, ast.Attribute) and func.attr not in facts.bound_attributes:
        return False
    if isinstance(func, ast.Name) and func.id not in facts.bound_names:
        return False  # a builtin (list(), len(), dict() ...): none gives a leaf but those above
    constructions = [func] if isinstance(func, ast.Call) else facts.constructed.get(dotted(func) or "")
    if constructions and all(facts.layer(c) - {"Sequential"} for c in constructions):
        return False
    return _returns_leaf(facts, "forward", leafy, depth)


def _may_be_leaf_attribute(facts: _Tree, attr: str, leafy, depth: int) -> bool:
    """`x.attr`: a torch.nn module's weight or bias, an attribute some code binds (`self.w =
    nn.Parameter(...)`), or a property of the file's classes. (A tensor's own attributes,
    `.T`, `.data`, `.grad`, are no leaf; an unbound attribute of an object is unknown.)"""
    if attr.startswith(("weight", "bias")) or attr in facts.bound_attributes:
        return True
    return attr in facts.defined and _returns_leaf(facts, attr, leafy, depth)  # a property


def _returns_leaf(facts: _Tree, name: str, leafy, depth: int) -> bool:
    """Whether a function or method of the file called ``name`` may return a leaf."""
    return any(_may_be_leaf(facts, value, leafy, depth + 1, function) for function, value in facts.returns.get(name, ()))


def _name_may_be_leaf(facts: _Tree, scope, name: str, leafy, depth: int) -> bool:
    """Whether the name ``name`` read in ``scope`` may hold a leaf: what its bindings there
    give (any binding but `name = value` and `name op= value` may), what callers pass for a
    parameter, and for a name bound only elsewhere (a global), yes. Memoized; a name being
    worked out counts as a leaf (a cycle makes none, so this only errs towards yes)."""
    key = (id(scope), name)
    memo = facts.leaf_names
    if key in memo:
        return memo[key]
    if depth > 8:
        return True
    memo[key] = True
    found = False
    values = facts.stores.get(key)
    if scope is not None and name in parameter_names(scope):
        found = _parameter_may_be_leaf(facts, scope, leafy, depth)
    if not found and values is not None:
        found = any(v is None or _may_be_leaf(facts, v, leafy, depth + 1, scope) for v in values)
    elif not found and values is None and not (scope is not None and name in parameter_names(scope)):
        found = name in facts.bound_names  # a global or a closure's (a builtin, an import, a def: no leaf)
    memo[key] = found
    return found


def _parameter_may_be_leaf(facts: _Tree, function, leafy, depth: int) -> bool:
    """Whether a call in the file may pass ``function`` a leaf (`_pass_arguments`: a
    function or method by its name, a module's forward by a module call, a constructor by
    the class; a call with `*args` or `**kwargs` passes nothing), any argument taken."""
    for call in facts.callers(function.name):
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            continue
        scope = _scope(facts.parents, call)
        if any(_may_be_leaf(facts, a, leafy, depth + 1, scope) for a in [*call.args, *(k.value for k in call.keywords)]):
            return True
    return False


def _quick_check(tree: ast.Module) -> bool:
    """Whether some write may pass `detect`'s tests in ``tree`` (necessary, see above)."""
    aliases = import_aliases(tree)
    if not _torch_imported(aliases):
        return False
    facts = _Tree(tree, aliases)
    parents = facts.parents
    written = _tree_writes(facts)
    if not written:
        return False
    # (scope, name) of each write, and of each single-target `name = value` of a written name.
    writes: dict[tuple, list[ast.AST]] = {}
    for name, nodes in written.items():
        for node in nodes:
            writes.setdefault((id(_scope(parents, node)), name), []).append(node)
    definitions: dict[tuple, list[ast.expr]] = {}
    scopes = {}
    singles = [n for n in nodes_of(tree, ast.Assign) if len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)]
    wanted = set(written)  # the written names, and the bases their definitions are views of
    for node in singles:
        if node.targets[0].id in written:
            base = _view_base(node.value)
            if base is not None:
                wanted.add(base.id)
    for node in singles:
        if node.targets[0].id in wanted:
            scope = _scope(parents, node)
            scopes[id(scope)] = scope
            definitions.setdefault((id(scope), node.targets[0].id), []).append(node.value)
    for function in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef):
        scopes[id(function)] = function

    def defined(key) -> bool:
        scope = scopes.get(key[0])
        return key in definitions or (scope is not None and key[1] in parameter_names(scope))

    candidates = [key for key in writes if defined(key)]
    judged = set(candidates)
    # A function's write into a free name (a module global, an enclosing function's
    # variable) the outer scope made with an op that saves its output (`_outer_definition`).
    for key in writes:
        function = scopes.get(key[0])
        if function is None or key in judged:
            continue
        while function is not None:
            function = _scope(parents, function)
            outer = definitions.get((id(function), key[1]))
            if outer is not None:
                if any(_saves_output(facts, value) for value in outer):
                    return True
                break
    if not candidates:
        return False
    # An in-place activation whose result is bound: `_read_after` needs no saving op.
    for key in candidates:
        for node in writes[key]:
            if isinstance(node, ast.Call) and not isinstance(parents.get(id(node)), ast.Expr) and _flagged_write(facts, node):
                return True
    # The bases of views the candidates are defined as (`_judge` judges a view's write on
    # its base too, as a tensor).
    bases = set()
    for key in candidates:
        for value in definitions.get(key, ()):
            base = _view_base(value)
            if base is not None and base.id != key[1] and defined((key[0], base.id)):
                bases.add((key[0], base.id))
    subjects = set(candidates) | bases
    found: list = []

    def leafy() -> bool:
        if not found:
            found.append(_leaf_possible(facts))
        return found[0]

    for key in subjects:
        for value in definitions.get(key, ()):
            if _saves_output(facts, value) or _may_be_leaf(facts, value, leafy, 0, scopes.get(key[0])):
                return True
    # A use that saves the tensor, after its definition and before a write (`_why_breaks`'s
    # loop; a view's base is read up to the view's write). A write with `op=` or `x[k] = ...`
    # needs the tensor proven: by a definition that may be one (`x = <value>`, not a
    # parameter), by being a view's base, or by a torch function or module reading it.
    def first_line(key) -> int:
        scope = scopes.get(key[0])
        if scope is not None and key[1] in parameter_names(scope):
            return 0  # the caller's tensor, from the start
        return min((v.lineno for v in definitions.get(key, ())), default=0)

    last_write: dict[int, int] = {}  # scope -> the line where its last write ends
    for key in candidates:
        for node in writes[key]:
            last_write[key[0]] = max(last_write.get(key[0], 0), node.end_lineno or node.lineno)
    spans: dict[tuple, tuple[int, int, bool]] = {}
    for key in subjects:
        if key in bases:
            spans[key] = (first_line(key), last_write[key[0]], True)
        else:
            typed = any(isinstance(n, ast.Call) for n in writes[key]) or any(not isinstance(v, _NOT_TENSOR) for v in definitions.get(key, ()))
            spans[key] = (first_line(key), max(n.end_lineno or n.lineno for n in writes[key]), typed)
    names = {name for _, name in subjects}
    for node in names_named(tree, names):
        span = spans.get((id(_scope(parents, node)), node.id))
        if span is not None and span[0] <= node.lineno <= span[1]:
            saving = _saving_use(facts, node)
            if saving and (span[2] or saving == "known"):
                return True
    return False
