import torch
import torch.nn as nn
import torch.nn.functional as F


class NoisyLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.1)
        self.rho = nn.Parameter(torch.full((n_out, n_in), -2.0))

    def forward(self, x):
        sigma = F.softplus(self.rho)
        noise = torch.normal(0.0, sigma)
        return F.linear(x, self.weight + noise)


torch.manual_seed(4)
layer = NoisyLinear(3, 2)
out = layer(torch.randn(5, 3))
loss = out.pow(2).mean()
print("FWD", out.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in (layer.rho,)])
