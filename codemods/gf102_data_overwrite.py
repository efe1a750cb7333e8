"""GF102 data-overwrite."""

from __future__ import annotations

import ast
import re

from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of, parents_of
from ._names import kwarg
from ._values import Analysis, dotted


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
        """What detect looks at, with the checks it makes on the tree alone: a ``x.data = v``
        (a single target) or ``x.data.copy_(v)`` outside init code (``_in_init_code``) where
        ``v`` does not read ``x`` (``_mentions``), or a plain ``.data`` read in a ``forward``."""
        parents = parents_of(tree)
        for node in nodes_of(tree, ast.Attribute):
            if node.attr != "data":  # type: ignore[attr-defined]
                continue
            parent = parents.get(id(node))
            if isinstance(node.ctx, ast.Store):  # type: ignore[attr-defined]
                if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and parent.targets[0] is node:
                    if _may_overwrite(parents, parent, node.value, parent.value):  # type: ignore[attr-defined]
                        return True
            elif isinstance(parent, ast.Attribute):
                call = parents.get(id(parent))
                if parent.attr == "copy_" and isinstance(call, ast.Call) and call.func is parent and call.args:
                    if _may_overwrite(parents, call, node.value, call.args[0]):  # type: ignore[attr-defined]
                        return True
            else:
                function = next(_functions(parents, node), None)
                if function is not None and function.name == "forward":
                    return True
        return False

    def detect(self, analysis: Analysis):
        for node in analysis.nodes(ast.Assign):
            if len(node.targets) == 1 and _is_data(node.targets[0]):
                yield from self._overwrite(analysis, node, node.targets[0].value, node.value, copy=False)
        for call in analysis.calls():
            if _is_data_copy(call) and call.args:
                yield from self._overwrite(analysis, call, call.func.value.value, call.args[0], copy=True)
        for node in analysis.nodes(ast.Attribute):
            if node.attr == "data" and isinstance(node.ctx, ast.Load):
                yield from self._forward_read(analysis, node)

    def _overwrite(self, analysis: Analysis, node, target: ast.expr, value: ast.expr, copy: bool):
        if analysis.grad_disabled(node) or _in_init_code(analysis, node):
            return
        target_name = dotted(target)
        if target_name is not None and _mentions(value, target_name):
            return  # an update of the tensor from itself (manual SGD, clipping, EMA): meant to bypass autograd
        if _cast_back(analysis, node, target, value):
            return  # w = self.w.float(); ...; self.w.data = w.to(dtype): its own values, cast back
        written = analysis.value(value)
        if not written.carries or written.leaf or _cast_of_leaf(analysis, value):
            return  # a leaf (or a dtype/device cast of one) has no computation to cut
        spelled = ast.get_source_segment(analysis.source, target)
        form = f"`{spelled}.data.copy_(...)`" if copy else f"`{spelled}.data = ...`"
        fix = self._buffer_fix(analysis, node, target, copy)
        message = f"{form} writes the values of a graph-carrying tensor and cuts its gradient"
        if fix is None:
            message += "; pass the value functionally (a buffer, or `torch.func.functional_call`)"
        else:
            message += f"; make `{spelled}` a buffer and assign it"
        yield self.finding(node, message, fix)

    def _buffer_fix(self, analysis: Analysis, node, target: ast.expr, copy: bool) -> LazyFix | None:
        attribute = _self_attribute(target)
        cls = analysis.enclosing_class(node)
        if attribute is None or cls is None or _reads_grad(cls.node, attribute):
            return None  # the class uses the Parameter's own gradient: it must stay a Parameter
        statement = _enclosing_statement(analysis, node)
        if statement is None:
            return None
        applicability = Applicability.UNSAFE if copy else Applicability.SAFE
        if _registers_buffer(cls.node, attribute):
            return LazyFix(partial(_assign_fix, statement=statement, node=node), applicability, f"assign the buffer `{attribute}`")
        declaration = _parameter_declaration(analysis, cls.node, attribute)
        if declaration is None:
            return None
        return LazyFix(
            partial(_assign_fix, statement=statement, node=node, declaration=declaration, attribute=attribute),
            applicability,
            f"turn the Parameter `{attribute}` into a buffer and assign it",
        )

    def _forward_read(self, analysis: Analysis, node: ast.Attribute):
        function = analysis.enclosing_function(node)
        if function is None or function.name != "forward" or analysis.grad_disabled(node):
            return
        parent = analysis.parent(node)
        # Only plain reads: not `x.data.copy_()`/`x.data.zero_()`, not `.data.shape`.
        if isinstance(parent, ast.Attribute):
            return
        spelled = ast.get_source_segment(analysis.source, node)
        attribute = _self_attribute(node.value)
        cls = analysis.enclosing_class(node)
        if attribute is not None and cls is not None and _parameter_declaration(analysis, cls.node, attribute) is not None:
            yield self.finding(
                node,
                f"`{spelled}` in `forward` detaches `{attribute}` from the loss, so it gets no gradient; "
                "drop `.data` (or use `.detach()` if the cut is meant)",
                LazyFix(partial(_drop_data, node=node), Applicability.UNSAFE, "read the Parameter itself"),
            )
            return
        base = analysis.value(node.value)
        if attribute is None and base.is_tensor and base.carries and not base.leaf:
            # `h = h.data` on the forward path: everything before it gets no gradient.
            name = dotted(node.value)
            yield self.finding(
                node,
                f"`{spelled}` in `forward` detaches `{name or 'the value'}` and cuts the gradient of everything that computed it; "
                "drop `.data` (or use `.detach()` if the cut is meant)",
                LazyFix(partial(_drop_data, node=node), Applicability.UNSAFE, "use the value itself"),
            )


