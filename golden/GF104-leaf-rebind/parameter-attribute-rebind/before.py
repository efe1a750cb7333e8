import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(n))
        self.proj = nn.Linear(n, n)

    def forward(self, x):
        self.alpha = torch.sigmoid(self.alpha)
        return self.proj(x) * self.alpha
