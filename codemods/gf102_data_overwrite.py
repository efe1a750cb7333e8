"""GF102 data-overwrite."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._graph import Carry, flow_for
from ._names import dotted_name, kwarg
from ._scopes import class_facts, enclosing_class, enclosing_function, in_grad_disabled, in_init_code
from ._calls import argument_carries_at_call_sites


class DataOverwrite(Rule):
    """
    Writing a graph-carrying tensor into `.data` cuts the graph.

    `self.w.data = ws` copies the *values* of `ws` into the Parameter `w` and throws away
    `ws`'s graph: whatever computed `ws` (a conditioner network, a hypernetwork) never
    gets a gradient (`.grad` stays None), and `w` gets a gradient that the next update
    overwrites. Dropping `.data` alone fails: `self.w = ws` raises "cannot assign
    'torch.FloatTensor' as parameter 'w'".

    The fix passes the value functionally: the declaration `self.w = nn.Parameter(init)`
    becomes `self.register_buffer("w", init, persistent=True)` (same init tensor, `nn.init`
    calls kept, so random draws, the forward values and the state_dict keys stay the
    same) and the update becomes a plain assignment `self.w = ws`. Deleting the
    declaration instead (a common hand fix) changes every later random draw and breaks
    `forward()` before the first update.

    In `forward`, reading `self.w.data` silently detaches `w` from the loss: the fix drops
    `.data` (use `.detach()` if the cut is meant).

    Bad:

        class PlanarFlow(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.w = nn.Parameter(torch.empty(d))
                nn.init.normal_(self.w, std=0.01)

            def update(self, ws):
                self.w.data = ws          # ws comes from an LSTM: its graph is cut

    Good:

        class PlanarFlow(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.register_buffer("w", torch.empty(d), persistent=True)
                nn.init.normal_(self.w, std=0.01)

            def update(self, ws):
                self.w = ws               # the LSTM now gets gradients

    Fix safety: safe for `.data =` of a value that carries a graph into a Parameter the
    class declares (the Parameter becomes a buffer: it is computed, not trained); unsafe
    for `.data.copy_(v)` (copy_ also casts and broadcasts) and for `.data` reads in
    `forward` (the cut may have been meant).
    """

    code = "GF102"
    name = "data-overwrite"
    summary = "`.data = value` with a graph-carrying value cuts the graph; pass the value functionally"
    trigger = re.compile(r"\.data\b")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A `.data` write, a `.data.copy_()`, or a `.data` read inside a `forward`."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "data" for t in node.targets
            ):
                return True
            if isinstance(node, ast.Attribute) and node.attr == "copy_" and isinstance(node.value, ast.Attribute) and node.value.attr == "data":
                return True
            if isinstance(node, ast.FunctionDef) and node.name == "forward" and any(
                isinstance(n, ast.Attribute) and n.attr == "data" for n in ast.walk(node)
            ):
                return True
        return False

    def check(self, ctx):
        for node in ctx.walk():
            if isinstance(node, cst.Assign) and len(node.targets) == 1 and _is_data(node.targets[0].target):
                yield from self._overwrite(ctx, node, node.targets[0].target.value, node.value, copy=False)
            elif isinstance(node, cst.Call) and _is_data_copy(node) and node.args:
                yield from self._overwrite(ctx, node, node.func.value.value, node.args[0].value, copy=True)
            elif isinstance(node, cst.Attribute) and node.attr.value == "data":
                yield from self._forward_read(ctx, node)

    def _overwrite(self, ctx, node, target: cst.BaseExpression, value: cst.BaseExpression, copy: bool):
        if in_grad_disabled(ctx, node) or in_init_code(ctx, node):
            return
        target_name = dotted_name(target)
        if target_name is not None and _mentions(value, target_name):
            return  # an update of the tensor from itself (manual SGD, clipping, EMA): meant to bypass autograd
        carry = flow_for(ctx, node).carries(value, node)
        if carry is Carry.UNKNOWN and argument_carries_at_call_sites(ctx, node, value):
            carry = Carry.YES
        if carry is not Carry.YES:
            return
        spelled = ctx.code(target)
        form = f"`{spelled}.data.copy_(...)`" if copy else f"`{spelled}.data = ...`"
        fix = self._buffer_fix(ctx, node, target, value, copy)
        message = f"{form} writes the values of a graph-carrying tensor and cuts its gradient"
        if fix is None:
            message += "; pass the value functionally (a buffer, or `torch.func.functional_call`)"
        else:
            message += f"; make `{spelled}` a buffer and assign it"
        yield self.finding(node, message, fix)

    def _buffer_fix(self, ctx, node, target, value, copy: bool) -> Fix | None:
        attribute = _self_attribute(target)
        cls = enclosing_class(ctx, node)
        if attribute is None or cls is None:
            return None
        facts = class_facts(ctx, cls)
        if _reads_grad(cls, attribute):
            return None  # the class uses the Parameter's own gradient: it must stay a Parameter
        statement = _enclosing_small_statement(ctx, node)
        if statement is None or not isinstance(statement, (cst.Assign, cst.Expr)):
            return None
        assignment = cst.Assign(targets=[cst.AssignTarget(target)], value=value)
        applicability = Applicability.UNSAFE if copy else Applicability.SAFE
        if attribute in facts.buffers:
            return Fix([(statement, assignment)], applicability, f"assign the buffer `{attribute}`")
        declaration = facts.parameters.get(attribute)
        if declaration is None or declaration.init is None:
            return None
        register = cst.Expr(
            cst.Call(
                func=cst.Attribute(cst.Name("self"), cst.Name("register_buffer")),
                args=[
                    cst.Arg(cst.SimpleString(f'"{attribute}"')),
                    cst.Arg(declaration.init),
                    kwarg("persistent", cst.Name("True")),
                ],
            )
        )
        return Fix(
            [(declaration.small, register), (statement, assignment)],
            applicability,
            f"turn the Parameter `{attribute}` into a buffer and assign it",
        )

    def _forward_read(self, ctx, node: cst.Attribute):
        function = enclosing_function(ctx, node)
        if function is None or function.name.value != "forward" or in_grad_disabled(ctx, node):
            return
        parent = ctx.parent(node)
        # Only plain reads: not `x.data = ...`, not `x.data.copy_()`/`x.data.zero_()`, not `.data.shape`.
        if isinstance(parent, cst.Attribute) or isinstance(parent, cst.AssignTarget):
            return
        cls = enclosing_class(ctx, node)
        attribute = _self_attribute(node.value)
        if cls is None or attribute is None or attribute not in class_facts(ctx, cls).parameters:
            return
        fix = Fix([(node, node.value)], Applicability.UNSAFE, "read the Parameter itself")
        yield self.finding(
            node,
            f"`{ctx.code(node)}` in `forward` detaches `{attribute}` from the loss, so it gets no gradient; "
            "drop `.data` (or use `.detach()` if the cut is meant)",
            fix,
        )




def _is_data(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Attribute) and expr.attr.value == "data"


def _is_data_copy(call: cst.Call) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value == "copy_" and _is_data(func.value)


def _self_attribute(expr: cst.BaseExpression) -> str | None:
    dotted = dotted_name(expr)
    if dotted and dotted.startswith("self.") and dotted.count(".") == 1:
        return dotted[5:]
    return None


def _mentions(expr: cst.CSTNode, dotted: str) -> bool:
    """Whether ``expr`` reads ``dotted`` other than for its device/dtype/shape."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute) and node.attr.value in ("device", "dtype", "shape"):
            continue
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) == dotted:
            return True
        stack.extend(node.children)
    return False


def _reads_grad(cls: cst.ClassDef, attribute: str) -> bool:
    wanted = f"self.{attribute}.grad"
    stack: list[cst.CSTNode] = [cls]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute) and dotted_name(node) == wanted:
            return True
        stack.extend(node.children)
    return False


def _enclosing_small_statement(ctx, node: cst.CSTNode):
    current = node
    while current is not None and not isinstance(current, cst.BaseSmallStatement):
        current = ctx.parent(current)
    if current is None:
        return None
    inner = current.value if isinstance(current, cst.Expr) else current
    return current if inner is node or current is node else None
