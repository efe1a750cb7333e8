"""GF109 unregistered-params."""

from __future__ import annotations

import ast
import re
from functools import partial
from typing import Iterator

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from . import _torch
from ._ast import called_name, import_aliases, nodes_of, walked
from ._flow_ast import walk
from ._losspath import on_loss_path
from ._text import backpropagates
from ._uses import _is_optimizer, used_as_leaf
from ._values import Analysis, ClassInfo, Graph, Kind, Value, dotted

# What a plain list/dict of modules is turned into, and the methods the container supports
# the way the plain one did (anything else used on the attribute: report without a fix).
_CONTAINERS = {
    (Kind.LIST, "module"): ("ModuleList", {"append", "extend", "insert", "pop", "__len__", "__iter__", "__getitem__"}),
    (Kind.TUPLE, "module"): ("ModuleList", {"__len__", "__iter__", "__getitem__"}),
    (Kind.DICT, "module"): ("ModuleDict", {"keys", "items", "values", "pop", "clear"}),
    (Kind.LIST, "parameter"): ("ParameterList", {"append", "extend", "__len__", "__iter__", "__getitem__"}),
    (Kind.TUPLE, "parameter"): ("ParameterList", {"__len__", "__iter__", "__getitem__"}),
}
# Calls on the whole model that reach registered submodules: after the fix they reach the
# listed ones too (re-initialised by `apply`, switched by `eval`, cast by `double`, frozen
# by `requires_grad_`, or missing from an old checkpoint in `load_state_dict`).
_MODEL_WIDE = {
    "apply", "eval", "train", "half", "double", "float", "bfloat16", "type", "requires_grad_", "load_state_dict",
    "post_init", "init_weights",  # transformers' PreTrainedModel: `apply` of its weight init
}
_DEVICE_OR_FLOAT = {"to", "cuda", "cpu", "double", "float", "half", "bfloat16", "contiguous"}
# nn modules whose forward is the same in train() and eval() mode.
_MODE_FREE_MODULES = {
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "Embedding", "LayerNorm", "GroupNorm", "RMSNorm", "PReLU", "ReLU", "GELU", "SiLU", "Tanh", "Sigmoid",
    "Identity", "Flatten", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell",
}
# Factories whose values are a random draw: a weight, or a fixed random projection.
_RANDOM_FACTORIES = {"randn", "rand", "empty", "Tensor", "FloatTensor", "normal", "randn_like", "rand_like"}
# Names nn.ModuleDict/ParameterDict refuse as keys (their own attributes and methods, and nn.Module's).
_RESERVED_KEYS = {
    "keys", "items", "values", "pop", "update", "clear", "copy", "get", "forward", "training", "to", "cuda", "cpu",
    "train", "eval", "apply", "modules", "children", "parameters", "buffers", "state_dict", "type", "float",
    "double", "half", "zero_grad", "add_module", "register_buffer", "register_parameter", "named_modules",
    "named_parameters", "named_buffers", "named_children", "extra_repr", "load_state_dict", "requires_grad_",
}


# Text filters ------------------------------------------------------------------------------
# Every finding is at a `self.x = value` of a module class's `__init__` (`_init_assignments`)
# whose attribute is read again (`_uses`: another `.x` in the text) in a file that imports
# torch, and the value is
# - a tensor: `requires_grad=True` or `.requires_grad_()` in it (`_learnable_creation`,
#   `_converted_creation`), or a torch random factory at its head (`_random_draw`: through
#   scalings and conversions) with `nn.init.f_(self.x, ...)` in the file (`_initialised`) or
#   an optimizer, `.parameters()` and a backward pass (`_optimized_classes`, `on_loss_path`);
# - or a container (`_element_sources`): a list/tuple/dict literal or comprehension, or
#   `list(...)`/`tuple(...)` of one, or a local name bound to one, whose elements are calls or
#   names bound to calls (so its first one is), or that is empty and filled in `__init__`
#   (`.append`, `.insert`, `x[k] = m`). The searches start at an `=`, a `)` or a name: a
#   search that starts at `self.` is tried at every attribute of the file.
# (`self.x` is taken as written so, without spaces around the dot.)
# Blanks, comments and opening brackets before an element. A comment runs to its newline (with
# `#[^\n]*` alone the engine would try every split of it with the other branches: exponential).
_GAP = r"(?:[\s(\[]|#[^\n]*(?:\n|$))*"
_CALL = _GAP + r"[A-Za-z_][\w.]*(?:\[[^\]\n]*\])*\s*\("  # the start of a call: `nn.Linear(`, `blocks[0](`
# `=` and an opening bracket (or `list`/`tuple`): cheap to find; then `_CONTAINER` at that `=`.
_OPENING = re.compile(
    r"=[ \t]*(?:\\\n\s*)?(?:([\[({]|list|tuple)"
    r"|[A-Za-z_]\w*[ \t]*,[ \t]*[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*,?[ \t]*(?:[;#\r\n]|$))"  # a tuple of names: `= a, b`
)
_CONTAINER = re.compile(
    r"=[ \t]*(?:\\\n\s*)?(?:"
    # a literal, comprehension or list(...)/tuple(...) of one: its first element is a call, or a
    # name followed by more elements or by `for`, or it is empty
    r"(?:([\[({])|(?:list|tuple)[ \t]*\()(?:" + _CALL + r"|" + _GAP + r"([A-Za-z_]\w*)\s*(?:,|for\b)|" + _GAP + r"([\]})]))"
    # a dict: its first value (after a key that may hold strings, over several lines)
    r"|\{(?:\"[^\"\n]*\"|'[^'\n]*'|#[^\n]*(?:\n|$)|[^{}()\[\]:'\"#])*:(?:" + _CALL + r"|" + _GAP + r"([A-Za-z_]\w*)\s*(?:,|for\b))"
    r")"
)
# A tuple without parentheses that starts with a call, `= nn.Linear(..), nn.Linear(..)`: found
# at its `), name` and read back to the start of its line.
_TUPLE_CALLS = re.compile(r"\)[ \t]*,[ \t]*[A-Za-z_][\w.]*[ \t]*(?:[(,;#\n]|$)")
_TUPLE_HEAD = re.compile(r"[ \t]*(?:self\.(\w+)|([A-Za-z_]\w*))[ \t]*=(?!=)[ \t]*[A-Za-z_][\w.]*[ \t]*\(")
_INIT_ARG = re.compile(r"\(\s*self\.(\w+)\s*[,)]")
# `_random_draw`: the factory call is the value, or reached through `.to()`-like receivers and
# the operands of arithmetic (the left one when it is a call or an operation).
# A left operand `_random_draw` steps over (not a call, not an operation): a name, a number, an
# attribute, a subscript, a sign.
_OPERAND = r"[-+~]?[\w.]+(?:\[[^\]\n]*\])*[ \t]*(?:\*\*?|//?|[+\-@%])"
_RANDOM_VALUE = r"[ \t]*=(?!=)(?:[\s\\(]|" + _OPERAND + r")*?[\w.]*?(?:rand|empty|Tensor|normal)\w*[ \t]*\("
_RANDOM = re.compile(r"self\.(\w+)" + _RANDOM_VALUE)
_RANDOM_AFTER = re.compile(_RANDOM_VALUE)
# `from torch import randn as r`: `(?:rand|empty|Tensor|normal)\w*\s+as\s`, found from its
# `as` (rare, and a literal: `re` skips ahead to it; the alternation was tried at every `r`, `e`,
# `T` and `n` of the file). The words before the blanks before `as` are read back from there.
_AS = re.compile(r"as(?<=\sas)\s")
_FACTORY_WORDS = ("rand", "empty", "Tensor", "normal")
_INITIALISES = re.compile(r"init(?:\.|\s+as\b|(?<=nn\.init))")  # `init.`, `nn.init` or `init as`


def _factory_alias(source: str) -> bool:
    r"""``re.search(r"(?:rand|empty|Tensor|normal)\w*\s+as\s", source)``: a run of word
    characters holding one of the words, then blanks, then ``as`` and a blank."""
    for match in _AS.finditer(source):
        end = match.start() - 1
        while end >= 0 and source[end].isspace():  # (`\s`)
            end -= 1
        start = end
        while start >= 0 and (source[start].isalnum() or source[start] == "_"):  # (`\w`)
            start -= 1
        word = source[start + 1:end + 1]
        if word and any(w in word for w in _FACTORY_WORDS):
            return True
    return False


_TARGET = re.compile(r"(?:^|[\s;(])self\.(\w+)[ \t]*$")
_CALLED_AFTER = re.compile(r"[ \t]*=(?!=)" + _CALL)
_END = re.compile(r"[ \t]*\)?[ \t]*(?:[;#\r\n]|$)")
_FILLED_AFTER = re.compile(r"\s*(?:\.\s*(?:append|insert)\s*\(|\[[^\n]*\]\s*=(?!=))")


def _target(source: str, at: int) -> tuple[str | None, list[str]]:
    """What the assignment whose ``=`` is at ``at`` stores to: (``x`` of ``self.x``, local names)."""
    line = source[source.rfind("\n", 0, at) + 1:at]
    parts = line.split("=")
    target = _TARGET.search(parts[-1])
    return (target.group(1) if target else None), [p.strip() for p in parts if p.strip().isidentifier()]


def _read_again(source: str, attr: str) -> bool:
    """``source.count("." + attr) >= 2`` (occurrences of ``.name`` cannot overlap), stopping
    at the second one."""
    spelled = "." + attr
    at = source.find(spelled)
    return at >= 0 and source.find(spelled, at + len(spelled)) >= 0


def _found(source: str, needles: tuple[str, ...], after: "re.Pattern[str] | None" = None, skip: int = 0) -> Iterator[int]:
    """Where one of ``needles`` stands, not right after a letter, digit, ``_`` or ``.`` (the
    start of a longer name), and ``after`` matches ``skip`` characters after its start."""
    for needle in needles:
        at = source.find(needle)
        while at >= 0:
            before = source[at - 1:at]
            if not (before.isalnum() or before in ("_", ".")) and (after is None or after.match(source, at + skip)):
                yield at
            at = source.find(needle, at + 1)


def _filled(source: str, holder: str) -> bool:
    """``holder.append(m)``, ``holder.insert(i, m)`` or ``holder[k] = m``."""
    return next(_found(source, (holder + ".append", holder + ".insert", holder + "["), _FILLED_AFTER, len(holder)), None) is not None


def _bound_to_call(source: str, name: str) -> bool:
    """``name = f(...)``."""
    needles = (name + "=", name + " =", name + "  =", name + "\t")
    return next(_found(source, needles, _CALLED_AFTER, len(name)), None) is not None


_NAMED = re.compile(r"self\.(\w+)[ \t]*=[ \t]*\(?[ \t]*([A-Za-z_]\w*)[ \t]*\)?[ \t]*(?:[;#\r\n]|$)")


def _stored_names(source: str) -> set[str]:
    """The names ``n`` of every ``self.x = n`` (or ``= (n)``) whose ``x`` is read again."""
    return {name for attr, name in _NAMED.findall(source) if _read_again(source, attr)}


def _text_check(source: str) -> bool:
    if "requires_grad" in source:
        return True  # `_learnable_creation`, `_converted_creation`
    initialises = _INITIALISES.search(source) is not None
    if initialises:
        for attr in set(_INIT_ARG.findall(source)):  # `_initialised`: nn.init.f_(self.x, ...)
            if _read_again(source, attr) and any(_RANDOM_AFTER.match(source, at + 5 + len(attr)) for at in _found(source, ("self." + attr,))):
                return True
    if "optim" in source and "parameters" in source and backpropagates(source):
        for match in _RANDOM.finditer(source):  # `_optimized_classes` and `on_loss_path`
            if _read_again(source, match.group(1)):
                return True
        if _factory_alias(source):
            return True  # `from torch import randn as r`: a draw the patterns above do not spell
    elif initialises and _factory_alias(source):
        return True
    bound: dict[str, bool] = {}
    local: list[tuple[list[str], str | None, bool]] = []
    for opening in _OPENING.finditer(source):
        if opening.group(1) is None:  # a tuple of names
            attr, names = _target(source, opening.start())
            if attr is None:
                local.append((names, None, False))
            elif _read_again(source, attr):
                return True
            continue
        match = _CONTAINER.match(source, opening.start())
        if match is None:
            continue
        attr, names = _target(source, match.start())
        first, empty = match.group(2) or match.group(4), match.group(3) is not None
        if attr is None:
            local.append((names, first, empty))
            continue
        if _read_again(source, attr) and _may_hold_modules(source, "self." + attr, first, empty, bound):
            return True
    for match in _TUPLE_CALLS.finditer(source):
        head = _TUPLE_HEAD.match(source, source.rfind("\n", 0, match.start()) + 1)
        if head is not None and head.end() <= match.start():
            if head.group(1) is not None:
                if _read_again(source, head.group(1)):
                    return True
            else:
                local.append(([head.group(2)], None, False))
    if not local:
        return False
    stored = _stored_names(source)
    for names, first, empty in local:
        for name in stored.intersection(names):
            if _may_hold_modules(source, name, first, empty, bound):
                return True
    return False


def _may_hold_modules(source: str, holder: str, first: str | None, empty: bool, bound: dict[str, bool]) -> bool:
    """Whether the list or dict written to ``holder`` may hold modules, by the text: an empty
    one filled later, one whose first element is not a plain name, or a name some line binds to
    a call (``bound`` memoizes that per name)."""
    if empty:
        return _filled(source, holder)
    if first is None:
        return True
    if first not in bound:
        bound[first] = _bound_to_call(source, first)
    return bound[first]


class UnregisteredParams(Rule):
    """
    Modules in a plain list or dict, or learnable tensors in plain attributes, are never registered.

    `nn.Module` finds its submodules and parameters through `__setattr__`: only an
    `nn.Module`, `nn.Parameter`, `nn.ModuleList`/`ModuleDict` or `nn.ParameterList`/
    `ParameterDict` assigned to `self` is registered. A plain Python list, tuple or dict of
    layers, or a tensor created with `requires_grad=True`, is an ordinary attribute:
    `model.parameters()` does not yield it, so the optimizer never updates it (or raises
    "optimizer got an empty parameter list"), `model.to(device)` does not move it and
    `state_dict()` does not save it. The forward runs and the loss falls, from the other
    parameters only.

    Bad:

        self.layers = [nn.Linear(d, d) for _ in range(n)]
        self.alpha = torch.ones(1, requires_grad=True)

    Good:

        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])
        self.alpha = nn.Parameter(torch.ones(1))

    The fix wraps the same expression (the same modules, the same random draws, the same
    dtype), so the forward is bitwise equal; `state_dict()` gains the new keys (old
    checkpoints then miss them under strict loading). Only modules constructed in
    `__init__` and used outside it are wrapped, and tensors only when the file shows they
    are learned. Left alone: a single module held in a
    list to hide it from `parameters()` (a teacher, an EMA copy, a second model), modules
    used only under `no_grad` or frozen, modules passed in by the caller or already
    registered (`self.fc`, `add_module`, `nn.Sequential(*layers)`), lists of numbers or
    hooks. A tensor is taken as learned when it is created with `requires_grad`, given to
    `nn.init`, or drawn at random and used on the path to a backpropagated loss of a model
    whose `parameters()` the file's optimizer trains; constants (masks, positional tables)
    and random tensors without that evidence (a fixed projection in a library) stay silent.

    Fix safety: safe; unsafe when the file calls `apply` (or transformers' `post_init`), a
    dtype cast, `requires_grad_` or `load_state_dict` on a model, or `eval()` with listed
    modules whose forward depends on the mode (dropout, batch norm, classes of the file),
    since those then reach the newly registered parameters too. No fix when the attribute is also given to an optimizer by
    hand (it would be there twice), assigned again, or used in a way the container does not
    support (`list + self.layers`, `self.heads.get(k)`).
    """

    code = "GF109"
    name = "unregistered-params"
    summary = "modules in a plain list/dict, or learnable tensors in plain attributes, are never registered (not in `parameters()`)"
    # detect reads `__init__` methods only, in files that import torch; a store to `self.x`.
    literals = ("__init__",)
    requires = (("torch",),)
    trigger = re.compile(r"self\.\w+[\s\\]*=(?!=)")
    text_check = staticmethod(_text_check)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        return _quick_check(tree)  # below, with its helpers

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        nn = _nn_spelling(analysis)
        handed = _handed_to_optimizer(analysis)
        unsafe = _model_wide_calls(analysis)
        optimized = _optimized_classes(analysis)
        for info in analysis.classes.values():
            init = info.methods.get("__init__")
            if not info.is_module or init is None:
                continue
            registers_by_hand = _registers_by_hand(analysis, info)
            for stmt in _init_assignments(init):
                attr = stmt.targets[0].attr  # type: ignore[attr-defined]
                value = analysis.attributes_of(info).get(attr)
                if value is None or value.kind not in _REPORTED_KINDS:
                    continue  # what `_tensor` and `_container` can report (asked first: it is cheap)
                if _stores(analysis, info, attr) != 1 or attr in info.methods or attr in info.properties:
                    continue
                uses = _uses(analysis, info, attr, stmt)
                if not uses or all(analysis.grad_disabled(u) for u in uses):
                    continue  # never used, or only under no_grad (a teacher, an EMA copy)
                if value.kind is Kind.TENSOR:
                    finding = self._tensor(analysis, stmt, attr, value, uses, nn, handed, unsafe, info.node.name in optimized)
                else:
                    if registers_by_hand:
                        continue
                    finding = self._container(analysis, init, stmt, attr, value, uses, nn, handed, unsafe)
                if finding is not None:
                    yield finding

    # Lists, tuples and dicts of modules or parameters ------------------------------------
    def _container(self, analysis, init, stmt, attr, value: Value, uses, nn, handed, unsafe):
        element = value.element_value()
        if value.kind not in (Kind.LIST, Kind.TUPLE, Kind.DICT) or element is None or element.optional:
            return None
        if element.kind is Kind.MODULE:
            what = "module"
        elif element.kind is Kind.TENSOR and (element.parameter or element.leaf):
            what = "parameter"
        else:
            return None
        if (value.kind, what) not in _CONTAINERS:
            return None
        sources = _element_sources(analysis, init, stmt)
        if sources is None:
            return None  # elements passed in, or already registered elsewhere
        if what == "module" and all(_parameter_free(analysis, s) for s in sources):
            return None  # losses, activations: nothing to train
        if _frozen(analysis, uses + _init_uses(analysis, init, attr, stmt)):
            return None  # frozen, or read as a constant: kept out of `parameters()` on purpose
        container, supported = _CONTAINERS[(value.kind, what)]
        kind = {Kind.LIST: "list", Kind.TUPLE: "tuple", Kind.DICT: "dict"}[value.kind]
        held = "modules" if what == "module" else "parameters"
        message = (
            f"`self.{attr}` is a plain {kind} of {held}: `parameters()` never yields them, so the optimizer "
            f"does not train them; use `{nn or 'nn'}.{container}` (`state_dict` gains their keys)"
        )
        why_not = None
        if nn is None:
            why_not = "`torch.nn` is not imported under a name"
        elif attr in handed:
            why_not = f"`{attr}` is also given to an optimizer by hand and would be there twice"
        elif value.kind is Kind.DICT and not _safe_keys(analysis, init, attr, stmt.value):
            why_not = f"the keys of `{attr}` are not known to be valid `{container}` names"
        else:
            unsupported = _unsupported_use(analysis, uses, supported)
            if unsupported:
                why_not = f"`{unsupported}` works on a plain {kind} but not on `{container}`"
        if why_not is not None:
            return self.finding(stmt.value, f"{message} (not fixed: {why_not})")
        applicability, message = _safety(_reaching(unsafe, analysis, sources), message)
        return self.finding(
            stmt.value, message,
            LazyFix(partial(_wrap, stmt=stmt, wrapper=f"{nn}.{container}", applicability=applicability),
                    applicability, f"wrap `self.{attr}` in `{container}`"),
        )

    # Tensors kept as plain attributes ------------------------------------------------------
    def _tensor(self, analysis, stmt, attr, value: Value, uses, nn, handed, unsafe, optimized: bool):
        if value.parameter:
            return None
        data, how = _learnable_creation(analysis, stmt.value)
        if _converted_creation(analysis, stmt.value) is not None and used_as_leaf(analysis, stmt, stmt.targets[0]):
            return None  # GF105 reports it (its fix makes the converted tensor the leaf; then this rule wraps it)
        if data is None and value.leaf:
            return None  # a leaf made some other way (`.to()` after it is GF105's)
        if data is None:
            random = _random_draw(analysis, stmt.value)
            initialised = _initialised(analysis, attr)
            if random is None and not initialised:
                return None  # a constant: a mask, a positional table
            if initialised and random is not None:
                data, how = stmt.value, "initialised with `nn.init`"
            elif optimized and random is not None and not _frozen(analysis, uses) and any(on_loss_path(analysis, u) for u in uses):
                # A random draw on the loss path of a model the file trains: learned memory
                # (a fixed random projection would be a buffer; the message says so).
                data, how = stmt.value, "a random draw on the loss path of a trained model"
            else:
                return None
        message = (
            f"`self.{attr}` is a plain tensor ({how}), not an `nn.Parameter`: `parameters()` never yields it, "
            f"so the optimizer does not train it; wrap it in `{nn or 'nn'}.Parameter(...)` (`state_dict` gains `{attr}`)"
        )
        if data is stmt.value and how.startswith("a random draw"):
            message += f"; if it is a fixed random projection, `self.register_buffer(\"{attr}\", ...)` instead"
        if attr in handed:
            return self.finding(
                stmt.value,
                f"`self.{attr}` is a plain tensor ({how}), not an `nn.Parameter`: the optimizer gets it by hand, but "
                f"`parameters()`, `state_dict()` and `model.to()` skip it (not fixed: as an `nn.Parameter` it would be "
                "given to the optimizer twice; drop it from the optimizer's list when you wrap it)",
            )
        why_not = None
        if nn is None:
            why_not = "`torch.nn` is not imported under a name"
        elif analysis.grad_disabled(stmt):
            why_not = "it is created under `no_grad`"
        if why_not is not None:
            return self.finding(stmt.value, f"{message} (not fixed: {why_not})")
        applicability, message = _safety(_reaching([c for c in unsafe if c != "eval"]), message)
        return self.finding(
            stmt.value, message,
            LazyFix(partial(_parameter, stmt=stmt, data=data, wrapper=f"{nn}.Parameter", applicability=applicability),
                    applicability, f"make `self.{attr}` an `nn.Parameter`"),
        )


