"""A property fills a derived slot in place (seed 003, P5 shape): backward raises."""
import torch
import torch.nn as nn


class Mixture(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_rates = nn.Parameter(torch.randn(3) * 0.3)

    @property
    def rates(self):
        r = torch.exp(self.log_rates)
        r[2] = r[0] / r[1]
        return r

    def forward(self, t):
        return torch.exp(-self.rates[None, :] * t[:, None]).sum(1)


model = Mixture()
t = torch.linspace(0.0, 2.0, 7)
obs = torch.rand(7) + 0.5
loss = ((model(t) - obs) ** 2).mean()
loss.backward()
print(model.log_rates.grad)
