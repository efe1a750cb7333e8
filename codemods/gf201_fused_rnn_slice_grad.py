"""GF201 fused-rnn-slice-grad (explain only)."""

from __future__ import annotations

import ast
import re

from gradfix.rule import Rule

from ._ast import backward_calls_of, nodes_of
from ._text import BACKPROP, calls_backward
from ._values import Analysis, dotted

_RECURRENT = {"torch.nn.GRU", "torch.nn.LSTM", "torch.nn.RNN"}
_AUTOGRAD = {"torch.autograd.backward", "torch.autograd.grad"}
# Reading these of `y` reads no values of `y`.
_METADATA = {"shape", "size", "dtype", "device", "ndim"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_RECURRENT_WHY = (
    ", and the recurrence runs through the layer's hidden state, not through the returned `{name}`; "
    "for per-step gradients unroll with `nn.GRUCell`/`nn.LSTMCell` and call "
    "`torch.autograd.grad(loss, hidden_states)`, or check `x.grad` and the parameter grads"
)
_GENERIC_WHY = (
    "; check `x.grad` and the parameter grads, or call `torch.autograd.grad(loss, ...)` "
    "on the tensors the loss reads"
)


class FusedRnnSliceGrad(Rule):
    """
    `.grad` of output slots that the loss never reads is zero by construction.

    After `y.retain_grad()` and `y[:, -1].sum().backward()`, `y.grad[:, t]` is the partial
    derivative of the loss with respect to `y[:, t]` with every other entry held fixed.
    The loss reads only `y[:, -1]`, so the other slots are 0 by definition. For a fused
    `nn.GRU` / `nn.LSTM` / `nn.RNN` this does not mean that gradients stop flowing through
    time: the recurrence runs through the layer's internal hidden state, not through the
    returned output tensor `y`, so `y[:, -1]` simply does not read `y[:, :-1]`. The same
    holds for any output whose slice alone feeds the loss (`y[:, -1]` of a Linear head is
    one output unit, not a time step).

    Nothing is broken, so nothing is rewritten: unrolling the recurrence changes the
    numerics (a `GRUCell` loop is allclose, not bitwise, to `nn.GRU`) and fixes nothing.
    To see how the loss depends on earlier steps, check `x.grad[:, t]` (input `x` with
    `requires_grad_()`) or the parameter grads; for per-step hidden-state gradients, unroll
    with `nn.GRUCell` keeping each step's `h_t` and call `torch.autograd.grad(loss, hs)`
    (or `h_t.retain_grad()` on each of them).

    Bad:

        y, h_n = gru(x)
        y.retain_grad()
        y[:, -1].sum().backward()
        print(y.grad[:, :-1])        # all zeros: the loss never read these slots

    Good:

        x.requires_grad_()
        y, h_n = gru(x)
        loss = y[:, -1].sum()
        grad_x, = torch.autograd.grad(loss, x)   # non-zero at every time step
        # or unroll: hs = []; h = h0; for t in range(T): h = cell(x[:, t], h); hs.append(h)
        #            torch.autograd.grad(loss, hs)

    Fix safety: explain only; the code is left unchanged.
    """

    code = "GF201"
    name = "fused-rnn-slice-grad"
    summary = "`y.grad` of output slots the loss never reads is zero by construction (explain only)"
    # A `retain_grad()` call, and a backward call in its scope (``_backward_roots``: without one
    # no slice of the loss is known and nothing is reported).
    trigger = re.compile(r"retain_grad\s*\(")
    requires = (BACKPROP,)  # (calls_backward says the rest; one group for every backprop rule)
    text_check = staticmethod(calls_backward)
    fixable = False

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A ``retain_grad()`` call, a subscripted ``.grad`` read and a backward call."""
        retains = bool(backward_calls_of(tree)) and any(isinstance(n.func, ast.Attribute) and n.func.attr == "retain_grad" for n in nodes_of(tree, ast.Call))
        subscripted_grad = retains and any(
            isinstance(n.value, ast.Attribute) and n.value.attr == "grad" for n in nodes_of(tree, ast.Subscript)
        )
        return retains and subscripted_grad

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        recurrent = any(analysis.qualify(call.func) in _RECURRENT for call in analysis.calls())
        seen: set[tuple[int, str]] = set()
        for call in analysis.calls():
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "retain_grad" and not call.args and not call.keywords):
                continue
            name = dotted(func.value)
            scope = analysis.enclosing_function(call) or analysis.tree
            if name is None or (id(scope), name) in seen:
                continue
            seen.add((id(scope), name))
            yield from self._reads(analysis, scope, name, recurrent)

    def _reads(self, analysis: Analysis, scope: ast.AST, name: str, recurrent: bool):
        body = list(_walk(scope))
        assignments = [n for n in body if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and n.value is not None]
        loss_slices: set[str] = set()
        for call in body:
            if not isinstance(call, ast.Call):
                continue
            for root in _backward_roots(analysis, call):
                slices = _slices_read(analysis, root, name, assignments)
                if slices is None:
                    return  # the loss may read every slot: its .grad is meaningful
                loss_slices |= slices
        if not loss_slices:
            return
        used = " / ".join(f"`{name}[{s}]`" for s in sorted(loss_slices))
        why = _RECURRENT_WHY.format(name=name) if recurrent else _GENERIC_WHY
        for node in body:
            if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "grad"):
                continue
            if dotted(node.value.value) != name or (read := _slice_code(analysis, node)) in loss_slices:
                continue
            yield self.finding(
                node,
                f"`{name}.grad[{read}]` reads slots the loss never used (it reads only {used}): "
                f"they are zero by construction{why} (explain only, nothing is broken)",
            )


def _walk(scope: ast.AST):
    """Every node of ``scope``'s own code, in source order (not nested functions, classes, lambdas)."""
    stack = list(reversed(scope.body))  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _backward_roots(analysis: Analysis, call: ast.Call) -> list[ast.expr]:
    """What a backward call differentiates: the receiver of ``loss.backward()``, the first
    argument of ``torch.autograd.backward`` / ``grad``; nothing for other calls."""
    if analysis.qualify(call.func) in _AUTOGRAD:
        return call.args[:1]
    if isinstance(call.func, ast.Attribute) and call.func.attr == "backward":
        return [call.func.value]
    return []


def _slice_code(analysis: Analysis, subscript: ast.Subscript) -> str:
    """``y[:, -1]``'s index as ``:, -1`` (elements joined the same way however written)."""
    index = subscript.slice
    text = ast.get_source_segment(analysis.source, index) or ""
    if isinstance(index, ast.Tuple) and not text.startswith("("):
        return ", ".join((ast.get_source_segment(analysis.source, e) or "").strip() for e in index.elts)
    return text.strip()


def _is_constant_index(index: ast.expr) -> bool:
    """Whether an index names fixed slots: ``-1``, ``0``, ``:-1``, ``2:5``, ``...``."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    for part in parts:
        bounds = [part.lower, part.upper, part.step] if isinstance(part, ast.Slice) else [part]
        for bound in bounds:
            if isinstance(bound, ast.UnaryOp) and isinstance(bound.op, ast.USub):
                bound = bound.operand
            if bound is not None and not (isinstance(bound, ast.Constant) and (isinstance(bound.value, int) or bound.value is Ellipsis)):
                return False
    return True


def _is_everything(index: ast.expr) -> bool:
    """``y[:]``, ``y[:, :]``, ``y[...]``: every slot."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return all(
        (isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None)
        or (isinstance(p, ast.Constant) and p.value is Ellipsis)
        for p in parts
    )


