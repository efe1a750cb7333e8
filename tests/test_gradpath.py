"""The gradient path: which trainable sources reach each backpropagated loss, and where they are cut."""

from __future__ import annotations

import ast
import textwrap

from gradfix.codemods._gradpath import grad_path
from gradfix.codemods._values import Analysis


def _lost(source: str, kinds=("detach", "data", "discrete", "indices", "compare", "zero", "cast")):
    source = textwrap.dedent(source)
    analysis = Analysis(ast.parse(source), source)
    path = grad_path(analysis)
    return [(ast.unparse(node), path.kind_of(node), path.describe(key)) for node, key in path.lost(kinds)]


GAN = """
    import torch
    from torch import nn
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    opt_G = torch.optim.Adam(G.parameters())
    opt_D = torch.optim.Adam(D.parameters())
    fake = G(torch.randn(4, 2))
    d_loss = D(fake.detach()).mean()
    d_loss.backward()
    opt_D.step()
    g_loss = -D(fake{g_input}).mean()
    g_loss.backward()
    opt_G.step()
"""


def test_a_detach_that_leaves_the_stepped_generator_without_gradient_is_lost():
    assert _lost(GAN.format(g_input=".detach()")) == [("fake.detach()", "detach", "G")]


def test_the_discriminator_step_detach_is_not_lost_when_the_generator_step_trains_g():
    assert _lost(GAN.format(g_input="")) == []


def test_a_source_without_a_known_optimizer_is_not_reported_while_the_loss_keeps_a_graph():
    assert _lost("""
        import torch.nn.functional as F
        def distill(student, teacher, x, opt):
            loss = F.kl_div(student(x).log_softmax(-1), teacher(x).detach().softmax(-1))
            opt.zero_grad(); loss.backward(); opt.step()
    """) == []


def test_a_loss_whose_every_source_is_cut_is_lost_without_an_optimizer():
    assert _lost("""
        import torch.nn.functional as F
        def step(model, x, y):
            pred = model(x).argmax(1).float()
            F.mse_loss(pred, y.float()).backward()
    """) == [("model(x).argmax(1)", "discrete", "model")]


def test_a_mask_times_the_same_differentiable_value_keeps_the_source_live():
    assert _lost("""
        def step(net, x, y, opt):
            err = (net(x) - y).abs()
            loss = (err * (err > 0.1).float()).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    """) == []


def test_a_later_plain_assignment_in_the_loop_body_overwrites_the_earlier_definition():
    assert _lost("""
        import torch
        from torch import nn
        enc, dec = nn.Linear(4, 2), nn.Linear(2, 4)
        opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()))
        for x in [torch.randn(3, 4)]:
            code = enc(x)
            code = code.detach()
            loss = (dec(code) - x).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    """) == [("code.detach()", "detach", "enc")]


def test_the_indices_of_a_tuple_unpacked_max_are_cut_and_the_values_are_not():
    template = """
        import torch
        from torch import nn
        net = nn.Linear(3, 4)
        values, indices = net(torch.randn(2, 3)).max(1)
        ({name}.float() - 1).abs().mean().backward()
    """
    assert _lost(template.format(name="indices")) == [("net(torch.randn(2, 3)).max(1)", "indices", "net")]
    assert _lost(template.format(name="values")) == []


def test_a_module_of_this_file_reaches_the_loss_through_its_forward():
    assert _lost("""
        import torch
        from torch import nn
        class Select(nn.Module):
            def __init__(self):
                super().__init__()
                self.scorer = nn.Linear(4, 3)
                self.rows = nn.Parameter(torch.randn(3, 4))
            def forward(self, x):
                hard = nn.functional.one_hot(self.scorer(x).argmax(-1), 3).float()
                return hard @ self.rows
        model = Select()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model(torch.randn(2, 4)).sum().backward()
        opt.step()
    """) == [("self.scorer(x).argmax(-1)", "discrete", "self.scorer")]


def test_the_gradient_argument_of_backward_is_not_a_root():
    assert _lost("""
        def check(module, x):
            out = module(x)
            grad = out.data.clone().normal_()
            out.backward(grad)
    """) == []
