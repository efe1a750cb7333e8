"""GF108 scalar-escape."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from . import _torch
from ._ast import calls_named, has_loss_root, nodes_of, top_statement, unnamed_functions
from ._flow_ast import LOOPS, alone_on_its_lines, block_of, forced_requires_grad, walk
from ._hacks import removal_of
from ._losspath import calls_of, loss_path, loss_roots
from ._names import kwarg, torch_module
from ._text import ANYTHING, BACKPROP, backpropagates
from ._uses import LEAF, may_be_leaf, uses
from ._values import Analysis, Graph, Kind, dotted

# Tensor methods that hand the values to Python, and what they give.
_ESCAPE_METHODS = {"item": "scalar", "tolist": "array", "numpy": "array"}
# Methods and attributes that may sit between the tensor and the escape (`.detach().cpu().numpy()`).
_CHAIN_METHODS = {"detach", "cpu", "clone", "contiguous"}
# math functions with a torch function of the same meaning (forward equal within rounding).
_MATH_TO_TORCH = {
    "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
    "atan": "atan", "asin": "asin", "acos": "acos", "sinh": "sinh", "cosh": "cosh", "log1p": "log1p",
    "expm1": "expm1", "erf": "erf", "log2": "log2", "log10": "log10", "fabs": "abs",
}
# numpy functions of one array with a torch function of the same meaning.
_NUMPY_TO_TORCH = {
    "exp": "exp", "log": "log", "sqrt": "sqrt", "tanh": "tanh", "abs": "abs", "square": "square",
    "log1p": "log1p", "sum": "sum", "mean": "mean", "sin": "sin", "cos": "cos",
}
# Constructors that rebuild a tensor from Python or numpy data.
_REBUILDS = {
    "torch.tensor": None, "torch.as_tensor": None, "torch.from_numpy": None, "torch.asarray": None,
    "torch.Tensor": "float", "torch.FloatTensor": "float", "torch.DoubleTensor": "double",
    "torch.autograd.Variable": None,
}
# Python operations on the escaped numbers that tensors support with the same meaning.
_PASS_BUILTINS = {"sum", "abs"}

# Cuts of the value analysis that are not escapes (another rule's business).
_OTHER_CUTS = {".detach()", ".data", "no_grad", "requires_grad_(False)", "requires_grad=False", ".sample()", "indices", "state_dict()"}
# What `_Trace._escape` needs in the text (`math` for `math.exp` and `from math import exp`), in
# patterns that start with their literal (`re` skips ahead to it; one alternation is 6x slower).
_ESCAPE_TEXT = tuple(re.compile(p) for p in (r"\.(?:item|tolist|numpy)[\s\\]*\(", r"float(?<=\bfloat)[\s\\]*\(", r"int(?<=\bint)[\s\\]*\("))
LIVE, ESCAPED = 1, 2  # flags of a traced expression: keeps a graph; holds values taken out of one


class ScalarEscape(Rule):
    """
    A value on the way to `backward()` leaves the graph as a Python number or a numpy array.

    `.item()`, `float(t)`, `.tolist()`, `.numpy()` (also `.detach().cpu().numpy()`) and
    `math.exp(t)` hand a tensor's *values* to Python; whatever is computed from them, and
    the tensor rebuilt with `torch.tensor(x)` / `torch.from_numpy(a)`, has no graph back to
    the parameters. When the loss that is backpropagated is built only from such values,
    `backward()` raises "element 0 of tensors does not require grad and does not have a
    grad_fn" (or `'float' object has no attribute 'backward'`). The usual "fixes" for that
    error hide it: `loss.requires_grad = True`, `torch.tensor(loss.item(),
    requires_grad=True)` or `Variable(x, requires_grad=True)` make a fresh leaf, backward
    runs, and no parameter ever gets a gradient.

    The rule follows each loss root (`backward()`, `torch.autograd.grad`, a Lightning
    `training_step`'s return, an optimizer closure: the shared loss path) back through the
    assignments of its scope, `self.x` attributes of its class, the file's own loss
    functions and `nn.Module` classes, and reports only when *every* path from the root to
    a graph-carrying value goes through such an escape. Where the root is also cut another
    way (`.detach()`, `.data`, `no_grad`, `argmax`), it is reported without a fix: dropping
    the escape alone would not make it train. Constructors that GF101 reports
    (`torch.tensor([a, b])` of graph tensors) are left to GF101. `.item()` for logging (`print(loss.item())`, `running_loss +=
    loss.item()`, a dict of stats, `writer.add_scalar`), a deliberate constant inside a
    loss that still trains (`advantage = R - value.item()`, `alpha =
    log_alpha.exp().item()`), early stopping and numpy metrics are not on such a path and
    are never reported. A tensor made a leaf on purpose (handed to an optimizer, its
    `.grad` read) is not a hack.

    The fix stays in tensor ops: `t.item()`, `float(t)`, `t.tolist()` and `t.numpy()` become
    `t` (`t.reshape(())` where `t` is not known to be 0-d), `math.exp` / `np.exp` become
    `torch.exp`, the rebuilding constructor goes (its `dtype=`/`device=` become `.to(...)`;
    `torch.FloatTensor([a.item(), b.item()])` becomes `torch.stack([a, b]).float()`), and
    the hack goes. Forward values are **bitwise equal** when the values are passed
    straight back (`torch.tensor(t.item())`, `torch.from_numpy(t.detach().numpy())`) for
    float32 tensors (the default dtype). They are equal only **within float rounding** when
    Python computed with them on the way (`torch.tensor(a.item() * b.item() + 0.1)`,
    `math.exp(t.item())`): Python computes in float64, the tensor ops in the tensor's dtype
    (`math.exp` and `torch.exp` differ in the last bit for about 1% of float32 inputs), and
    for float64 tensors, which `torch.tensor(x.item())` rounded to float32. There is no fix
    (only the report) when an escaped number is also used elsewhere (logged, compared,
    stored), passes through an operation tensors do not share (`int()`, `round`, `max`, an
    unknown function), or the tensor's kind is not known.

    Bad:

        pred = model(x)
        err = pred.mean().item() - target
        loss = torch.tensor(err ** 2, requires_grad=True)
        loss.backward()              # runs; model's parameters get no gradient

    Good:

        pred = model(x)
        err = pred.mean() - target
        loss = err ** 2
        loss.backward()

    Fix safety: safe. The description of each fix says whether the forward is bitwise equal
    or equal within float rounding. The claim assumes float32 tensors (the default dtype);
    a float64 loss that was rounded to float32 by `torch.tensor(x.item())` stays float64.
    """

    code = "GF108"
    name = "scalar-escape"
    summary = "a loss built from `.item()` / `float()` / `.tolist()` / `.numpy()` / `math.*` values has no graph; stay in tensor ops"
    # Every finding is an escape (``_Trace._escape``: `.item()`, `.tolist()`, `.numpy()`, `float(t)`,
    # `int(t)`, a function of `math`, however imported: the file names `math`) on the way to a
    # loss root of ``_losspath``.
    requires = (BACKPROP,)
    trigger = ANYTHING  # the text check: the escape is searched only where something backpropagates

    @staticmethod
    def text_check(source: str) -> bool:
        return backpropagates(source) and ("math" in source or any(p.search(source) for p in _ESCAPE_TEXT))

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A loss root, and an escape: a call of `.item()`/`.tolist()`/`.numpy()` without
        arguments, of `float`/`int` with one, or of a function of `math` (a `math` name, or a
        name imported from it)."""
        if not has_loss_root(tree):
            return False
        # Local names that qualify to `math.*` (``Imports``): `import math [as m]`, `from math import f [as g]`.
        math_names = {a.asname or a.name for n in nodes_of(tree, ast.ImportFrom) if _is_math(n.module) and not n.level for a in n.names}
        math_names |= {a.asname or a.name.split(".")[0] for n in nodes_of(tree, ast.Import) for a in n.names if _is_math(a.name)}
        if any(isinstance(node.func, ast.Attribute) and not node.args for node in calls_named(tree, _ESCAPE_METHODS)):
            return True
        if any(isinstance(node.func, ast.Name) and len(node.args) == 1 for node in calls_named(tree, ("float", "int"))):
            return True
        if not math_names:
            return False
        for node in nodes_of(tree, ast.Call):
            func = node.func
            while isinstance(func, ast.Attribute):
                func = func.value
            if isinstance(func, ast.Name) and func.id in math_names:
                return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        roots = loss_roots(analysis)  # the path itself only if a fix is planned (`_callers_all_train`)
        if not roots:
            return
        covered = _gf101_sites(analysis)
        reported: set[frozenset[int]] = set()
        for root in roots:
            scope = analysis.enclosing_function(root) or analysis.tree
            if not _may_meet_escape(analysis, root, scope):
                continue
            trace = _Trace(analysis, covered)
            trace.root = root
            flags = trace.expr(root, scope)
            if flags & LIVE or not trace.escapes or trace.covered:
                continue
            key = frozenset(id(e.call) for e in trace.escapes)
            if key in reported:
                continue
            reported.add(key)
            yield self._finding(analysis, trace, root, flags)

    def _finding(self, analysis: Analysis, trace: "_Trace", root: ast.expr, flags: int):
        first = min(trace.escapes, key=lambda e: (e.call.lineno, e.call.col_offset))
        backward = analysis.parent(analysis.parent(root))
        if (
            isinstance(backward, ast.Call) and isinstance(backward.func, ast.Attribute) and backward.func.attr == "backward"
            and backward.func.value is root and len(ast.unparse(root)) <= 30
        ):
            where = f"`{ast.unparse(root)}.backward()`"
        else:
            where = "the loss that is backpropagated"
        others = len(trace.escapes) - 1
        more = f" (and {others} more escape{'s' if others > 1 else ''})" if others else ""
        if trace.hacks:
            hack = min(trace.hacks, key=lambda h: (h.lineno, h.col_offset))
            consequence = f"`{_hack_text(hack)}` (line {hack.lineno}) only hides it: backward runs and no parameter gets a gradient"
        elif analysis.value(root).kind is Kind.TENSOR or not flags & ESCAPED:
            consequence = "backward raises \"element 0 of tensors does not require grad\""
        elif analysis.value(root).kind is Kind.NDARRAY:
            consequence = "backward is called on a numpy array"
        else:
            consequence = "backward is called on a Python number"
        message = (
            f"{first.what} takes `{_short(first.operand)}` out of the graph on its way to {where}{more}; "
            f"{consequence}; stay in tensor ops"
        )
        fix = None
        plan = trace.plan(flags)
        if plan is not None:
            description = (
                "stay in tensor ops (forward equal bitwise)" if not plan.rounding
                else "stay in tensor ops (forward equal within float rounding: Python computed in float64)"
            )
            fix = LazyFix(partial(_build_fix, plan=plan, description=description), Applicability.SAFE, description)
        return self.finding(first.call, message, fix)


def _is_math(module: str | None) -> bool:
    return module is not None and (module == "math" or module.startswith("math."))


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _hack_text(hack: ast.AST) -> str:
    if isinstance(hack, ast.Call) and isinstance(hack.func, ast.Attribute) and hack.func.attr == "requires_grad_":
        return ".requires_grad_()"
    if isinstance(hack, ast.Call):
        return f"{dotted(hack.func) or 'torch.tensor'}(..., requires_grad=True)"
    return _short(hack)


def _gf101_sites(analysis: Analysis) -> set[int]:
    """Constructor calls GF101 reports: this rule leaves them to it."""
    sites: set[int] | None = analysis.memo.get("GF101 sites")  # type: ignore[assignment]
    if sites is None:  # GF101 has not run on this analysis: run its detection once
        from .gf101_tensor_from_tensors import TensorFromTensors

        for _ in TensorFromTensors().detect(analysis):
            pass
        sites = analysis.memo["GF101 sites"]  # type: ignore[assignment]
    return sites


# The backward slice of a root ---------------------------------------------------------------
@dataclass
class _Escape:
    call: ast.Call  # the escaping call (`t.detach().cpu().numpy()`, `float(t)`, `math.exp(t)`)
    operand: ast.expr  # the graph-carrying tensor expression it reads
    what: str  # "`.item()`", ...
    shape: str  # "scalar" or "array"
    certain: bool = True  # the value analysis says the tensor carries a graph


@dataclass
class _Plan:
    """The edits of the fix: ast nodes to rewrite, and how."""

    edits: dict[int, tuple[str, ast.AST, object]] = field(default_factory=dict)
    rounding: bool = False


class _Trace:
    """Follows a root back to where its values come from (flow-insensitive within a scope,
    definitions before the use or in a loop around it)."""

    def __init__(self, analysis: Analysis, covered: set[int]) -> None:
        self.a = analysis
        self.covered_sites = covered
        self.escapes: list[_Escape] = []
        self.hacks: list[ast.AST] = []  # statements or calls that force requires_grad on a cut value
        self.covered = False
        self.unfixable = False
        self.root: ast.AST | None = None
        self.other_cut = False  # the root is also cut elsewhere (detach, no_grad, argmax...): a fix here would not be enough
        self.rounding = False
        self.edits: dict[int, tuple[str, ast.AST, object]] = {}
        self.visited: set[int] = set()  # Name loads and expressions on the path
        self.number_bindings: list[tuple[ast.AST, str, ast.AST]] = []  # (scope, name, binding) of escaped values
        self._memo: dict[int, int] = {}  # Name use -> its flags
        self._functions: set[int] = set()

    # Expressions -------------------------------------------------------------------------
    def expr(self, node: ast.AST, scope: ast.AST) -> int:
        self.visited.add(id(node))
        if isinstance(node, ast.Constant):
            return 0
        if isinstance(node, ast.Name):
            return self.name(node, scope)
        if isinstance(node, ast.BinOp):
            left, right = self.expr(node.left, scope), self.expr(node.right, scope)
            flags = left | right
            if flags & ESCAPED:
                self.rounding = True
                for side, side_flags in ((node.left, left), (node.right, right)):
                    if not side_flags & ESCAPED and self.a.value(side).kind in (Kind.NDARRAY, Kind.LIST, Kind.TUPLE, Kind.UNKNOWN):
                        self.unfixable = True  # a tensor with a numpy array (float64) or a list: another result
            return flags
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return 0
            return self.expr(node.operand, scope)
        if isinstance(node, ast.IfExp):
            flags = self.expr(node.body, scope) | self.expr(node.orelse, scope)
            if flags & ESCAPED:
                self.unfixable = True
            return flags
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            flags = 0
            for element in node.elts:
                flags |= self.expr(element, scope)
            if flags & ESCAPED:
                self.unfixable = True  # a list of numbers becomes a stack, not a pass-through
            return flags
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            # [l.item() for l in losses]: the element; its loop names are the analysis' business.
            return self.expr(node.elt, scope)
        if isinstance(node, ast.Starred):
            return self.expr(node.value, scope)
        if isinstance(node, ast.Subscript):
            return self.expr(node.value, scope)
        if isinstance(node, ast.NamedExpr):
            return self.expr(node.value, scope)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.Attribute) and node.attr == "data" and self.a.value(node.value).carries:
            self.other_cut = True
            return 0
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" and not isinstance(scope, ast.Module):
            return self._named(node, f"self.{node.attr}", scope)
        if isinstance(node, (ast.Compare, ast.JoinedStr, ast.Lambda)):
            return 0
        return self._source(node)

    def _source(self, node: ast.AST) -> int:
        """Something the trace does not look into: what the value analysis says."""
        value = self.a.value(node)
        if value.graph is not Graph.NO:
            return LIVE
        if value.cut in _OTHER_CUTS or value.cut in _torch.NON_DIFFERENTIABLE or value.cut in _torch.NON_DIFFERENTIABLE_METHODS:
            self.other_cut = True
        return 0

    def call(self, node: ast.Call, scope: ast.AST) -> int:
        if id(node) in self.covered_sites:
            self.covered = True
            return 0
        escape = self._escape(node, scope)
        if escape is not None:
            if not any(e.call is node for e in self.escapes):
                self.escapes.append(escape)
                self._plan_escape(escape)
            return ESCAPED
        qualified = self.a.qualify(node.func) or ""
        func = node.func
        if qualified in _REBUILDS:
            return self._rebuild(node, qualified, scope)
        if isinstance(func, ast.Attribute) and func.attr == "requires_grad_" and not node.keywords:
            escapes_before = len(self.escapes)
            flags = self.expr(func.value, scope)
            if not flags & LIVE and len(self.escapes) > escapes_before:
                self.hacks.append(node)
                self.edits[id(node)] = ("receiver", node, None)
            return flags
        function = self.a.callee(node)
        if function is not None:
            return self._returns_of(function)
        if qualified.startswith("math."):
            return self._python_function(node, scope, _MATH_TO_TORCH.get(qualified[5:]), len(node.args) == 1)
        if qualified.startswith("numpy."):
            name = qualified[6:]
            return self._python_function(node, scope, _NUMPY_TO_TORCH.get(name), len(node.args) == 1 and not node.keywords)
        if isinstance(func, ast.Name) and qualified == "" and func.id in ("float", "int", "sum", "abs", "min", "max", "round", "list", "tuple"):
            flags = 0
            for arg in node.args:
                flags |= self.expr(arg, scope)
            if flags & ESCAPED:
                if func.id == "float" and len(node.args) == 1:
                    self.edits[id(node)] = ("unwrap", node, node.args[0])
                elif func.id in _PASS_BUILTINS:
                    self.rounding = True
                else:
                    self.unfixable = True
            return flags if func.id in ("sum", "abs", "min", "max", "list", "tuple") else flags & ESCAPED
        callee = self.a.value(func)
        if callee.kind is Kind.MODULE:
            if callee.name in _torch.PARAMETER_FREE_MODULES:
                return self._arguments(node, scope)
            return self._source(node)
        if qualified.startswith("torch."):
            last = qualified.rsplit(".", 1)[-1]
            if last in _torch.NON_DIFFERENTIABLE or last in _torch.CREATORS or last in _torch.PYTHON_RESULT:
                return self._source(node)
            if qualified.rsplit(".", 1)[0] not in _torch.TENSOR_NAMESPACES:
                return self._source(node)
            return self._arguments(node, scope)
        if isinstance(func, ast.Attribute):
            receiver = self.a.value(func.value)
            if receiver.kind is Kind.TENSOR:
                if func.attr in _torch.NON_DIFFERENTIABLE_METHODS or func.attr in ("detach", "detach_"):
                    if self.a.value(func.value).carries:
                        self.other_cut = True
                    return 0
                return self.expr(func.value, scope) | self._arguments(node, scope)
            if receiver.kind is Kind.NDARRAY:
                flags = self.expr(func.value, scope) | self._arguments(node, scope)
                if flags & ESCAPED:
                    if func.attr in ("mean", "sum") and not node.args and not node.keywords:
                        self.rounding = True  # the tensor has the same reduction
                    else:
                        self.unfixable = True
                return flags & ESCAPED
        if callee.kind is Kind.IMPORTED and qualified and not qualified.startswith("torch"):
            # A function of another package (scikit-learn, scikit-image...) given only numbers
            # and arrays cannot hand back this file's graph.
            inner = self._arguments(node, scope)
            if inner & ESCAPED and not inner & LIVE:
                self.unfixable = True
                return ESCAPED
        flags = self._source(node)
        if not flags:
            # Not known to carry a graph: the arguments may still hold escaped values.
            inner = self._arguments(node, scope)
            if inner & ESCAPED:
                self.unfixable = True
            return inner & ESCAPED
        return flags

    def _arguments(self, node: ast.Call, scope: ast.AST) -> int:
        flags = 0
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            flags |= self.expr(arg, scope)
        return flags

    def _python_function(self, node: ast.Call, scope: ast.AST, torch_name: str | None, one_argument: bool) -> int:
        flags = self._arguments(node, scope) & ESCAPED
        if flags:
            containers = any(self.a.value(a).kind in (Kind.LIST, Kind.TUPLE, Kind.ITERATOR) or isinstance(a, (ast.List, ast.ListComp, ast.GeneratorExp)) for a in node.args)
            if torch_name is None or not one_argument or containers:
                self.unfixable = True
            else:
                self.rounding = True
                self.edits[id(node)] = ("torch_function", node, torch_name)
        return flags

    def _escape(self, node: ast.Call, scope: ast.AST) -> _Escape | None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _ESCAPE_METHODS and not node.args:
            what, shape, inner = f"`.{func.attr}()`", _ESCAPE_METHODS[func.attr], func.value
        elif isinstance(func, ast.Name) and func.id in ("float", "int") and len(node.args) == 1 and self.a.qualify(func) is None:
            what, shape, inner = f"`{func.id}()`", "scalar", node.args[0]
        elif (self.a.qualify(func) or "").startswith("math.") and node.args:
            what, shape, inner = f"`{self.a.qualify(func)}`", "scalar", node.args[0]
        else:
            return None
        operand = inner
        while True:
            if isinstance(operand, ast.Call) and isinstance(operand.func, ast.Attribute) and operand.func.attr in _CHAIN_METHODS and not operand.args:
                operand = operand.func.value
            elif isinstance(operand, ast.Attribute) and operand.attr == "data":
                operand = operand.value
            else:
                break
        value = self.a.value(operand)
        if value.carries:
            return _Escape(node, operand, what, shape)
        if value.graph is Graph.UNKNOWN and self.expr(operand, scope) & LIVE:
            # The analysis cannot tell, but the tensor comes from a model or function call
            # that may carry a graph: an escape, reported without a fix.
            return _Escape(node, operand, what, shape, certain=False)
        return None

    def _plan_escape(self, escape: _Escape) -> None:
        value = self.a.value(escape.operand)
        if not escape.certain:
            self.unfixable = True
            return
        call = escape.call
        # Only a tensor has `.item()` / `.tolist()` / `.numpy()` and carries a graph.
        method = isinstance(call.func, ast.Attribute)
        if not (value.is_tensor or (method and value.carries and not value.optional)):
            self.unfixable = True
            return
        if isinstance(call.func, ast.Name) and call.func.id == "int":
            self.unfixable = True  # int() truncates
            return
        reshape = None
        if escape.shape == "scalar" and value.shape != () and not _reduced(escape.operand):
            reshape = "method" if value.is_tensor else "function"
        qualified = self.a.qualify(call.func) or ""
        if qualified.startswith("math."):
            name = _MATH_TO_TORCH.get(qualified[5:])
            if name is None or len(call.args) != 1:
                self.unfixable = True
                return
            self.rounding = True
            self.edits[id(call)] = ("torch_of", call, (escape.operand, reshape, name))
            return
        self.edits[id(call)] = ("operand", call, (escape.operand, reshape))

    def _rebuild(self, node: ast.Call, qualified: str, scope: ast.AST) -> int:
        data = node.args[0] if node.args and not isinstance(node.args[0], ast.Starred) else None
        if data is None:
            return self._source(node)
        escapes_before = len(self.escapes)
        if isinstance(data, (ast.List, ast.Tuple)) and data.elts and all(
            isinstance(e, ast.Call) and (found := self._escape(e, scope)) is not None and found.shape == "scalar" for e in data.elts
        ):
            # [a.item(), b.item()]: the 0-d tensors stacked (bitwise).
            flags = 0
            for element in data.elts:
                self.visited.add(id(element))
                flags |= self.call(element, scope)
            self.edits[id(data)] = ("stack", data, None)
        else:
            flags = self.expr(data, scope)
        for arg in node.args[1:]:
            flags |= self.expr(arg, scope)
        keywords = {k.arg: k.value for k in node.keywords}
        if flags & LIVE:
            return LIVE  # torch.as_tensor(t), Variable(t), torch.Tensor(t): the graph is kept
        if len(self.escapes) == escapes_before:
            return 0 if "requires_grad" in keywords or qualified == "torch.autograd.Variable" else self._source(node)
        requires_grad = keywords.get("requires_grad")
        if isinstance(requires_grad, ast.Constant) and requires_grad.value is True:
            self.hacks.append(node)
        if set(keywords) - {"dtype", "device", "requires_grad"} or len(node.args) != 1:
            self.unfixable = True
        if not flags & ESCAPED:
            # Rebuilt from a tensor that was itself rebuilt from escaped values.
            self.edits[id(node)] = ("rebuild", node, _REBUILDS[qualified])
            return 0
        statement = self.a.parent(node)
        if (
            isinstance(statement, ast.Assign) and statement.value is node and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and isinstance(data, ast.Name)
            and statement.targets[0].id == data.id and not set(keywords) - {"requires_grad"} and _REBUILDS[qualified] is None
        ):
            self.edits[id(statement)] = ("drop", statement, None)  # `x = torch.tensor(x)`: x is the tensor now
        else:
            self.edits[id(node)] = ("rebuild", node, _REBUILDS[qualified])
        return 0

    def _returns_of(self, function) -> int:
        if id(function) in self._functions:
            return 0
        self._functions.add(id(function))
        flags = 0
        found = False
        for value in _returned_values(self.a, function):
            found = True
            flags |= self.expr(value, function)
        return flags if found else LIVE  # no visible return: do not guess

    # Names -------------------------------------------------------------------------------
    def name(self, node: ast.Name, scope: ast.AST) -> int:
        return self._named(node, node.id, scope)

    def _named(self, node: ast.AST, key: str, scope: ast.AST) -> int:
        """A name, or a ``self.x`` attribute, read at ``node``: its reaching bindings."""
        if id(node) in self._memo:
            return self._memo[id(node)]
        self._memo[id(node)] = 0  # a use reached again through a loop adds nothing new
        attribute = "." in key
        bindings, hacks = _reaching(self.a, scope, node, key)
        if attribute and not bindings:
            bindings, hacks = self._attribute_bindings(node, key)
        if bindings is None:
            flags = self._parameter(node, scope)
        elif not bindings:
            flags = self._source(node) if attribute or isinstance(scope, ast.Module) else self._global(node)
        else:
            flags = 0
            escapes_before = len(self.escapes)
            for binding, value in bindings:
                where = scope if not attribute else (self.a.enclosing_function(binding) or scope)
                part = self._source(node) if value is None else self.expr(value, where)
                if part & ESCAPED and value is not None and _bound_kind(self.a, binding, key, value) is not Kind.TENSOR:
                    if attribute:
                        self.unfixable = True  # other methods may read the number
                    self.number_bindings.append((scope, key, binding))
                flags |= part
            if flags & ESCAPED and any(_mutates(self.a, binding, value) for binding, value in bindings):
                self.unfixable = True  # a list or array of the numbers, changed in place
            if not flags & LIVE and _used_as_leaf(self.a, scope, key):
                flags |= LIVE  # a leaf made on purpose: an optimizer or `.grad` reads it
            elif hacks and not flags & LIVE:
                if len(self.escapes) > escapes_before:
                    self.hacks.extend(hacks)
                    for hack in hacks:
                        self.edits[id(hack)] = ("drop", hack, None)
        self._memo[id(node)] = flags
        return flags

    def _attribute_bindings(self, node: ast.AST, key: str):
        """``self.x`` set in other methods of the class: every binding there."""
        info = self.a.enclosing_class(node)
        if info is None:
            return [], []
        bindings, hacks = [], []
        for method in info.methods.values():
            found, flags = _reaching(self.a, method, None, key)
            bindings += found or []
            hacks += flags
        return bindings, hacks

    def _parameter(self, node: ast.Name, function) -> int:
        """A parameter: what this file's calls pass for it, else its literal default."""
        passed = self.a.arguments(function).get(node.id)
        if passed is None and _literal_default(function, node.id):
            return 0
        return self._source(node)

    def _global(self, node: ast.Name) -> int:
        """A module-level name read in a function: every module-level binding of it."""
        bindings, _ = _reaching(self.a, self.a.tree, None, node.id)
        if not bindings:
            return self._source(node)
        flags = 0
        for _, value in bindings:
            flags |= self.expr(value, self.a.tree) if value is not None else self._source(node)
        return flags

    # The fix -------------------------------------------------------------------------------
    def _callers_all_train(self) -> bool:
        """An edit inside a function (a loss helper, a module's forward) changes what every
        caller gets: each call must be on the loss path or under no_grad (an evaluation call
        that reads ``.numpy()`` of the result would raise once it carries a graph)."""
        root_functions = {id(f) for f in _functions_around(self.a, self.root)} if self.root is not None else set()
        path = loss_path(self.a)
        checked: set[int] = set()
        for _, node, _ in self.edits.values():
            for function in _functions_around(self.a, node):
                if id(function) in root_functions or id(function) in checked:
                    continue
                checked.add(id(function))
                calls = calls_of(self.a, function)
                if not calls or any(not path.on_path(c) and not self.a.grad_disabled(c) for c in calls):
                    return False
        return True

    def plan(self, flags: int) -> _Plan | None:
        if self.unfixable or self.other_cut:
            return None
        for scope, name, binding in self.number_bindings:
            if name in uses(self.a, scope).nested_loads:
                return None  # a nested function or lambda also reads the number
            # After the fix the name holds a tensor: every read of this binding must be on the
            # path (or `float(name)`, which gives the same number).
            for use in uses(self.a, scope).of(name):
                if use.kind == "store" or id(use.node) in self.visited or _read_as_float(self.a, use.node):
                    continue
                reaching, _ = _reaching(self.a, scope, use.node) if isinstance(use.node, ast.Name) else (None, None)
                if reaching is None or any(b is binding for b, _ in reaching):
                    return None
        if not any(kind in ("operand", "torch_of") for kind, _, _ in self.edits.values()):
            return None
        if not self._callers_all_train():
            return None
        for kind, node, _ in self.edits.values():
            if kind == "drop":
                block = block_of(self.a.parent, node)
                if block is None or len(block) == 1 or not alone_on_its_lines(node, block):
                    return None  # the statement cannot simply go
        return _Plan(dict(self.edits), self.rounding)


