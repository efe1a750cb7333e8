import torch
from torch import nn

layer = nn.Linear(2, 3)
ratios = layer(torch.randn(2))


def add_ratio():
    ratios[2] = ratios[0] / ratios[1]
    return ratios.sum()


add_ratio().backward()
