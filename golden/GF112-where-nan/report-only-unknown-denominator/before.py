import torch
from torch import nn


class Normalize(nn.Module):
    def __init__(self, eps=0.0):
        super().__init__()
        self.eps = eps

    def forward(self, v):
        n = v.norm(dim=-1, keepdim=True)
        return torch.where(n > self.eps, v / n, v)
