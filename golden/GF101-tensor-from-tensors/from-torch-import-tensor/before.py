import torch
from torch import nn, tensor

torch.manual_seed(1)
net = nn.Linear(4, 3)


def summarize(y):
    lo = y.min()
    hi = y.max()
    mean = y.mean()
    return tensor([lo, mean, hi])


x = torch.randn(6, 4)
stats = summarize(net(x))
print("FORWARD", repr(stats.tolist()))
loss = (stats * torch.arange(3.0)).sum() + net.bias.sum()
loss.backward()
print("GRAD net.weight", None if net.weight.grad is None else repr(net.weight.grad.tolist()))
