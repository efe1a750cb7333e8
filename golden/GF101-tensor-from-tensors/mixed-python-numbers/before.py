import torch
from torch import nn

w = nn.Parameter(torch.randn(2))
vec = torch.tensor([w[0], 1.0, w[1], -2])
(vec ** 2).sum().backward()
