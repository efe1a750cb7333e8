import torch
import torch.nn as nn


class HyperNet(nn.Module):
    def __init__(self, z_dim, n_in, n_out):
        super().__init__()
        self.gen = nn.Linear(z_dim, n_in * n_out)
        self.target = nn.Linear(n_in, n_out)
        self.shape = (n_out, n_in)

    def forward(self, z, x):
        weight = self.gen(z).view(self.shape)
        self.target.weight.data = weight
        return self.target(x)
