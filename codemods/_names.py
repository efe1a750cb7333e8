"""Qualified names: which ``torch`` (or other library) object an expression names.

Resolves every import form real code uses (``import torch as T``, ``from torch import
tensor``, ``from torch import nn``, ``import torch.nn as nn``, ``from torch.nn import
Parameter``) with one pass over the file's imports. It is a cheap, scope-blind stand-in for
LibCST's QualifiedNameProvider, which is too slow to run on every file.
"""

from __future__ import annotations

import libcst as cst

from gradfix.context import FileContext

# Public re-exports that real code spells in more than one way.
_CANONICAL = {
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.autograd.grad_mode.no_grad": "torch.no_grad",
    "torch.autograd.no_grad": "torch.no_grad",
    "torch.autograd.grad_mode.inference_mode": "torch.inference_mode",
    "torch.autograd.grad_mode.set_grad_enabled": "torch.set_grad_enabled",
    "torch.autograd.set_grad_enabled": "torch.set_grad_enabled",
    "torch.distributions.normal.Normal": "torch.distributions.Normal",
}


def dotted_name(expr: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def _module_dotted(node: cst.BaseExpression) -> str:
    return dotted_name(node) or ""


class ImportMap:
    """Local binding name -> the qualified name it was imported as."""

    def __init__(self, module: cst.Module) -> None:
        self.aliases: dict[str, str] = {}
        for node in _walk_imports(module):
            if isinstance(node, cst.Import):
                for alias in node.names:
                    full = _module_dotted(alias.name)
                    if alias.asname is not None:
                        self.aliases[alias.asname.name.value] = full  # type: ignore[union-attr]
                    else:
                        head = full.split(".")[0]
                        self.aliases[head] = head
            elif isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
                base = _module_dotted(node.module)
                if isinstance(node.names, cst.ImportStar):
                    continue
                for alias in node.names:
                    name = _module_dotted(alias.name)
                    local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
                    self.aliases[local] = f"{base}.{name}"

    def qualify(self, expr: cst.BaseExpression) -> str | None:
        """The qualified name ``expr`` refers to through an import, or None."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head)
        if base is None:
            return None
        full = f"{base}.{rest}" if rest else base
        return _CANONICAL.get(full, full)

    def imports_module(self, prefix: str) -> bool:
        return any(v == prefix or v.startswith(prefix + ".") for v in self.aliases.values())


def _walk_imports(module: cst.Module):
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            yield node
            continue
        if isinstance(node, cst.BaseExpression):
            continue  # imports are statements; skip expression subtrees for speed
        stack.extend(node.children)


def imports(ctx: FileContext) -> ImportMap:
    return ctx.cached(ImportMap, lambda: ImportMap(ctx.module))



def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def is_true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def is_false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def torch_module(ctx: FileContext) -> tuple[cst.BaseExpression, list[tuple[cst.CSTNode, cst.CSTNode]]]:
    """How this file spells the ``torch`` module in new code, and the edits that import it.

    ``T`` after ``import torch as T``; ``torch`` otherwise, with an ``import torch`` added
    before the first import from torch when the file only has ``from torch import ...``.
    """
    for local, qualified in imports(ctx).aliases.items():
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
