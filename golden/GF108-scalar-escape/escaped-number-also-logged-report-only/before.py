import math

import torch
from torch import nn

policy = nn.Linear(4, 2)
optimizer = torch.optim.Adam(policy.parameters(), lr=3e-4)
best_ratio = 0.0

for update in range(10):
    obs = torch.randn(8, 4)
    new_logp = torch.log_softmax(policy(obs), -1)[:, 0].mean()
    ratio = math.exp(new_logp.item() + 0.1)
    if ratio > best_ratio:
        best_ratio = ratio
    surrogate = torch.tensor(-min(ratio, 1.2), requires_grad=True)
    optimizer.zero_grad()
    surrogate.backward()
    optimizer.step()
