import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        return x + nn.LayerNorm(x.shape[-1])(F.dropout(self.ff(x), 0.1, self.training))


print(Block(8)(torch.randn(3, 8)).shape)
