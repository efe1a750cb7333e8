"""A conditional planar flow whose parameters come from an LSTM conditioner (seed 000).

`update_parameters` writes the conditioner's outputs into `.data`, so the LSTM and the
head never get a gradient. `gradfix apply` turns w, b, u into buffers and assigns them.
"""

import torch
from torch import nn


def tanh_derivative(x):
    return 1 - torch.tanh(x) ** 2


class PlanarFlow(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.w = nn.Parameter(torch.empty(dim))
        self.b = nn.Parameter(torch.empty(1))
        self.u = nn.Parameter(torch.empty(dim))
        nn.init.normal_(self.w, mean=0, std=0.01)
        nn.init.normal_(self.u, mean=0, std=0.01)
        nn.init.normal_(self.b, mean=0, std=0.01)

    def forward(self, z):
        lin = (z @ self.w + self.b).unsqueeze(1)
        f = z + self.u * torch.tanh(lin)
        psi = tanh_derivative(lin) * self.w
        log_det = torch.log(torch.abs(1 + psi @ self.u) + 1e-4)
        return f, log_det

    def update_parameters(self, ws, bs, us):
        self.w.data = ws
        self.b.data = bs
        self.u.data = us


class Conditioner(nn.Module):
    def __init__(self, context_dim, dim, hidden=16):
        super().__init__()
        self.dim = dim
        self.lstm = nn.LSTM(context_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * dim + 1)

    def forward(self, context):
        out, _ = self.lstm(context)
        params = self.head(out[0, -1])
        return params[: self.dim], params[self.dim : self.dim + 1], params[self.dim + 1 :]


torch.manual_seed(0)
flow = PlanarFlow(4)
conditioner = Conditioner(3, 4)
context = torch.randn(1, 7, 3)
z = torch.randn(8, 4)

flow.update_parameters(*conditioner(context))
f, log_det = flow(z)
loss = (0.5 * (f**2).sum(dim=1) - log_det).mean()
loss.backward()
print("loss", loss.item())
print("conditioner gradient present:", conditioner.head.weight.grad is not None)