def _assign_fix(ctx, statement: ast.stmt, node: ast.AST, declaration: tuple | None = None, attribute: str = "") -> Fix | None:
    cst_statement = ctx.node_for(statement)
    cst_node = ctx.node_for(node)
    if cst_statement is None or cst_node is None:
        return None
    if isinstance(cst_node, cst.Assign):
        target, value = cst_node.targets[0].target.value, cst_node.value  # type: ignore[attr-defined]
        applicability = Applicability.SAFE
    else:
        target, value = cst_node.func.value.value, cst_node.args[0].value  # type: ignore[attr-defined]
        applicability = Applicability.UNSAFE
    edits = [(cst_statement, cst.Assign(targets=[cst.AssignTarget(target)], value=value))]
    if declaration is None:
        return Fix(edits, applicability, "assign the buffer")
    declared, init = (ctx.node_for(n) for n in declaration)
    if declared is None or init is None:
        return None
    register = cst.Expr(
        cst.Call(
            func=cst.Attribute(cst.Name("self"), cst.Name("register_buffer")),
            args=[cst.Arg(cst.SimpleString(f'"{attribute}"')), cst.Arg(init), kwarg("persistent", cst.Name("True"))],
        )
    )
    return Fix([(declared, register), *edits], applicability, f"turn the Parameter `{attribute}` into a buffer and assign it")


def _drop_data(ctx, node: ast.Attribute) -> Fix | None:
    cst_node = ctx.node_for(node)
    if cst_node is None:
        return None
    parent = ctx.parent(cst_node)
    line = ctx.parent(parent) if parent is not None else None
    if (
        isinstance(parent, cst.Assign)
        and len(parent.targets) == 1
        and isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
        and ctx.code(parent.targets[0].target) == ctx.code(cst_node.value)
    ):
        return Fix([(line, cst.RemoveFromParent())], Applicability.UNSAFE, "drop the detaching statement")  # `h = h.data`
    return Fix([(cst_node, cst_node.value)], Applicability.UNSAFE, "read the value itself")


# Functions whose job is to set values, where `.data` writes and fills are the norm.
_INIT_NAME = re.compile(
    r"(^__init__$|^__post_init__$|init|^reset|^load|^setup$|^build$|^_?fill|copy_weights|from_pretrained"
    r"|^_?(fuse|convert|export|merge|unmerge|quantize|dequantize)|switch_to_deploy|^_?reparameterize$)",
    re.I,
)


def _functions(parents: dict, node: ast.AST):
    """The functions around ``node``, innermost first (for the quick check, from the tree's parents)."""
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield current
        current = parents.get(id(current))


