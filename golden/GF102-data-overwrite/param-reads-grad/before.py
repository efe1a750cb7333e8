import torch
from torch import nn


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(4))
        self.net = nn.Linear(4, 4)

    def forward(self, x):
        self.bias.data = self.net(x).mean(0)
        return x + self.bias

    def bias_grad_norm(self):
        return self.bias.grad.norm()
