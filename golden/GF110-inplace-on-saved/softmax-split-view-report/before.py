import torch.nn.functional as F
from torch import nn


class SplitAttention(nn.Module):
    def __init__(self, dim, k):
        super().__init__()
        self.score = nn.Linear(dim, dim)
        self.k = k

    def forward(self, x):
        weights = F.softmax(self.score(x), dim=-1)
        head = weights.split(self.k, dim=-1)[0]
        head[head < 0.01] = 0.0
        return weights
