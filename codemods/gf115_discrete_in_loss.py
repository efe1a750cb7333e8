"""GF115 discrete-in-loss."""

from __future__ import annotations

import ast
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from . import _gradpath, _torch
from ._ast import attributes_named, calls_named, has_loss_root, nodes_of, outside_unreachable, parents_of
from ._gradpath import grad_path
from ._hacks import dropping
from ._text import ANYTHING, BACKPROP, backpropagates
from ._values import Analysis, Kind, dotted

_KINDS = ("discrete", "indices", "compare", "zero", "cast", "sample")
_CASTS_TO_FLOAT = {"float", "double", "half"}
# The calls `_gradpath` cuts with one of _KINDS: discrete functions (and `one_hot`), comparisons,
# zero-gradient functions, integer casts (`.type`/`.to` with an integer dtype), and the functions
# whose second result is indices (`_, i = x.max(1)`); `where` cuts its condition.
_CUT_NAMES = (
    _gradpath._DISCRETE_FUNCTIONS | _gradpath._COMPARISONS | _gradpath._ZERO_GRADIENT | _gradpath._INTEGER_CASTS
    | _gradpath._INDEX_RESULTS | {"one_hot", "where", "type", "to", "sample", "sample_n"}
)
_ADVICE = {
    "discrete": ("`{op}` returns indices, which have no gradient", "give the loss the logits or probabilities "
                 "(`F.cross_entropy(logits, target)`), or a straight-through one-hot (`F.gumbel_softmax(logits, hard=True)`)"),
    "indices": ("the indices of `{op}` have no gradient", "give the loss the values (`.values`, `[0]`) or the logits"),
    "compare": ("a comparison has no gradient", "use a soft version (`torch.sigmoid((x - threshold) / temperature)`) "
                "or put the differentiable value itself in the loss"),
    "zero": ("`{op}` has a zero gradient everywhere", "use the straight-through estimator `x + (torch.round(x) - x).detach()`"),
    "cast": ("an integer cast (`{op}`) drops the graph", "keep the value in floating point"),
    "sample": ("`{op}` draws a discrete value, which has no gradient", "train the distribution with the score function "
               "(`loss = -(dist.log_prob(sample) * reward).mean()`) or draw a relaxed sample (`F.gumbel_softmax(logits, hard=True)`)"),
}


def _tests_only(parents: dict, compare: ast.AST) -> bool:
    """The comparison is what an ``if``/``while`` tests (alone, or under `and`/`or`/`not`): its
    value goes into no expression, so no loss path reads it."""
    child, parent = compare, parents.get(id(compare))
    while isinstance(parent, ast.BoolOp) or (isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)):
        child, parent = parent, parents.get(id(parent))
    return isinstance(parent, (ast.If, ast.While)) and parent.test is child


