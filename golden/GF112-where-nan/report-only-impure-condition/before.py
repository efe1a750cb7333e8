import torch
from torch import nn


class GatedLog(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        h = self.proj(x)
        # the condition draws random numbers: evaluating it twice would change it
        keep = torch.where((h > 0) & (torch.rand_like(h) > 0.1), torch.log(h), torch.zeros_like(h))
        return keep.sum()
