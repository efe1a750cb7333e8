"""GF119 layer-built-in-forward."""

from __future__ import annotations

import ast
import re

from gradfix.rule import Rule

from . import _torch
from ._ast import called_names, calls_named, import_aliases, parents_of
from ._flow_ast import walk
from ._values import _CANONICAL, Analysis, dotted

# torch.nn classes that hold no weights of their own (beyond the parameter-free layers).
_NOT_LAYERS = {"Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Module", "Identity"}
# Statements whose body may not run at every call: a lazy build (`if self.proj is None:`).
_CONDITIONAL = (ast.If, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), ast.Match)


class LayerBuiltInForward(Rule):
    """
    A layer constructed inside `forward` is new, and untrained, at every call.

    `nn.Linear(64, 10)(h)` (or `norm = nn.LayerNorm(d)` then `norm(x)`) in `forward` builds a
    fresh module each time the model runs: its weights are drawn at random on every call,
    `model.parameters()` never holds them (they did not exist when the optimizer was made),
    so the layer never trains, the output changes from call to call, and `state_dict()` does
    not save it. Nothing raises; the loss just stays high.

    Bad:

        class Classifier(nn.Module):
            def __init__(self, dim, classes):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(dim, 64), nn.ReLU())
                self.classes = classes

            def forward(self, x):
                return nn.Linear(64, self.classes)(self.body(x))

    Good:

        class Classifier(nn.Module):
            def __init__(self, dim, classes):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(dim, 64), nn.ReLU())
                self.head = nn.Linear(64, classes)

            def forward(self, x):
                return self.head(self.body(x))

    Only torch.nn layers that hold weights (`Linear`, convolutions, norms with affine
    weights, embeddings, recurrent layers...), built in the `forward` of an `nn.Module`
    class of the file on every call: a build under `if` (a lazy one-time build such as
    `if self.proj is None: self.proj = nn.Linear(...)`) or a `try`, or under `no_grad` is
    left alone, as are activations, dropout, pooling and losses, which hold no
    weights.

    Reported without a fix: where the layer belongs in `__init__`, and the sizes it is built
    with there (they often come from the input's shape), are the author's choice.
    """

    code = "GF119"
    name = "layer-built-in-forward"
    summary = "a torch.nn layer with weights is constructed in `forward`: new random weights at every call, never trained"
    fixable = False  # where the layer goes in `__init__`, and its sizes there, are the author's
    # detect reads the `forward` methods of the file's module classes; what they build is a
    # call of a capitalised name (`nn.Linear(`, `Linear(`), which the quick check looks for.
    literals = ("def forward",)
    requires = (("torch",),)
    trigger = re.compile(r"def forward[ \t]*\(")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A call of a capitalised name that may be a layer (`nn.Linear`, `torch.nn.Conv2d`,
        `Linear` imported from torch.nn), spelled from a name imported from torch, inside a
        `forward`: from the file's table of calls by name, not a walk of every forward."""
        names = [n for n in called_names(tree) if n[:1].isupper() and n not in _torch.PARAMETER_FREE_MODULES and n not in _NOT_LAYERS]
        if not names:
            return False
        aliases = import_aliases(tree)
        torch_names = {local for local, qualified in aliases.items() if any(q == "torch" or q.startswith("torch.") for q in qualified)}
        parents = parents_of(tree)
        for call in calls_named(tree, names):
            if (dotted(call.func) or "").split(".")[0] in torch_names and _in_forward(parents, call):
                return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for info in analysis.classes.values():
            forward = info.methods.get("forward")
            if not info.is_module or forward is None:
                continue
            for node in walk(forward.body):
                if type(node) is not ast.Call:
                    continue
                layer = _layer(analysis, node)
                if layer is None or _conditional(analysis, node, forward) or analysis.grad_disabled(node):
                    continue
                written = ast.unparse(node.func)
                yield self.finding(
                    node,
                    f"`{written}(...)` is constructed in `forward`: every call builds new, randomly initialised "
                    f"weights that `parameters()` and the optimizer never see, so the layer never trains (and the "
                    f"output changes from call to call); construct it once in `__init__` (`self.<name> = {written}(...)`) "
                    "and call that here",
                )


def _layer(analysis: Analysis, call: ast.Call) -> str | None:
    """The torch.nn class ``call`` constructs, when it is a layer with weights."""
    qualified = analysis.qualify(call.func) or ""
    qualified = _CANONICAL.get(qualified, qualified)
    if not qualified.startswith("torch.nn.") or qualified.count(".") != 2:
        return None  # (torch.nn.functional.*, torch.nn.utils.*: functions and helpers)
    last = qualified.rsplit(".", 1)[-1]
    if not last[:1].isupper() or last in _torch.PARAMETER_FREE_MODULES or last in _NOT_LAYERS:
        return None
    return last


def _conditional(analysis: Analysis, node: ast.AST, forward: ast.FunctionDef) -> bool:
    """Whether ``node`` may not run at every call of ``forward`` (under an `if` or a `try`, in
    a nested function or lambda)."""
    for ancestor in analysis.ancestors(node):
        if ancestor is forward:
            return False
        if isinstance(ancestor, (*_CONDITIONAL, ast.IfExp, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return True
    return True


def _in_forward(parents, node: ast.AST) -> bool:
    """Whether the function ``node`` is in is a method named `forward`."""
    current = parents.get(id(node))
    while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        current = parents.get(id(current))
    return isinstance(current, ast.FunctionDef) and current.name == "forward"
