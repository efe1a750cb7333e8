"""LibCST helpers for building fixes: keyword arguments, and how a file spells ``torch``.

Detection never uses these (it runs on ``ast``: see ``_values.py``); they run only when a
fix is built.
"""

from __future__ import annotations

import ast

import libcst as cst

from gradfix.context import FileContext

from ._values import Imports


def _imports(ctx: FileContext) -> Imports:
    return ctx.cached(Imports, lambda: Imports(ast.parse(ctx.source)))


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def torch_module(ctx: FileContext) -> tuple[cst.BaseExpression, list[tuple[cst.CSTNode, cst.CSTNode]]]:
    """How this file spells the ``torch`` module in new code, and the edits that import it.

    ``T`` after ``import torch as T``; ``torch`` otherwise, with an ``import torch`` added
    before the first import from torch when the file only has ``from torch import ...``.
    """
    for local, qualified in _imports(ctx).aliases.items():
        if qualified == "torch" and local.isidentifier():
            return cst.Name(local), []
    for statement in ctx.module.body:
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
        ):
            new_import = cst.SimpleStatementLine([cst.Import([cst.ImportAlias(cst.Name("torch"))])])
            return cst.Name("torch"), [(statement, cst.FlattenSentinel([new_import, statement]))]
    return cst.Name("torch"), []


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value`` written the way PEP 8 writes keyword arguments."""
    return cst.Arg(
        value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )
