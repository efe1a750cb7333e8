"""GF101 tensor-from-tensors."""

from __future__ import annotations

import ast
import re

import libcst as cst

from functools import partial

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import bound_names, calls_named
from ._hacks import dropping, forcing_on_result
from ._quick_graph import GraphFlow
from ._quick_leaves import grad_disabled, imports_of, imports_torch, may_carry_graph, may_carry_graph_text
from ._names import keyword, kwarg, torch_module
from ._values import _CANONICAL, Analysis, Kind, dotted

# Constructors that copy their data out of the graph, and the dtype their result has.
_CONSTRUCTORS = {
    "torch.tensor": None,
    "torch.as_tensor": None,
    "torch.Tensor": "float",
    "torch.FloatTensor": "float",
    "torch.DoubleTensor": "double",
    "torch.HalfTensor": "half",
    "torch.BFloat16Tensor": "bfloat16",
    "torch.cuda.FloatTensor": "float",
    "torch.cuda.DoubleTensor": "double",
    "torch.cuda.HalfTensor": "half",
}


_SHORT_NAMES = {name.rsplit(".", 1)[-1] for name in _CONSTRUCTORS}


_CONSTRUCTOR_NAMES = ("tensor", "as_tensor", "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "new_tensor")
# `\b(?:tensor|as_tensor|Tensor|...)\s*\(`, written to start with the literal "ensor" that every
# name ends with (re then skips ahead to it: 14x faster on the corpus, same matches).
_CALL_TEXT = re.compile(r"ensor(?:" + "|".join(rf"(?<=\b{name})" for name in _CONSTRUCTOR_NAMES) + r")\s*\(")
# `from torch import tensor as T`: `\b(?:tensor|...)\s+as\s+(\w+)`, led by "ensor" the same way
# (15x faster; the same matches: no name is a prefix of another, and each ends in "ensor").
_ALIAS_TEXT = re.compile(r"ensor(?:" + "|".join(rf"(?<=\b{name})" for name in _CONSTRUCTOR_NAMES) + r")\s+as\s+(\w+)")
# One token of a call's data argument: operators and blanks, a number, a string, or a bracket or
# comma; anything else (a name, a comment) is no token.
_TOKEN = re.compile(
    r"(?P<skip>[\s+\-*/%@~<>=!&|^:\\]+"
    r"|(?:\d|\.\d)(?:[\w.]|(?<=[eE])[+\-])*"
    r'|"""[\s\S]*?"""' r"|'''[\s\S]*?'''"
    r'|"(?:[^"\\\n]|\\.)*"' r"|'(?:[^'\\\n]|\\.)*')"
    r"|(?P<open>[\[({])|(?P<close>[\])}])|(?P<comma>,)"
)


def _data_has_name(source: str, pos: int) -> bool:
    """Whether the first argument of the call whose ``(`` ends at ``pos`` holds a name (or a
    comment, or anything but strings, numbers, operators and brackets: a superset). Data of
    numbers, strings, brackets and operators only never carries a graph."""
    depth, end = 0, len(source)
    while pos < end:
        token = _TOKEN.match(source, pos)
        if token is None:
            return True  # a name (or something else): it may be a graph
        kind = token.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close" or kind == "comma":
            if depth == 0:
                return False  # the end of the first argument
            depth -= kind == "close"
        pos = token.end()
    return False


_NUMBER_BUILTINS = {"len", "id", "hash", "ord", "round", "divmod", "pow", "int", "float", "complex", "bool", "isinstance", "str", "repr", "format", "chr"}


class _NeverCarries:
    """Whether an expression never carries a graph in the analysis: a literal, an f-string, or
    a call of a builtin that gives a Python number, bool or string (``len(x)``, ``float(t)``)
    when the file binds that name nowhere (the analysis looks a binding up first)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.bound: "set[str] | None" = None

    def __call__(self, node: ast.expr) -> bool:
        if isinstance(node, ast.UnaryOp):
            return self(node.operand)
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NUMBER_BUILTINS:
            if self.bound is None:
                self.bound = bound_names(self.tree)
            return node.func.id not in self.bound
        return False


class TensorFromTensors(Rule):
    """
    `torch.tensor([...])` of tensors that carry a graph cuts the graph.

    `torch.tensor`, `torch.as_tensor` (of a list), the legacy `torch.Tensor` /
    `torch.FloatTensor` constructors and `x.new_tensor` read the *values* of their
    elements and build a new leaf tensor. Every element that came from a Parameter loses
    its gradient: `backward()` then raises "element 0 of tensors does not require grad and
    does not have a grad_fn", or, when another path reaches the loss, the Parameters behind
    the elements silently get no gradient.

    The fix builds the same tensor with `torch.stack` (nested lists become nested stacks),
    which keeps the graph and gives bitwise-equal values. When the elements' shapes are not
    visible in the code, `.reshape(n)` keeps the result's shape exactly as `torch.tensor`
    gave it (it accepts one-element tensors of any shape). Python numbers among the
    elements become `torch.as_tensor(x, dtype=<element>.dtype)`; `dtype=`/`device=` turn
    into a `.to(...)`. The fix never uses zeros-and-fill (it downcasts float64).

    Bad:

        a = nn.Parameter(torch.rand(5))
        A = torch.tensor([a[0] * 2, torch.log(a[1] + 1), a[2] ** 2])
        A.sum().backward()   # RuntimeError: element 0 of tensors does not require grad

    Good:

        a = nn.Parameter(torch.rand(5))
        A = torch.stack([a[0] * 2, torch.log(a[1] + 1), a[2] ** 2])
        A.sum().backward()   # a.grad is set

    Fix safety: safe for lists of tensors; unsafe for `torch.tensor(t)` of one tensor,
    where a detached copy may have been intended (`t.detach().clone()` then says so).
    """

    code = "GF101"
    name = "tensor-from-tensors"
    summary = "`torch.tensor([...])` of graph-carrying tensors cuts the graph; use `torch.stack`"
    # detect needs torch imported and a constructor call (qualified through the imports, or
    # `x.new_tensor`) whose data carries a graph: a list with an element that is not a literal,
    # or an expression that is one; either way its data holds a name (see `text_check`).
    requires = (("torch",),)
    trigger = re.compile(_CALL_TEXT.pattern[: -len(r"\s*\(")] + r"(?:\s*\(|\s+as\s)")  # a call, or `tensor as T`

    @staticmethod
    def text_check(source: str) -> bool:
        """A constructor call (or one of a name imported ``as`` another) whose data argument (up
        to the first comma or closing bracket at its depth) holds a name, in a file where a graph
        can start (``may_carry_graph_text``)."""
        if not may_carry_graph_text(source):
            return False
        for match in _CALL_TEXT.finditer(source):
            if _data_has_name(source, match.end()):
                return True
        for alias in set(_ALIAS_TEXT.findall(source)):
            for match in re.finditer(rf"\b{alias}\s*\(", source):
                if _data_has_name(source, match.end()):
                    return True
        return False

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A constructor call as ``detect`` qualifies it (or ``x.new_tensor``), not of an integer
        dtype, whose data is a list with an element, or an expression, that may carry a graph
        (not a literal, not a Python number such as ``len(x)``, and reached by a graph in
        ``GraphFlow``: ``config.hidden_size`` bound nowhere to one is not)."""
        if not imports_torch(tree) or not may_carry_graph(tree):
            return False  # (every branch of detect needs data that carries a graph)
        imports = imports_of(tree)
        spelled = _SHORT_NAMES | {"new_tensor"} | {local for local, name in imports.aliases.items() if name in _CONSTRUCTORS}
        never = _NeverCarries(tree)
        candidates: list[ast.expr] = []  # the data, or list elements, that must carry a graph
        for node in calls_named(tree, spelled):
            qualified = imports.qualify(node.func)
            is_new_tensor = qualified is None and isinstance(node.func, ast.Attribute) and node.func.attr == "new_tensor"
            if qualified not in _CONSTRUCTORS and not is_new_tensor:
                continue
            data = _data_argument(node)
            if data is None or _integer_dtype_named(imports.qualify, node) or grad_disabled(tree, node):
                continue
            if isinstance(data, (ast.List, ast.Tuple)):
                candidates.extend(leaf for leaf in _leaves(data) if not never(leaf))
            elif not is_new_tensor and not isinstance(data, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)) and not never(data):
                candidates.append(data)
        if not candidates:
            return False
        flow = GraphFlow.of(tree)  # whether a graph can reach the data at all (`Value.carries`)
        return any(flow.may_carry(expr) for expr in candidates)

    def detect(self, analysis: Analysis):
        # The calls reported, for GF108 (which leaves them to this rule): kept in the memo once
        # the detection has run to its end, so GF108 need not run it again.
        sites: set[int] = set()
        for finding in self._detect(analysis):
            sites.add(id(finding.node))
            yield finding
        analysis.memo["GF101 sites"] = sites

    def _detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        # The last names a constructor call can be spelled with (what `qualify` keeps of an
        # attribute, a local name bound to one): no qualify of the file's other calls.
        spelled = _SHORT_NAMES | {"new_tensor"} | {k.rsplit(".", 1)[-1] for k, v in _CANONICAL.items() if v in _CONSTRUCTORS}
        spelled |= {local for local, name in analysis.imports.aliases.items() if _CANONICAL.get(name, name) in _CONSTRUCTORS}
        Attribute, Name = ast.Attribute, ast.Name
        for call in analysis.calls():
            func = call.func
            kind = type(func)
            if (func.attr if kind is Attribute else func.id if kind is Name else None) not in spelled:
                continue
            qualified = analysis.qualify(call.func)
            is_new_tensor = (
                qualified is None
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "new_tensor"
                and analysis.value(call.func.value).kind in (Kind.TENSOR, Kind.UNKNOWN)  # it has .new_tensor
            )
            if qualified not in _CONSTRUCTORS and not is_new_tensor:
                continue
            data = _data_argument(call)
            if data is None or _literal(data) or analysis.grad_disabled(call) or _integer_dtype(analysis, call):
                continue
            what = "`" + (dotted(call.func) or "tensor") + "`"
            if isinstance(data, (ast.List, ast.Tuple)):
                leaves = list(_leaves(data))
                values = [analysis.value(leaf) for leaf in leaves]
                if not leaves or not any(v.carries for v in values):
                    continue
                fix = None
                if all(v.is_tensor or _is_number(leaf) for leaf, v in zip(leaves, values)):
                    scalars = all(v.shape == () for leaf, v in zip(leaves, values) if not _is_number(leaf))
                    reference = next(i for i, v in enumerate(values) if v.carries)
                    fix = LazyFix(
                        partial(_stack_fix, call=call, qualified=qualified, is_new_tensor=is_new_tensor, scalars=scalars, reference=reference),
                        _safety(call),
                        "build the tensor with `torch.stack`",
                    )
                fix = fix and dropping(fix, forcing_on_result(analysis, call))
                yield self.finding(
                    call,
                    f"{what} copies the values of tensors that carry a graph and cuts their gradients; use `torch.stack`",
                    fix,
                )
                continue
            value = analysis.value(data)
            if not value.carries or is_new_tensor or isinstance(data, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
                continue
            element = value.element_value()
            if value.kind in (Kind.LIST, Kind.TUPLE) and not value.optional:
                # A list of tensors passed by name (`losses` built with `append`).
                fix = None
                if element is not None and element.is_tensor:
                    fix = LazyFix(
                        partial(_stack_name_fix, call=call, qualified=qualified, scalars=element.shape == ()),
                        _safety(call),
                        "build the tensor with `torch.stack`",
                    )
                fix = fix and dropping(fix, forcing_on_result(analysis, call))
                yield self.finding(
                    call,
                    f"{what} of a list of tensors that carry a graph copies their values and cuts their gradients; use `torch.stack`",
                    fix,
                )
                continue
            if value.kind is not Kind.TENSOR or qualified not in ("torch.tensor", "torch.Tensor"):
                continue  # (torch.Tensor(t) of one tensor is a view that keeps the graph: see the analysis)
            fix = None
            if value.is_tensor and not any(_keyword(call, k) is not None for k in ("dtype", "device")):
                fix = LazyFix(partial(_clone_fix, call=call), Applicability.UNSAFE, "copy with `.clone()`, which keeps the graph")
            fix = fix and dropping(fix, forcing_on_result(analysis, call))
            yield self.finding(
                call,
                f"`{dotted(call.func)}(t)` of a tensor that carries a graph returns a detached copy; "
                "use `t.clone()` (or `t.detach().clone()` if the cut is intended)",
                fix,
            )


def _safety(call: ast.Call) -> Applicability:
    """``requires_grad=True`` asked for a new leaf: the stacked tensor requires grad but is not
    one (an optimizer given it raises), so dropping the keyword is the user's call."""
    return Applicability.UNSAFE if _keyword(call, "requires_grad") is not None else Applicability.SAFE


def _clone_fix(ctx, call: ast.Call) -> Fix | None:
    node = ctx.node_for(call)
    if node is None:
        return None
    data = _cst_data(node)
    if not isinstance(data, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
        data = data.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    replacement = cst.Call(func=cst.Attribute(value=data, attr=cst.Name("clone")))
    return Fix([(node, replacement)], Applicability.UNSAFE, "copy with `.clone()`, which keeps the graph")


def _stack_name_fix(ctx, call: ast.Call, qualified, scalars: bool) -> Fix | None:
    node = ctx.node_for(call)
    if node is None:
        return None
    torch_name, import_edits = torch_module(ctx)
    data = _cst_data(node)
    result: cst.BaseExpression = _call(torch_name, "stack", [cst.Arg(data)])
    if not scalars:
        length = cst.Call(func=cst.Name("len"), args=[cst.Arg(data)])
        result = cst.Call(func=cst.Attribute(result, cst.Name("reshape")), args=[cst.Arg(length)])
    result = _converted(node, result, qualified, is_new_tensor=False)
    return Fix([(node, result), *import_edits], Applicability.SAFE, "build the tensor with `torch.stack`")


def _stack_fix(ctx, call: ast.Call, qualified, is_new_tensor: bool, scalars: bool, reference: int) -> Fix | None:
    node = ctx.node_for(call)
    if node is None:
        return None
    torch_name, import_edits = torch_module(ctx)
    data = _cst_data(node)
    leaves = list(_cst_leaves(data))
    reference_leaf = leaves[reference]

    def build(item: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(item, (cst.List, cst.Tuple)):
            return _call(torch_name, "stack", [cst.Arg(cst.List([cst.Element(build(e.value)) for e in item.elements]))])
        if _is_cst_number(item):
            return _call(torch_name, "as_tensor", [cst.Arg(item), kwarg("dtype", cst.Attribute(reference_leaf, cst.Name("dtype")))])
        return item

    result = build(data)
    if not scalars:
        result = cst.Call(
            func=cst.Attribute(result, cst.Name("reshape")),
            args=[cst.Arg(cst.Integer(str(n))) for n in _nesting_shape(data)],
        )
    result = _converted(node, result, qualified, is_new_tensor)
    return Fix([(node, result), *import_edits], Applicability.SAFE, "build the tensor with `torch.stack`")


def _converted(node: cst.Call, result: cst.BaseExpression, qualified, is_new_tensor: bool) -> cst.BaseExpression:
    """``dtype=``/``device=`` become ``.to(...)``; legacy constructors keep their dtype."""
    conversion: list[cst.Arg] = []
    for name in ("device", "dtype"):
        arg = keyword(node, name)
        if arg is not None:
            conversion.append(kwarg(name, arg.value))
    legacy = _CONSTRUCTORS.get(qualified or "")
    if is_new_tensor and not conversion:
        conversion.append(cst.Arg(node.func.value))  # type: ignore[union-attr]
    if conversion:
        return cst.Call(func=cst.Attribute(result, cst.Name("to")), args=conversion)
    if legacy is not None:
        return cst.Call(func=cst.Attribute(result, cst.Name(legacy)))
    return result


def _data_argument(call: ast.Call) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == "data":
            return kw.value
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


def _keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def _literal(data: ast.expr) -> bool:
    """Data of numbers only (``[1.0, -0.5]``, ``3``): it carries no graph, so the analysis
    need not be asked (nor run for the scope it is in)."""
    if isinstance(data, (ast.List, ast.Tuple)):
        return all(_constant(leaf) for leaf in _leaves(data))  # (no leaves: nothing to report either)
    return _constant(data)


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant)


def _leaves(node: ast.expr):
    """The non-list elements of a (nested) list literal; nothing when one is starred."""
    if _has_starred(node):
        return
    for element in node.elts:  # type: ignore[attr-defined]
        if isinstance(element, (ast.List, ast.Tuple)):
            yield from _leaves(element)
        else:
            yield element


def _has_starred(node: ast.expr) -> bool:
    return any(
        isinstance(e, ast.Starred) or (isinstance(e, (ast.List, ast.Tuple)) and _has_starred(e))
        for e in node.elts  # type: ignore[attr-defined]
    )


_INTEGER_DTYPES = {"long", "int", "int64", "int32", "int16", "int8", "uint8", "bool", "short"}


def _integer_dtype(analysis: Analysis, call: ast.Call) -> bool:
    """``dtype=torch.long`` and friends: an integer tensor never has a gradient to lose."""
    return _integer_dtype_named(analysis.qualify, call)


def _integer_dtype_named(qualify, call: ast.Call) -> bool:
    dtype = _keyword(call, "dtype")
    name = (qualify(dtype.value) or dotted(dtype.value)) if dtype is not None else None
    return name is not None and name.rsplit(".", 1)[-1] in _INTEGER_DTYPES


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


# LibCST side: building the fix ---------------------------------------------------------------
def _cst_data(call: cst.Call) -> cst.BaseExpression:
    data = keyword(call, "data")
    return data.value if data is not None else call.args[0].value


def _cst_leaves(node: cst.BaseExpression):
    for element in node.elements:  # type: ignore[attr-defined]
        if isinstance(element.value, (cst.List, cst.Tuple)):
            yield from _cst_leaves(element.value)
        else:
            yield element.value


def _is_cst_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


def _nesting_shape(node: cst.BaseExpression) -> list[int]:
    sizes = []
    while isinstance(node, (cst.List, cst.Tuple)) and node.elements:
        sizes.append(len(node.elements))
        node = node.elements[0].value
    return sizes


def _call(module: cst.BaseExpression, name: str, args: list[cst.Arg]) -> cst.Call:
    return cst.Call(func=cst.Attribute(module, cst.Name(name)), args=args)