def _may_overwrite(parents: dict, node: ast.AST, target: ast.expr, value: ast.expr) -> bool:
    """The checks of ``_overwrite`` that need no analysis: not in init code, not a self-update."""
    if any(_INIT_NAME.search(f.name) for f in _functions(parents, node)):
        return False
    target_name = dotted(target)
    return target_name is None or not _mentions(value, target_name)


def _in_init_code(analysis: Analysis, node: ast.AST) -> bool:
    """Inside ``__init__``, ``reset_parameters``, an ``init_weights``-style helper, a loader."""
    return any(
        isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef)) and _INIT_NAME.search(a.name) for a in analysis.ancestors(node)
    )


_CASTS = {"to", "float", "double", "half", "bfloat16", "contiguous", "cpu", "cuda", "type", "type_as", "clone"}


def _cast_of_leaf(analysis: Analysis, expr: ast.expr) -> bool:
    """``w.to(dtype)``, ``p.float().contiguous()``: the values of a leaf in another dtype or device."""
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _CASTS:
        expr = expr.func.value
    return analysis.value(expr).leaf


def _strip_casts(expr: ast.expr) -> ast.expr:
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _CASTS:
        expr = expr.func.value
    return expr


def _cast_back(analysis: Analysis, node: ast.AST, target: ast.expr, value: ast.expr) -> bool:
    """Whether ``value`` is a local name every assignment of which (in this function) is the
    target itself or a cast of that name: the target's own values in another dtype."""
    name = _strip_casts(value)
    function = analysis.enclosing_function(node)
    if not isinstance(name, ast.Name) or function is None:
        return False
    spelled = ast.dump(target)
    bindings = []
    for n in ast.walk(function):
        if not isinstance(n, ast.Assign):
            continue
        for t in n.targets:
            if isinstance(t, ast.Name) and t.id == name.id:
                bindings.append(n.value)
            elif isinstance(t, ast.Tuple) and isinstance(n.value, ast.Tuple) and len(t.elts) == len(n.value.elts):
                bindings += [v for e, v in zip(t.elts, n.value.elts) if isinstance(e, ast.Name) and e.id == name.id]
            elif isinstance(t, ast.Tuple) and any(isinstance(e, ast.Name) and e.id == name.id for e in t.elts):
                return False  # unpacked from something else
    return bool(bindings) and all(
        ast.dump(_strip_casts(b)) == spelled or (isinstance(_strip_casts(b), ast.Name) and _strip_casts(b).id == name.id)
        for b in bindings
    ) and any(ast.dump(_strip_casts(b)) == spelled for b in bindings)


def _is_data(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Attribute) and expr.attr == "data"


def _is_data_copy(call: ast.Call) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == "copy_" and _is_data(func.value)


def _self_attribute(expr: ast.expr) -> str | None:
    name = dotted(expr)
    if name and name.startswith("self.") and name.count(".") == 1:
        return name[5:]
    return None


def _mentions(expr: ast.AST, name: str) -> bool:
    """Whether ``expr`` reads ``name`` other than for its device/dtype/shape."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute) and node.attr in ("device", "dtype", "shape"):
            continue
        if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) == name:
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _reads_grad(cls: ast.ClassDef, attribute: str) -> bool:
    wanted = f"self.{attribute}.grad"
    return any(isinstance(n, ast.Attribute) and dotted(n) == wanted for n in ast.walk(cls))


def _registers_buffer(cls: ast.ClassDef, attribute: str) -> bool:
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register_buffer"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == attribute
        ):
            return True
    return False


def _parameter_declaration(analysis: Analysis, cls: ast.ClassDef, attribute: str):
    """(the statement ``self.<attribute> = nn.Parameter(init)``, ``init``) in the class, or None."""
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and dotted(node.targets[0]) == f"self.{attribute}"
            and isinstance(node.value, ast.Call)
            and analysis.qualify(node.value.func) == "torch.nn.Parameter"
            and node.value.args
        ):
            return node, node.value.args[0]
    return None


def _enclosing_statement(analysis: Analysis, node: ast.AST) -> ast.stmt | None:
    """The statement that is ``node`` (an Assign) or holds only it (``x.data.copy_(v)``)."""
    if isinstance(node, ast.stmt):
        return node
    parent = analysis.parent(node)
    return parent if isinstance(parent, ast.Expr) else None
