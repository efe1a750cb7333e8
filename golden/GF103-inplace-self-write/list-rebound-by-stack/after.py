import torch
from torch import nn


def with_ratio(w):
    parts = [w[0], w[1], w[1]]
    parts = torch.stack(parts)
    parts_new = parts.clone()
    parts_new[2] = parts[0] / parts[1]
    parts = parts_new
    return parts


weights = nn.Parameter(torch.rand(2) + 0.5)
with_ratio(weights).sum().backward()
