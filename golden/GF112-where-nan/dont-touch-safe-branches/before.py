import torch
from torch import nn


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        h = self.lin(x)
        leaky = torch.where(h > 0, h, 0.01 * h)
        elu = torch.where(h > 0, h, torch.exp(h) - 1)
        sq = torch.where(h > 0, h ** 2, h / 2)
        return leaky + elu + sq
