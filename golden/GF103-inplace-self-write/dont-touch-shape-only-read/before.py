import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        y = torch.sigmoid(x) * 2
        # expand_as reads only the shape of y[:, 0]
        y[:, 0] = self.bias.expand_as(y[:, 0])
        return y.sum()
