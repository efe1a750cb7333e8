"""GF104 leaf-rebind."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of
from ._uses import LEAF, LOAD, STORE, fresh_name, names_in, span, uses
from ._values import Analysis, dotted

_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), *((ast.Match,) if hasattr(ast, "Match") else ()))
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
# How the new name describes the derived value.
_SUFFIX_BY_OPERATOR = {
    ast.Mult: "scaled", ast.Div: "scaled", ast.Add: "shifted", ast.Sub: "shifted", ast.Pow: "pow", ast.MatMult: "mm",
}
_SUFFIX_BY_METHOD = {
    "view": "view", "reshape": "reshaped", "t": "t", "transpose": "t", "permute": "permuted",
    "to": "converted", "double": "converted", "float": "converted", "half": "converted", "cuda": "converted",
    "type": "converted", "unsqueeze": "reshaped", "squeeze": "reshaped", "flatten": "flat", "clone": "copy",
}


class LeafRebind(Rule):
    """
    Rebinding a leaf's name to a value computed from it hides the leaf.

    After `eta = nn.Parameter(...)`, the line `eta = eta * 2` makes the name `eta` refer to
    a new, non-leaf tensor. The Parameter itself still exists and still receives its
    gradient, but nothing names it any more: `eta.grad` now reads the non-leaf's `.grad`,
    which is always None (with a UserWarning), and `torch.optim.SGD([eta])` raises "can't
    optimize a non-leaf Tensor". The gradient was right all along; only the name moved.

    The fix binds the derived value to a new name (`eta_scaled`) and renames the later
    loads that meant the derived value, while `.grad` reads and optimizer parameter lists
    keep naming the leaf. Forward values are bitwise equal:
    the same operations run on the same tensors.

    Bad:

        eta = nn.Parameter(torch.rand(10))
        eta = eta * 2
        eta.sum().backward()
        print(eta.grad)        # None

    Good:

        eta = nn.Parameter(torch.rand(10))
        eta_scaled = eta * 2
        eta_scaled.sum().backward()
        print(eta.grad)        # tensor([2., 2., ...])

    Fix safety: safe in straight-line code. Reported without a fix when the rebinding is
    loop-carried (the next iteration reads the derived value), conditional, rebound again
    later, or read by nested functions; manual SGD (`w = w - lr * w.grad`) is reported
    with the `torch.no_grad()` in-place form to use instead. `self.w = f(self.w)` on a
    registered Parameter raises TypeError; it is reported without a fix.
    """

    code = "GF104"
    name = "leaf-rebind"
    summary = "a leaf that requires grad is rebound to a value derived from it, then its `.grad` is read"
    trigger = re.compile(r"\.grad\b|optim\.|Parameter\s*\(")  # Parameter: `self.p = f(self.p)` raises

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """Some ``name = <expression reading name>`` (``self.x`` too)."""
        for node in nodes_of(tree, ast.Assign):
            if len(node.targets) == 1 and isinstance(node.targets[0], (ast.Name, ast.Attribute)):
                name = dotted(node.targets[0])
                if name is not None and any(isinstance(n, (ast.Name, ast.Attribute)) and dotted(n) == name for n in ast.walk(node.value)):
                    return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for assign in analysis.nodes(ast.Assign):
            if len(assign.targets) != 1 or analysis.grad_disabled(assign):
                continue
            value = analysis.value(assign.value)
            if not value.carries or value.leaf:
                continue  # a cut, or a fresh leaf (`nn.Parameter(f(w))`, `.detach().requires_grad_()`)
            target = assign.targets[0]
            if isinstance(target, ast.Name):
                yield from self._name(analysis, assign, target.id)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                yield from self._attribute(analysis, assign, target)

    def _name(self, analysis: Analysis, assign: ast.Assign, name: str):
        function = analysis.enclosing_function(assign)
        scope = function or analysis.tree
        names = uses(analysis, scope)
        occs = names.of(name)
        inside = names_in(assign)
        reads = [o for o in occs if o.kind != STORE and id(o.node) in inside]
        if not reads:
            return  # the right side does not read the name
        first, last = span(occs, inside)
        previous = [o for o in occs if o.kind == STORE and o.index < first]
        if previous:
            definition = next(a for a in analysis.ancestors(previous[-1].node) if isinstance(a, ast.stmt))
            if not isinstance(definition, (ast.Assign, ast.AnnAssign)):
                return  # a `for` target, an import, a `with` name: not a leaf this rule follows
            defined_leaf = analysis.value(previous[-1].node).leaf
        elif function is not None and name in _parameters(function):
            definition = function  # a leaf the callers pass in
            defined_leaf = analysis.arguments(function).get(name, analysis.value(reads[0].node)).leaf
        else:
            return
        # The leaf as defined (a loop joins it with the derived value), or made one after
        # its creation (`x.requires_grad = True`, `x.requires_grad_()`).
        if not any(analysis.value(o.node).leaf or (defined_leaf and analysis.value(o.node).carries) for o in reads):
            return
        s_chain = _compounds(analysis, assign, scope)
        d_chain = _compounds(analysis, definition, scope) if definition is not function else []
        common = [c for c in s_chain if any(c is d for d in d_chain)]
        s_extra = [c for c in s_chain if not any(c is x for x in common)]
        d_extra = [c for c in d_chain if not any(c is x for x in common)]
        loop = next((c for c in s_extra if isinstance(c, _LOOPS)), None)
        later = [o for o in occs if o.index > last]
        if loop is not None:
            loop_ids = names_in(loop)
            leaf_uses = [o for o in occs if o.kind == LEAF and (o.index > last or id(o.node) in loop_ids)]
        else:
            leaf_uses = [o for o in later if o.kind == LEAF]
        if not leaf_uses:
            return
        if any(o.kind == LEAF and id(o.node) in inside for o in occs):
            yield self.finding(assign, _manual_update(name))
            return
        if loop is not None:
            yield self.finding(
                assign,
                f"`{name}` (a leaf that requires grad) is rebound to a derived tensor inside a loop, so "
                f"later `.grad` reads and optimizers get a non-leaf; bind the result to a new name (not fixed: the rebinding is loop-carried)",
            )
            return
        reason = _why_not_renamed(analysis, name, names, occs, later, assign, definition, common, s_extra or d_extra, scope)
        if reason is not None:
            yield self.finding(
                assign,
                f"`{name}` (a leaf that requires grad) is rebound to a derived tensor, so later `.grad` reads and "
                f"optimizers get a non-leaf; bind the result to a new name (not fixed: {reason})",
            )
            return
        new = fresh_name(analysis, f"{name}_{_suffix(assign.value)}")
        renamed = [assign.targets[0], *(o.node for o in later if o.kind == LOAD)]
        yield self.finding(
            assign,
            f"`{name}` (a leaf that requires grad) is rebound to a derived tensor, so later `.grad` reads and "
            f"optimizers get a non-leaf; bind the result to `{new}` and keep `{name}` for the leaf",
            LazyFix(partial(_rename, names=renamed, new=new), Applicability.SAFE, f"rename the derived value to `{new}`"),
        )

    def _attribute(self, analysis: Analysis, assign: ast.Assign, target: ast.Attribute):
        """``self.w = f(self.w)`` where ``self.w`` is a Parameter (or a leaf) of the class."""
        attr = target.attr
        reads = [n for n in ast.walk(assign.value) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self" and n.attr == attr]
        info = analysis.enclosing_class(assign)
        if not reads or info is None:
            return
        bound = [analysis.value(t) for m in info.methods.values() for t in ast.walk(m) if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store) and dotted(t) == f"self.{attr}"]
        if not any(v.leaf for v in bound) or not any(analysis.value(r).leaf or analysis.value(r).carries for r in reads):
            return
        if any(isinstance(p, ast.Attribute) and p.attr == "grad" for r in reads for p in [analysis.parent(r)]):
            yield self.finding(assign, _manual_update(f"self.{attr}"))
        elif info.is_module and any(v.parameter for v in bound):
            yield self.finding(
                assign,
                f"`self.{attr}` is a registered Parameter: assigning a tensor computed from it raises TypeError "
                f"(and would hide the Parameter); bind the result to a local name (not fixed: other methods read `self.{attr}`)",
            )


def _manual_update(name: str) -> str:
    return (
        f"`{name}` is rebound to a non-leaf by a manual update, so its next `.grad` is None; "
        f"update in place instead: `with torch.no_grad(): {name} -= ...`, then zero `{name}.grad`"
    )


def _parameters(function) -> set[str]:
    args = function.args
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}


def _why_not_renamed(analysis, name, names, occs, later, assign, definition, common, branched, scope) -> str | None:
    if branched:
        return "the rebinding is conditional"
    if name in names.unsafe or name in names.nested_loads:
        return f"`{name}` is also used by nested code or declared global"
    if any(o.kind == STORE for o in later):
        return f"`{name}` is rebound again later"
    if common and isinstance(common[-1], _LOOPS):
        loop_ids = names_in(common[-1])
        d_first = min((o.index for o in occs if id(o.node) in names_in(definition)), default=-1)
        if any(o.index < d_first and id(o.node) in loop_ids for o in occs) or any(id(o.node) not in loop_ids for o in later):
            return "the name is used across loop iterations"
    elif common and any(id(o.node) not in names_in(common[-1]) for o in later):
        return "the name is used after the enclosing block"
    elif _in_later_loop(analysis, [o.node for o in later if o.kind == LOAD], assign, scope):
        return "a later loop reads the derived value, which would go stale once the leaf is updated; compute it inside the loop"
    return None


def _compounds(analysis: Analysis, node: ast.AST, scope: ast.AST) -> list[ast.AST]:
    """Branching and looping statements around ``node`` inside its scope, outermost first."""
    out = []
    for ancestor in analysis.ancestors(node):
        if ancestor is scope:
            break
        if isinstance(ancestor, _COMPOUND):
            out.append(ancestor)
    return list(reversed(out))


def _in_later_loop(analysis: Analysis, loads, statement: ast.AST, scope: ast.AST) -> bool:
    """Some load sits in a loop that does not contain ``statement``."""
    around = [a for a in analysis.ancestors(statement)]
    for load in loads:
        for ancestor in analysis.ancestors(load):
            if ancestor is scope:
                break
            if isinstance(ancestor, _LOOPS) and not any(a is ancestor for a in around):
                return True
    return False


def _suffix(value: ast.expr) -> str:
    if isinstance(value, ast.BinOp):
        return _SUFFIX_BY_OPERATOR.get(type(value.op), "derived")
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return _SUFFIX_BY_METHOD.get(value.func.attr, "derived")
    return "derived"


def _rename(ctx, names: list[ast.Name], new: str) -> Fix | None:
    nodes = [ctx.node_for(n) for n in names]
    if any(n is None for n in nodes):
        return None
    return Fix([(n, cst.Name(new)) for n in nodes], Applicability.SAFE, f"rename the derived value to `{new}`")