def _nn_spelling(analysis: Analysis) -> str | None:
    local = analysis.imports.local_name_of("torch.nn")
    if local is not None:
        return local
    torch = analysis.imports.local_name_of("torch")
    return f"{torch}.nn" if torch is not None else None


def _is_self_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _belongs(analysis: Analysis, info: ClassInfo, node: ast.Attribute) -> bool:
    """``node`` is ``self.x`` in a method of ``info`` or ``obj.x`` on an instance of it (or an unknown object outside classes)."""
    owner = analysis.enclosing_class(node)
    if owner is not None and _related(analysis, owner, info):
        return _is_self_attribute(node)
    receiver = analysis.value(node.value)
    if receiver.name == info.node.name:
        return True
    return owner is None and receiver.kind is Kind.UNKNOWN and not _is_self_attribute(node)


def _related(analysis: Analysis, a: ClassInfo, b: ClassInfo) -> bool:
    """``a`` is ``b``, or one of them subclasses the other (through classes of this file)."""
    return a is b or b.node.name in _ancestors(analysis, a) or a.node.name in _ancestors(analysis, b)


def _ancestors(analysis: Analysis, info: ClassInfo) -> set[str]:
    seen: set[str] = set()
    stack = [info]
    while stack:
        for base in stack.pop().node.bases:
            name = base.id if isinstance(base, ast.Name) else None
            if name and name not in seen and name in analysis.classes:
                seen.add(name)
                stack.append(analysis.classes[name])
    return seen


_REPORTED_KINDS = (Kind.TENSOR, Kind.LIST, Kind.TUPLE, Kind.DICT)


def _candidates(analysis: Analysis, info: ClassInfo, attr: str) -> list[ast.Attribute]:
    """The ``x.attr`` nodes for which :func:`_belongs` may hold, in file order: those in the
    methods of classes related to ``info``, those whose receiver is an ``info`` instance, and
    those outside every class. From an index built once per file, so that a file of many
    classes that share attribute names (every block has a ``self.linear``) stays linear."""
    index = analysis.memo.get("GF109 attributes")
    if index is None:
        index = analysis.memo["GF109 attributes"] = _attribute_index(analysis)
    by_owner, by_receiver, outside, descendants, position = index  # type: ignore[misc]
    related = [id(info)]
    related += [id(other) for name in _ancestors(analysis, info) for other in [analysis.classes[name]]]
    related += descendants.get(info.node.name, [])
    found = {id(n): n for owner in related for n in by_owner.get((owner, attr), [])}
    found.update((id(n), n) for n in by_receiver.get((info.node.name, attr), []))
    found.update((id(n), n) for n in outside.get(attr, []))
    return sorted(found.values(), key=lambda n: position[id(n)])


