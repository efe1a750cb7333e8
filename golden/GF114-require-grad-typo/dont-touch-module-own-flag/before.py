import torch
from torch import nn


class MaybeDetach(nn.Module):
    def __init__(self, requires_grad=True):
        super().__init__()
        self.requires_grad = requires_grad
        self.proj = nn.Linear(4, 4)

    def forward(self, x):
        if not self.requires_grad:
            x = x.detach()
        return self.proj(x)


layer = MaybeDetach()
layer.requires_grad = False
