"""A latent sampled with torch.normal(mu, std): gradients through it are silently zero."""
import torch
import torch.nn as nn

torch.manual_seed(3)
encoder = nn.Linear(5, 4)
log_sigma = nn.Parameter(torch.full((1, 3), -1.0))
x = torch.randn(4, 5)

mu = encoder(x)[:, :1]
std = log_sigma.exp()
z = torch.normal(mu, std)
loss = (z - 1.0).pow(2).mean()
loss.backward()
print(encoder.weight.grad.abs().sum(), log_sigma.grad)
