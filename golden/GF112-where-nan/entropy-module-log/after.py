import torch
from torch import nn


class SparseAttentionEntropy(nn.Module):
    """Entropy of ReLU-normalised attention weights (exact zeros are common)."""

    def __init__(self, dim):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, x):
        s = torch.relu(self.score(x)).squeeze(-1)
        p = s / (s.sum(-1, keepdim=True) + 1e-9)
        ent = -torch.where(p > 0, p * torch.log(torch.where(p > 0, p, 1.0)), torch.zeros_like(p)).sum(-1)
        return ent.mean()
