"""What the value analysis knows of torch.nn module outputs (codemods/_values.py)."""

from __future__ import annotations

import ast
import textwrap

from gradfix.codemods._values import Analysis, Kind


def _values(source: str) -> dict[str, object]:
    """The value bound to each simple name, at its last assignment."""
    source = textwrap.dedent(source)
    analysis = Analysis(ast.parse(source), source, "case.py")
    found = {}
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found[node.id] = analysis.value(node)
    return found


def test_recurrent_states_have_their_structure():
    values = _values(
        """
        import torch
        from torch import nn
        x = torch.randn(5, 2, 3)
        out, h = nn.GRU(3, 4)(x)
        _, hc = nn.LSTM(3, 4)(x)
        _, (h2, c2) = nn.LSTM(3, 4)(x)
        cell_h, cell_c = nn.LSTMCell(3, 4)(x[0])
        gru_h = nn.GRUCell(3, 4)(x[0])
        attended, weights = nn.MultiheadAttention(3, 1)(x, x, x)
        """
    )
    assert values["out"].is_tensor and values["h"].is_tensor and values["h"].carries
    assert values["hc"].kind is Kind.TUPLE and [v.is_tensor for v in values["hc"].items] == [True, True]
    assert values["h2"].is_tensor and values["c2"].is_tensor
    assert values["cell_h"].is_tensor and values["cell_c"].is_tensor
    assert values["gru_h"].is_tensor
    assert values["weights"].kind is Kind.UNKNOWN  # None unless need_weights


def test_a_sequential_of_torch_layers_outputs_a_tensor():
    values = _values(
        """
        import torch
        from torch import nn

        class Block(nn.Module):
            def forward(self, x):
                return x, x

        x = torch.randn(2, 3)
        mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 1), nn.Tanh()))
        y = mlp(x)
        z = nn.Sequential(nn.Linear(3, 3), Block())(x)
        w = nn.Sequential(nn.LSTM(3, 3))(x)
        """
    )
    assert values["y"].is_tensor and values["y"].carries
    assert not values["z"].is_tensor  # a module of this file decides what comes out
    assert not values["w"].is_tensor  # an LSTM's (output, state) tuple


def test_classmethod_and_staticmethod_calls_give_what_they_return():
    values = _values(
        """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.lin = nn.Linear(width, width)
            @classmethod
            def build(cls, width):
                made = cls(width)
                return made
            @classmethod
            def again(cls):
                return cls.build(2)
            @staticmethod
            def doubled(x):
                return x * 2
            def forward(self, x):
                return self.lin(x)

        net = Net.build(3)
        other = Net.again()
        y = Net.doubled(torch.ones(2, requires_grad=True))
        plain = Net.forward(net, torch.ones(3))
        """
    )
    assert values["net"].kind is Kind.MODULE and values["net"].name == "Net"
    assert values["other"].kind is Kind.MODULE and values["other"].name == "Net"
    assert values["y"].is_tensor and values["y"].carries
    assert values["plain"].kind is Kind.UNKNOWN  # a method called through its class: self passed by hand


def test_value_constructor_sets_the_dataclass_fields_in_order():
    """``Value.__init__`` is written out (speed): it must set exactly the declared fields."""
    import dataclasses

    from gradfix.codemods._values import Graph, Value

    value = Value(Kind.TENSOR, Graph.YES, shape=(2,), cut=None, name="x")
    assert list(value.__dict__) == [f.name for f in dataclasses.fields(Value)]
    assert dataclasses.replace(value, leaf=True) == Value(Kind.TENSOR, Graph.YES, shape=(2,), name="x", leaf=True)
    assert hash(value) == hash(Value(Kind.TENSOR, Graph.YES, shape=(2,), name="x"))
