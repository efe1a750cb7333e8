"""GF201 fused-rnn-slice-grad (explain only)."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Rule

from ._graph import scope_of
from ._loops import backward_calls, backward_roots, names_read, statements, walk
from ._names import dotted_name, imports

_RECURRENT = {"torch.nn.GRU", "torch.nn.LSTM", "torch.nn.RNN"}


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
    trigger = re.compile(r"retain_grad\s*\(")
    fixable = False

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A ``retain_grad()`` call and a subscripted ``.grad`` read."""
        retains = subscripted_grad = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "retain_grad":
                retains = True
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "grad":
                subscripted_grad = True
        return retains and subscripted_grad

    def check(self, ctx):
        if not imports(ctx).imports_module("torch"):
            return
        recurrent = _file_uses_recurrent_layer(ctx)
        seen: set[tuple[int, str]] = set()
        for node in walk(ctx.module, into_scopes=True):
            if not (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "retain_grad"
                and not node.args
            ):
                continue
            name = dotted_name(node.func.value)
            if name is None:
                continue
            scope = scope_of(ctx, node)
            if (id(scope), name) in seen:
                continue
            seen.add((id(scope), name))
            yield from self._reads(ctx, scope, name, recurrent)

    def _reads(self, ctx, scope, name: str, recurrent: bool):
        body = scope.body if isinstance(scope, cst.FunctionDef) else scope
        loss_slices: set[str] = set()
        for call in backward_calls(ctx, body):
            for root in backward_roots(call):
                slices = _slices_read(ctx, body, root, name)
                if slices is None:
                    return  # the loss reads the whole tensor: its .grad is meaningful
                loss_slices |= slices
        if not loss_slices:
            return
        for node in walk(body):
            if not isinstance(node, cst.Subscript):
                continue
            base = node.value
            if not (isinstance(base, cst.Attribute) and base.attr.value == "grad" and dotted_name(base.value) == name):
                continue
            read = _slice_code(ctx, node)
            if read in loss_slices:
                continue
            used = " / ".join(f"`{name}[{s}]`" for s in sorted(loss_slices))
            if recurrent:
                why = (
                    f", and the recurrence runs through the layer's hidden state, not through the returned `{name}`; "
                    "for per-step gradients unroll with `nn.GRUCell`/`nn.LSTMCell` and call "
                    "`torch.autograd.grad(loss, hidden_states)`, or check `x.grad` and the parameter grads"
                )
            else:
                why = (
                    "; check `x.grad` and the parameter grads, or call `torch.autograd.grad(loss, ...)` "
                    "on the tensors the loss reads"
                )
            yield self.finding(
                node,
                f"`{name}.grad[{read}]` reads slots the loss never used (it reads only {used}): "
                f"they are zero by construction{why} (explain only, nothing is broken)",
            )


def _slice_code(ctx, subscript: cst.Subscript) -> str:
    return ", ".join(ctx.code(element.slice).strip() for element in subscript.slice)


def _slices_read(ctx, body, root: cst.BaseExpression, name: str) -> set[str] | None:
    """The slices of ``name`` the expression reads (through assignments in ``body``); None if
    it reads ``name`` unsliced."""
    exprs = [root]
    seen_names: set[str] = set()
    slices: set[str] = set()
    assignments = [s for s in statements(body) if isinstance(s, cst.Assign)]
    while exprs:
        expr = exprs.pop()
        for node in walk(expr):
            if isinstance(node, cst.Name) and node.value == name and not _is_sliced(ctx, node, expr):
                if not _is_attribute_part(ctx, node, expr):
                    return None
            if isinstance(node, cst.Subscript) and dotted_name(node.value) == name:
                slices.add(_slice_code(ctx, node))
        for other in names_read(expr) - seen_names - {name}:
            seen_names.add(other)
            for assign in assignments:
                if any(dotted_name(t.target) == other for t in assign.targets):
                    exprs.append(assign.value)
    return slices


def _is_sliced(ctx, name_node: cst.Name, stop: cst.CSTNode) -> bool:
    parent = ctx.parent(name_node)
    return isinstance(parent, cst.Subscript) and parent.value is name_node


def _is_attribute_part(ctx, name_node: cst.Name, stop: cst.CSTNode) -> bool:
    """``y.shape`` / ``y.size(1)`` read metadata, not values; ``foo.y`` is another name."""
    parent = ctx.parent(name_node)
    if isinstance(parent, cst.Attribute):
        return parent.attr is name_node or parent.attr.value in ("shape", "size", "dtype", "device", "ndim")
    return False


def _file_uses_recurrent_layer(ctx) -> bool:
    names = imports(ctx)
    return any(
        isinstance(node, cst.Call) and names.qualify(node.func) in _RECURRENT
        for node in walk(ctx.module, into_scopes=True)
    )
