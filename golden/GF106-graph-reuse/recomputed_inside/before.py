import torch
import torch.nn as nn
import torch.distributions as dd

log_std = nn.Parameter(torch.zeros(1))
mean = nn.Parameter(torch.zeros(1))
std = torch.exp(log_std)
print("initial std", std.item())
opt = torch.optim.SGD([log_std, mean], lr=0.01)
for i in range(50):
    std = torch.exp(log_std)
    dist = dd.Normal(mean, std)
    opt.zero_grad()
    loss = -dist.log_prob(torch.tensor([2.0])).sum()
    loss.backward()
    opt.step()
