import torch
from torch import nn


class Modulated(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("gain", torch.ones(dim))
        self.film = nn.Linear(dim, dim)

    def condition(self, style):
        self.gain.data = torch.sigmoid(self.film(style))

    def forward(self, x, style):
        self.condition(style)
        return x * self.gain
