import torch
from torch import nn


class Recurrent(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.cell = nn.GRUCell(dim, dim)

    def forward(self, xs, mask):
        states = []
        h = xs.new_zeros(xs.shape[1], xs.shape[2])
        for x in xs:
            h = self.cell(x, h)
            states.append(h)
        states[-1] = states[-1] * mask
        return torch.stack(states)
