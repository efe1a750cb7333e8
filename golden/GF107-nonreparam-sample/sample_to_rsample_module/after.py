import torch
import torch.distributions as dd
import torch.nn as nn


class StochasticLayer(nn.Module):
    def __init__(self, width=5):
        super().__init__()
        self.loc = nn.Linear(width, width)
        self.log_scale = nn.Linear(width, width)
        self.out = nn.Linear(width, 1)

    def forward(self, h):
        q = dd.Normal(self.loc(h), self.log_scale(h).exp())
        z = q.rsample()
        return self.out(z)


torch.manual_seed(1)
layer = StochasticLayer()
h = torch.randn(3, 5)
y = layer(h)
loss = y.pow(2).sum()
print("FWD", y.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in layer.loc.parameters()])
