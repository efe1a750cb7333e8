"""The ast def-use helpers the loop rules share (codemods/_flow_ast.py)."""

from __future__ import annotations

import ast
import textwrap

from gradfix.codemods._flow_ast import (
    backward_calls,
    backward_roots,
    block_of,
    flows_into,
    free_reads,
    carried_names,
    loop_carried,
    names_read,
    names_written,
    reads_after,
    statements,
    step_calls,
)
from gradfix.codemods._values import Analysis


def _analysis(source: str) -> Analysis:
    source = textwrap.dedent(source)
    return Analysis(ast.parse(source), source, "case.py")


def _first(tree: ast.AST, kind: type) -> ast.AST:
    return next(n for n in ast.walk(tree) if isinstance(n, kind))


def test_reads_and_writes_of_a_statement():
    stmt = ast.parse("y[i] = self.w.exp() + f(x, dim=d)").body[0]
    assert names_read(stmt) == {"y", "i", "self.w", "self.w.exp", "self", "f", "x", "d"}
    assert names_written(stmt) == {"y"}
    inplace = ast.parse("self.w.data.copy_(v)").body[0]
    assert names_written(inplace) == {"self", "self.w", "self.w.data"}


def test_a_def_reads_only_what_is_not_its_own():
    stmt = ast.parse("def nll(x, scale):\n    z = x / scale\n    return z + shift").body[0]
    assert free_reads(stmt) == {"shift"}


def test_flows_into_follows_assignments_and_appends():
    body = ast.parse("zs.append(z)\nout = torch.stack(zs)\nother = torch.zeros(3)").body
    assert flows_into(body, {"z"}) == {"z", "zs", "out"}


def test_backward_calls_and_their_roots():
    analysis = _analysis(
        """
        import torch
        for step in range(3):
            loss.backward()
            torch.autograd.grad(total, params)
        """
    )
    loop = _first(analysis.tree, ast.For)
    roots = [ast.unparse(r) for c in backward_calls(analysis, loop) for r in backward_roots(analysis, c)]
    assert roots == ["loss", "total"]


def test_loop_carried_value_from_the_previous_iteration():
    carried = ast.parse("for x in xs:\n    h = cell(x, h)\n    h.sum().backward()").body[0]
    fresh = ast.parse("for x in xs:\n    h = cell(x)\n    h.sum().backward()").body[0]
    assert loop_carried(carried)
    assert not loop_carried(fresh)


def test_reads_after_a_loop_include_enclosing_loops_and_later_statements():
    analysis = _analysis(
        """
        def fit(a):
            for epoch in range(2):
                for x in a:
                    pass
                log(epoch_stat)
            return final
        """
    )
    inner = [n for n in ast.walk(analysis.tree) if isinstance(n, ast.For)][1]
    after = reads_after(analysis.parent, inner)
    assert {"log", "epoch_stat", "final", "range", "a"} <= after
    assert block_of(analysis.parent, inner) is analysis.tree.body[0].body[0].body
    assert [type(s).__name__ for s in statements(inner)] == ["Pass"]


def test_carried_names_give_the_first_statement_reading_the_previous_iteration():
    loop = ast.parse("for x in xs:\n    y = f(x)\n    out, h = rnn(y, h)\n    c = 0\n    c = c + 1").body[0]
    carried = carried_names(loop)
    assert set(carried) == {"h"}
    assert ast.unparse(carried["h"]) == "out, h = rnn(y, h)"


def test_flows_into_with_a_rule_s_own_notion_of_mentioning():
    body = ast.parse("d = netD(fake.detach())\ng = netD(fake)").body

    def graph_mentions(node, names):
        return any(
            isinstance(n, ast.Name) and n.id in names
            and not any(isinstance(p, ast.Attribute) and p.attr == "detach" and p.value is n for p in ast.walk(node))
            for n in ast.walk(node)
        )

    assert flows_into(body, {"fake"}) == {"fake", "d", "g"}
    assert flows_into(body, {"fake"}, graph_mentions) == {"fake", "g"}


def test_step_calls_are_optimizer_steps_without_arguments():
    body = ast.parse("opt.step()\nscheduler.step(epoch)\nself.optim_d.step()\nenv.step(action)").body
    assert [ast.unparse(c) for c in step_calls(body)] == ["opt.step()", "self.optim_d.step()"]


def test_carried_names_with_branches_see_a_value_set_only_in_some_iterations():
    loop = ast.parse(
        "for i, x in enumerate(xs):\n"
        "    if i == 0:\n        bank = f(x)\n"
        "    if i % 2:\n        out = g(x)\n    else:\n        out = g(-x)\n"
        "    loss = (out - bank).sum()"
    ).body[0]
    assert set(carried_names(loop)) == set()
    assert set(carried_names(loop, branches=True)) == {"bank"}
