"""Cheap looks at CPython's ``ast`` tree shared by the quick checks of GF101, GF104, GF105,
GF107 and GF112 (see ``gradfix/rule.py``): what the file imports, and which names it uses as
leaves. Each is a necessary condition of what the rules' ``detect`` asks the value analysis,
computed once per tree and stored on it (nothing here holds the tree: no cycle to break)."""

from __future__ import annotations

import ast
import re

from ._ast import attributes_named, class_calls, imports_of, imports_torch, nodes_of, parents_of, walked  # noqa: F401 (imports_torch: for the rules)
from ._text import _memoized
from ._values import _FRAMEWORK_MODULE_BASES, Imports, dotted, grad_disabling


def _is_optimizer(imports: Imports, call: ast.Call) -> bool:
    """``_uses._is_optimizer``, on the imports alone."""
    qualified = imports.qualify(call.func) or ""
    return qualified.startswith("torch.optim.") and qualified.rsplit(".", 1)[-1][:1].isupper() and ".lr_scheduler." not in qualified


def leaf_used_names(tree: ast.Module) -> "set[str]":
    """Every name that may have a ``LEAF`` use in ``_uses`` (anywhere in the file, any scope):
    ``name.grad``, a name inside the arguments of a ``torch.optim`` optimizer, or a name in a
    list/tuple literal assigned to such a name (``params = [w, b]``, transitively). A superset:
    ``_uses`` asks for these in the same scope, after the statement."""
    found = tree.__dict__.get("_gradfix_leaf_names")
    if found is not None:
        return found
    names: set[str] = set()
    for node in attributes_named(tree, "grad"):
        if isinstance(node.value, ast.Name):
            names.add(node.value.id)
    imports = imports_of(tree)
    for call in class_calls(tree, imports.aliases):  # (an optimizer is a class)
        if (call.args or call.keywords) and _is_optimizer(imports, call):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                names.update(n.id for n in walked(arg) if isinstance(n, ast.Name))
    listed = [
        (node.targets[0].id, node.value)
        for node in nodes_of(tree, ast.Assign)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, (ast.List, ast.Tuple))
    ]
    while True:  # each list is taken at most once: linear in the lists
        taken = [(holder, value) for holder, value in listed if holder in names]
        if not taken:
            break
        listed = [(holder, value) for holder, value in listed if holder not in names]
        for _, value in taken:
            names.update(n.id for n in walked(value) if isinstance(n, ast.Name))
    tree._gradfix_leaf_names = names  # type: ignore[attr-defined]
    return names


_PARAMETER_ATTRIBUTES = frozenset({"weight", "bias", "parameters", "named_parameters", "register_parameter"})


def may_hold_parameters(tree: ast.Module) -> bool:
    """Some value of the file may be an ``nn.Parameter`` (``Value.parameter``): the analysis
    makes one only of ``nn.Parameter(...)``, a ``ParameterList``/``ParameterDict``, a module's
    ``weight``/``bias``/``weight_*``/``bias_*``, ``parameters()``/``named_parameters()`` and
    ``register_parameter``; every other Parameter is one of these, passed on."""
    found = tree.__dict__.get("_gradfix_parameters")
    if found is None:
        found = any(
            node.attr in _PARAMETER_ATTRIBUTES or node.attr.startswith(("weight_", "bias_", "Parameter"))
            for node in nodes_of(tree, ast.Attribute)
        ) or any(qualified.rsplit(".", 1)[-1].startswith("Parameter") for qualified in imports_of(tree).aliases.values())
        tree._gradfix_parameters = found  # type: ignore[attr-defined]
    return found


_GRAPH_KEYWORDS = ("requires_grad", "create_graph")
_GRAPH_ATTRIBUTES = frozenset({"requires_grad", "requires_grad_", "parameters", "named_parameters", "register_parameter"})


def may_carry_graph(tree: ast.Module) -> bool:
    """Some value of the file may carry a graph (``Value.carries``): the analysis starts a graph
    only at a leaf (``requires_grad=True``, ``.requires_grad = ...``, ``.requires_grad_()``, a
    Parameter: ``nn.Parameter``, ``ParameterList``, ``parameters()``, ``register_parameter``),
    at ``autograd.grad(..., create_graph=...)``, and at a module (a ``torch.nn`` class called,
    or a class of the file with a ``torch.nn`` or framework base: its outputs, its ``self``
    attributes, its ``weight``). Every other graph is one of these passed on."""
    found = tree.__dict__.get("_gradfix_graph")
    if found is None:
        found = tree._gradfix_graph = _may_carry_graph(tree)  # type: ignore[attr-defined]
    return found


def _may_carry_graph(tree: ast.Module) -> bool:
    if any(node.arg in _GRAPH_KEYWORDS for node in nodes_of(tree, ast.keyword)):
        return True
    if any(node.attr in _GRAPH_ATTRIBUTES or node.attr.startswith("Parameter") for node in nodes_of(tree, ast.Attribute)):
        return True
    imports = imports_of(tree)
    if any(qualified.rsplit(".", 1)[-1].startswith("Parameter") for qualified in imports.aliases.values()):
        return True
    for node in nodes_of(tree, ast.ClassDef):
        for base in node.bases:
            if (imports.qualify(base) or "").startswith("torch.nn.") or (dotted(base) or "").rsplit(".", 1)[-1] in _FRAMEWORK_MODULE_BASES:
                return True
    for call in nodes_of(tree, ast.Call):
        qualified = imports.qualify(call.func) or ""
        if qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[-1][:1].isupper():
            return True
    return False


def grad_disabled(tree: ast.Module, node: ast.AST) -> bool:
    """``Analysis.grad_disabled`` on the tree alone: inside ``with torch.no_grad():`` (or alike)
    or in a function decorated with it (the rules' ``detect`` skips such nodes)."""
    parents, imports = parents_of(tree), imports_of(tree)
    ancestor = parents.get(id(node))
    while ancestor is not None:
        if isinstance(ancestor, (ast.With, ast.AsyncWith)):
            states = [grad_disabling(item.context_expr, imports) for item in ancestor.items]
            if True in states:
                return True
            if False in states:
                return False
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return any(grad_disabling(d, imports) for d in ancestor.decorator_list)
        ancestor = parents.get(id(ancestor))
    return False


_GRAPH_STRINGS = ("requires_grad", "create_graph", "arameter", *_FRAMEWORK_MODULE_BASES)
_NN = re.compile(r"nn\b")


@_memoized
def may_carry_graph_text(source: str) -> bool:
    """The text that :func:`may_carry_graph` needs: ``requires_grad``, ``create_graph``,
    ``Parameter``/``parameters``/``register_parameter``, a framework module base, or the word
    ``nn`` (every name the imports qualify into ``torch.nn`` is spelled through it:
    ``torch.nn``, ``from torch import nn``). Memoized per source (GF101 and GF104 ask); the
    word ``nn`` is looked for first: most files that import torch name it near the top."""
    for match in _NN.finditer(source):
        start = match.start()
        if not start or not (source[start - 1].isalnum() or source[start - 1] == "_"):
            return True
    return any(s in source for s in _GRAPH_STRINGS)
