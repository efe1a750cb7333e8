"""GF104 leaf-rebind."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._graph import Carry, flow_for, scope_of
from ._leaves import LEAF, LOAD, STORE, fresh_name, is_leaf_creation, name_ids_in, occurrences, span

_COMPOUND = (cst.If, cst.For, cst.While, cst.Try, cst.Match) if hasattr(cst, "Match") else (cst.If, cst.For, cst.While, cst.Try)
_LOOPS = (cst.For, cst.While)
# How the new name describes the derived value.
_SUFFIX_BY_OPERATOR = {
    cst.Multiply: "scaled", cst.Divide: "scaled", cst.Add: "shifted", cst.Subtract: "shifted",
    cst.Power: "pow", cst.MatrixMultiply: "mm",
}
_SUFFIX_BY_METHOD = {
    "view": "view", "reshape": "reshaped", "t": "t", "transpose": "t", "permute": "permuted",
    "to": "converted", "double": "converted", "float": "converted", "half": "converted", "cuda": "converted",
    "unsqueeze": "reshaped", "squeeze": "reshaped", "flatten": "flat", "clone": "copy",
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
    with the `torch.no_grad()` in-place form to use instead.
    """

    code = "GF104"
    name = "leaf-rebind"
    summary = "a leaf that requires grad is rebound to a value derived from it, then its `.grad` is read"
    trigger = re.compile(r"\.grad\b|optim\.")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """Some ``name = <expression reading name>``."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.value)):
                    return True
        return False

    def check(self, ctx):
        done: set[int] = set()
        for assign in _assigns(ctx.module):
            target = assign.targets[0].target
            name = target.value  # type: ignore[union-attr]
            scope = scope_of(ctx, assign)
            key = (id(scope), name)
            names = occurrences(ctx, scope)
            occs = names.of(name)
            inside = name_ids_in(assign)
            first, last = span(occs, inside)
            store = next((o for o in occs if o.node is target), None)
            if store is None or not any(o.kind != STORE and o.index < store.index and id(o.node) in inside for o in occs):
                continue  # the right side does not read the name
            if is_leaf_creation(ctx, assign.value) or flow_for(ctx, assign).carries(assign.value, assign) is not Carry.YES:
                continue
            previous = [o for o in occs if o.kind == STORE and o.index < first]
            if not previous:
                continue
            definition = _definition(ctx, previous[-1].node)
            if definition is None or not is_leaf_creation(ctx, definition.value):
                continue
            statement = _statement(ctx, assign)
            s_chain = _compounds(ctx, statement, scope)
            d_chain = _compounds(ctx, _statement(ctx, definition), scope)
            common = [c for c in s_chain if any(c is d for d in d_chain)]
            s_extra = [c for c in s_chain if not any(c is x for x in common)]
            d_extra = [c for c in d_chain if not any(c is x for x in common)]
            loop = next((c for c in s_extra if isinstance(c, _LOOPS)), None)
            later = [o for o in occs if o.index > last]
            if loop is not None:
                loop_ids = name_ids_in(loop)
                leaf_uses = [o for o in occs if o.kind == LEAF and (o.index > last or id(o.node) in loop_ids)]
            else:
                leaf_uses = [o for o in later if o.kind == LEAF]
            if not leaf_uses or id(assign) in done:
                continue
            done.add(id(assign))
            reads_grad = any(o.kind == LEAF and id(o.node) in inside for o in occs)
            if reads_grad:
                yield self.finding(
                    assign,
                    f"`{name}` is rebound to a non-leaf by a manual update, so its next `.grad` is None; "
                    f"update in place instead: `with torch.no_grad(): {name} -= ...`, then zero `{name}.grad`",
                )
                continue
            if loop is not None:
                yield self.finding(
                    assign,
                    f"`{name}` (a leaf that requires grad) is rebound to a derived tensor inside a loop, so "
                    f"later `.grad` reads and optimizers get a non-leaf; bind the result to a new name (not fixed: the rebinding is loop-carried)",
                )
                continue
            reason = None
            if s_extra or d_extra:
                reason = "the rebinding is conditional"
            elif name in names.unsafe or name in names.nested_loads:
                reason = f"`{name}` is also used by nested code or declared global"
            elif any(o.kind == STORE for o in later):
                reason = f"`{name}` is rebound again later"
            elif common and isinstance(common[-1], _LOOPS):
                loop_ids = name_ids_in(common[-1])
                d_first = min(o.index for o in occs if id(o.node) in name_ids_in(definition))
                if any(o.index < d_first and id(o.node) in loop_ids for o in occs) or any(
                    id(o.node) not in loop_ids for o in later
                ):
                    reason = "the name is used across loop iterations"
            elif common and any(id(o.node) not in name_ids_in(common[-1]) for o in later):
                reason = "the name is used after the enclosing block"
            elif _used_in_later_loop(ctx, [o.node for o in later if o.kind == LOAD], statement, scope):
                reason = "a later loop reads the derived value, which would go stale once the leaf is updated; compute it inside the loop"
            if reason is not None:
                yield self.finding(
                    assign,
                    f"`{name}` (a leaf that requires grad) is rebound to a derived tensor, so later `.grad` reads and "
                    f"optimizers get a non-leaf; bind the result to a new name (not fixed: {reason})",
                )
                continue
            new = fresh_name(ctx, f"{name}_{_suffix(assign.value)}")
            edits = [(target, cst.Name(new))]
            edits += [(o.node, cst.Name(new)) for o in later if o.kind == LOAD]
            yield self.finding(
                assign,
                f"`{name}` (a leaf that requires grad) is rebound to a derived tensor, so later `.grad` reads and "
                f"optimizers get a non-leaf; bind the result to `{new}` and keep `{name}` for the leaf",
                Fix(edits, Applicability.SAFE, f"rename the derived value to `{new}`"),
            )


def _assigns(module: cst.Module):
    """``name = <expr>`` statements with one plain-name target, in source order."""
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign):
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                yield node
            continue
        if isinstance(node, cst.BaseExpression):
            continue
        stack.extend(reversed(node.children))


def _definition(ctx, name_node: cst.Name) -> cst.Assign | None:
    parent = ctx.parent(name_node)
    if isinstance(parent, cst.AssignTarget):
        assign = ctx.parent(parent)
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign
    return None


def _statement(ctx, small: cst.CSTNode) -> cst.CSTNode:
    parent = ctx.parent(small)
    return parent if isinstance(parent, cst.SimpleStatementLine) else small


def _compounds(ctx, node: cst.CSTNode, scope) -> list[cst.CSTNode]:
    """Branching and looping statements around ``node`` inside its scope, outermost first."""
    out = []
    for ancestor in ctx.ancestors(node):
        if ancestor is scope:
            break
        if isinstance(ancestor, _COMPOUND):
            out.append(ancestor)
    return list(reversed(out))


def _used_in_later_loop(ctx, loads, statement, scope) -> bool:
    """Some load sits in a loop that does not contain ``statement``."""
    for load in loads:
        for ancestor in ctx.ancestors(load):
            if ancestor is scope:
                break
            if isinstance(ancestor, _LOOPS) and not any(a is ancestor for a in ctx.ancestors(statement)):
                return True
    return False


def _suffix(value: cst.BaseExpression) -> str:
    if isinstance(value, cst.BinaryOperation):
        return _SUFFIX_BY_OPERATOR.get(type(value.operator), "derived")
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        return _SUFFIX_BY_METHOD.get(value.func.attr.value, "derived")
    return "derived"
