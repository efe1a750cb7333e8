"""GF118 state-dict-in-loss."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import calls_named
from ._flow_ast import walk
from ._losspath import loss_path
from ._names import keyword as cst_keyword
from ._names import kwarg
from ._text import BACKPROP, backpropagates
from ._values import Analysis, Kind, dotted

# What turns a state_dict read into a stored snapshot (the anchor of EWC, L2-SP, a restore point).
_SNAPSHOT_METHODS = {"clone", "copy", "deepcopy", "detach", "cpu", "to", "numpy", "tolist", "item"}
_SNAPSHOT_FUNCTIONS = {"copy.deepcopy", "copy.copy", "torch.save", "OrderedDict", "collections.OrderedDict"}
_REFERENCE_NAME = re.compile(r"ema|teacher|target|old|anchor|prev|snapshot|frozen|ref|pretrain|init|orig|avg|average|swa|shadow|momentum|copy", re.I)
# Receivers whose state_dict() is not a module's (optimizers, schedulers, AMP scalers).
_NOT_MODULES = {Kind.OPTIMIZER, Kind.INSTANCE, Kind.DICT, Kind.LIST, Kind.TENSOR, Kind.IMPORTED}


class StateDictInLoss(Rule):
    """
    A loss or regulariser computed from `model.state_dict()` has no gradient.

    `state_dict()` returns *detached* tensors: each value shares the parameter's storage but
    is cut from the graph (`requires_grad=False`). A penalty summed over its values is a
    constant as far as autograd is concerned: added to a loss it changes the printed value
    and nothing else (the weights it should shape get no gradient from it), and
    backpropagated alone it raises "element 0 of tensors does not require grad".

    The fix asks for the live tensors: `state_dict(keep_vars=True)` returns the same keys in
    the same order, with the Parameters themselves as values (buffers, which `state_dict()`
    also lists and `named_parameters()` does not, stay in it), so the forward is bitwise
    equal and only the gradient changes.

    Left alone: a snapshot taken to be the fixed anchor of a penalty (EWC, L2-SP:
    `copy.deepcopy(model.state_dict())`, `{k: v.clone() for k, v in ...}`, stored on
    `self`), checkpoints (`torch.save`, `load_state_dict`), EMA updates and anything under
    `torch.no_grad()`, and values that never reach a backpropagated loss (logging).

    Bad:

        reg = 0.0
        for name, value in model.state_dict().items():
            reg = reg + value.pow(2).sum()
        loss = criterion(model(x), y) + lam * reg      # reg adds no gradient

    Good:

        reg = 0.0
        for name, value in model.state_dict(keep_vars=True).items():
            reg = reg + value.pow(2).sum()
        loss = criterion(model(x), y) + lam * reg

    Fix safety: safe; the values and their order are unchanged, the regulariser now has the
    gradient it was written for.
    """

    code = "GF118"
    name = "state-dict-in-loss"
    summary = "`state_dict()` values are detached: a loss or regulariser computed from them has no gradient"
    trigger = re.compile(r"\.state_dict\s*\(")
    # detect returns at once when nothing backpropagates (`loss_path(...).has_losses`): the
    # file must hold a loss root of `_losspath`.
    requires = (BACKPROP,)
    text_check = staticmethod(backpropagates)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A ``.state_dict()`` call without arguments nor ``keep_vars`` (nor ``**kwargs``)."""
        for node in calls_named(tree, "state_dict"):
            if isinstance(node.func, ast.Attribute) and not node.args and not _keeps_vars(node):
                return True
        return False

    def detect(self, analysis: Analysis):
        path = loss_path(analysis)
        if not path.has_losses:
            return
        for call in analysis.calls():
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "state_dict"):
                continue
            if not path.on_path(call) or analysis.grad_disabled(call) or _keeps_vars(call) or call.args:
                continue
            if analysis.value(call.func.value).kind in _NOT_MODULES or _is_snapshot(analysis, call):
                continue
            if _is_reference_model(analysis, path, call.func.value):
                continue  # ema.state_dict(), teacher.state_dict(): the fixed side of the penalty
            yield self.finding(
                call,
                "`state_dict()` returns detached tensors, so the loss term computed from them has no gradient; "
                "use `state_dict(keep_vars=True)` (same keys and values, with their graph)",
                LazyFix(partial(_keep_vars_fix, call=call), Applicability.SAFE, "use `state_dict(keep_vars=True)`"),
            )


def _is_reference_model(analysis: Analysis, path, module: ast.AST) -> bool:
    """A model kept as a reference, not trained: an EMA/teacher/target/snapshot copy by its
    name, or a ``copy.deepcopy`` of another model."""
    name = (dotted(module) or "").rsplit(".", 1)[-1]
    if _REFERENCE_NAME.search(name):
        return True
    if not dotted(module):
        return False
    values, _, _ = path.reaching(module)
    return any(isinstance(v, ast.Call) and (analysis.qualify(v.func) or dotted(v.func) or "").endswith("deepcopy") for v in values)


def _keeps_vars(call: ast.Call) -> bool:
    return any(k.arg in ("keep_vars", None) for k in call.keywords)


def _is_snapshot(analysis: Analysis, call: ast.Call) -> bool:
    """The state_dict is copied, saved or stored on an object: a fixed anchor, not the live side."""
    child: ast.AST = call
    for ancestor in analysis.ancestors(call):
        if isinstance(ancestor, ast.stmt):
            if isinstance(ancestor, (ast.For, ast.AsyncFor)) and child is ancestor.iter:
                return _stores(ancestor.body)  # for k, v in sd.items(): anchor[k] = v.clone()
            if isinstance(ancestor, ast.Assign) and any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in ancestor.targets):
                return True  # self.anchor = ..., cache[k] = ...: kept for later steps
            return False
        if isinstance(ancestor, ast.Call):
            qualified = analysis.qualify(ancestor.func) or ""
            if qualified in _SNAPSHOT_FUNCTIONS or (isinstance(ancestor.func, ast.Name) and ancestor.func.id in ("deepcopy", "OrderedDict")):
                return True
            if isinstance(ancestor.func, ast.Attribute) and ancestor.func.attr in _SNAPSHOT_METHODS and child is ancestor.func.value:
                return True  # sd.copy(), sd[k].clone()
            if isinstance(ancestor.func, ast.Attribute) and ancestor.func.attr in ("load_state_dict", "update"):
                return True
        if isinstance(ancestor, (ast.DictComp, ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            element = ancestor.value if isinstance(ancestor, ast.DictComp) else ancestor.elt
            if _copies(element):
                return True
        child = ancestor
    return False


def _stores(body: list[ast.stmt]) -> bool:
    """The loop body keeps the values somewhere (``anchor[k] = ...``, ``self.x = ...``, ``t.copy_(v)``)."""
    for node in walk(body):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets):
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("copy_", "append", "clone"):
            return True
    return False


def _copies(element: ast.AST) -> bool:
    """A comprehension element that copies its value: ``v.clone()``, ``v.detach().clone()``, ``deepcopy(v)``."""
    for node in ast.walk(element):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("clone", "copy", "cpu", "detach"):
                return True
            if isinstance(func, ast.Name) and func.id == "deepcopy":
                return True
    return False


def _keep_vars_fix(ctx, call: ast.Call) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call) or node.args or cst_keyword(node, "keep_vars") is not None:
        return None
    return Fix([(node, node.with_changes(args=[kwarg("keep_vars", cst.Name("True"))]))], Applicability.SAFE, "use `state_dict(keep_vars=True)`")
