import torch
from torch import nn


class Tracker(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        self.state = self.lin(x)
        self.state[0] = self.state[0] * self.state[1]
        return self.state.sum()
