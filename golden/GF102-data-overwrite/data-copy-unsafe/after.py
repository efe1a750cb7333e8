import torch
from torch import nn


class ScaleShift(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("scale", torch.ones(n), persistent=True)
        self.encoder = nn.Linear(n, n)

    def forward(self, x, ctx):
        self.scale = self.encoder(ctx).exp().mean(0)
        return x * self.scale
