import torch
from torch import nn


class RepBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.fused = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv3(x) + self.conv1(x)

    def fuse(self):
        # structural re-parameterisation for inference: copying values is the point
        kernel = self.conv3.weight + nn.functional.pad(self.conv1.weight, [1, 1, 1, 1])
        self.fused.weight.data = kernel
        self.fused.bias.data = self.conv3.bias + self.conv1.bias
