"""GF117 reentrant-checkpoint."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import calls_named, nodes_of
from ._flow_ast import keyword, statements, target_names, walk
from ._names import kwarg
from ._values import Analysis, Graph, Kind, _parameter_names, dotted

_TORCH_CHECKPOINTS = {
    "torch.utils.checkpoint.checkpoint": "checkpoint",
    "torch.utils.checkpoint.checkpoint_sequential": "checkpoint_sequential",
}
# `utils.checkpoint`, `from torch.utils import ... checkpoint`, or an alias of torch.utils
# (`import torch.utils as tu`: `tu.checkpoint.checkpoint`; anything may follow it).
_TORCH_IMPORT = re.compile(r"utils(?:\.checkpoint|\s+import\s*(?:\([^)]*|(?:[\w \t,]|\\\n)*)\bcheckpoint|\s+as\s)")
_DEEPSPEED_MODULE = re.compile(r"(?<!\w)checkpointing")
# The last names of those functions (what a call of one is spelled with, unless imported as another name).
_CALLED_NAMES = {"checkpoint", "checkpoint_sequential"}
# DeepSpeed's activation checkpoint is always reentrant (it has no `use_reentrant`).
_DEEPSPEED_CHECKPOINTS = {
    "deepspeed.checkpointing.checkpoint",
    "deepspeed.runtime.activation_checkpointing.checkpointing.checkpoint",
}
# Keywords of torch's checkpoint that are options, not inputs of the checkpointed function.
_OPTIONS = {"use_reentrant", "preserve_rng_state", "context_fn", "determinism_check", "debug", "early_stop"}
# Methods that keep a data batch a data batch (no graph in, no graph out).
_DATA_METHODS = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "long", "int", "contiguous",
                 "view", "reshape", "permute", "transpose", "unsqueeze", "squeeze", "flatten", "pin_memory"}
_LOADER_NAME = re.compile(r"loader|(^|_)dl$|batches$", re.I)
_LOADER_WRAPPERS = {"enumerate", "tqdm", "iter", "zip"}
# Parameters of a module's forward that hold the model's raw inputs (transformers' names).
_RAW_INPUTS = {"input_ids", "input_features", "input_values", "pixel_values", "pixel_values_videos"}


class ReentrantCheckpoint(Rule):
    """
    A reentrant activation checkpoint whose inputs do not require grad: the parameters inside
    the checkpointed function get no gradient.

    `torch.utils.checkpoint.checkpoint(fn, *args)` and `checkpoint_sequential(...)` with
    `use_reentrant=True` run `fn` under `torch.no_grad()` and attach the recomputation to
    the *inputs* through a custom autograd function. When no input requires grad (a raw data
    batch, the output of a frozen embedding or of a `torch.no_grad()` block, a LoRA model
    whose base is frozen), that function is not recorded at all: torch warns "None of the
    inputs have requires_grad=True. Gradients will be None", the output has no graph, and
    every parameter inside `fn` keeps `grad` None while the layers after it train normally.
    The non-reentrant variant (`use_reentrant=False`) records the graph through the
    parameters themselves, so they get their gradients.

    In torch 2.13, leaving `use_reentrant` unset still means `True` (with a warning that
    asks for the argument to be passed explicitly), so an unset argument is reported too.

    The rule reports only when the value analysis shows that no input carries a graph (a
    tensor built by a constructor, `.detach()`, an integer cast, a `torch.no_grad()` output,
    a batch of a `DataLoader` loop, the output of a frozen `nn.Embedding` or of a module
    frozen with `requires_grad_(False)`, and a module `forward`'s raw model inputs by the
    transformers naming convention, `input_ids`, `input_features`, `input_values`,
    `pixel_values`, when no caller in the file passes a graph for them). When an input
    does carry a graph, the reentrant variant computes the right gradients and the rule is
    silent. A `use_reentrant` given as a variable, or `**kwargs` that may hold it, is left
    alone. DeepSpeed's `deepspeed.checkpointing.checkpoint` is always reentrant: it is
    reported without a fix.

    Bad:

        embed.requires_grad_(False)
        h = embed(token_ids)
        h = checkpoint(block, h, use_reentrant=True)   # block.weight.grad is None

    Good:

        h = checkpoint(block, h, use_reentrant=False)

    Fix safety: safe. Both variants compute the same forward values (bitwise, checked on
    torch 2.13 with `preserve_rng_state` for dropout) and the same gradients wherever the
    reentrant one gives any. The non-reentrant variant also supports keyword arguments,
    nested outputs and `torch.autograd.grad`, and checks that the recomputation matches
    (`determinism_check`).
    """

    code = "GF117"
    name = "reentrant-checkpoint"
    summary = "reentrant `checkpoint` whose inputs do not require grad leaves the parameters inside without gradients; use `use_reentrant=False`"
    # detect needs a call that qualifies to torch.utils.checkpoint.* or to deepspeed's
    # checkpointing: its import names `utils` (torch's) or `deepspeed`, and `checkpoint`.
    literals = ("utils", "deepspeed")
    requires = (("checkpoint",),)
    # The text check tells torch.utils.checkpoint.checkpoint(...), import
    # torch.utils.checkpoint as cp, from torch.utils import (data, checkpoint), import
    # torch.utils as tu and
    # deepspeed.checkpointing from "save a checkpoint". (The trigger is the one string both
    # need, literal: `utils...|deepspeed` has no literal start, and `re` tried it at every
    # `u` and `d` of the file.)
    trigger = re.compile(r"checkpoint")

    @staticmethod
    def text_check(source: str) -> bool:
        """torch's checkpoint, or DeepSpeed's: its qualified names go through a module
        `checkpointing` (not transformers' `gradient_checkpointing`)."""
        if _TORCH_IMPORT.search(source) is not None:
            return True
        return "deepspeed" in source and _DEEPSPEED_MODULE.search(source) is not None

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A call of ``checkpoint``/``checkpoint_sequential`` (or of a name imported as one)."""
        names = set(_CALLED_NAMES)
        for node in nodes_of(tree, ast.ImportFrom):
            names.update(a.asname for a in node.names if a.asname and a.name in _CALLED_NAMES)  # type: ignore[attr-defined]
        return bool(calls_named(tree, names))

    def detect(self, analysis: Analysis):
        if not (analysis.imports.imports_module("torch") or analysis.imports.imports_module("deepspeed")):
            return
        for call in analysis.calls():
            qualified = analysis.qualify(call.func)
            if qualified in _TORCH_CHECKPOINTS:
                finding = self._torch_checkpoint(analysis, call, _TORCH_CHECKPOINTS[qualified])
            elif qualified in _DEEPSPEED_CHECKPOINTS:
                finding = self._deepspeed_checkpoint(analysis, call)
            else:
                continue
            if finding is not None:
                yield finding

    def _torch_checkpoint(self, analysis: Analysis, call: ast.Call, which: str):
        if any(k.arg is None for k in call.keywords):
            return None  # **kwargs may set use_reentrant
        flag = keyword(call, "use_reentrant")
        if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is True):
            return None
        inputs = _inputs(call, which)
        if inputs is None or analysis.grad_disabled(call) or not all(_no_graph(analysis, i) for i in inputs):
            return None
        setting = "`use_reentrant=True`" if flag is not None else "an unset `use_reentrant` (which means `True` in torch 2.13)"
        message = (
            f"`{which}` with {setting} gets no input that requires grad, so the parameters inside the "
            "checkpointed function get no gradient; pass `use_reentrant=False`"
        )
        fix = LazyFix(partial(_non_reentrant, call=call), Applicability.SAFE, "pass `use_reentrant=False`")
        return self.finding(call, message, fix)

    def _deepspeed_checkpoint(self, analysis: Analysis, call: ast.Call):
        inputs = _inputs(call, "checkpoint")
        if inputs is None or analysis.grad_disabled(call) or not all(_no_graph(analysis, i) for i in inputs):
            return None
        return self.finding(
            call,
            "DeepSpeed's `checkpoint` is reentrant and gets no input that requires grad, so the parameters inside "
            "the checkpointed function get no gradient; use `torch.utils.checkpoint.checkpoint(..., use_reentrant=False)` "
            "or make an input require grad",
        )


def _inputs(call: ast.Call, which: str) -> list[ast.expr] | None:
    """The tensors handed to the checkpointed function (starred ones as their container)."""
    if which == "checkpoint_sequential":
        given = call.args[2:3] or [k.value for k in call.keywords if k.arg == "input"]
        return given or None
    if not call.args or isinstance(call.args[0], ast.Starred):
        return None
    inputs = [a.value if isinstance(a, ast.Starred) else a for a in call.args[1:]]
    inputs += [k.value for k in call.keywords if k.arg not in _OPTIONS]
    return inputs or None


def _no_graph(analysis: Analysis, expr: ast.expr, depth: int = 0) -> bool:
    """Whether ``expr`` surely holds no tensor that requires grad."""
    value = analysis.value(expr)
    if value.kind in (Kind.NUMBER, Kind.BOOL, Kind.STR, Kind.NONE):
        return True
    if value.graph is Graph.NO:
        element = value.element_value()
        return element is None or element.graph is Graph.NO
    if depth > 4:
        return False
    if isinstance(expr, ast.Name):
        # A module's output "may carry a graph" for the analysis; a frozen module's does not.
        return _reaching_bindings_hold_data(analysis, expr, depth, frozen_only=value.graph is Graph.YES)
    if isinstance(expr, ast.Call) and analysis.value(expr.func).kind is Kind.MODULE:
        return _frozen_module_output(analysis, expr, depth)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _DATA_METHODS:
        return value.graph is not Graph.YES and _no_graph(analysis, expr.func.value, depth + 1)  # x.to(device)
    if isinstance(expr, ast.Call):
        return _frozen_module_output(analysis, expr, depth)  # an Embedding.from_pretrained attribute
    if value.graph is Graph.YES:
        return False
    if isinstance(expr, ast.Subscript):  # batch["input_ids"], batch[0]
        return _no_graph(analysis, expr.value, depth + 1)
    return False


def _reaching_bindings_hold_data(analysis: Analysis, name: ast.Name, depth: int, frozen_only: bool) -> bool:
    """The bindings of ``name`` that may reach this use are all data batches (``DataLoader``
    loop targets) or values without a graph (with ``frozen_only``: frozen modules' outputs)."""
    scope = analysis.enclosing_function(name) or analysis.tree
    use = next(a for a in analysis.ancestors(name) if isinstance(a, ast.stmt))
    parameter = isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and name.id in {a.arg for a in _parameter_names(scope)}
    enclosing = set(map(id, analysis.ancestors(name)))
    earlier: list[tuple[ast.stmt, str, ast.expr]] = []
    for stmt in statements(scope.body):
        if isinstance(stmt, (ast.For, ast.AsyncFor)) and name.id in target_names(stmt.target):
            binding = ("loop", stmt.iter)
        elif isinstance(stmt, ast.Assign) and any(name.id in target_names(t) for t in stmt.targets):
            if not all(isinstance(t, ast.Name) for t in stmt.targets):
                return False  # unpacked from something
            binding = ("value", stmt.value)
        elif name.id in _changed_names(stmt):
            return False  # x.requires_grad_(), x += w, with ... as x: the analysis knows better
        else:
            continue
        if (stmt.lineno, stmt.col_offset) < (use.lineno, use.col_offset) and stmt is not use:
            earlier.append((stmt, *binding))
        elif any(isinstance(a, (ast.For, ast.AsyncFor, ast.While)) and id(a) in enclosing for a in analysis.ancestors(stmt)):
            return False  # rebound later in a loop around the use: carried from the last iteration
    reaching = []
    for stmt, kind, expr in reversed(earlier):
        reaching.append((kind, expr))
        if id(analysis.parent(stmt)) in enclosing or analysis.parent(stmt) is scope:
            break  # on the straight path to the use: earlier bindings are overwritten
    if parameter:
        # The analysis has said what this file's callers pass; a model's raw inputs by the
        # transformers naming convention (token ids, audio or pixel values) come from the data.
        return not reaching and not frozen_only and name.id in _RAW_INPUTS and _is_forward(analysis, name, scope)
    if not reaching:
        return False
    for kind, expr in reaching:
        if kind == "loop":
            if frozen_only or not _is_loader(analysis, expr):
                return False
        elif frozen_only:
            if not (isinstance(expr, ast.Call) and _frozen_module_output(analysis, expr, depth + 1)):
                return False
        elif not _no_graph(analysis, expr, depth + 1):
            return False
    return True


def _is_forward(analysis: Analysis, node: ast.AST, function) -> bool:
    cls = analysis.enclosing_class(node)
    return function.name == "forward" and cls is not None and cls.is_module


def _changed_names(stmt: ast.stmt) -> set[str]:
    """Names a simple statement changes other than by ``name = value`` (in-place calls, augmented assignment, ``with ... as``)."""
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return set()
    changed: set[str] = set()
    for node in walk(stmt):
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            changed |= target_names(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            changed |= target_names(node.optional_vars)
        elif isinstance(node, ast.NamedExpr):
            changed |= target_names(node.target)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_") and isinstance(node.func.value, ast.Name):
            changed.add(node.func.value.id)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)) and isinstance(target.value, ast.Name):
                    changed.add(target.value.id)  # x.requires_grad = True, x[0] = w
    return changed


def _is_loader(analysis: Analysis, expr: ast.expr) -> bool:
    """A ``DataLoader`` (or ``enumerate``/``tqdm`` of one): what it yields are data batches."""
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in _LOADER_WRAPPERS and expr.args:
        if expr.func.id == "zip":
            return all(_is_loader(analysis, a) for a in expr.args)
        expr = expr.args[0]
    if isinstance(expr, ast.Call):
        return (analysis.qualify(expr.func) or "").endswith("DataLoader")
    name = dotted(expr)
    if name is None:
        return False
    if _LOADER_NAME.search(name.rsplit(".", 1)[-1]):
        return True
    if isinstance(expr, ast.Name):
        scope = analysis.enclosing_function(expr) or analysis.tree
        assigned = [s.value for s in statements(scope.body) if isinstance(s, ast.Assign) and any(expr.id in target_names(t) for t in s.targets)]
        return bool(assigned) and all(isinstance(v, ast.Call) and (analysis.qualify(v.func) or "").endswith("DataLoader") for v in assigned)
    return False


def _frozen_module_output(analysis: Analysis, call: ast.Call, depth: int) -> bool:
    """``embed(ids)`` of a module the file freezes, on inputs without a graph."""
    module = dotted(call.func)
    if module is None or not call.args or call.keywords:
        return False
    construction = _freezing_construction(analysis, module)
    if analysis.value(call.func).kind is not Kind.MODULE and construction is None:
        return False
    embedding = construction is not None or analysis.value(call.func).name in ("Embedding", "EmbeddingBag")
    # An embedding's input is integer indices: never a graph.
    if not embedding and not all(_no_graph(analysis, a, depth + 1) for a in call.args):
        return False
    return _frozen(analysis, module, construction, embedding)


def _freezing_construction(analysis: Analysis, module: str) -> bool | None:
    """True for ``module = nn.Embedding.from_pretrained(w)`` (frozen by default), False with
    ``freeze=False``; None when there is no such construction."""
    found = None
    for node in analysis.nodes(ast.Assign):
        if not any(dotted(t) == module for t in node.targets):
            continue
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "from_pretrained":
            if analysis.qualify(value.func.value) not in ("torch.nn.Embedding", "torch.nn.EmbeddingBag"):
                return None
            freeze = keyword(value, "freeze")
            frozen = freeze is None or (isinstance(freeze, ast.Constant) and freeze.value is True)
            found = frozen if found is None else found and frozen
        else:
            return None  # rebound to something else too
    return found


def _frozen(analysis: Analysis, module: str, construction: bool | None, embedding: bool) -> bool:
    """The file freezes all of ``module`` (``requires_grad_(False)``, a loop over its
    ``parameters()``, ``from_pretrained``, or an embedding's ``weight.requires_grad = False``)
    and never turns its gradients back on."""
    if construction is False:
        return False
    freezes = construction is True
    for call in analysis.calls():
        func = call.func
        if not isinstance(func, ast.Attribute):
            continue
        owner = dotted(func.value) if func.attr == "requires_grad_" else None
        if owner is None:
            continue
        covers = owner == module or module.startswith(owner + ".")  # model.requires_grad_(False) freezes model.embed
        on = not call.args or not (isinstance(call.args[0], ast.Constant) and call.args[0].value is False)
        if on and (covers or owner.startswith(module + ".")):
            return False
        if not on and covers:
            freezes = True
    for node in analysis.nodes(ast.Assign):
        for target in node.targets:
            if not (isinstance(target, ast.Attribute) and target.attr == "requires_grad"):
                continue
            owner = dotted(target.value) or ""
            off = isinstance(node.value, ast.Constant) and node.value.value is False
            looped = _parameters_loop(analysis, node, target.value)
            covers = looped is not None and (looped == module or module.startswith(looped + "."))
            if not off and (covers or owner.startswith(module + ".")):
                return False  # turned back on (LoRA-style unfreezing by name, ...)
            unconditional = isinstance(analysis.parent(node), (ast.For, ast.Module, ast.FunctionDef, ast.AsyncFunctionDef))
            if off and unconditional and ((owner == f"{module}.weight" and embedding) or covers):
                freezes = True
    return freezes


def _parameters_loop(analysis: Analysis, node: ast.AST, variable: ast.expr) -> str | None:
    """``m`` when ``node`` sits in ``for p in m.parameters()`` (or ``named_parameters()``) and sets ``p.requires_grad``."""
    if not isinstance(variable, ast.Name):
        return None
    for ancestor in analysis.ancestors(node):
        if isinstance(ancestor, ast.For) and variable.id in target_names(ancestor.target):
            iterable = ancestor.iter
            if (
                isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute)
                and iterable.func.attr in ("parameters", "named_parameters")
            ):
                return dotted(iterable.func.value)
            return None
    return None


def _non_reentrant(ctx, call: ast.Call) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call):
        return None
    description = "pass `use_reentrant=False`"
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "use_reentrant":
            return Fix([(arg.value, cst.Name("False"))], Applicability.SAFE, description)
    args = list(node.args)
    last = args[-1]
    plain = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new argument takes it
        new_arg = kwarg("use_reentrant", cst.Name("False")).with_changes(comma=last.comma)
        between = args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else plain
    else:
        new_arg, between = kwarg("use_reentrant", cst.Name("False")), plain
    args[-1] = last.with_changes(comma=between)
    return Fix([(node, node.with_changes(args=[*args, new_arg]))], Applicability.SAFE, description)
