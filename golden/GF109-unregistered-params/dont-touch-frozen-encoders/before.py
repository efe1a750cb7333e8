import torch
from torch import nn


class FeatureFusion(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.encoders = [nn.Linear(dim, dim), nn.Linear(dim, dim)]
        for encoder in self.encoders:
            for p in encoder.parameters():
                p.requires_grad = False
        self.fuse = nn.Linear(2 * dim, dim)

    def forward(self, a, b):
        feats = [enc(x) for enc, x in zip(self.encoders, (a, b))]
        return self.fuse(torch.cat(feats, dim=-1))
