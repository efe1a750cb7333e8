"""GF107 nonreparam-sample."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._ast import calls
from ._distributions import distribution_class, has_rsample, parameter_arguments
from ._graph import Carry, flow_for, scope_of
from ._loops import flows_into, loop_targets, names_read, names_written, statements, walk
from ._names import dotted_name, imports, kwarg, torch_module
from ._scopes import class_facts, enclosing_class, enclosing_function, enclosing_statement, in_grad_disabled

# Tensor methods after which a value no longer carries a graph.
_CUTS = {"detach", "item", "tolist", "numpy"}
_LOSS_NAME = re.compile(r"loss|cost|elbo|objective|kl", re.I)
_REPARAM_FUNCTION = re.compile(r"reparam", re.I)


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
    trigger = re.compile(r"normal\s*\(|\.sample\s*\(")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """``x.sample(...)``, or ``normal(mean, std)`` with no size and a non-literal argument."""
        for node, name in calls(tree):
            if name == "sample" and isinstance(node.func, ast.Attribute):
                return True
            if name == "normal" and len(node.args) + len(node.keywords) == 2 and len(node.args) <= 2:
                values = [*node.args, *(k.value for k in node.keywords if k.arg in ("mean", "std"))]
                if len(values) == 2 and not all(isinstance(v, (ast.Constant, ast.UnaryOp)) for v in values):
                    return True
        return False

    def check(self, ctx):
        names = imports(ctx)
        if not names.imports_module("torch"):
            return
        for node in walk(ctx.module, into_scopes=True):
            if not isinstance(node, cst.Call) or in_grad_disabled(ctx, node):
                continue
            if names.qualify(node.func) == "torch.normal":
                finding = self._normal(ctx, node)
            elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "sample":
                finding = self._sample(ctx, node)
            else:
                continue
            if finding is not None:
                yield finding

    # torch.normal(mean, std) ---------------------------------------------------------------
    def _normal(self, ctx, call: cst.Call):
        arguments = _normal_arguments(call)
        if arguments is None:
            return None
        flow = flow_for(ctx, call)
        kinds = [_kind(flow, arg, call) for arg in arguments]
        if "graph" not in kinds:
            return None
        message = (
            "`torch.normal(mean, std)` has a zero gradient with respect to `mean` and `std`; "
            "reparameterise: `mean + std * torch.randn(...)` draws the same values and keeps the gradient"
        )
        fix = None if "other" in kinds else self._normal_fix(ctx, call, arguments, kinds)
        if fix is None:
            message = (
                "`torch.normal(mean, std)` has a zero gradient with respect to `mean` and `std`; write "
                "`mean + std * torch.randn(torch.broadcast_shapes(mean.shape, std.shape), dtype=mean.dtype, device=mean.device)` "
                "for a tensor `std`, or `mean + torch.normal(0.0, std, mean.shape, dtype=mean.dtype, device=mean.device)` "
                "for a float `std` (same values)"
            )
        return self.finding(call, message, fix)

    def _normal_fix(self, ctx, call, arguments, kinds) -> Fix | None:
        torch_name, import_edits = torch_module(ctx)
        mean, std = arguments
        hoisted: list[tuple[str, cst.BaseExpression]] = []
        complex_args = [a for a, k in zip(arguments, kinds) if k == "graph" and not _is_simple(a)]
        statement = None
        if complex_args:
            statement, base = _hoisting_site(ctx, call)
            if statement is None:
                return None
            taken = names_read(scope_of(ctx, call)) | names_written(scope_of(ctx, call))
            replaced = []
            for arg, role in ((mean, "mean"), (std, "std")):
                if arg in complex_args:
                    temp = f"{base}_{role}"
                    if temp in taken:
                        return None
                    hoisted.append((temp, arg))
                    replaced.append(cst.Name(temp))
                else:
                    replaced.append(arg)
            mean, std = replaced

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
        if not hoisted:
            return Fix([(call, _parenthesize_for(ctx, call, value)), *import_edits], Applicability.SAFE, description)
        new_line = statement.deep_replace(call, value).with_changes(leading_lines=())
        lines = [
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(temp))], expr)])
            for temp, expr in hoisted
        ]
        lines[0] = lines[0].with_changes(leading_lines=statement.leading_lines)
        return Fix([(statement, cst.FlattenSentinel([*lines, new_line])), *import_edits], Applicability.SAFE, description)

    # dist.sample() -----------------------------------------------------------------------
    def _sample(self, ctx, call: cst.Call):
        receiver = call.func.value  # type: ignore[union-attr]
        constructor = receiver if isinstance(receiver, cst.Call) else _single_binding(ctx, call, receiver)
        if constructor is None or distribution_class(ctx, constructor) is None:
            return None
        if not has_rsample(ctx, constructor):
            return None
        parameters = parameter_arguments(ctx, constructor)
        flow = flow_for(ctx, constructor)
        carries = [flow.carries(p, constructor) for p in parameters]
        if Carry.YES not in carries and not (Carry.UNKNOWN in carries and _in_reparam_function(ctx, call)):
            return None  # constant parameters: nothing to differentiate
        usage = _sample_usage(ctx, call)
        if usage != "differentiable":
            return None
        cls = distribution_class(ctx, constructor)
        fix = Fix(
            [(call.func.attr, cst.Name("rsample"))],  # type: ignore[union-attr]
            Applicability.SAFE,
            "use `rsample()`: the same draw, reparameterised",
        )
        return self.finding(
            call,
            f"`{cls}.sample()` draws without a graph, so the parameters of the distribution get no gradient; "
            "use `rsample()` (same values, reparameterised)",
            fix,
        )


# torch.normal helpers -------------------------------------------------------------------------
def _normal_arguments(call: cst.Call) -> list[cst.BaseExpression] | None:
    """[mean, std] of ``torch.normal(mean, std)``; None for any other overload or extra argument."""
    if any(a.star for a in call.args):
        return None
    values: dict[str, cst.BaseExpression] = {}
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) > 2:
        return None
    for name, arg in zip(("mean", "std"), positional):
        values[name] = arg.value
    for arg in call.args:
        if arg.keyword is None:
            continue
        if arg.keyword.value not in ("mean", "std") or arg.keyword.value in values:
            return None
        values[arg.keyword.value] = arg.value
    if set(values) != {"mean", "std"}:
        return None
    return [values["mean"], values["std"]]


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float))


def _kind(flow, expr, at) -> str:
    if _is_number(expr):
        return "number"
    return "graph" if flow.carries(expr, at) is Carry.YES else "other"


def _is_simple(expr: cst.BaseExpression) -> bool:
    return dotted_name(expr) is not None


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


def _hoisting_site(ctx, call: cst.Call):
    """(line, name stem) when ``call`` is the whole value of a one-statement line in a block."""
    small = ctx.parent(call)
    line = ctx.parent(small) if small is not None else None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None, ""
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        return line, small.targets[0].target.value
    if isinstance(small, cst.Return):
        return line, "sample"
    return None, ""


# dist.sample() helpers -------------------------------------------------------------------------
def _scope_body(scope):
    return scope.body if isinstance(scope, cst.FunctionDef) else scope


def _single_binding(ctx, at: cst.CSTNode, name_expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """The value of the one assignment to ``name`` in the scope of ``at``; None if not exactly one."""
    name = dotted_name(name_expr)
    if name is None:
        return None
    scope = scope_of(ctx, at)
    values = []
    for stmt in statements(_scope_body(scope)):
        if isinstance(stmt, cst.BaseSmallStatement) and name in names_written(stmt):
            if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and dotted_name(stmt.targets[0].target) == name:
                values.append(stmt.value)
            else:
                return None
        elif isinstance(stmt, cst.For) and name in loop_targets(stmt):
            return None
        elif isinstance(stmt, cst.With) and any(
            item.asname is not None and dotted_name(item.asname.name) == name for item in stmt.items
        ):
            return None
    if isinstance(scope, cst.FunctionDef) and name in {p.name.value for p in (*scope.params.params, *scope.params.kwonly_params)}:
        return None
    return values[0] if len(values) == 1 else None


def _in_reparam_function(ctx, node) -> bool:
    function = enclosing_function(ctx, node)
    return function is not None and bool(_REPARAM_FUNCTION.search(function.name.value))


def _returns_count(ctx, node) -> bool:
    """Whether a value returned here reaches a loss: from ``forward`` of a Module or a reparameterisation helper."""
    function = enclosing_function(ctx, node)
    if function is None:
        return False
    if _REPARAM_FUNCTION.search(function.name.value):
        return True
    cls = enclosing_class(ctx, function)
    return function.name.value == "forward" and cls is not None and class_facts(ctx, cls).is_module


def _occurrence_evidence(ctx, flow, node: cst.CSTNode, stmt: cst.CSTNode) -> str | None:
    """What the expression around ``node`` (up to its statement) does with the value."""
    child = node
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.Call):
            func = ancestor.func
            in_args = child is not func
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                if in_args and method == "log_prob":
                    return "reinforce"
                if not in_args and method in _CUTS:
                    return None
                if not in_args and method == "backward":
                    return "differentiable"
            if in_args and flow.carries(func, ancestor) is Carry.MODULE:
                return "differentiable"
        elif isinstance(ancestor, cst.BinaryOperation):
            other = ancestor.right if child is ancestor.left else ancestor.left
            if flow.carries(other, ancestor) is Carry.YES:
                return "differentiable"
        elif isinstance(ancestor, cst.Return):
            return "differentiable" if _returns_count(ctx, ancestor) else None
        if ancestor is stmt:
            break
        child = ancestor
    if isinstance(stmt, cst.Assign) and any(_LOSS_NAME.search(dotted_name(t.target) or "") for t in stmt.targets):
        return "differentiable"
    return None


def _sample_usage(ctx, call: cst.Call) -> str | None:
    """"reinforce" if the sample reaches a ``log_prob``; "differentiable" if it reaches a loss; else None."""
    flow = flow_for(ctx, call)
    stmt = enclosing_statement(ctx, call)
    verdicts = [_occurrence_evidence(ctx, flow, call, stmt)]
    seeds: set[str] = set()
    if isinstance(stmt, cst.Assign) and verdicts[0] is None:
        for target in stmt.targets:
            seeds |= {n for n in names_read(target.target) if "." not in n}
    if seeds:
        scope = scope_of(ctx, call)
        body = list(statements(_scope_body(scope)))
        tainted = flows_into([s for s in body if isinstance(s, cst.BaseSmallStatement) and s is not stmt], seeds)
        for other in body:
            if not isinstance(other, (cst.BaseSmallStatement, cst.If, cst.While, cst.For, cst.With)) or other is stmt:
                continue
            roots = [other] if isinstance(other, cst.BaseSmallStatement) else [
                getattr(other, "test", None) or getattr(other, "iter", None)
            ]
            for root in roots:
                if root is None:
                    continue
                for node in walk(root):
                    if isinstance(node, cst.Name) and node.value in tainted and not _is_target(ctx, node, other):
                        verdicts.append(_occurrence_evidence(ctx, flow, node, other))
    if "reinforce" in verdicts:
        return "reinforce"
    return "differentiable" if "differentiable" in verdicts else None


def _is_target(ctx, name: cst.Name, stmt: cst.CSTNode) -> bool:
    """Whether ``name`` is (part of) an assignment target rather than a read."""
    child: cst.CSTNode = name
    for ancestor in ctx.ancestors(name):
        if isinstance(ancestor, cst.AssignTarget):
            return True
        if isinstance(ancestor, (cst.AugAssign, cst.AnnAssign)) and child is ancestor.target:
            return True
        if isinstance(ancestor, cst.Attribute) and child is ancestor.attr:
            return True
        if ancestor is stmt:
            return False
        child = ancestor
    return False
