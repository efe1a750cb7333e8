import torch
from torch import nn


class Mixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(4, 2)

    def forward(self, x):
        g = self.gate(x).mean(0)
        return self.combine(g[0], g[1])

    def combine(self, left, right):
        return torch.tensor([left, right, left * right])
