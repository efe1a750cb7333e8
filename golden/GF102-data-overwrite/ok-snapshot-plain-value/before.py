import torch
from torch import nn


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(3), requires_grad=False)

    def resample(self):
        self.eps.data = torch.randn(3)

    def forward(self, x):
        return x + self.eps
