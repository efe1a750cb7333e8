import torch
import torch.nn as nn


class Codebook(nn.Module):
    def __init__(self, k, d):
        super().__init__()
        self.codes = nn.Parameter((torch.randn(k, d) / d ** 0.5).cuda(), requires_grad=True)

    def forward(self, z):
        return torch.cdist(z, self.codes).argmin(-1)
