import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal


class VAE(nn.Module):
    def __init__(self, d_in=6, d_h=5, d_z=2):
        super().__init__()
        self.hidden = nn.Linear(d_in, d_h)
        self.loc = nn.Linear(d_h, d_z)
        self.log_scale = nn.Linear(d_h, d_z)
        self.out = nn.Linear(d_z, d_in)

    def posterior(self, x):
        h = F.relu(self.hidden(x))
        return Normal(self.loc(h), self.log_scale(h).exp())

    def forward(self, x):
        q = self.posterior(x)
        z = q.sample()
        return torch.sigmoid(self.out(z)), q


torch.manual_seed(12)
vae = VAE()
x = torch.rand(4, 6)
recon, q = vae(x)
loss = F.binary_cross_entropy(recon, x, reduction="sum")
print("FWD", recon.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in (vae.loc.weight, vae.log_scale.weight)])
