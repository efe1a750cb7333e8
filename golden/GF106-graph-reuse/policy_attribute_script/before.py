import torch
import torch.nn as nn
from torch.distributions import Normal


class GaussianPolicy(nn.Module):
    def __init__(self, dim=2):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(dim))
        self.log_std = nn.Parameter(torch.zeros(dim))


torch.manual_seed(21)
policy = GaussianPolicy()
opt = torch.optim.Adam(policy.parameters(), lr=0.05)
demos = torch.randn(64, 2) * 0.5 + 1.0
dist = Normal(policy.mu, policy.log_std.exp())
for step in range(3):
    opt.zero_grad()
    nll = -dist.log_prob(demos).sum(-1).mean()
    if step == 0:
        print("FWD", nll.item())
    nll.backward()
    if step == 0:
        print("GRAD", [policy.mu.grad.abs().sum().item(), policy.log_std.grad.abs().sum().item()])
    opt.step()
