import torch
from torch import nn


class TwoTower(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.towers = (nn.Linear(dim, hidden), nn.Linear(dim, hidden))
        self.scale = 1.0 / hidden ** 0.5

    def forward(self, query, item):
        query_tower, item_tower = self.towers
        return (query_tower(query) * item_tower(item)).sum(-1) * self.scale
