import torch
from torch import nn


class RunningScale(nn.Module):
    def __init__(self, n, momentum=0.1):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("scale", torch.ones(n))
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                self.scale = self.scale * (1 - self.momentum) + x.abs().mean(0) * self.momentum
        weight = self.weight.clamp(min=0.0)
        return x / self.scale * weight
