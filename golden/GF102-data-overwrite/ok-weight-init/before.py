import math

import torch
from torch import nn


class Layer(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.bias = nn.Parameter(torch.empty(n_out))
        bound = 1 / math.sqrt(n_in)
        self.weight.data = torch.randn(n_out, n_in) * bound
        self.bias.data.zero_()


def init_weights(m):
    if isinstance(m, nn.Linear):
        m.weight.data.normal_(0.0, 0.02)
        m.bias.data = torch.zeros_like(m.bias)