@dataclass
class _EscapeCalls:
    """The calls `_Trace._escape` may take for an escape, by their syntax alone, by the scope
    each stands in (the innermost def, class or lambda around it, else the module)."""

    by_scope: dict[int, list[ast.Call]] = field(default_factory=dict)
    named: set[int] = field(default_factory=set)  # scopes of those outside a function the file never names
    unnamed: dict[int, set[int]] = field(default_factory=dict)  # such a function's id -> the scopes of those in it


def _escape_calls(analysis: Analysis) -> _EscapeCalls:
    """One table per file (`Analysis.shared`)."""
    tree = analysis.tree
    calls = [c for c in calls_named(tree, _ESCAPE_METHODS) if isinstance(c.func, ast.Attribute) and not c.args]
    calls += [c for c in calls_named(tree, ("float", "int")) if isinstance(c.func, ast.Name) and len(c.args) == 1]
    if any(_is_math(module) for module in analysis.imports.aliases.values()):
        calls += [c for c in analysis.calls() if c.args and (analysis.qualify(c.func) or "").startswith("math.")]
    found = _EscapeCalls()
    unnamed = unnamed_functions(tree) if calls else {}
    for call in calls:
        owner = analysis.parent(call)
        while owner is not None and not isinstance(owner, _WALK_SCOPES):
            owner = analysis.parent(owner)
        owner = owner or tree
        found.by_scope.setdefault(id(owner), []).append(call)
        top = id(top_statement(tree, call))
        if top in unnamed:
            found.unnamed.setdefault(top, set()).add(id(owner))
        else:
            found.named.add(id(owner))
    return found