class DiscreteInLoss(Rule):
    """
    A discrete operation between the parameters and the loss gives them no gradient.

    `argmax`/`argmin`, the indices of `max(dim)`/`topk`/`sort`, comparisons (`x > 0`,
    `torch.where(p > 0.5, 1.0, 0.0)`), integer casts (`.long()`, `.int()`) return values
    without a graph: when every path from a parameter to the loss goes through one, that
    parameter gets no gradient (and if nothing else in the loss has a graph, `backward()`
    raises "element 0 of tensors does not require grad"). `round`, `floor`, `ceil`, `trunc`
    and `sign` keep a graph, but their derivative is zero everywhere: the gradient arrives
    as all zeros, silently. A draw of a discrete distribution (`Categorical(logits=l).sample()`,
    `Bernoulli`, `Poisson`...) is an index or a count with no graph: a loss built from it
    gives the logits nothing (train them with the score function, `-(dist.log_prob(a) *
    reward).mean()`, or a relaxed draw; a draw of a distribution that has `rsample` is GF107's).

    The rule reports only where the analysis shows that some trainable source (a module or
    Parameter that an optimizer stepped after the backward holds, or every source of the
    loss) reaches the loss only through the discrete operation. Accuracy, predictions,
    sampled indices, masks built from labels or from the same differentiable value
    (`err * (err > t).float()`), and comparisons of `loss.item()` are not on that path.

    The message says where the gradient dies and what the loss can use instead. Two
    straight-through estimators are offered as **unsafe** fixes (they change the gradient
    on purpose, from zero/none to the identity):

    - `torch.round(x)` -> `x + (torch.round(x) - x).detach()`. The forward is equal in
      value but not always bitwise: `round(x) - x` is exact in floating point, so the sum
      is `round(x)` for every finite `x`, except that a negative `x` that rounds to zero
      gives `+0.0` where `round` gives `-0.0` (measured on torch 2.13 over 800,001 values
      per dtype in float32, float64, float16 and bfloat16: no value differs, about 43,000
      differ in the sign of zero), and `inf` gives `nan`. A loss summed from such values is
      usually bitwise equal; the verifier says which.
    - `F.one_hot(logits.argmax(-1), num_classes=n).float()` ->
      `F.one_hot(...).float() - logits.softmax(-1).detach() + logits.softmax(-1)`: bitwise
      equal to the one-hot in every measured case (2,000,000 float32 and float64 entries;
      measured, not proven), gradients those of the softmax.

    Bad:

        codes = torch.round(encoder(x) * 4)           # encoder.weight.grad is all zeros
        pred = logits.argmax(1).float()
        loss = F.mse_loss(pred, y.float())            # backward raises

    Good:

        levels = encoder(x) * 4
        codes = levels + (torch.round(levels) - levels).detach()
        loss = F.cross_entropy(logits, y)

    Fix safety: unsafe (straight-through estimators, for `round` of a name or of arithmetic
    on names, and one-hot `argmax` of a name); everything else is reported without a fix, since what the loss should
    be is the author's choice.
    """

    code = "GF115"
    name = "discrete-in-loss"
    summary = "`argmax`, `round`, comparisons, integer casts and discrete draws between the parameters and the loss give them no gradient"
    # Every finding is a cut on the way to a loss root of ``_losspath``. The cuts themselves
    # give the text nothing to look for: a comparison is any `ast.Compare` (`in`, `is` too).
    requires = (BACKPROP,)
    trigger = ANYTHING
    text_check = staticmethod(backpropagates)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A loss root, and a cut of one of ``_KINDS`` (``_gradpath``): a comparison, a call of a
        discrete, comparing, zero-gradient, index-returning or integer-casting function or
        method (by its name, or by the name it was imported as: `_gradpath` reads the qualified
        name of a torch function), `.type(...)`/`.to(...)` (an integer dtype), or a `.indices` read;
        where a loss path may go (``outside_unreachable``; a comparison an `if` only tests is not)."""
        if not has_loss_root(tree):
            return False
        parents = parents_of(tree)
        if any(not _tests_only(parents, n) and outside_unreachable(tree, n) for n in nodes_of(tree, ast.Compare)):
            return True
        if any(outside_unreachable(tree, n) for n in calls_named(tree, _CUT_NAMES)):
            return True
        if any(a.name.rsplit(".", 1)[-1] in _CUT_NAMES for n in nodes_of(tree, ast.ImportFrom, ast.Import) for a in n.names):
            return True
        return any(outside_unreachable(tree, n) for n in attributes_named(tree, "indices"))

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        path = grad_path(analysis)
        for node, source in path.lost(_KINDS):
            kind = path.kind_of(node)
            if kind == "sample" and not _discrete_draw(analysis, node):
                continue  # a draw of a distribution with `rsample` (GF107's), or of one the analysis does not know
            op = _op_name(node) if kind != "sample" else f"{analysis.value(node.func.value).name}.{node.func.attr}()"
            why, instead = _ADVICE[kind]
            message = f"{why.format(op=op)}, so the loss gives `{path.describe(source)}` no gradient; {instead}"
            yield self.finding(node, message, dropping(_fix(analysis, node, kind), path.forcing(node)))


def _discrete_draw(analysis: Analysis, node: ast.AST) -> bool:
    """``d.sample()`` of a distribution the analysis knows to be discrete (``Categorical``, ``Bernoulli``...)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    distribution = analysis.value(node.func.value)
    return distribution.kind is Kind.DISTRIBUTION and distribution.name in _torch.DISCRETE_DISTRIBUTIONS


def _op_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        name = dotted(func) or (func.attr if isinstance(func, ast.Attribute) else "")
        if isinstance(func, ast.Attribute) and (dotted(func.value) or "").split(".")[0] not in ("torch", "F", "T", "th"):
            return f".{func.attr}()"
        return f"{name}()"
    if isinstance(node, ast.Attribute):
        return f".{node.attr}"
    return ast.unparse(node)


def _fix(analysis: Analysis, node: ast.AST, kind: str) -> LazyFix | None:
    if kind == "zero":
        operand = _round_operand(analysis, node)
        if operand is not None:
            return LazyFix(partial(_round_fix, call=node, operand=operand), Applicability.UNSAFE,
                           "straight-through estimator: `x + (torch.round(x) - x).detach()`")
    if kind == "discrete":
        found = _one_hot_of_argmax(analysis, node)
        if found is not None:
            outer, logits = found
            return LazyFix(partial(_one_hot_fix, outer=outer, logits=logits), Applicability.UNSAFE,
                           "straight-through one-hot: `hard - soft.detach() + soft`")
    return None


