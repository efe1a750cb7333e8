import torch
from torch import nn


class Batch:
    def __init__(self, x):
        self.data = x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, batch):
        n = self.lin.weight.data.shape[0]
        batch.data = batch.data.float()
        return self.lin(batch.data)[:, :n]
