"""Gain schedule fitted by gradient descent."""
import torch
from torch import nn, rand, tensor

gains = nn.Parameter(rand(3))
low, mid, high = gains[0], gains[1] * 2, gains[2] * 3
curve = torch.stack([low, mid, high])
curve.pow(2).mean().backward()