def _attribute_index(analysis: Analysis):
    by_owner: dict[tuple[int, str], list[ast.Attribute]] = {}
    by_receiver: dict[tuple[str, str], list[ast.Attribute]] = {}
    outside: dict[str, list[ast.Attribute]] = {}
    position: dict[int, int] = {}
    for number, node in enumerate(analysis.nodes(ast.Attribute)):
        position[id(node)] = number
        owner = analysis.enclosing_class(node)
        if owner is not None:
            by_owner.setdefault((id(owner), node.attr), []).append(node)  # type: ignore[attr-defined]
        else:
            outside.setdefault(node.attr, []).append(node)  # type: ignore[attr-defined]
        receiver = analysis.value(node.value).name  # type: ignore[attr-defined]
        if receiver:
            by_receiver.setdefault((receiver, node.attr), []).append(node)  # type: ignore[attr-defined]
    descendants: dict[str, list[int]] = {}
    for other in {id(c): c for c in analysis.classes.values()}.values():
        for name in _ancestors(analysis, other):
            descendants.setdefault(name, []).append(id(other))
    return by_owner, by_receiver, outside, descendants, position


def _stores(analysis: Analysis, info: ClassInfo, attr: str) -> int:
    """How many statements store to this class's ``attr`` (``setattr`` by a computed name counts too)."""
    count = sum(
        1 for node in _candidates(analysis, info, attr)
        if isinstance(node.ctx, ast.Store) and _belongs(analysis, info, node)
    )
    for call in _setattr_calls(analysis):
        name = call.args[1]
        if not (isinstance(name, ast.Constant) and name.value != attr):
            count += 2
    return count


def _setattr_calls(analysis: Analysis) -> list[ast.Call]:
    """Every ``setattr(obj, name, value)`` of the file (found once, asked for each attribute)."""
    found: "list[ast.Call] | None" = analysis.memo.get("GF109 setattr calls")  # type: ignore[assignment]
    if found is None:
        found = analysis.memo["GF109 setattr calls"] = [
            call for call in analysis.calls()
            if isinstance(call.func, ast.Name) and call.func.id == "setattr" and len(call.args) >= 2
        ]
    return found


def _handed_to_optimizer(analysis: Analysis) -> set[str]:
    """Attribute names that appear in the arguments of an optimizer's constructor."""
    names: set[str] = set()
    for call in analysis.calls():
        if _is_optimizer(analysis, call) or (isinstance(call.func, ast.Attribute) and call.func.attr == "add_param_group"):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                names |= {n.attr for n in ast.walk(arg) if isinstance(n, ast.Attribute)}
    return names


def _model_wide_calls(analysis: Analysis) -> list[str]:
    """Calls on a module (or ``self``) that would reach newly registered parameters, by method
    name (``train()`` into training mode is left out: new modules start in it)."""
    found = []
    for call in analysis.calls():
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr in _MODEL_WIDE | {"to"}):
            continue
        receiver = analysis.value(func.value)
        if not (receiver.kind is Kind.MODULE or (isinstance(func.value, ast.Name) and func.value.id == "self" and analysis.enclosing_class(call) is not None)):
            continue
        if func.attr == "train" and not (call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False):
            continue
        if func.attr == "to" and not (any(analysis.value(a).kind is Kind.DTYPE for a in call.args) or any(k.arg == "dtype" for k in call.keywords)):
            continue
        found.append("eval" if func.attr == "train" else func.attr)
    return found


def _reaching(calls: list[str], analysis: Analysis | None = None, sources: list[ast.expr] | None = None) -> str | None:
    """The first model-wide call that changes what the fix registers: for tensors, casts, freezes,
    re-initialisation and checkpoint loading; for modules also ``eval()``, unless every module
    is one whose forward does not depend on the mode."""
    for name in calls:
        if name == "eval" and (sources is None or all(_mode_free(analysis, s) for s in sources)):
            continue
        return name
    return None


def _mode_free(analysis: Analysis | None, source: ast.expr) -> bool:
    if analysis is None or not isinstance(source, ast.Call):
        return False
    qualified = analysis.qualify(source.func) or ""
    name = qualified.rsplit(".", 1)[-1]
    return qualified.startswith("torch.nn.") and name in _MODE_FREE_MODULES


def _registers_by_hand(analysis: Analysis, info: ClassInfo) -> bool:
    """The class registers submodules itself (``add_module``, ``setattr(self, ...)``)."""
    for node in ast.walk(info.node):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("add_module", "register_module", "register_parameter"):
                return True
            if isinstance(func, ast.Name) and func.id == "setattr" and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "self":
                return True
    return False


def _init_assignments(init: ast.FunctionDef) -> list[ast.Assign]:
    """``self.x = ...`` statements of ``__init__`` (in its nested blocks too, not in nested functions)."""
    found: list[ast.Assign] = []
    stack: list[ast.AST] = list(init.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and _is_self_attribute(node.targets[0]):
            found.append(node)
        stack.extend(n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt))
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _uses(analysis: Analysis, info: ClassInfo, attr: str, stmt: ast.Assign) -> list[ast.Attribute]:
    """Loads of ``self.attr`` in the class's methods other than ``__init__``, and of ``x.attr`` outside the class."""
    found = []
    for node in _candidates(analysis, info, attr):
        if not isinstance(node.ctx, ast.Load):
            continue
        function = analysis.enclosing_function(node)
        if analysis.enclosing_class(node) is info and function is not None and function.name == "__init__":
            continue
        if _belongs(analysis, info, node):
            found.append(node)
    return found  # type: ignore[return-value]


def _init_uses(analysis: Analysis, init, attr: str, stmt: ast.Assign) -> list[ast.Attribute]:
    target = stmt.targets[0]
    return [n for n in ast.walk(init) if isinstance(n, ast.Attribute) and n is not target and n.attr == attr and _is_self_attribute(n)]


