"""`loss.requires_grad = True` and the like: what hides a cut loss, and what a fix must drop.

On a tensor with no graph, forcing ``requires_grad`` makes a fresh leaf: the "element 0 of
tensors does not require grad" error goes away, backward runs, and no parameter gets a
gradient. Once a fix gives the loss its graph back, ``loss.requires_grad = True`` raises
("you can only change requires_grad flags of leaf variables"), so a fix drops the statement.
"""

from __future__ import annotations

import ast
from functools import partial

import libcst as cst

from gradfix.rule import Fix, LazyFix

from ._flow_ast import forced_requires_grad, statements, target_names
from ._values import Analysis, dotted


def forcing(analysis: Analysis, node: ast.AST, names: set[str], after: bool = False) -> list[ast.stmt]:
    """The statements before ``node`` (``after``: after it) in its scope that force
    ``requires_grad`` on one of ``names``."""
    if not names or (analysis.source and "requires_grad" not in analysis.source):
        return []  # (most files never force it: no walk of the scope)
    scope = analysis.enclosing_function(node) or analysis.tree
    at = (node.lineno, node.col_offset)
    return [
        s for s in statements(scope.body)
        if ((s.lineno, s.col_offset) > at if after else (s.lineno, s.col_offset) < at) and forced_requires_grad(s) in names
    ]


def forcing_before(analysis: Analysis, node: ast.AST) -> list[ast.stmt]:
    """What forces ``requires_grad`` on what ``node`` names, before it."""
    name = dotted(node)
    return forcing(analysis, node, {name}) if name is not None else []


def forcing_on_result(analysis: Analysis, node: ast.AST) -> list[ast.stmt]:
    """What forces ``requires_grad`` on the names the statement holding ``node`` binds."""
    stmt = node
    while stmt is not None and not isinstance(stmt, ast.stmt):
        stmt = analysis.parent(stmt)
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return []
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    names = set().union(*(target_names(t) for t in targets))
    return forcing(analysis, stmt, names, after=True)


def dropping(fix: LazyFix | None, forcing: list[ast.AST]) -> LazyFix | None:
    """``fix``, made to remove ``forcing`` too: a statement (alone on its line, not alone in its
    block, else the fix is not built; one a ``requires_grad`` test guards stays, it never runs
    once the graph is back), or a ``x.requires_grad_()`` call, which becomes ``x``."""
    if fix is None or not forcing:
        return fix
    fix.build = partial(_dropped, build=fix.build, forcing=forcing)
    fix.description += ", and drop what forced `requires_grad` (it raises once the graph is back)"
    return fix


def _dropped(ctx, build, forcing: list[ast.AST]) -> Fix | None:
    fix = build(ctx)
    if fix is None:
        return None
    edits = list(fix.edits)
    for node in forcing:
        found = ctx.node_for(node)
        if isinstance(node, ast.Call):
            # `x.requires_grad_()` used for its result: `x`, with the fix's own edits inside it.
            if not isinstance(found, cst.Call) or not isinstance(found.func, cst.Attribute):
                return None
            receiver = found.func.value
            inside = _node_ids(receiver)
            for edited, replacement in [e for e in edits if id(e[0]) in inside]:
                if not isinstance(replacement, cst.CSTNode):
                    return None
                receiver = receiver.deep_replace(edited, replacement)
                edits.remove((edited, replacement))
            edits.append((found, receiver))
            continue
        removal = removal_of(ctx, found)
        if removal is None:
            if _guarded(ctx, found):
                continue  # `if not loss.requires_grad: ...`: with the graph back, it never runs
            return None
        edits.append(removal)
    return Fix(edits, fix.applicability, fix.description)


def _node_ids(root) -> set[int]:
    found: set[int] = set()

    class Collect(cst.CSTVisitor):
        def on_visit(self, node) -> bool:
            found.add(id(node))
            return True

    root.visit(Collect())
    return found


def _guarded(ctx, node) -> bool:
    """Whether the statement ``node`` runs only when a ``requires_grad`` test says so."""
    line = ctx.parent(node) if node is not None else None
    block = ctx.parent(line) if line is not None else None
    test = getattr(ctx.parent(block), "test", None) if block is not None else None
    return test is not None and "requires_grad" in cst.Module([]).code_for_node(test)


def removal_of(ctx, node) -> tuple | None:
    """The edit that removes the LibCST statement ``node``: its line, when the statement is
    alone on it and not alone in its block (None otherwise)."""
    line = ctx.parent(node) if node is not None else None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    block = ctx.parent(line)
    if block is None or len(getattr(block, "body", ())) == 1:
        return None  # the only statement of its block
    return line, cst.RemoveFromParent()
