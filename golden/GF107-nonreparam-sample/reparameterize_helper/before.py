import torch
import torch.nn as nn
from torch.distributions.normal import Normal


def reparameterize(mu, logvar):
    return Normal(mu, torch.exp(0.5 * logvar)).sample()


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 4)

    def forward(self, x):
        mu, logvar = self.body(x).chunk(2, dim=1)
        return reparameterize(mu, logvar)


torch.manual_seed(6)
enc = Encoder()
z = enc(torch.randn(3, 8))
loss = (z ** 2).sum()
print("FWD", z.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in enc.parameters()])
