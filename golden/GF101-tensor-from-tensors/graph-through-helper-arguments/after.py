import torch
from torch import nn


def pack(first, second):
    return torch.stack([first, second])


w = nn.Parameter(torch.rand(2))
packed = pack(w[0] * 2, second=w[1] + 1)
packed.sum().backward()