def _may_meet_escape(analysis: Analysis, root: ast.AST, scope: ast.AST) -> bool:
    """Whether the trace from ``root`` in ``scope`` may meet an escape (a necessary condition,
    so that a training loop that only logs `loss.item()` costs no trace, nor the value analysis
    the trace asks).

    An escape elsewhere than directly in ``scope`` may be reached through a callee, a method's
    ``self.x`` or a global, unless it lies in another module-level function the file never
    names (`unnamed_functions`: nothing can call it, and the trace reads only module-level
    bindings of globals). One directly in ``scope`` is met only inside an expression the trace
    follows there: the root, the values bound to the names and ``self.x`` it reads
    (flow-insensitively, every binding of the scope), and what the scope returns or binds to
    ``self.x`` (another method, or a recursive call, may read those)."""
    escapes = analysis.shared("GF108 escape calls", partial(_escape_calls, analysis))
    if escapes.named - {id(scope)}:
        return True
    if escapes.unnamed and escapes.unnamed.get(id(top_statement(analysis.tree, scope)), set()) - {id(scope)}:
        return True  # in a def, class or lambda inside the function around the root
    inside = escapes.by_scope.get(id(scope))
    if not inside:
        return False
    index = _scope_index(analysis, scope)
    followed = {id(root)}
    keys: set[str] = set()
    work = [root]
    while work:
        for node in ast.walk(work.pop()):
            if type(node) is ast.Name:
                key = node.id
            elif type(node) is ast.Attribute and type(node.value) is ast.Name and node.value.id == "self":
                key = f"self.{node.attr}"
            else:
                continue
            if key not in keys:
                keys.add(key)
                for _, value, _ in index.bindings.get(key, ()):
                    if value is not None and id(value) not in followed:
                        followed.add(id(value))
                        work.append(value)
    for key, bindings in index.bindings.items():
        if key[:5] == "self.":
            followed.update(id(value) for _, value, _ in bindings if value is not None)
    if not isinstance(scope, ast.Module):
        followed.update(id(value) for value in _returned_values(analysis, scope))
    for call in inside:
        node: ast.AST | None = call
        while node is not None and node is not scope:
            if id(node) in followed:
                return True
            node = analysis.parent(node)
    return False


