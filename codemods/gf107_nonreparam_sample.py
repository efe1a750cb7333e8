"""GF107 nonreparam-sample."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from . import _torch
from ._ast import calls, nodes_of
from ._quick_leaves import grad_disabled, imports_of, imports_torch, may_carry_graph
from ._flow_ast import COMPOUND, alone_on_its_lines, block_of, flows_into, names_read, names_written, statements, target_names, walk
from ._names import kwarg, torch_module
from ._values import Analysis, Graph, Kind, Value, dotted

# Tensor methods after which a value no longer carries a graph.
_CUTS = {"detach", "item", "tolist", "numpy"}
_LOSS_NAME = re.compile(r"loss|cost|elbo|objective|kl", re.I)
_REPARAM_FUNCTION = re.compile(r"reparam", re.I)


_SAMPLE_TEXT = re.compile(r"\.sample\s*\(")
_NORMAL_CALL_OR_ALIAS = re.compile(r"normal(?:\s*\(|\s+as\s)")  # `normal(`, or `from torch import normal as N`


class NonReparamSample(Rule):
    """
    Sampling that silently gives no gradient to the distribution's parameters.

    `torch.normal(mean, std)` with tensors that carry a graph returns a tensor that *has* a
    `grad_fn`, but its derivative is defined as zero: `mean.grad` and `std.grad` come back
    all zeros, and nothing fails. `Normal(mean, std).sample()` (and `sample()` of every
    `torch.distributions` class) runs under `torch.no_grad()`: the result has no graph at
    all, so the encoder behind `mean` and `std` gets `grad` None. A VAE or a stochastic
    layer written this way never trains what produces the distribution.

    The fix draws the same noise and reparameterises, which keeps the values bitwise equal
    on CPU under the same seed (checked for float32/float64, broadcast and non-contiguous
    arguments):

    - `torch.normal(mu, std)` → `mu + std * torch.randn(torch.broadcast_shapes(mu.shape,
      std.shape), dtype=mu.dtype, device=mu.device)`;
    - `torch.normal(mu, 2.5)` → `mu + torch.normal(0.0, 2.5, mu.shape, dtype=..., device=...)`
      (`mu + 2.5 * randn` rounds differently for float32);
    - `torch.normal(1.5, std)` → `1.5 + std * torch.randn(std.shape, dtype=..., device=...)`;
    - `d.sample()` → `d.rsample()` when `d`'s class has `rsample` (Normal, LogNormal, Laplace,
      Uniform, Exponential, Gamma, Beta, Dirichlet, StudentT, MultivariateNormal, the
      relaxed ones, ...), its parameters carry a graph, and the sample feeds a
      differentiable computation. Argument expressions that are not plain names are bound to
      a temporary first, so nothing is evaluated twice.

    Left alone: score-function (REINFORCE) code that passes the sample to `log_prob(...)`
    (there `sample()` is right and `rsample()` would zero the policy gradient), discrete
    distributions (Bernoulli, Categorical, Poisson have no `rsample`), draws under
    `torch.no_grad()`, and constant-parameter draws such as `torch.normal(0.0, 1.0, size)`
    or `x.normal_()`.

    Bad:

        mu, log_std = encoder(x).chunk(2, dim=-1)
        z = torch.normal(mu, log_std.exp())           # mu.grad is all zeros
        z = dist.Normal(mu, log_std.exp()).sample()   # encoder grads are None

    Good:

        std = log_std.exp()
        z = mu + std * torch.randn(torch.broadcast_shapes(mu.shape, std.shape), dtype=mu.dtype, device=mu.device)
        z = dist.Normal(mu, log_std.exp()).rsample()

    Fix safety: safe; forward values and random-number consumption are unchanged. Where an
    argument's kind (tensor or Python number) is not visible, the finding has no fix.
    """

    code = "GF107"
    name = "nonreparam-sample"
    summary = "`torch.normal(mu, std)` / `dist.sample()` give no gradient to mu and std; reparameterise"
    # detect needs torch imported and either `torch.normal(mean, std)` (qualified through the
    # imports: the file spells `normal(`), or `d.sample()` of a distribution that has `rsample`,
    # which the analysis makes only of a `torch.distributions` class (`distributions` is in the
    # text, and so is the class's name: see `text_check`).
    requires = (("normal", ".sample"),)
    trigger = re.compile(r"torch")  # (a required string, searched first; `text_check` does the rest)

    @staticmethod
    def text_check(source: str) -> bool:
        """``normal(``, or ``.sample(`` with ``distributions`` and a distribution that has ``rsample``."""
        if "normal" in source and _NORMAL_CALL_OR_ALIAS.search(source):
            return True  # (`from torch import normal as N` too)
        return (
            ".sample" in source and "distributions" in source and _SAMPLE_TEXT.search(source) is not None
            and any(name in source for name in _torch.RSAMPLE_DISTRIBUTIONS)
        )

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """``torch.normal(mean, std)`` (through the imports, as ``detect`` qualifies it) with an
        argument that is not a number, or ``x.sample(...)`` in a file that names a distribution
        class that has ``rsample`` (the only way the analysis makes such a distribution)."""
        if not imports_torch(tree):
            return False
        imports = imports_of(tree)
        sampled = rsampled = False
        normal = {"normal"} | {local for local, name in imports.aliases.items() if name == "torch.normal"}
        for node, name in calls(tree):
            if name == "sample" and isinstance(node.func, ast.Attribute):
                sampled = sampled or not grad_disabled(tree, node)
            elif name in normal and imports.qualify(node.func) == "torch.normal" and may_carry_graph(tree):
                arguments = _normal_arguments(node)
                if arguments is not None and not all(_is_number(arg) for _, arg in arguments) and not grad_disabled(tree, node):
                    return True
        if not sampled:
            return False
        # `Normal(...)`, `D.Normal`, `N = torch.distributions.Normal`, `import ... Normal as N`.
        rsampled = any(n.attr in _torch.RSAMPLE_DISTRIBUTIONS for n in nodes_of(tree, ast.Attribute)) or any(
            n.id in _torch.RSAMPLE_DISTRIBUTIONS for n in nodes_of(tree, ast.Name)
        ) or any(q.rsplit(".", 1)[-1] in _torch.RSAMPLE_DISTRIBUTIONS for q in imports.aliases.values())
        return rsampled

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for call in analysis.calls():
            if analysis.grad_disabled(call):
                continue
            if analysis.qualify(call.func) == "torch.normal":
                finding = self._normal(analysis, call)
            elif isinstance(call.func, ast.Attribute) and call.func.attr == "sample":
                finding = self._sample(analysis, call)
            else:
                continue
            if finding is not None:
                yield finding

    # torch.normal(mean, std) ---------------------------------------------------------------
    def _normal(self, analysis: Analysis, call: ast.Call):
        arguments = _normal_arguments(call)
        if arguments is None:
            return None
        kinds = [_kind(analysis, arg) for _, arg in arguments]
        if "graph" not in kinds:
            return None
        fix = None
        # The rewrite reads .shape/.dtype/.device: only of values known to be tensors.
        if "other" not in kinds and all(analysis.value(a).is_tensor for (_, a), k in zip(arguments, kinds) if k == "graph"):
            fix = _normal_lazy_fix(analysis, call, arguments, kinds)
        if fix is None:
            message = (
                "`torch.normal(mean, std)` has a zero gradient with respect to `mean` and `std`; write "
                "`mean + std * torch.randn(torch.broadcast_shapes(mean.shape, std.shape), dtype=mean.dtype, device=mean.device)` "
                "for a tensor `std`, or `mean + torch.normal(0.0, std, mean.shape, dtype=mean.dtype, device=mean.device)` "
                "for a float `std` (same values)"
            )
        else:
            message = (
                "`torch.normal(mean, std)` has a zero gradient with respect to `mean` and `std`; "
                "reparameterise: `mean + std * torch.randn(...)` draws the same values and keeps the gradient"
            )
        return self.finding(call, message, fix)

    # dist.sample() -----------------------------------------------------------------------
    def _sample(self, analysis: Analysis, call: ast.Call):
        distribution = analysis.value(call.func.value)  # type: ignore[attr-defined]
        if distribution.kind is not Kind.DISTRIBUTION or not _has_rsample(distribution):
            return None
        if not distribution.carries and not (distribution.graph is Graph.UNKNOWN and _in_reparam_function(analysis, call)):
            return None  # constant parameters: nothing to differentiate
        if _sample_usage(analysis, call) != "differentiable":
            return None
        fix = LazyFix(partial(_rsample_fix, call=call), Applicability.SAFE, "use `rsample()`: the same draw, reparameterised")
        return self.finding(
            call,
            f"`{distribution.name}.sample()` draws without a graph, so the parameters of the distribution get no gradient; "
            "use `rsample()` (same values, reparameterised)",
            fix,
        )


# torch.normal helpers -------------------------------------------------------------------------
def _normal_arguments(call: ast.Call) -> list[tuple[object, ast.expr]] | None:
    """[(where, mean), (where, std)] of ``torch.normal(mean, std)`` (``where``: a position or a
    keyword); None for any other overload or extra argument."""
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > 2:
        return None
    values: dict[str, tuple[object, ast.expr]] = {}
    for index, (name, arg) in enumerate(zip(("mean", "std"), call.args)):
        values[name] = (index, arg)
    for keyword in call.keywords:
        if keyword.arg not in ("mean", "std") or keyword.arg in values:
            return None
        values[keyword.arg] = (keyword.arg, keyword.value)
    if set(values) != {"mean", "std"}:
        return None
    return [values["mean"], values["std"]]


def _is_number(expr: ast.expr) -> bool:
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
        expr = expr.operand
    return isinstance(expr, ast.Constant) and isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)


def _kind(analysis: Analysis, expr: ast.expr) -> str:
    if _is_number(expr):
        return "number"
    return "graph" if analysis.value(expr).carries else "other"


def _normal_lazy_fix(analysis: Analysis, call: ast.Call, arguments, kinds) -> LazyFix | None:
    """The fix, if the rewrite can be made: arguments that are not plain names are bound to
    temporaries first, which needs the call to be the whole value of its own statement."""
    hoisted = [role for role, (_, arg), kind in zip(("mean", "std"), arguments, kinds) if kind == "graph" and dotted(arg) is None]
    base = ""
    if hoisted:
        base = _hoisting_base(analysis, call)
        if base is None:
            return None
        scope = analysis.enclosing_function(call) or analysis.tree
        taken = names_read(scope) | names_written(scope)
        if any(f"{base}_{role}" in taken for role in hoisted):
            return None
    build = partial(_normal_fix, call=call, where=[w for w, _ in arguments], kinds=kinds, hoisted=hoisted, base=base)
    return LazyFix(build, Applicability.SAFE, "reparameterise: draw standard noise and scale it (same values)")


def _hoisting_base(analysis: Analysis, call: ast.Call) -> str | None:
    """The name stem for temporaries when ``call`` is the whole value of ``x = ...`` or ``return ...``."""
    statement = analysis.parent(call)
    if not isinstance(statement, (ast.Assign, ast.Return)):
        return None
    block = block_of(analysis.parent, statement)
    if block is None or not alone_on_its_lines(statement, block):
        return None  # `a = f(); z = torch.normal(...)` on one line
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    if isinstance(statement, ast.Return):
        return "sample"
    return None


def _cst_argument(call: cst.Call, where) -> cst.BaseExpression | None:
    if isinstance(where, int):
        positional = [a for a in call.args if a.keyword is None]
        return positional[where].value if where < len(positional) else None
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == where), None)


def _normal_fix(ctx, call: ast.Call, where, kinds, hoisted, base) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call):
        return None
    arguments = [_cst_argument(node, w) for w in where]
    if None in arguments:
        return None
    torch_name, import_edits = torch_module(ctx)
    mean, std = arguments
    statement = None
    temps: list[tuple[str, cst.BaseExpression]] = []
    if hoisted:
        small = ctx.parent(node)
        statement = ctx.parent(small) if small is not None else None
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        if "mean" in hoisted:
            temps.append((f"{base}_mean", mean))
            mean = cst.Name(f"{base}_mean")
        if "std" in hoisted:
            temps.append((f"{base}_std", std))
            std = cst.Name(f"{base}_std")

    def attr(value, name):
        return cst.Attribute(value, cst.Name(name))

    def like(reference):
        return [kwarg("dtype", attr(reference, "dtype")), kwarg("device", attr(reference, "device"))]

    if kinds == ["graph", "graph"]:
        shape = cst.Call(attr(torch_name, "broadcast_shapes"), [cst.Arg(attr(mean, "shape")), cst.Arg(attr(std, "shape"))])
        noise = cst.Call(attr(torch_name, "randn"), [cst.Arg(shape), *like(mean)])
        value = _add(mean, cst.BinaryOperation(_paren(std), cst.Multiply(), noise))
    elif kinds == ["graph", "number"]:
        noise = cst.Call(
            attr(torch_name, "normal"),
            [cst.Arg(cst.Float("0.0")), cst.Arg(std), cst.Arg(attr(mean, "shape")), *like(mean)],
        )
        value = _add(mean, noise)
    elif kinds == ["number", "graph"]:
        noise = cst.Call(attr(torch_name, "randn"), [cst.Arg(attr(std, "shape")), *like(std)])
        value = _add(mean, cst.BinaryOperation(_paren(std), cst.Multiply(), noise))
    else:
        return None
    description = "reparameterise: draw standard noise and scale it (same values)"
    if statement is None:
        return Fix([(node, _parenthesize_for(ctx, node, value)), *import_edits], Applicability.SAFE, description)
    new_line = statement.deep_replace(node, value).with_changes(leading_lines=())
    lines = [cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(temp))], expr)]) for temp, expr in temps]
    lines[0] = lines[0].with_changes(leading_lines=statement.leading_lines)
    return Fix([(statement, cst.FlattenSentinel([*lines, new_line])), *import_edits], Applicability.SAFE, description)


def _paren(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)):
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _add(left: cst.BaseExpression, right: cst.BaseExpression) -> cst.BinaryOperation:
    return cst.BinaryOperation(_paren(left), cst.Add(), right)


def _parenthesize_for(ctx, call: cst.Call, value: cst.BinaryOperation) -> cst.BaseExpression:
    """A sum replacing a call needs parentheses unless it stands alone."""
    parent = ctx.parent(call)
    alone = isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return, cst.Arg, cst.Element, cst.Expr, cst.DictElement))
    if alone and not call.lpar:
        return value
    return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


# dist.sample() helpers -------------------------------------------------------------------------
def _rsample_fix(ctx, call: ast.Call) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    return Fix([(node.func.attr, cst.Name("rsample"))], Applicability.SAFE, "use `rsample()`: the same draw, reparameterised")


def _has_rsample(distribution: Value) -> bool:
    """Whether the distribution surely has a bitwise-equal ``rsample`` (a wrapper: its base's)."""
    if distribution.name in _torch.RSAMPLE_DISTRIBUTIONS:
        return True
    base = distribution.element
    return distribution.name in _torch.DISTRIBUTION_WRAPPERS and base is not None and _has_rsample(base)


def _in_reparam_function(analysis: Analysis, node: ast.AST) -> bool:
    function = analysis.enclosing_function(node)
    return function is not None and bool(_REPARAM_FUNCTION.search(function.name))


def _returns_count(analysis: Analysis, node: ast.AST) -> bool:
    """Whether a value returned here reaches a loss: from ``forward`` of a Module or a reparameterisation helper."""
    function = analysis.enclosing_function(node)
    if function is None:
        return False
    if _REPARAM_FUNCTION.search(function.name):
        return True
    cls = analysis.enclosing_class(node)
    return function.name == "forward" and cls is not None and cls.is_module and cls.methods.get("forward") is function


def _evidence(analysis: Analysis, node: ast.AST, statement: ast.stmt) -> str | None:
    """What the expression around ``node`` (up to its statement) does with the value."""
    child = node
    for ancestor in analysis.ancestors(node):
        if isinstance(ancestor, ast.Call):
            func = ancestor.func
            in_args = child is not func
            if isinstance(func, ast.Attribute):
                if in_args and func.attr == "log_prob":
                    return "reinforce"
                if not in_args and func.attr in _CUTS:
                    return None
                if not in_args and func.attr == "backward":
                    return "differentiable"
            if in_args and analysis.value(func).kind is Kind.MODULE:
                return "differentiable"
        elif isinstance(ancestor, ast.BinOp):
            other = ancestor.right if child is ancestor.left else ancestor.left
            if analysis.value(other).carries:
                return "differentiable"
        elif isinstance(ancestor, ast.Return):
            return "differentiable" if _returns_count(analysis, ancestor) else None
        if ancestor is statement:
            break
        child = ancestor
    if isinstance(statement, ast.Assign) and any(_LOSS_NAME.search(dotted(t) or "") for t in statement.targets):
        return "differentiable"
    return None


def _sample_usage(analysis: Analysis, call: ast.Call) -> str | None:
    """"reinforce" if the sample reaches a ``log_prob``; "differentiable" if it reaches a loss; else None."""
    statement = next(a for a in analysis.ancestors(call) if isinstance(a, ast.stmt))
    verdicts = [_evidence(analysis, call, statement)]
    seeds: set[str] = set()
    if isinstance(statement, ast.Assign) and verdicts[0] is None:
        for target in statement.targets:
            seeds |= {n for n in target_names(target) if "." not in n}
    if seeds:
        scope = analysis.enclosing_function(call) or analysis.tree
        body = [s for s in statements(scope.body) if s is not statement]
        tainted = flows_into([s for s in body if not isinstance(s, COMPOUND)], seeds)
        for other in body:
            if isinstance(other, COMPOUND):
                header = getattr(other, "test", None) or getattr(other, "iter", None)
                roots = [header] if header is not None and not isinstance(other, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else []
            else:
                roots = [other]
            for root in roots:
                for node in walk(root):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in tainted:
                        verdicts.append(_evidence(analysis, node, other))
    if "reinforce" in verdicts:
        return "reinforce"
    return "differentiable" if "differentiable" in verdicts else None
