import torch
from torch import nn


class ScaleShift(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n))
        self.encoder = nn.Linear(n, n)

    def forward(self, x, ctx):
        self.scale.data.copy_(self.encoder(ctx).exp().mean(0))
        return x * self.scale
