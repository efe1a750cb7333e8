"""The shared backprop filters (``codemods/_text.py``, ``codemods/_ast.py``): every spelling of a
loss root that ``_losspath`` accepts passes the text check and the tree check."""

from __future__ import annotations

import ast

import pytest

from gradfix.codemods._ast import backward_calls_of, has_loss_root
from gradfix.codemods._losspath import loss_path
from gradfix.codemods._text import backpropagates, calls_backward
from gradfix.codemods._values import Analysis

HEAD = "import torch\nmodel = torch.nn.Linear(2, 1)\nx = torch.randn(3, 2)\nloss = model(x).sum()\n"

ROOTS = {
    "method": "loss.backward()\n",
    "method, continued": "(loss\n .backward\n ())\n",
    "torch.autograd.grad": "g = torch.autograd.grad(loss, list(model.parameters()))\n",
    "module alias": "import torch.autograd as ag\ng = ag.grad(loss, list(model.parameters()))\n",
    "from torch import autograd": "from torch import autograd\nautograd.backward(loss)\n",
    "imported grad": "from torch.autograd import grad\ng = grad(loss, list(model.parameters()))\n",
    "imported grad, aliased": "from torch.autograd import Function, grad as G\ng = G(loss, list(model.parameters()))\n",
    "imported grad, parenthesized": "from torch.autograd import (\n    Function,\n    grad,\n)\ng = grad(loss, list(model.parameters()))\n",
    "imported grad, continued": "from torch.autograd import Function, \\\n    grad\ng = grad(loss, list(model.parameters()))\n",
    "imported backward": "from torch.autograd import backward\nbackward(loss)\n",
    "wrapper": "class A:\n    def backward(self, l):\n        pass\naccelerator = A()\naccelerator.backward(loss)\n",
    "manual_backward": "class M(torch.nn.Module):\n    def step(self):\n        self.manual_backward(loss)\n",
    "training_step": "class M(torch.nn.Module):\n    def training_step(self, batch, i):\n        return model(batch).sum()\n",
    "step closure": "opt = torch.optim.LBFGS(model.parameters())\ndef closure():\n    return model(x).sum()\nopt.step(closure)\n",
    "step closure, comma": "opt = torch.optim.LBFGS(model.parameters())\nasync def closure():\n    return model(x).sum()\nopt.step(\n    closure,\n)\n",
}


@pytest.mark.parametrize("tail", ROOTS.values(), ids=ROOTS.keys())
def test_every_loss_root_passes_the_filters(tail):
    source = HEAD + tail
    tree = ast.parse(source)
    analysis = Analysis(tree, source, "case.py")
    try:
        assert loss_path(analysis).roots, "not a root: the case is wrong"
        assert backpropagates(source)
        assert has_loss_root(tree)
    finally:
        analysis.release()


NOT_ROOTS = {
    "custom Function": "class F(torch.autograd.Function):\n    @staticmethod\n    def backward(ctx, g):\n        return g\n",
    "grad mode import": "from torch.autograd import Function, Variable\nfrom torch.autograd.grad_mode import no_grad\n",
    "scheduler step": "sched = torch.optim.lr_scheduler.StepLR(torch.optim.SGD(model.parameters(), 0.1), 1)\nsched.step(epoch)\n",
}


@pytest.mark.parametrize("tail", NOT_ROOTS.values(), ids=NOT_ROOTS.keys())
def test_files_without_a_root_are_filtered(tail):
    source = HEAD + tail
    tree = ast.parse(source)
    assert not backpropagates(source)
    assert not calls_backward(source)
    assert not has_loss_root(tree)
    assert not backward_calls_of(tree)


# GF106's quick check judges what comes before a training loop by its syntax where it can.
_TRAIN = "import torch\n\n\ndef train(model, x, helper, make):\n"
_LOOP = "for step in range(3):\n    loss = (model(x) * w).sum()\n    loss.backward()\n"


@pytest.mark.parametrize(
    "before, passes",
    [
        ("w = torch.exp(model.weight)\n", True),  # a torch computation: a candidate
        ("w = model.weight * 2\n", True),
        ("w = helper(model)\n", True),  # a call the analysis must judge
        ("w = torch.optim.SGD(model.parameters(), lr=0.1)\n", False),  # an optimizer
        ("w = torch.nn.Linear(2, 1)\n", False),  # a module constructor
        ("w = []\n", False),
        ("torch = make()\nw = torch.optim.SGD(model.parameters(), lr=0.1)\n", True),  # `torch` is not the import here
    ],
)
def test_gf106_quick_check_reads_what_comes_before_the_loop(before, passes):
    from gradfix.codemods.gf106_graph_reuse import GraphReuse

    body = before + _LOOP
    tree = ast.parse(_TRAIN + "".join("    " + line + "\n" for line in body.splitlines()))
    assert GraphReuse.quick_check(tree) is passes