def _returned_values(analysis: Analysis, function: ast.AST) -> list[ast.expr]:
    """The values of the ``return`` statements ``walk(function.body)`` yields, in its order:
    the function's own, and those of a function defined directly in its body (a root of that
    walk is entered). One table per file, from the node index, not a walk per callee."""
    table: dict[int, list[ast.expr]] | None = analysis.memo.get("GF108 returns")  # type: ignore[assignment]
    if table is None:
        table = analysis.memo["GF108 returns"] = {}
        found = [n for n in analysis.nodes(ast.Return) if n.value is not None]  # type: ignore[attr-defined]
        found.sort(key=lambda n: (n.lineno, n.col_offset))  # statements: source order is the walk's
        for node in found:
            scope = analysis.parent(node)
            while scope is not None and not isinstance(scope, _WALK_SCOPES):
                scope = analysis.parent(scope)
            if scope is None:
                continue
            table.setdefault(id(scope), []).append(node.value)  # type: ignore[attr-defined]
            outer = analysis.parent(scope)
            if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)) and isinstance(scope, ast.stmt):
                table.setdefault(id(outer), []).append(node.value)  # type: ignore[attr-defined]  # (a statement in a def is in its body)
    return table.get(id(function), [])


_WALK_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _literal_default(function, name: str) -> bool:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return any(a.arg == name and isinstance(d, (ast.Constant, ast.UnaryOp)) for a, d in pairs)


