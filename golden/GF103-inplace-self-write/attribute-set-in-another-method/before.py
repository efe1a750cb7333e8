import torch
from torch import nn


class Tracker(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.Linear(3, 3)

    def observe(self, x):
        self.state = self.cell(x)

    def forward(self, x):
        self.observe(x)
        self.state[1] = self.state[0] * self.state[1]
        return self.state.sum()
