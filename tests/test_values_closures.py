"""What a nested function knows of the names it reads from the functions around it."""

from __future__ import annotations

import ast
import textwrap

from gradfix.codemods._values import Analysis, Kind


def _reads(source: str) -> dict[tuple[str, int], object]:
    """The value of each name read, by (name, line)."""
    source = textwrap.dedent(source)
    analysis = Analysis(ast.parse(source), source, "case.py")
    return {
        (node.id, node.lineno): analysis.value(node)
        for node in ast.walk(analysis.tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def test_a_closure_reads_the_enclosing_functions_variables_and_parameters():
    reads = _reads(
        """
        import torch
        from torch import nn

        def step(model: nn.Module, x):
            logits = model(x)
            def closure():
                probs = torch.sigmoid(logits)
                return probs, model, counter
            counter = 3
            return closure()

        step(nn.Linear(2, 2), torch.randn(1, 2))
        """
    )
    assert reads[("logits", 8)].is_tensor and reads[("logits", 8)].carries
    assert reads[("model", 9)].kind is Kind.MODULE
    assert reads[("counter", 9)].kind is Kind.NUMBER  # bound after the def: seen when the closure runs


def test_a_closure_joins_every_binding_of_the_outer_name():
    reads = _reads(
        """
        import torch

        def run(flag):
            value = torch.zeros(2)
            def use():
                return value
            if flag:
                value = [1, 2]
            return use()
        """
    )
    assert reads[("value", 7)].kind is Kind.UNKNOWN  # a tensor on one path, a list on the other


def test_a_name_the_closure_binds_itself_or_the_module_holds_is_not_the_outer_one():
    reads = _reads(
        """
        import torch
        weights = torch.ones(3)

        def outer():
            weights_seen = weights
            x = torch.ones(2)
            def inner():
                x = [0]
                return x, weights
            return inner()
        """
    )
    assert reads[("x", 10)].kind is Kind.LIST
    assert reads[("weights", 10)].is_tensor
