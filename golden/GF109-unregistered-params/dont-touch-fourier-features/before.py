import math

import torch
from torch import nn


class FourierFeatures(nn.Module):
    def __init__(self, in_dim, num_features, scale=10.0):
        super().__init__()
        self.B = torch.randn(in_dim, num_features) * scale

    def forward(self, x):
        proj = 2 * math.pi * x @ self.B.to(x.device)
        return torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)
