import torch
from torch import nn


def smoothness(w):
    return (w[1:] - w[:-1]).pow(2).sum()


def magnitude(w):
    return w.abs().mean()


class Regularised(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(6, 6)

    def penalties(self):
        w = self.layer.weight
        return torch.stack([smoothness(w), magnitude(w)])

    def forward(self, x):
        return self.layer(x).sum() + self.penalties().sum()
