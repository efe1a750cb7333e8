"""``torch.distributions`` objects: which class a constructor call builds, and whether that
class can draw a reparameterised sample.

The classes listed in :data:`RSAMPLE_CLASSES` have ``has_rsample = True`` and, on CPU with
the same generator state, ``sample()`` and ``rsample()`` return bitwise-equal values (checked
for every one of them on torch 2.13: float32/float64, ``sample_shape``, broadcasting). The
discrete ones (Bernoulli, Categorical, Poisson, ...) have no ``rsample`` at all.
"""

from __future__ import annotations

import libcst as cst

from gradfix.context import FileContext

from ._names import imports

RSAMPLE_CLASSES = frozenset(
    {
        "Normal", "LogNormal", "Laplace", "Uniform", "Exponential", "Gamma", "Beta", "Dirichlet",
        "StudentT", "MultivariateNormal", "LowRankMultivariateNormal", "RelaxedBernoulli",
        "RelaxedOneHotCategorical", "Cauchy", "Gumbel", "HalfNormal", "HalfCauchy", "Chi2",
        "FisherSnedecor", "Kumaraswamy", "Pareto", "Weibull", "ContinuousBernoulli",
        "LogisticNormal", "InverseGamma",
    }
)
# Wrappers whose rsample exists exactly when their base distribution's does.
_WRAPPERS = frozenset({"Independent"})


def distribution_class(ctx: FileContext, call: cst.BaseExpression) -> str | None:
    """``"Normal"`` for ``dd.Normal(...)`` / ``Normal(...)`` / ``torch.distributions.normal.Normal(...)``."""
    if not isinstance(call, cst.Call):
        return None
    qualified = imports(ctx).qualify(call.func)
    if qualified is None or not qualified.startswith("torch.distributions."):
        return None
    last = qualified.rsplit(".", 1)[-1]
    return last if last[:1].isupper() else None


def has_rsample(ctx: FileContext, call: cst.BaseExpression) -> bool:
    """Whether the distribution built by ``call`` surely has a bitwise-equal ``rsample``."""
    cls = distribution_class(ctx, call)
    if cls in RSAMPLE_CLASSES:
        return True
    if cls in _WRAPPERS and call.args and call.args[0].keyword is None:  # type: ignore[union-attr]
        return has_rsample(ctx, call.args[0].value)  # type: ignore[union-attr]
    return False


def parameter_arguments(ctx: FileContext, call: cst.Call) -> list[cst.BaseExpression]:
    """The tensors a distribution is built from (through wrappers), without ``validate_args``."""
    out: list[cst.BaseExpression] = []
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "validate_args":
            continue
        if distribution_class(ctx, arg.value) is not None:
            out.extend(parameter_arguments(ctx, arg.value))  # type: ignore[arg-type]
        else:
            out.append(arg.value)
    return out
