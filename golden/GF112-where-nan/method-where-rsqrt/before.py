import torch
from torch import Tensor, nn


class Whiten(nn.Module):
    """Scales each feature to unit variance; constant features keep scale 1."""

    def __init__(self, dim):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        var = x.var(dim=0, unbiased=False)
        inv_std = torch.rsqrt(var).where(var > 0, torch.ones_like(var))
        return (x - x.mean(dim=0)) * inv_std * self.gain
