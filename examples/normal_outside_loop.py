"""A distribution built from parameters once, before the training loop (seed 004).

Iteration 2 raises "Trying to backward through the graph a second time"; adding
`retain_graph=True` would train on a frozen std. `gradfix apply` rebuilds std and the
distribution at the top of the loop body.
"""

import torch
import torch.distributions as D
from torch import nn

torch.manual_seed(0)
log_scale = nn.Parameter(torch.tensor([0.5]))
loc = nn.Parameter(torch.tensor([0.0]))
scale = torch.exp(log_scale)
q = D.Normal(loc=loc, scale=scale)

optimizer = torch.optim.SGD([log_scale, loc], lr=0.001)
p = D.Normal(3.0, 2.0)

for step in range(5):
    optimizer.zero_grad()
    x = q.rsample((256,))
    kl = (q.log_prob(x) - p.log_prob(x)).mean()
    kl.backward()
    optimizer.step()
    print(step, kl.item())