def _round_operand(analysis: Analysis, call: ast.AST) -> str | None:
    """The text of ``x`` in ``torch.round(x)`` / ``x.round()`` (no ``decimals``), when ``x`` is a tensor
    and pure arithmetic on names (the estimator evaluates it twice more)."""
    if not isinstance(call, ast.Call) or call.keywords:
        return None
    if analysis.qualify(call.func) == "torch.round" and len(call.args) == 1:
        operand = call.args[0]  # torch.round accepts only a tensor: the call establishes it
    elif isinstance(call.func, ast.Attribute) and call.func.attr == "round" and not call.args and analysis.value(call.func.value).is_tensor:
        operand = call.func.value
    else:
        return None
    if not _pure(operand):
        return None
    return ast.unparse(operand)


_PURE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


def _pure(expr: ast.AST) -> bool:
    """Names, constants and arithmetic on them: evaluating it again gives the same value, bitwise."""
    if isinstance(expr, ast.BinOp):
        return isinstance(expr.op, _PURE_OPERATORS) and _pure(expr.left) and _pure(expr.right)
    if isinstance(expr, ast.UnaryOp):
        return isinstance(expr.op, (ast.USub, ast.UAdd)) and _pure(expr.operand)
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)
    return dotted(expr) is not None


def _one_hot_of_argmax(analysis: Analysis, argmax: ast.AST) -> tuple[ast.Call, str] | None:
    """(``F.one_hot(L.argmax(-1), n).float()``, ``L``) for an argmax over the last dim of a tensor name."""
    if not isinstance(argmax, ast.Call):
        return None
    if isinstance(argmax.func, ast.Attribute) and argmax.func.attr == "argmax" and analysis.qualify(argmax.func) != "torch.argmax":
        logits, dims = argmax.func.value, list(argmax.args)
    elif analysis.qualify(argmax.func) == "torch.argmax" and argmax.args:
        logits, dims = argmax.args[0], list(argmax.args[1:])
    else:
        return None
    dims += [k.value for k in argmax.keywords if k.arg == "dim"]
    if len(dims) != 1 or any(k.arg not in ("dim",) for k in argmax.keywords) or ast.unparse(dims[0]) != "-1":
        return None
    name = dotted(logits)
    if name is None or not analysis.value(logits).is_tensor:
        return None
    one_hot = analysis.parent(argmax)
    if not (isinstance(one_hot, ast.Call) and (analysis.qualify(one_hot.func) or "").endswith("functional.one_hot")):
        return None
    if not one_hot.args or one_hot.args[0] is not argmax or (len(one_hot.args) < 2 and not any(k.arg == "num_classes" for k in one_hot.keywords)):
        return None  # without num_classes the one-hot may be narrower than the logits
    attribute = analysis.parent(one_hot)
    cast = analysis.parent(attribute) if attribute is not None else None
    if not (isinstance(attribute, ast.Attribute) and attribute.attr in _CASTS_TO_FLOAT and isinstance(cast, ast.Call) and not cast.args):
        return None
    return cast, name


def _parenthesized(ctx, node: cst.CSTNode, value: cst.BinaryOperation) -> cst.BaseExpression:
    parent = ctx.parent(node)
    if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return, cst.Arg, cst.Element, cst.Expr, cst.DictElement)):
        return value
    return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _expression(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def _round_fix(ctx, call: ast.Call, operand: str) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call):
        return None
    x = _expression(operand)
    if isinstance(x, (cst.BinaryOperation, cst.UnaryOperation)):
        x = x.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    difference = cst.BinaryOperation(node, cst.Subtract(), x, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    detached = cst.Call(cst.Attribute(difference, cst.Name("detach")))
    value = cst.BinaryOperation(_expression(operand), cst.Add(), detached)
    return Fix([(node, _parenthesized(ctx, node, value))], Applicability.UNSAFE,
               "straight-through estimator: `x + (torch.round(x) - x).detach()`")


def _one_hot_fix(ctx, outer: ast.Call, logits: str) -> Fix | None:
    node = ctx.node_for(outer)
    if not isinstance(node, cst.Call):
        return None

    def soft() -> cst.Call:
        return cst.Call(cst.Attribute(_expression(logits), cst.Name("softmax")), [cst.Arg(_expression("-1"))])

    minus = cst.BinaryOperation(node, cst.Subtract(), cst.Call(cst.Attribute(soft(), cst.Name("detach"))))
    value = cst.BinaryOperation(minus, cst.Add(), soft())
    return Fix([(node, _parenthesized(ctx, node, value))], Applicability.UNSAFE,
               "straight-through one-hot: `hard - soft.detach() + soft`")