def _slices_read(analysis: Analysis, root: ast.expr, name: str, assignments: list) -> set[str] | None:
    """The slices of ``name`` the expression reads, through the scope's assignments to the
    names it reads; None if it may read every slot (unsliced, or at an index that varies)."""
    exprs, seen_names, slices = [root], {name}, set()
    while exprs:
        expr = exprs.pop()
        for node in _walk_expression(expr):
            if not isinstance(node, (ast.Name, ast.Attribute)) or dotted(node) != name:
                continue
            parent = analysis.parent(node)
            if isinstance(parent, ast.Attribute) and parent.attr in _METADATA:
                continue  # y.shape, y.size(1): metadata, not values
            if not (isinstance(parent, ast.Subscript) and parent.value is node):
                return None  # y itself, y.sum(), f(y): every slot
            if _is_everything(parent.slice) or not _is_constant_index(parent.slice):
                return None  # y[:, t] in a loop over t may read them all
            slices.add(_slice_code(analysis, parent))
        for other in _names_read(expr) - seen_names:
            seen_names.add(other)
            for assignment in assignments:
                targets = assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target]
                if any(dotted(t) == other for t in targets):
                    exprs.append(assignment.value)
    return slices


def _walk_expression(expr: ast.expr):
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if node is expr or not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def _names_read(expr: ast.expr) -> set[str]:
    """Dotted names (``x``, ``self.w``) and their bases read in ``expr``."""
    return {d for node in _walk_expression(expr) if isinstance(node, (ast.Name, ast.Attribute)) and (d := dotted(node)) is not None}
