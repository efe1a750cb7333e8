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
