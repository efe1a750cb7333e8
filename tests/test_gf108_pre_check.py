"""GF108's per-root pre-check (``_may_meet_escape``) is a necessary condition of its trace: it
holds for every root whose trace meets an escape, so skipping the others changes no finding."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gradfix.codemods import gf108_scalar_escape as gf108
from gradfix.codemods._losspath import loss_roots
from gradfix.codemods._values import Analysis
from tests.golden_cases import load_cases

HEAD = "import torch\nmodel = torch.nn.Linear(2, 1)\nx = torch.randn(3, 2)\n"

# Escapes the trace reaches by each way out of the root's scope, and by each binding in it.
REACHED = {
    "helper function": """
def value_of(t):
    return t.item()

def step():
    loss = torch.tensor(value_of(model(x).sum()), requires_grad=True)
    loss.backward()
""",
    "another method's self.x": """
class Trainer:
    def measure(self):
        self.err = model(x).sum().item()

    def step(self):
        self.measure()
        loss = torch.tensor(self.err, requires_grad=True)
        loss.backward()
""",
    "own self.x read back by a method": """
class Trainer:
    def current(self):
        return self.err

    def step(self):
        self.err = model(x).sum().item()
        loss = torch.tensor(self.current(), requires_grad=True)
        loss.backward()
""",
    "module global": """
scale = model(x).mean().item()

def step():
    loss = torch.tensor(scale * 2.0, requires_grad=True)
    loss.backward()
""",
    "nested function": """
def step():
    pred = model(x).sum()
    def inner():
        return pred.item()
    loss = torch.tensor(inner(), requires_grad=True)
    loss.backward()
""",
    "outer function of a closure": """
def main():
    value = model(x).sum().item()
    def closure():
        loss = torch.tensor(value, requires_grad=True)
        loss.backward()
    closure()
""",
    "appended, then rebuilt": """
def step():
    values = []
    for _ in range(3):
        values.append(model(x).sum().item())
    loss = torch.tensor(values, requires_grad=True).sum()
    loss.backward()
""",
    "loop-carried": """
def step():
    err = 0.0
    for _ in range(3):
        loss = torch.tensor(err, requires_grad=True)
        loss.backward()
        err = float(model(x).sum())
""",
    "math function": """
import math

def step():
    loss = torch.tensor(math.exp(model(x).sum()), requires_grad=True)
    loss.backward()
""",
    "own return, by a recursive call": """
def step(n):
    if n == 0:
        return model(x).sum().item()
    loss = torch.tensor(step(n - 1), requires_grad=True)
    loss.backward()
    return 0.0
""",
    "module level": """
err = model(x).sum().item()
loss = torch.tensor(err, requires_grad=True)
loss.backward()
""",
}

# Escapes no trace from the roots can meet: the pre-check skips these roots.
SKIPPED = {
    "logged in the training loop": """
def train(steps):
    history = []
    for step in range(steps):
        loss = model(x).pow(2).mean()
        loss.backward()
        history.append(loss.item())
        print(step, float(loss))
    return history
""",
    "in a function the file never names": """
def train():
    loss = model(x).pow(2).mean()
    loss.backward()

def evaluate(batches):
    return sum(model(b).sum().item() for b in batches)
""",
    "in another training function the file never names": """
def train_a():
    loss = model(x).pow(2).mean()
    loss.backward()
    print(loss.item())

def train_b():
    loss = model(x).abs().mean()
    loss.backward()
    print(loss.item())
""",
}


def _trace_escapes(analysis: Analysis, root: ast.AST, scope: ast.AST) -> list:
    trace = gf108._Trace(analysis, gf108._gf101_sites(analysis))
    trace.root = root
    trace.expr(root, scope)
    return trace.escapes


def _check_roots(source: str) -> tuple[int, int]:
    """(roots whose trace meets an escape, roots the pre-check skips); fails on a skipped root
    whose trace meets one."""
    tree = ast.parse(source)
    analysis = Analysis(tree, source, "case.py")
    met = skipped = 0
    try:
        for root in loss_roots(analysis):
            scope = analysis.enclosing_function(root) or analysis.tree
            may = gf108._may_meet_escape(analysis, root, scope)
            escapes = _trace_escapes(analysis, root, scope)
            assert may or not escapes, f"skipped a root that meets {[ast.unparse(e.call) for e in escapes]}"
            met += bool(escapes)
            skipped += not may
    finally:
        analysis.release()
    return met, skipped


@pytest.mark.parametrize("body", REACHED.values(), ids=REACHED.keys())
def test_reached_escapes_are_traced(body):
    met, _ = _check_roots(HEAD + body)
    assert met, "the trace meets no escape: the case is wrong"


@pytest.mark.parametrize("body", SKIPPED.values(), ids=SKIPPED.keys())
def test_unreachable_escapes_skip_the_trace(body):
    met, skipped = _check_roots(HEAD + body)
    assert not met and skipped


def test_pre_check_is_necessary_on_golden_cases_and_expert_code():
    sources = [case.before for case in load_cases()]
    sources += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent / "expert_code").glob("*.py"))]
    met = 0
    for source in sources:
        try:
            met += _check_roots(source)[0]
        except SyntaxError:
            continue  # a notebook's or a bad-input case's text
    assert met > 15  # GF108's cases meet escapes
