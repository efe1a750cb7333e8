import torch
from torch import nn


class Tied(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.embed = nn.Linear(n, n)
        self.w = self.embed.weight

    def forward(self, x):
        self.w = self.w * 0.5
        return x @ self.w
