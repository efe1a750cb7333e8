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


def calls(tree: ast.AST):
    """(call, called name) for every call in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, called_name(node)
