"""The analysis runs scopes on demand, one component at a time (``_values._components``): every
answer must be the one the whole file's run gives, whatever is asked first."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from gradfix.codemods import _values
from gradfix.codemods._values import Analysis
from tests.golden_cases import load_cases

EXPERT = Path(__file__).resolve().parent / "expert_code"

# Shapes where values cross scopes in the less common ways.
CROSSINGS = {
    "library-module-named-like-a-class": """
        import torch
        from torch import nn

        class Linear(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(torch.ones(3))
            def forward(self, x):
                return torch.zeros(2) if x is None else x.detach()

        def use(x):
            layer = nn.Linear(3, 3)
            return layer(torch.ones(3))
    """,
    "module-global-rebound": """
        import torch
        scale = torch.ones(3)

        def grow():
            global scale
            scale = scale * 2

        def read(x):
            return x * scale

        scale = torch.zeros(3, requires_grad=True)
    """,
    "def-rebound-and-shadowed": """
        import torch
        try:
            from fast import step
        except ImportError:
            def step(x):
                return x.detach()

        def step2(x):
            return x

        step2 = torch.jit.script(step2)

        def run(w):
            return step(w) + step2(w)
    """,
    "def-under-a-condition": """
        import torch
        if torch.cuda.is_available():
            def act(x):
                return x.detach()
        else:
            def act(x):
                return x

        def run(w):
            return act(w)
    """,
    "function-passed-returned-and-nested": """
        import torch

        def helper(t):
            return t.sum()

        def pick():
            return helper

        def outer(w):
            def inner(v):
                return v * w
            f = pick()
            return f(inner(w)), inner

        loss, fn = outer(torch.ones(2, requires_grad=True))
        fn(torch.ones(2))
    """,
    "instances-through-summaries": """
        import torch
        from torch import nn

        class Head(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.proj = nn.Linear(n, 1)
            @property
            def weight(self):
                return self.proj.weight
            def forward(self, h):
                return self.proj(h).detach()

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = build()
            def forward(self, x):
                return self.head(x) + self.head.weight.sum()

        def build():
            return Head(4)

        def train(batch):
            model = Model()
            out = model(batch)
            out.backward()
            return model

        @torch.no_grad()
        def evaluate(model, batch):
            return model(batch)

        class Tiny(Head):
            def forward(self, h):
                return super().forward(h) * 2
    """,
    "classmethod-and-staticmethod-calls": """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.lin = nn.Linear(width, width)
            @classmethod
            def build(cls, width):
                return cls.scaled(cls(width))
            @staticmethod
            def scaled(model):
                return model
            def forward(self, x):
                return self.lin(x)

        def train():
            model = Net.build(3)
            loss = model(torch.randn(2, 3)).sum()
            loss.backward()
    """,
    "decorators-and-defaults": """
        import functools
        import torch

        def traced(f):
            return f

        factor = torch.ones(1, requires_grad=True)

        @traced
        @functools.lru_cache(maxsize=2)
        def scaled(x, by=factor * 2):
            return x * by

        class Box:
            def __init__(self, side):
                self.side = side
            @classmethod
            def of(cls, side):
                return cls(side)
            def area(self):
                return self.side * self.side

        value = Box.of(torch.ones(1, requires_grad=True)).area()
    """,
    "closure-reads-outer-variables": """
        import torch
        from torch import nn

        def train(model, x, y, optimizer):
            def closure():
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x) * scale, y)
                loss.backward()
                def report():
                    return loss.item() + scale.sum()
                return report()
            scale = torch.ones(1, requires_grad=True)
            optimizer.step(closure)
            return scale

        train(nn.Linear(3, 1), torch.randn(4, 3), torch.randn(4, 1), None)
    """,
}

# The same, with the library module reached only through an imported alias (`L`), not `nn.Linear`.
CROSSINGS["library-module-imported-under-another-name"] = (
    CROSSINGS["library-module-named-like-a-class"]
    .replace("from torch import nn\n", "from torch import nn\n        from torch.nn import Linear as L\n")
    .replace("layer = nn.Linear(3, 3)", "layer = L(3, 3)")
)


def _sources():
    for case in load_cases():
        yield case.id, case.before
    for path in sorted(EXPERT.glob("*.py")):
        yield f"expert/{path.name}", path.read_text(encoding="utf-8")
    for name, text in CROSSINGS.items():
        yield f"crossing/{name}", textwrap.dedent(text)


@pytest.mark.parametrize("source", [pytest.param(text, id=name) for name, text in _sources()])
def test_on_demand_answers_are_the_whole_files(source):
    tree = ast.parse(source)
    whole = Analysis(tree, source, "whole.py", on_demand=False)
    expected = {id(node): whole._values.get(id(node), _values.UNKNOWN) for node in ast.walk(tree)}
    expected_callees = {id(n): whole._callees.get(id(n)) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    expected_returns = {id(f): whole.returns(f) for f in functions}
    expected_arguments = {id(f): dict(whole.arguments(f)) for f in functions}
    expected_callers = {id(f): [id(c) for c in whole.callers(f)] for f in functions}
    expected_attributes = {name: dict(info.attributes) for name, info in whole.classes.items()}
    _values.release(tree)

    nodes = list(ast.walk(tree))
    in_functions = {id(n) for f in functions for n in ast.walk(f) if n is not f}
    orders = {
        # Last node first: the components are asked for in another order than the file's.
        "last first": nodes[::-1],
        # The functions' code before the module body's (which a global's readers need run).
        "functions first": [n for n in nodes if id(n) in in_functions] + [n for n in nodes if id(n) not in in_functions],
    }
    for order, queried in orders.items():
        lazy = Analysis(tree, source, "lazy.py")
        for node in queried:
            assert lazy.value(node) == expected[id(node)], (order, ast.dump(node)[:200])
            if isinstance(node, ast.Call):
                assert lazy.callee(node) is expected_callees[id(node)], order
        for function in functions:
            assert lazy.returns(function) == expected_returns[id(function)], (order, function.name)
            assert lazy.arguments(function) == expected_arguments[id(function)], (order, function.name)
            assert [id(c) for c in lazy.callers(function)] == expected_callers[id(function)], (order, function.name)
        for name, info in lazy.classes.items():
            assert lazy.attributes_of(info) == expected_attributes[name], (order, name)
        lazy.release()


def test_a_query_runs_only_the_component_it_needs():
    source = textwrap.dedent(CROSSINGS["instances-through-summaries"]) + textwrap.dedent(
        """
        def unrelated(y):
            z = y * 3
            return z
        """
    )
    tree = ast.parse(source)
    analysis = Analysis(tree, source, "case.py")
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    backward = next(n for n in ast.walk(functions["train"]) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "backward")
    assert analysis.value(backward.func.value).kind is _values.Kind.TENSOR
    # train reached Model, Head and build; nothing reached `unrelated`.
    inside = next(n for n in ast.walk(functions["unrelated"]) if isinstance(n, ast.BinOp))
    assert id(inside) not in analysis._values
    assert analysis.value(inside).kind is not None
    assert id(inside) in analysis._values
