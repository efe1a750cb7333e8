import torch
import torch.nn as nn


class Jitter(nn.Module):
    def __init__(self, sigma):
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.sigma = sigma

    def forward(self, x):
        return torch.normal(self.proj(x), self.sigma)
