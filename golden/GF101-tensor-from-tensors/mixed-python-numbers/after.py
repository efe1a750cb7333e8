import torch
from torch import nn

w = nn.Parameter(torch.randn(2))
vec = torch.stack([w[0], torch.as_tensor(1.0, dtype=w[0].dtype), w[1], torch.as_tensor(-2, dtype=w[0].dtype)])
(vec ** 2).sum().backward()
