import torch
import torch.nn as nn
import torch.distributions as dd


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.prior_mu = nn.Parameter(torch.zeros(2))
        self.net = nn.Linear(2, 4)

    @torch.no_grad()
    def generate(self, n):
        z = dd.Normal(self.prior_mu, 1.0).sample((n,))
        return self.net(z)

    def noisy(self, n):
        with torch.no_grad():
            z = torch.normal(self.prior_mu.expand(n, 2), 1.0)
            return self.net(z)
