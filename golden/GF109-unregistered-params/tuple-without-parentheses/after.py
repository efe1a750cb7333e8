import torch
from torch import nn


class DualHead(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, dim), nn.GELU())
        self.heads = nn.ModuleList([nn.Linear(dim, classes), nn.Linear(dim, 1)])

    def forward(self, x):
        h = self.body(x)
        logits_head, score_head = self.heads
        return logits_head(h), score_head(h).squeeze(-1)
