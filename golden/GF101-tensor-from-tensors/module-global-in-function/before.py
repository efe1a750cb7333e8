import torch
from torch import nn

weights = nn.Parameter(torch.rand(3))
total = weights.sum()


def record():
    return torch.tensor([total, 0.0])
