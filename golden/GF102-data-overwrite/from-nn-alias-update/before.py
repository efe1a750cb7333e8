import torch
from torch import nn as tnn


class Affine(tnn.Module):
    def __init__(self):
        super().__init__()
        self.shift = tnn.Parameter(torch.zeros(3))

    def set_shift(self, shift):
        self.shift.data = shift

    def forward(self, x):
        return x + self.shift


gen = tnn.Sequential(tnn.Linear(2, 3), tnn.Tanh())
layer = Affine()
layer.set_shift(gen(torch.randn(2)))
print(layer(torch.randn(4, 3)).sum())
