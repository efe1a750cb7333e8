"""A radial-style flow whose scale/shift come from a GRU hypernetwork (seed 000 shape)."""
import torch
from torch import nn


class ShiftScaleFlow(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.scale = nn.Parameter(torch.empty(dim))
        self.shift = nn.Parameter(torch.empty(dim))
        nn.init.uniform_(self.scale, -0.1, 0.1)
        nn.init.normal_(self.shift, std=0.05)

    def set_params(self, scale, shift):
        self.scale.data = scale
        self.shift.data = shift

    def forward(self, x):
        y = x * torch.exp(self.scale) + self.shift
        return y, self.scale.sum().expand(x.shape[0])


class HyperNet(nn.Module):
    def __init__(self, ctx_dim, dim):
        super().__init__()
        self.gru = nn.GRU(ctx_dim, 6, batch_first=True)
        self.out = nn.Linear(6, 2 * dim)

    def forward(self, ctx):
        _, h = self.gru(ctx)
        return self.out(h[-1, 0]).chunk(2)


flow = ShiftScaleFlow(3)
hyper = HyperNet(2, 3)
opt = torch.optim.Adam(list(flow.parameters()) + list(hyper.parameters()), lr=1e-2)
context = torch.randn(1, 5, 2)
data = torch.randn(8, 3)

for step in range(3):
    opt.zero_grad()
    s, b = hyper(context)
    flow.set_params(s, b)
    y, logdet = flow(data)
    nll = (0.5 * y.pow(2).sum(1) - logdet).mean()
    nll.backward()
    opt.step()
    print(step, float(nll))
