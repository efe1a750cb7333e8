"""Broken programs, one per function; each calls backward and reports nothing itself.

Every line that doctor must point at carries `# expect: CAUSE PARAM,PARAM` (the test reads
these). No optimizer anywhere: every parameter and named leaf is judged.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import features


def run(case):
    try:
        case()
    except RuntimeError:
        pass  # a raising backward is reported by doctor; go on with the next case


def constructor_cut():
    w = torch.randn(3, requires_grad=True)
    terms = torch.tensor([w[0] * 3, torch.log1p(w[1].abs()), w[2] ** 2], requires_grad=True)  # expect: constructor w
    terms.sum().backward()


def legacy_constructor_raises():
    v = torch.randn(2, requires_grad=True)
    pair = torch.Tensor([v[0] * 2, v[1]])  # expect: constructor v
    (pair * 3).sum().backward()


def item_escape():
    lin = nn.Linear(3, 1)
    out = lin(torch.randn(4, 3)).mean()
    value = out.item() * 2.0  # expect: escape weight,bias
    loss = torch.tensor(value ** 2, requires_grad=True)
    loss.backward()


def detach_in_sibling_helper():
    enc = nn.Linear(3, 3)
    head = nn.Linear(3, 1)
    loss = head(features(enc, torch.randn(5, 3))).pow(2).mean()
    loss.backward()


class DataNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, 2))
        self.bias = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        return x @ self.weight.data + self.bias  # expect: data weight


def data_in_forward():
    net = DataNet()
    net(torch.randn(4, 3)).sum().backward()


def no_grad_block():
    backbone = nn.Linear(3, 3)
    head = nn.Linear(3, 1)
    x = torch.randn(4, 3)
    with torch.no_grad():
        feats = backbone(x)  # expect: grad-disabled backbone.weight,backbone.bias
        logits = head(torch.relu(feats))  # expect: grad-disabled head.weight,head.bias
    loss = logits.pow(2).mean() + feats.sum() * 0
    loss.backward()


class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.out = nn.Linear(3, 1)

    @torch.no_grad()  # expect: grad-disabled proj.weight,proj.bias
    def embed(self, x):
        return torch.tanh(self.proj(x))

    def forward(self, x):
        return self.out(self.embed(x))


def decorated_no_grad_method():
    tower = Tower()
    tower(torch.randn(2, 3)).sum().backward()


def argmax_in_loss():
    clf = nn.Linear(4, 3)
    target = torch.tensor([0.0, 2.0])
    pred = clf(torch.randn(2, 4)).argmax(dim=1).float()  # expect: non-differentiable weight,bias
    loss = ((pred - target) ** 2).mean()
    loss.backward()


def round_zero_grad():
    scale = torch.tensor(2.5, requires_grad=True)
    x = torch.randn(6)
    q = torch.round(x * scale)  # expect: non-differentiable scale
    loss = (q - x).pow(2).sum()
    loss.backward()


def normal_sampling():
    mu = torch.zeros(4, requires_grad=True)
    log_std = torch.zeros(4, requires_grad=True)
    z = torch.normal(mu, log_std.exp())  # expect: sampling mu,log_std
    (z ** 2).sum().backward()


def distribution_sample():
    loc = torch.zeros(3, requires_grad=True)
    dist = torch.distributions.Normal(loc, 1.0)
    action = dist.sample()  # expect: sampling loc
    loss = (action - 1.0).pow(2).sum() + 0 * loc.sum()
    loss.backward()


class ListNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [nn.Linear(3, 3) for _ in range(2)]  # expect: unregistered blocks.0.weight,blocks.1.weight
        self.final = nn.Linear(3, 1)

    def forward(self, x):
        for block in self.blocks:
            x = torch.relu(block(x))
        return self.final(x)


def unregistered_list():
    listnet = ListNet()
    listnet(torch.randn(2, 3)).sum().backward()


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 3)
        self.aux = nn.Linear(3, 2)  # expect: unused aux.weight,aux.bias
        self.main = nn.Linear(3, 1)

    def forward(self, x):
        return self.main(torch.relu(self.body(x)))


def unused_head():
    heads = TwoHeads()
    heads(torch.randn(2, 3)).mean().backward()


def inplace_on_saved():
    gate = nn.Linear(3, 3)
    y = torch.sigmoid(gate(torch.randn(2, 3)))
    y[:, 0] = 0.0  # expect: inplace weight,bias
    y.sum().backward()


def backward_twice():
    log_scale = torch.zeros(3, requires_grad=True)
    scale = torch.exp(log_scale)  # expect: freed-graph log_scale
    for step in range(2):
        loss = (scale * (step + 1)).sum()
        loss.backward()


def nonleaf_after_conversion():
    eta = torch.randn(3, requires_grad=True).double()  # expect: nonleaf eta
    (eta * 2).sum().backward()
    print(eta.grad)


def integer_cast():
    gain = torch.tensor([1.5], requires_grad=True)
    bins = (torch.arange(4.0) * gain).long()  # expect: non-differentiable gain
    loss = bins.float().mean()
    loss.backward()


def gru_output_slots():
    gru = nn.GRU(input_size=2, hidden_size=3, num_layers=2, batch_first=True)
    _, h = gru(torch.randn(1, 4, 2))  # expect: output-slots weight_ih_l1,weight_hh_l1
    h[0].sum().backward()


def everything_frozen():
    frozen = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    for p in frozen.parameters():
        p.requires_grad = False  # expect: frozen 0.weight,2.weight
    frozen(torch.randn(2, 3)).sum().backward()


def grad_mode_turned_off():
    lone = nn.Linear(3, 1)
    torch.set_grad_enabled(False)  # expect: grad-disabled lone.weight,lone.bias
    try:
        lone(torch.randn(2, 3)).sum().backward()
    finally:
        torch.set_grad_enabled(True)


def inference_mode_helper():
    scorer = nn.Linear(3, 1)

    def predict(x):
        with torch.inference_mode():
            return scorer(x)  # expect: grad-disabled scorer.weight,scorer.bias

    predict(torch.randn(2, 3)).clone().pow(2).sum().backward()


def where_with_nan_branch():
    xs = torch.tensor([-1.0, 4.0], requires_grad=True)
    ys = torch.where(xs > 0, torch.sqrt(xs), torch.zeros_like(xs))  # expect: nonfinite xs
    ys.sum().backward()


def leaf_updated_in_place():
    wt = torch.randn(3, requires_grad=True)
    (wt * 2).sum().backward()
    wt -= 0.1 * wt.grad  # expect: inplace-leaf wt


def retained_output_read_at_one_step():
    seq = nn.GRU(input_size=3, hidden_size=4, num_layers=2, batch_first=True)
    ys, _ = seq(torch.rand(2, 5, 3))
    ys.retain_grad()
    ys[:, -1].sum().backward()  # expect: output-slots ys


for case in [retained_output_read_at_one_step, everything_frozen, grad_mode_turned_off, inference_mode_helper, where_with_nan_branch,
             leaf_updated_in_place, constructor_cut, legacy_constructor_raises, item_escape, detach_in_sibling_helper, data_in_forward,
             no_grad_block, decorated_no_grad_method, argmax_in_loss, round_zero_grad, normal_sampling,
             distribution_sample, unregistered_list, unused_head, inplace_on_saved, backward_twice,
             nonleaf_after_conversion, integer_cast, gru_output_slots]:
    run(case)
