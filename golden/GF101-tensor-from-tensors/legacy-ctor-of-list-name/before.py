import torch
from torch import nn


class Ensemble(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.members = nn.ModuleList([nn.Linear(3, 1) for _ in range(n)])

    def forward(self, x):
        scores = []
        for member in self.members:
            scores.append(member(x).mean())
        return torch.FloatTensor(scores).softmax(0)