def _used_as_leaf(analysis: Analysis, scope: ast.AST, key: str) -> bool:
    """An optimizer is given ``key`` (a name or ``self.x``), or its ``.grad`` is read."""
    if "." not in key:
        return may_be_leaf(analysis, scope, key) and any(u.kind == LEAF for u in uses(analysis, scope).of(key))
    return key in _leaf_attributes(analysis)


def _leaf_attributes(analysis: Analysis) -> set[str]:
    """The dotted names whose ``.grad`` the file reads, and the dotted attributes inside the
    arguments of ``torch.optim.*`` calls: one table per file, not a scan of it per name."""
    found: set[str] | None = analysis.memo.get("GF108 leaf attributes")  # type: ignore[assignment]
    if found is None:
        found = analysis.memo["GF108 leaf attributes"] = set()
        for node in analysis.nodes(ast.Attribute):
            if node.attr == "grad":
                name = dotted(node.value)
                if name is not None:
                    found.add(name)
        for call in analysis.calls():
            if (analysis.qualify(call.func) or "").startswith("torch.optim."):
                for arg in call.args:
                    for n in ast.walk(arg):
                        if isinstance(n, ast.Attribute):
                            name = dotted(n)
                            if name is not None:
                                found.add(name)
    return found


def _bound_kind(analysis: Analysis, binding: ast.AST, name: str, value: ast.AST) -> Kind:
    """What the name holds after ``binding`` (``t -= a.numpy()`` leaves a tensor a tensor)."""
    targets = binding.targets if isinstance(binding, ast.Assign) else [getattr(binding, "target", None)]
    for target in targets:
        if isinstance(target, (ast.Name, ast.Attribute)) and dotted(target) == name:
            return analysis.value(target).kind
    return analysis.value(value).kind