# Code no loss path can enter: a module-level function the file never names, without a root.
_STEP = "import torch\n\n\ndef train(model, x, opt):\n    loss = model(x).sum()\n    loss.backward()\n    opt.step()\n\n\n"
_EVALUATE = "def evaluate(model, x):\n    with torch.no_grad():\n        out = model(x).detach()\n        return (out > 0).float().mean(), out.data\n"


@pytest.mark.parametrize(
    "tail, reachable",
    [
        ("", False),  # evaluate is never called here (another module imports it)
        ("\n\nresult = evaluate(None, None)\n", True),  # called
        ("\n\nhooks = [evaluate]\n", True),  # passed around
        ("\n\nclass Runner:\n    def run(self):\n        return self.evaluate\n", True),  # an attribute of that name
    ],
)
def test_unreachable_functions_leave_the_backprop_rules_out(tail, reachable):
    from gradfix.codemods.gf111_no_grad_scope import NoGradScope
    from gradfix.codemods.gf115_discrete_in_loss import DiscreteInLoss
    from gradfix.codemods.gf116_detach_in_loss_path import DetachInLossPath

    tree = ast.parse(_STEP + _EVALUATE + tail)
    for rule in (NoGradScope, DiscreteInLoss, DetachInLossPath):
        assert rule.quick_check(tree) is reachable, rule.code


@pytest.mark.parametrize(
    "evaluate",
    [
        _EVALUATE.replace("        return", "        loss = out.sum()\n        loss.backward()\n        return"),  # a root of its own
        _EVALUATE.replace("    with torch.no_grad():", "    global cache\n    with torch.no_grad():"),  # writes a global
    ],
)
def test_a_function_with_a_root_or_a_global_stays_reachable(evaluate):
    from gradfix.codemods.gf111_no_grad_scope import NoGradScope

    assert NoGradScope.quick_check(ast.parse(_STEP + evaluate))


def test_gf115_skips_comparisons_that_only_an_if_tests():
    from gradfix.codemods.gf115_discrete_in_loss import DiscreteInLoss

    tested = _STEP.replace("    loss.backward()", "    if step % 10 == 0 and not done:\n        print(loss)\n    loss.backward()")
    assert not DiscreteInLoss.quick_check(ast.parse(tested))
    used = _STEP.replace("    loss.backward()", "    loss = loss + (x > 0).sum()\n    loss.backward()")
    assert DiscreteInLoss.quick_check(ast.parse(used))


@pytest.mark.parametrize(
    "body, passes",
    [
        ("for x in data:\n    loss = model(x).sum()\n    loss.backward()\n", False),  # nothing carried
        ("h = None\nfor x in data:\n    out, h = rnn(x, h)\n    out.sum().backward()\n", True),  # a carried state
        ("for x in data:\n    out = model(x)\n    out.sum().backward(retain_graph=True)\n    out.mean().backward()\n", True),  # two backward calls
        (
            "class Net(torch.nn.Module):\n    def forward(self, x):\n        self.h = self.cell(x, self.h)\n        return self.h\n"
            "for x in data:\n    loss = model(x).sum()\n    loss.backward()\n",
            True,  # a module's state
        ),
    ],
)
def test_gf113_quick_check_needs_what_a_shape_needs(body, passes):
    from gradfix.codemods.gf113_graph_across_steps import GraphAcrossSteps

    assert GraphAcrossSteps.quick_check(ast.parse("import torch\n" + body)) is passes


def test_gf113_may_carry_is_necessary_for_carried_names():
    """``_may_carry`` (the quick check's cheap test) holds wherever ``carried_names`` finds a name."""
    from pathlib import Path

    from gradfix.codemods._ast import backward_loops
    from gradfix.codemods._flow_ast import carried_names
    from gradfix.codemods.gf113_graph_across_steps import _may_carry
    from tests.golden_cases import load_cases

    sources = [case.before for case in load_cases()]
    sources += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent / "expert_code").glob("*.py"))]
    carried = 0
    for source in sources:
        for loop, _ in backward_loops(ast.parse(source)):
            if set(carried_names(loop, branches=True)) - {"self"}:
                carried += 1
                assert _may_carry(loop), ast.unparse(loop)[:300]
    assert carried > 20  # the cases hold carried states
