"""Cheap looks at CPython's ``ast`` tree, for the rules' ``quick_check`` (run before any
LibCST parse: an order of magnitude cheaper)."""

from __future__ import annotations

import ast


def called_name(call: ast.Call) -> str:
    """The last name of what ``call`` calls: ``tensor`` for ``torch.tensor(...)``, else ``""``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def nodes_of(tree: ast.AST, *types: type) -> list[ast.AST]:
    """Every node of these types in ``tree``, in ``ast.walk`` order, from one index of the tree
    shared by every rule's ``quick_check`` and the value analysis (no walk per rule)."""
    from ._values import indexed

    by_type = indexed(tree)[1]
    if len(types) == 1:
        return by_type.get(types[0], [])
    return [node for t in types for node in by_type.get(t, [])]


def parents_of(tree: ast.AST) -> dict[int, ast.AST]:
    """Node id -> parent node, from the same shared index."""
    from ._values import indexed

    return indexed(tree)[0]


def calls(tree: ast.AST):
    """(call, called name) for every call in ``tree``."""
    for node in nodes_of(tree, ast.Call):
        yield node, called_name(node)