def _mutates(analysis: Analysis, binding: ast.AST, value) -> bool:
    """A binding that changes the container or array in place (``xs.append(v)``, ``a[k] = v``,
    ``a *= 2`` on an array, a ``for`` over it): on a tensor it would act differently."""
    if isinstance(binding, (ast.For, ast.AsyncFor, ast.Expr)) or (isinstance(binding, ast.stmt) and value is not None and not isinstance(binding, (ast.Assign, ast.AugAssign, ast.AnnAssign))):
        return True
    if isinstance(binding, ast.Assign) and any(isinstance(t, ast.Subscript) for t in binding.targets):
        return True
    if isinstance(binding, ast.AugAssign):
        return analysis.value(binding.target).kind in (Kind.NDARRAY, Kind.LIST, Kind.TUPLE, Kind.DICT)
    return False


def _functions_around(analysis: Analysis, node: ast.AST) -> list:
    return [a for a in analysis.ancestors(node) if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _reduced(node: ast.AST) -> bool:
    """``t.mean()``, ``t.sum()``...: a reduction over every element, 0-d."""
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _torch.REDUCTIONS
        and not node.args and not node.keywords
    )


def _read_as_float(analysis: Analysis, node: ast.AST) -> bool:
    parent = analysis.parent(node)
    return isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "float" and len(parent.args) == 1