def _element_sources(analysis: Analysis, init, stmt: ast.Assign) -> list[ast.expr] | None:
    """The expressions that put elements into the container, when each constructs a module or
    parameter right there; None when an element comes from elsewhere (an argument, an attribute
    of ``self``, a copy) or the container is a single-element literal (the idiom that hides a
    model from ``parameters()``)."""
    value = stmt.value
    attr = stmt.targets[0].attr  # type: ignore[attr-defined]
    local = value.id if isinstance(value, ast.Name) else None
    if local is not None:
        bound = [n for n in ast.walk(init) if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == local for t in n.targets)]
        if len(bound) != 1:
            return None
        value = bound[0].value
    if isinstance(value, (ast.List, ast.Tuple)):
        sources: list[ast.expr] = list(value.elts)
        if len(sources) == 1:
            return None
    elif isinstance(value, ast.Dict):
        if None in value.keys:
            return None
        sources = list(value.values)
        if len(sources) == 1:
            return None
    elif isinstance(value, (ast.ListComp, ast.GeneratorExp)):
        sources = [value.elt]
    elif isinstance(value, ast.DictComp):
        sources = [value.value]
    elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("list", "tuple") and len(value.args) == 1 and isinstance(value.args[0], (ast.ListComp, ast.GeneratorExp)):
        sources = [value.args[0].elt]
    else:
        return None
    # Elements added later: `self.x.append(m)` / `layers.append(m)`, `self.x[k] = m`.
    for node in ast.walk(init):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "insert", "extend"):
            receiver = node.func.value
            if (_is_self_attribute(receiver) and receiver.attr == attr) or (local and isinstance(receiver, ast.Name) and receiver.id == local):  # type: ignore[attr-defined]
                if node.func.attr == "extend" or not node.args:
                    return None
                sources.append(node.args[-1])
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            receiver = node.targets[0].value
            if (_is_self_attribute(receiver) and receiver.attr == attr) or (local and isinstance(receiver, ast.Name) and receiver.id == local):  # type: ignore[attr-defined]
                sources.append(node.value)
    if not sources:
        return None
    for source in sources:
        if isinstance(source, ast.Name):
            bound = [n for n in ast.walk(init) if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == source.id for t in n.targets)]
            if not bound or not all(isinstance(b.value, ast.Call) for b in bound):
                return None
            if any(_is_self_attribute(t) for n in ast.walk(init) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name) and n.value.id == source.id for t in n.targets):
                return None  # `self.fc = layer` registers it already
            continue
        if not isinstance(source, ast.Call):
            return None
        qualified = analysis.qualify(source.func) or ""
        if qualified in ("copy.deepcopy", "copy.copy") or (isinstance(source.func, ast.Name) and source.func.id in ("deepcopy", "copy")):
            return None
    # The container also handed to a registering call in __init__ (`nn.Sequential(*self.layers)`).
    for node in ast.walk(init):
        if isinstance(node, ast.Call) and node is not value:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                inner = arg.value if isinstance(arg, ast.Starred) else arg
                if (_is_self_attribute(inner) and inner.attr == attr) or (local and isinstance(inner, ast.Name) and inner.id == local):  # type: ignore[attr-defined]
                    return None
    return sources


def _parameter_free(analysis: Analysis, source: ast.expr) -> bool:
    """``source`` constructs an ``nn`` module without parameters (a loss, an activation, an empty Sequential)."""
    if not isinstance(source, ast.Call):
        return False
    qualified = analysis.qualify(source.func) or ""
    if not qualified.startswith("torch.nn."):
        return False
    name = qualified.rsplit(".", 1)[-1]
    return name in _torch.PARAMETER_FREE_MODULES or (name == "Sequential" and not source.args)


def _optimized_classes(analysis: Analysis) -> set[str]:
    """Classes of this file whose instances' ``.parameters()`` an optimizer of the file trains."""
    names: set[str] = set()
    for call in analysis.calls():
        if not _is_optimizer(analysis, call):
            continue
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            for node in ast.walk(arg):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("parameters", "named_parameters"):
                    owner = analysis.value(node.func.value)
                    if owner.kind is Kind.MODULE and owner.name:
                        names.add(owner.name)
    # A class used as a submodule of a trained class is trained with it.
    changed = True
    while changed:
        changed = False
        for name, info in analysis.classes.items():
            if name in names or not info.is_module:
                continue
            if any(owner in names and any(v.kind is Kind.MODULE and v.name == name for v in _held(analysis, analysis.classes[owner])) for owner in list(names) if owner in analysis.classes):
                names.add(name)
                changed = True
    return names


def _held(analysis: Analysis, info: ClassInfo) -> list[Value]:
    held = []
    for value in analysis.attributes_of(info).values():
        held.append(value)
        element = value.element_value() if value.kind in (Kind.LIST, Kind.TUPLE, Kind.DICT) else None
        if element is not None:
            held.append(element)
    return held


def _frozen(analysis: Analysis, uses: list[ast.Attribute]) -> bool:
    """A statement that uses the attribute freezes it or reads it as a constant."""
    for use in uses:
        stmt = next((a for a in analysis.ancestors(use) if isinstance(a, ast.stmt)), None)
        text = ast.get_source_segment(analysis.source, stmt) if stmt is not None else None
        if text and re.search(r"requires_grad(?:_\(\s*False|\s*=\s*False)|\.eval\(\)|\.detach\(\)", text):
            return True
    return False


def _unsupported_use(analysis: Analysis, uses: list[ast.Attribute], supported: set[str]) -> str | None:
    """The first use of the attribute the registered container would not support."""
    for use in uses:
        parent = analysis.parent(use)
        if isinstance(parent, ast.Attribute) and parent.attr not in supported:
            return f".{parent.attr}"
        if isinstance(parent, ast.BinOp):
            return "+" if isinstance(parent.op, ast.Add) else "an operator"
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in ("isinstance", "type", "json", "sorted") and use in parent.args:
            return f"{parent.func.id}(...)"
    return None


def _safe_keys(analysis: Analysis, init, attr: str, value: ast.expr) -> bool:
    """Every key the dict gets in ``__init__`` (its literal, ``self.x[k] = m``) is a valid
    ``ModuleDict`` name: a string constant, an identifier, not one of its own attributes."""
    if not isinstance(value, ast.Dict):
        return False
    keys: list[ast.expr | None] = list(value.keys)
    for node in ast.walk(init):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and _is_self_attribute(node.value) and node.value.attr == attr:  # type: ignore[attr-defined]
            keys.append(node.slice)
    return all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value.isidentifier() and k.value not in _RESERVED_KEYS
        for k in keys
    )


def _converted_creation(analysis: Analysis, value: ast.expr) -> ast.Call | None:
    """The ``torch.f(..., requires_grad=True)`` under device/float conversions (``.to(device)``,
    ``.cuda()``, ``.double()``): the attribute then holds a non-leaf copy, never registered."""
    node, converted = value, False
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _DEVICE_OR_FLOAT:
        if any(k.arg == "dtype" for k in node.keywords) or any(analysis.value(a).kind is Kind.DTYPE for a in node.args):
            return None  # a dtype the fix would have to know is floating
        node, converted = node.func.value, True
    if not converted or not isinstance(node, ast.Call):
        return None
    flag = next((k.value for k in node.keywords if k.arg == "requires_grad"), None)
    qualified = analysis.qualify(node.func) or ""
    if isinstance(flag, ast.Constant) and flag.value is True and qualified.startswith("torch.") and analysis.value(node).leaf:
        return node
    return None


