"""A Normal built from a transformed parameter once, before the training loop (seed 004 shape)."""
import torch
import torch.nn.functional as F
from torch import distributions as D

raw_scale = torch.nn.Parameter(torch.tensor([0.5]))
loc = torch.nn.Parameter(torch.tensor([-1.0]))
optimizer = torch.optim.Adam([raw_scale, loc], lr=0.05)
prior = D.Normal(2.0, 3.0)

scale = F.softplus(raw_scale)
q = D.Normal(loc, scale)

for it in range(4):
    optimizer.zero_grad()
    draws = q.rsample((256,))
    kl = (q.log_prob(draws) - prior.log_prob(draws)).mean()
    kl.backward()
    optimizer.step()
    print(it, kl.item())