def _reaching(analysis: Analysis, scope: ast.AST, use: ast.Name | None, name: str | None = None):
    """The bindings of a name in ``scope`` that may reach ``use`` (every binding when ``use``
    is None), as (statement, value expression or None when it is not an expression), and the
    statements between them and ``use`` that set ``requires_grad`` on the name. None when the
    name is a parameter of ``scope``.

    Reaching, approximately: walking back from ``use``, every binding up to the nearest plain
    assignment that runs whenever ``use`` does; and bindings after ``use`` in a loop around
    it, unless that assignment is inside the loop too.
    """
    name = name or use.id  # type: ignore[union-attr]
    if not isinstance(scope, ast.Module):
        args = scope.args  # type: ignore[attr-defined]
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if any(p is not None and p.arg == name for p in params):
            return None, []
    index = _scope_index(analysis, scope)
    found = index.bindings.get(name, [])
    hack_statements = index.hacks.get(name, [])
    if use is None:
        return [(b, v) for b, v, _ in found], hack_statements
    use_stmt = _statement_of(analysis, use)
    where = _position(use_stmt)
    ancestors = {id(a) for a in analysis.ancestors(use)} | {id(use_stmt)}
    before = sorted((f for f in found if f[0] is not None and _position(f[0]) < where), key=lambda f: _position(f[0]), reverse=True)
    bindings: list[tuple[ast.AST, ast.expr | None]] = []
    killer = None
    for stmt, value, plain in before:
        bindings.append((stmt, value))
        if plain and _runs_before(analysis, stmt, ancestors):
            killer = stmt
            break
    for stmt, value, _ in found:
        if stmt is None or _position(stmt) < where:
            continue
        loop = _common_loop(analysis, stmt, ancestors)
        if loop is not None and not (killer is not None and any(a is loop for a in analysis.ancestors(killer))):
            bindings.append((stmt, value))
    start = _position(killer) if killer is not None else (0, 0)
    hacks = [h for h in hack_statements if start < _position(h) < where]
    return bindings, hacks


@dataclass
class _ScopeIndex:
    bindings: dict[str, list[tuple[ast.AST, "ast.expr | None", bool]]] = field(default_factory=dict)  # (statement, value, plain)
    hacks: dict[str, list[ast.stmt]] = field(default_factory=dict)


def _scope_index(analysis: Analysis, scope: ast.AST) -> _ScopeIndex:
    """Every binding of every name in ``scope`` (one walk per scope), and the statements that
    set ``requires_grad`` on a name."""
    per_file: dict[int, _ScopeIndex] = analysis.memo.setdefault("GF108 scope index", {})  # type: ignore[assignment]
    index = per_file.get(id(scope))
    if index is not None:
        return index
    index = per_file[id(scope)] = _ScopeIndex()

    def add(target: ast.AST, stmt, value, plain: bool) -> None:
        if isinstance(target, ast.Name):
            index.bindings.setdefault(target.id, []).append((stmt, value, plain))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            index.bindings.setdefault(f"self.{target.attr}", []).append((stmt, value, plain))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add(element, stmt, value, False)
        elif isinstance(target, ast.Starred):
            add(target.value, stmt, value, False)

    Assign, Call, Attribute = ast.Assign, ast.Call, ast.Attribute
    for node in walk(scope.body):  # type: ignore[attr-defined]
        kind = type(node)
        if kind not in _SCOPE_INDEX_TYPES:
            continue  # most nodes (names, constants, operators' operands) bind nothing
        if kind is Assign:
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "requires_grad" and dotted(target.value) is not None:
                    if isinstance(node.value, ast.Constant) and node.value.value is True:
                        index.hacks.setdefault(dotted(target.value), []).append(node)
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    index.bindings.setdefault(target.value.id, []).append((node, node.value, False))
                else:
                    add(target, node, node.value, True)
        elif kind is Call:
            if type(node.func) is Attribute and dotted(node.func.value) is not None:
                name, stmt = dotted(node.func.value), _statement_of(analysis, node)
                if node.func.attr in ("append", "extend", "insert", "add") and node.args and stmt is not None:
                    index.bindings.setdefault(name, []).append((stmt, node.args[-1], False))
                elif node.func.attr == "requires_grad_" and isinstance(stmt, ast.Expr) and stmt.value is node and forced_requires_grad(stmt):
                    index.hacks.setdefault(name, []).append(stmt)
        elif kind is ast.AugAssign or kind is ast.AnnAssign:
            if node.value is not None:
                add(node.target, node, node.value, kind is ast.AnnAssign)
        elif kind is ast.For or kind is ast.AsyncFor:
            add(node.target, node, node.iter, False)
        elif kind is ast.withitem:
            if node.optional_vars is not None:
                add(node.optional_vars, _statement_of(analysis, node), None, False)
        elif kind is ast.NamedExpr:
            add(node.target, _statement_of(analysis, node), node.value, False)
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:
                index.bindings.setdefault(alias.asname or alias.name.split(".")[0], []).append((node, None, True))
        elif node is not scope:  # a def or class
            index.bindings.setdefault(node.name, []).append((node, None, True))
    return index