def _learnable_creation(analysis: Analysis, value: ast.expr) -> tuple[ast.expr | None, str]:
    """(the tensor to wrap, how the code says it is learned) for the forms the fix rewrites."""
    if not isinstance(value, ast.Call):
        return None, ""
    if _converted_creation(analysis, value) is not None:
        return value, "`requires_grad=True` before a conversion"
    qualified = analysis.qualify(value.func) or ""
    flag = next((k.value for k in value.keywords if k.arg == "requires_grad"), None)
    if isinstance(flag, ast.Constant) and flag.value is True:
        if qualified == "torch.autograd.Variable" and len(value.args) == 1 and analysis.value(value.args[0]).kind is Kind.TENSOR:
            return value.args[0], "`Variable(..., requires_grad=True)`"
        if qualified.startswith("torch.") and analysis.value(value).leaf:
            return value, "`requires_grad=True`"
    if isinstance(value.func, ast.Attribute) and value.func.attr == "requires_grad_" and not value.keywords:
        inner = value.func.value
        args_ok = not value.args or (isinstance(value.args[0], ast.Constant) and value.args[0].value is True)
        if args_ok and analysis.value(inner).kind is Kind.TENSOR and analysis.value(inner).graph is Graph.NO:
            return inner, "`.requires_grad_()`"
    return None, ""


def _random_draw(analysis: Analysis, value: ast.expr) -> ast.Call | None:
    """The torch random (or uninitialised) factory that makes ``value``, through scalings and conversions."""
    node = value
    while True:
        if isinstance(node, ast.BinOp):
            node = node.left if isinstance(node.left, (ast.Call, ast.BinOp)) else node.right
            continue
        if isinstance(node, ast.Call):
            qualified = analysis.qualify(node.func) or ""
            if qualified.startswith("torch.") and qualified.rsplit(".", 1)[-1] in _RANDOM_FACTORIES:
                return node
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("to", "cuda", "float", "double", "contiguous"):
                node = node.func.value
                continue
        return None


def _initialised(analysis: Analysis, attr: str) -> bool:
    """``nn.init.xxx_(self.attr, ...)`` somewhere in the file: the tensor is a weight."""
    for call in analysis.calls():
        qualified = analysis.qualify(call.func) or ""
        if qualified.startswith("torch.nn.init.") and call.args and _is_self_attribute(call.args[0]) and call.args[0].attr == attr:  # type: ignore[attr-defined]
            return True
    return False


def _safety(unsafe: str | None, message: str) -> tuple[Applicability, str]:
    if unsafe is None:
        return Applicability.SAFE, message
    return Applicability.UNSAFE, f"{message} (unsafe fix: `.{unsafe}()` on the model then reaches them too)"


def _wrapper(wrapper: str) -> cst.BaseExpression:
    return cst.parse_expression(wrapper)


def _assigned(ctx, stmt: ast.Assign) -> cst.BaseExpression | None:
    """The LibCST value of ``stmt`` (found through the statement: a parenthesised tuple's
    range differs between ``ast`` and LibCST)."""
    assign = ctx.node_for(stmt)
    return assign.value if isinstance(assign, cst.Assign) else None


def _wrap(ctx, stmt: ast.Assign, wrapper: str, applicability: Applicability) -> Fix | None:
    node = _assigned(ctx, stmt)
    if node is None:
        return None
    if isinstance(node, (cst.List, cst.Dict)) and not node.elements:
        args = []  # `[]` -> `nn.ModuleList()`
    elif isinstance(node, cst.Tuple):
        args = [cst.Arg(cst.List(elements=node.elements))]
        node_out = cst.Call(func=_wrapper(wrapper), args=args).with_changes(lpar=[], rpar=[])
        return Fix([(node, node_out)], applicability, "register the container")
    else:
        args = [cst.Arg(node.with_changes(lpar=[], rpar=[]) if isinstance(node, cst.GeneratorExp) else node)]
    return Fix([(node, cst.Call(func=_wrapper(wrapper), args=args))], applicability, "register the container")


def _flagged_call(node: cst.BaseExpression) -> cst.Call | None:
    """The call with ``requires_grad=`` in ``node``, following ``.method()`` receivers down."""
    while isinstance(node, cst.Call):
        if any(a.keyword is not None and a.keyword.value == "requires_grad" for a in node.args):
            return node
        if not isinstance(node.func, cst.Attribute):
            return None
        node = node.func.value
    return None


def _without_flag(call: cst.Call) -> cst.Call:
    args = [a for a in call.args if not (a.keyword is not None and a.keyword.value == "requires_grad")]
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=args)


def _parameter(ctx, stmt: ast.Assign, data: ast.expr, wrapper: str, applicability: Applicability) -> Fix | None:
    node = _assigned(ctx, stmt)
    inner = node if data is stmt.value else ctx.node_for(data)
    if node is None or inner is None:
        return None
    flagged = _flagged_call(inner)
    if flagged is not None:
        inner = inner.deep_replace(flagged, _without_flag(flagged)) if flagged is not inner else _without_flag(flagged)
    return Fix([(node, cst.Call(func=_wrapper(wrapper), args=[cst.Arg(inner)]))], applicability, "make it a parameter")


# Quick check ------------------------------------------------------------------------------
# The same conditions on the tree: torch imported, a class with bases and an `__init__` with a
# `self.x = value` that `_container` or `_tensor` could take, `x` read outside that `__init__`.
_CONTAINER_NODES = (ast.List, ast.Tuple, ast.Dict, ast.ListComp, ast.GeneratorExp, ast.DictComp)


