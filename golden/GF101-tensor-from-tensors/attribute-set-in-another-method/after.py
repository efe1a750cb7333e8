import torch
from torch import nn


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 2)

    def remember(self, x):
        self.last = self.body(x)

    def report(self):
        return torch.stack([self.last[0], self.last[1]]).reshape(2)
