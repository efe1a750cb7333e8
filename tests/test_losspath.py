"""The loss path: what flows into a loss that is backpropagated, and what does not."""

from __future__ import annotations

import ast
import textwrap

from codemods._losspath import loss_path
from codemods._values import Analysis


def _path(source: str):
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    path = loss_path(Analysis(tree, source))
    calls = {ast.unparse(n): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return path, calls


TRAINING_SCRIPT = """
    import math
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.scale = torch.ones(1).detach()

        def forward(self, x):
            h = self.fc(x)
            unused = h.detach()
            return h * self.scale

    def compute_loss(pred, y):
        index = pred.argmax(1)
        return F.mse_loss(pred, y) + math.exp(pred.sum().item())

    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    running = 0.0
    for x, y in [(torch.randn(4, 3), torch.randn(4, 2))]:
        out = model(x)
        acc = (out.argmax(1) == y.argmax(1)).float().mean()
        losses = []
        losses.append(compute_loss(out, y))
        loss = sum(losses)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running += loss.item()
        print(acc.item())
"""


def test_values_that_reach_backward_through_helpers_lists_and_modules():
    path, calls = _path(TRAINING_SCRIPT)
    assert path.has_losses
    assert path.on_path(calls["pred.sum().item()"])  # inside the loss helper, via append and sum
    assert path.on_path(calls["torch.ones(1).detach()"])  # self.scale is read by forward on the path
    assert {f.name for f in path.loss_functions()} == {"forward", "compute_loss"}


def test_logging_metrics_and_dead_values_are_off_the_path():
    path, calls = _path(TRAINING_SCRIPT)
    for off in ("pred.argmax(1)", "h.detach()", "loss.item()", "acc.item()", "out.argmax(1)"):
        assert not path.on_path(calls[off]), off


def test_a_definition_after_the_use_does_not_reach_it_outside_loops():
    path, calls = _path("""
        import torch
        w = torch.nn.Parameter(torch.ones(2))
        x = w * 2
        loss = x.sum()
        loss.backward()
        x = x.detach().numpy()
    """)
    assert not path.on_path(calls["x.detach().numpy()"])
    assert path.on_path(calls["torch.ones(2)"])


def test_loop_carried_definitions_reach_earlier_uses():
    path, calls = _path("""
        import torch
        h = torch.zeros(3)
        for step in range(3):
            loss = (h * 2).sum()
            loss.backward()
            h = h.detach() + 1
    """)
    assert path.on_path(calls["h.detach()"])


def test_other_loss_roots_lightning_closures_and_wrappers():
    path, calls = _path("""
        import torch
        from torch import nn

        class Lit(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Linear(3, 1)

            def training_step(self, batch, idx):
                x, y = batch
                pred = self.net(x)
                self.log("v", pred.mean().item())
                return ((pred - y.detach()) ** 2).mean()

        def train(model, data, accelerator):
            opt = torch.optim.LBFGS(model.parameters())
            def closure():
                opt.zero_grad()
                out = torch.tensor(model(data).sum().item(), requires_grad=True)
                out.backward()
                return out
            opt.step(closure)
            accelerator.backward(model(data).mean() + float(model(data).numpy().sum()))

        def fit(loss):
            loss.backward()

        def main(m, x):
            fit(m(x).detach().sum())
    """)
    assert path.on_path(calls["y.detach()"])
    assert not path.on_path(calls["pred.mean().item()"])  # logged
    assert path.on_path(calls["model(data).sum().item()"])
    assert path.on_path(calls["model(data).numpy()"])
    assert path.on_path(calls["m(x).detach()"])  # fit() runs backward on its argument


def test_a_file_without_backward_has_no_loss_path():
    path, calls = _path("""
        import torch
        def predict(model, x):
            return model(x).argmax(-1).item()
    """)
    assert not path.has_losses
    assert not path.on_path(calls["model(x).argmax(-1).item()"])