# The node types `_scope_index` binds names for.
_SCOPE_INDEX_TYPES = frozenset({
    ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.withitem, ast.NamedExpr, ast.Call,
    ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
})


def _position(stmt: ast.AST) -> tuple[int, int]:
    return (stmt.lineno, stmt.col_offset)


def _runs_before(analysis: Analysis, stmt: ast.AST, use_ancestors: set[int]) -> bool:
    """``stmt`` sits in a statement list that also holds the use (or a statement around it)."""
    parent = analysis.parent(stmt)
    for field_name in ("body", "orelse", "finalbody"):
        block = getattr(parent, field_name, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return any(id(s) in use_ancestors for s in block)
    return False


def _common_loop(analysis: Analysis, stmt: ast.AST, use_ancestors: set[int]):
    for ancestor in analysis.ancestors(stmt):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return None
        if isinstance(ancestor, LOOPS) and id(ancestor) in use_ancestors:
            return ancestor
    return None


def _statement_of(analysis: Analysis, node: ast.AST) -> ast.stmt | None:
    current = node
    while current is not None and not isinstance(current, ast.stmt):
        current = analysis.parent(current)
    return current


# LibCST side: building the fix ---------------------------------------------------------------
def _build_fix(ctx, plan: _Plan, description: str) -> Fix | None:
    torch_name, import_edits = torch_module(ctx)
    targets: dict[int, tuple[str, ast.AST, object]] = {}
    cst_of: dict[int, cst.CSTNode] = {}
    for key, (kind, node, extra) in plan.edits.items():
        found = ctx.node_for(node)
        if found is None:
            return None
        cst_of[key] = found
        targets[id(found)] = (kind, node, extra)
    operands: dict[int, cst.CSTNode] = {}
    for kind, node, extra in plan.edits.values():
        if kind in ("operand", "torch_of"):
            operand = ctx.node_for(extra[0])
            if operand is None:
                return None
            operands[id(node)] = operand

    class Rewriter(cst.CSTTransformer):
        def on_leave(self, original, updated):
            entry = targets.get(id(original))
            if entry is None:
                return updated
            result = _rewrite(entry, original, updated, operands, torch_name)
            if isinstance(ctx.parent(original), (cst.Arg, cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Return, cst.Expr, cst.Element)):
                return _unparen(result)
            return result

    # Rewrite the outermost planned nodes; the inner ones are rewritten inside them.
    outermost = []
    for key, node in cst_of.items():
        if not any(_contains(ctx, other, node) for other_key, other in cst_of.items() if other_key != key):
            outermost.append(node)
    edits: list[tuple[cst.CSTNode, object]] = []
    for node in outermost:
        kind = targets[id(node)][0]
        if kind == "drop":
            removal = removal_of(ctx, node)
            if removal is None:
                return None
            edits.append(removal)
            continue
        edits.append((node, node.visit(Rewriter())))
    return Fix([*edits, *import_edits], Applicability.SAFE, description)


def _contains(ctx, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    current = ctx.parent(inner)
    while current is not None:
        if current is outer:
            return True
        current = ctx.parent(current)
    return False


def _rewrite(entry, original, updated, operands, torch_name):
    kind, node, extra = entry
    if kind == "operand":
        operand = _paren(_find(updated, operands[id(node)], original))
        return _reshaped(operand, extra[1], torch_name)
    if kind == "torch_of":
        operand = _find(updated, operands[id(node)], original)
        _, reshape, name = extra
        operand = _reshaped(operand, reshape, torch_name)
        return cst.Call(func=cst.Attribute(torch_name, cst.Name(name)), args=[cst.Arg(operand)])
    if kind == "stack":
        elements = [cst.Element(_unparen(e.value)) for e in updated.elements]
        return cst.Call(func=cst.Attribute(torch_name, cst.Name("stack")), args=[cst.Arg(cst.List(elements))])
    if kind == "torch_function":
        return updated.with_changes(func=cst.Attribute(torch_name, cst.Name(extra)))
    if kind == "unwrap":
        return _paren(updated.args[0].value)
    if kind == "receiver":
        return updated.func.value
    if kind == "rebuild":
        data = updated.args[0].value
        conversion = [kwarg(a.keyword.value, a.value) for a in updated.args if a.keyword is not None and a.keyword.value in ("device", "dtype")]
        if conversion:
            return cst.Call(func=cst.Attribute(_paren(data), cst.Name("to")), args=conversion)
        if extra is not None:
            return cst.Call(func=cst.Attribute(_paren(data), cst.Name(extra)))
        return _paren(data)
    return updated


def _find(updated: cst.CSTNode, target: cst.CSTNode, original: cst.CSTNode) -> cst.CSTNode:
    """The node at ``target``'s place in ``updated`` (``original`` with its inner rewrites applied)."""
    if original is target:
        return updated
    for before, after in zip(original.children, updated.children):
        if before is target:
            return after
        if _inside(before, target):
            return _find(after, target, before)
    return target


def _inside(node: cst.CSTNode, target: cst.CSTNode) -> bool:
    return node is target or any(_inside(child, target) for child in node.children)


def _unparen(node):
    """Without the parentheses this rule added: where an argument or a whole value stands."""
    if isinstance(node, cst.BaseExpression) and len(getattr(node, "lpar", ())) == 1 and not isinstance(node, cst.Tuple):
        return node.with_changes(lpar=[], rpar=[])
    return node


def _reshaped(node: cst.BaseExpression, how: str | None, torch_name: cst.BaseExpression) -> cst.BaseExpression:
    """The 0-d tensor that ``.item()`` read from a one-element tensor: ``node.reshape(())`` for
    a known tensor, ``torch.reshape(node, ())`` for one that only its escape shows is a tensor."""
    if how is None:
        return node
    if how == "method":
        return cst.Call(func=cst.Attribute(_paren(node), cst.Name("reshape")), args=[cst.Arg(cst.Tuple([]))])
    return cst.Call(func=cst.Attribute(torch_name, cst.Name("reshape")), args=[cst.Arg(_unparen(node)), cst.Arg(cst.Tuple([]))])


def _paren(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` with parentheses where a method call or operator next to it needs them."""
    if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.Integer, cst.Float)) or getattr(node, "lpar", None):
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
