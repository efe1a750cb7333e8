"""GF116 detach-in-loss-path."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import attributes_named, calls_named, has_loss_root, outside_unreachable
from ._gradpath import grad_path
from ._hacks import dropping
from ._text import BACKPROP, backpropagates
from ._values import Analysis


class DetachInLossPath(Rule):
    """
    A `.detach()` (or `.data`) that leaves a trained parameter with no path to any loss.

    `fake.detach()` in a GAN's generator step, a critic's score detached before the actor's
    loss, `model(x).detach()` before the only loss, a learned weight detached before the
    only terms that use it: the loss value is the same as without the detach, so nothing
    looks wrong, but the parameters upstream get `grad` None and the optimizer that holds
    them never moves them (or `backward()` raises "element 0 of tensors does not require
    grad" when nothing in the loss keeps a graph).

    Most detaches are meant, and stay silent: targets (`target_net(s).max(1)[0].detach()`),
    EMA and teacher outputs, the discriminator step of a GAN on `fake.detach()`,
    stop-gradients in SimSiam/BYOL losses, baselines in REINFORCE (`R - value.detach()`),
    a loss term trained through a detached output while another term trains it (diffusion
    variance terms), truncated backprop through time, logging. The rule reports only when
    the analysis shows that a source the optimizer stepped after the backward holds (a
    module or Parameter) reaches no backpropagated loss except through the detach, or that
    nothing in the loss keeps a graph (backward raises). `no_grad` regions are GF111's,
    `.data` reads inside `forward` GF102's.

    Bad:

        fake = G(z)
        g_loss = bce(D(fake.detach()), ones)    # G gets no gradient
        g_loss.backward()
        opt_G.step()

    Good:

        g_loss = bce(D(fake), ones)

    Fix safety: unsafe; dropping the detach lets gradients flow into what was upstream of it
    (that is the point, but only the author knows the cut was not meant). The forward
    values are unchanged.
    """

    code = "GF116"
    name = "detach-in-loss-path"
    summary = "`.detach()` leaves parameters the optimizer steps with no path to any loss"
    # A cut of kind "detach" or "data" (``_gradpath``: a `.detach()`/`.detach_()` call, a `.data`
    # read) on the way to a loss root of ``_losspath``.
    literals = (".detach", ".data")
    requires = (BACKPROP,)
    trigger = re.compile(r"\.d(?:etach_?[\s\\]*\(|ata\b)")
    text_check = staticmethod(backpropagates)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A loss root, and a `.detach()` call or a `.data` read where a loss path may go
        (``outside_unreachable``)."""
        if not has_loss_root(tree):
            return False
        if any(isinstance(n.func, ast.Attribute) and outside_unreachable(tree, n) for n in calls_named(tree, ("detach", "detach_"))):
            return True
        return any(isinstance(n.ctx, ast.Load) and outside_unreachable(tree, n) for n in attributes_named(tree, "data"))

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        path = grad_path(analysis)
        for node, source in path.lost(("detach", "data")):
            if path.kind_of(node) == "data" and _in_forward(analysis, node):
                continue  # GF102 reports .data reads in forward
            if analysis.grad_disabled(node):
                continue
            what = "`.data`" if path.kind_of(node) == "data" else "`.detach()`"
            message = (
                f"{what} cuts the only path from `{path.describe(source)}` to the loss, so its parameters get no gradient; "
                "drop it if the cut is not meant"
            )
            fix = dropping(LazyFix(partial(_drop, node=node), Applicability.UNSAFE, f"drop {what}"), path.forcing(node))
            yield self.finding(node, message, fix)


def _in_forward(analysis: Analysis, node: ast.AST) -> bool:
    function = analysis.enclosing_function(node)
    return function is not None and function.name == "forward"


def _drop(ctx, node: ast.AST) -> Fix | None:
    target = ctx.node_for(node)
    if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute) and not target.args:
        receiver = target.func.value
        what = "`.detach()`"
    elif isinstance(target, cst.Attribute) and target.attr.value == "data":
        receiver = target.value
        what = "`.data`"
    else:
        return None
    if target.lpar:
        receiver = receiver.with_changes(lpar=target.lpar, rpar=target.rpar) if not receiver.lpar else receiver
    return Fix([(target, receiver)], Applicability.UNSAFE, f"drop {what}")
