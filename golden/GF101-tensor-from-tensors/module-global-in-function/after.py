import torch
from torch import nn

weights = nn.Parameter(torch.rand(3))
total = weights.sum()


def record():
    return torch.stack([total, torch.as_tensor(0.0, dtype=total.dtype)])
