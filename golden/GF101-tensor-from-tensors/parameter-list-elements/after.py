import torch
from torch import nn


class Gains(nn.Module):
    def __init__(self):
        super().__init__()
        self.gains = nn.ParameterList([nn.Parameter(torch.ones(())) for _ in range(3)])

    def forward(self):
        return torch.stack([self.gains[0], self.gains[1], self.gains[2]]).reshape(3)
