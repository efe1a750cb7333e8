import torch
import torch.nn as nn
import torch.nn.functional as F


def gaussian_head(net, x):
    out = net(x)
    return out[:, 0], F.softplus(out[:, 1]) + 1e-3


torch.manual_seed(13)
net = nn.Linear(3, 2)
x = torch.randn(5, 3)
mu, sigma = gaussian_head(net, x)
y = torch.normal(mu, sigma)
loss = (y - 2.0).pow(2).mean()
print("FWD", y.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in net.parameters()])
