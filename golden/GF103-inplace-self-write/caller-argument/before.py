import torch
from torch import nn


def add_ratio(v):
    v[2] = v[0] / v[1]
    return v


net = nn.Linear(2, 3)
out = add_ratio(net(torch.randn(2)))
out.sum().backward()