def _quick_check(tree: ast.Module) -> bool:
    aliases = import_aliases(tree)
    if not any(_is_torch(q) for names in aliases.values() for q in names):
        return False  # `imports_module("torch")`
    defined = {n.name for n in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)}  # type: ignore[attr-defined]

    def foreign(call: ast.expr) -> bool:
        """A call of something imported from outside torch: the analysis does not know what it
        returns (`_library_call`), so it is no module or parameter for `_container`."""
        name = dotted(call.func) if isinstance(call, ast.Call) else None  # type: ignore[attr-defined]
        head = name.split(".")[0] if name else None
        return head is not None and head not in defined and head in aliases and not any(_is_torch(q) for q in aliases[head])

    modules = _module_classes(tree, aliases)
    loads = None
    for cls in nodes_of(tree, ast.ClassDef):
        if cls.name not in modules:  # type: ignore[attr-defined]
            continue  # `ClassInfo.is_module`
        methods = {s.name for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}  # type: ignore[attr-defined]
        inits = [s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "__init__"]  # type: ignore[attr-defined]
        init = inits[-1] if inits else None  # the one `ClassInfo.methods` keeps
        if init is None:
            continue
        bindings: dict[str, list[ast.expr]] | None = None
        candidates = []
        for stmt in _init_assignments(init):
            attr = stmt.targets[0].attr  # type: ignore[attr-defined]
            if attr in methods:
                continue
            if isinstance(stmt.value, ast.Name) and bindings is None:
                bindings = _local_bindings(init)
            if _may_hold(tree, attr, stmt.value, bindings, foreign):
                candidates.append(stmt)
        if not candidates:
            continue
        if loads is None:
            loads = _attribute_loads(nodes_of(tree, ast.Attribute))
        in_init = _attribute_loads(n for n in walk(init.body) if isinstance(n, ast.Attribute))
        if any(loads.get(s.targets[0].attr, 0) > in_init.get(s.targets[0].attr, 0) for s in candidates):  # type: ignore[attr-defined]
            return True  # `_uses`: read outside this `__init__` (in a nested function of it too)
    return False


def _is_torch(qualified: str) -> bool:
    return qualified == "torch" or qualified.startswith("torch.")


def _module_classes(tree: ast.Module, aliases: dict[str, set[str]]) -> set[str]:
    """Names of the classes ``Analysis`` may take as modules (``ClassInfo.is_module``)."""
    classes = nodes_of(tree, ast.ClassDef)
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name in names:  # type: ignore[attr-defined]
                continue
            for base in cls.bases:  # type: ignore[attr-defined]
                local = dotted(base) or ""
                head, _, rest = local.partition(".")
                qualified = {f"{q}.{rest}" if rest else q for q in aliases.get(head, ())}
                if (
                    any(q.startswith(("torch.nn.Module", "torch.nn.")) for q in qualified)
                    or local in names
                    or local.rsplit(".", 1)[-1] in ("LightningModule", "PreTrainedModel", "ModelMixin")
                ):
                    names.add(cls.name)  # type: ignore[attr-defined]
                    changed = True
                    break
    return names


def _attribute_loads(nodes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes:
        if isinstance(node.ctx, ast.Load):
            counts[node.attr] = counts.get(node.attr, 0) + 1
    return counts


def _local_bindings(init) -> dict[str, list[ast.expr]]:
    """Name -> the values of the ``name = ...`` statements in ``__init__`` (``ast.walk``, as
    ``_element_sources`` counts them)."""
    found: dict[str, list[ast.expr]] = {}
    for node in walked(init):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
    return found


def _may_hold(tree: ast.Module, attr: str, value: ast.expr, bindings, foreign, local: bool = False) -> bool:
    """``value`` is a container ``_element_sources`` takes (elements that are calls or names,
    not all calls of something imported from outside torch), or a tensor
    ``_learnable_creation``/``_random_draw`` takes."""
    if isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
        elements = value.values if isinstance(value, ast.Dict) else value.elts
        if isinstance(value, ast.Dict) and None in value.keys:
            return False
        return not elements or (
            len(elements) != 1 and all(isinstance(e, (ast.Call, ast.Name)) for e in elements) and not all(foreign(e) for e in elements)
        )
    if isinstance(value, (ast.ListComp, ast.GeneratorExp, ast.DictComp)):
        element = value.value if isinstance(value, ast.DictComp) else value.elt
        return isinstance(element, (ast.Call, ast.Name)) and not foreign(element)
    if isinstance(value, ast.Name):
        if local:
            return False
        bound = bindings.get(value.id, [])
        return len(bound) == 1 and _may_hold(tree, attr, bound[0], bindings, foreign, local=True)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("list", "tuple") and _listed(value):
        return not foreign(value.args[0].elt)  # type: ignore[attr-defined]
    if local or not isinstance(value, (ast.Call, ast.BinOp)):
        return False
    if isinstance(value, ast.Call) and _flagged(value):
        return True  # requires_grad=True or .requires_grad_() (maybe under conversions)
    draw = _random_draw_shape(tree, value)
    return draw is not None and _learning_evidence(tree, attr)


def _listed(call: ast.Call) -> bool:
    return len(call.args) == 1 and isinstance(call.args[0], (ast.ListComp, ast.GeneratorExp)) and isinstance(call.args[0].elt, (ast.Call, ast.Name))


def _flagged(call: ast.Call) -> bool:
    """``requires_grad=`` on the call or on the receiver chain under it, or ``.requires_grad_()``."""
    node: ast.expr = call
    while isinstance(node, ast.Call):
        if any(k.arg == "requires_grad" for k in node.keywords) or (isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_"):
            return True
        if not isinstance(node.func, ast.Attribute):
            return False
        node = node.func.value
    return False


def _random_draw_shape(tree: ast.Module, value: ast.expr) -> ast.Call | None:
    """``_random_draw`` by the called name only (its qualified name needs the analysis): a
    factory's name, or a name a factory is imported as."""
    factories = _RANDOM_FACTORIES | {
        a.asname for n in nodes_of(tree, ast.ImportFrom) for a in n.names if a.asname and a.name in _RANDOM_FACTORIES  # type: ignore[attr-defined]
    }
    node = value
    while True:
        if isinstance(node, ast.BinOp):
            node = node.left if isinstance(node.left, (ast.Call, ast.BinOp)) else node.right
            continue
        if isinstance(node, ast.Call):
            if called_name(node) in factories:
                return node
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("to", "cuda", "float", "double", "contiguous"):
                node = node.func.value
                continue
        return None


def _learning_evidence(tree: ast.Module, attr: str) -> bool:
    """``_initialised`` (a call whose first argument is ``self.x``) or ``_optimized_classes``
    (a ``.parameters()`` / ``.named_parameters()`` call, for the optimizer)."""
    for node in nodes_of(tree, ast.Call):
        func, args = node.func, node.args  # type: ignore[attr-defined]
        if args and isinstance(args[0], ast.Attribute) and args[0].attr == attr and isinstance(args[0].value, ast.Name) and args[0].value.id == "self":
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("parameters", "named_parameters"):
            return True
    return False
