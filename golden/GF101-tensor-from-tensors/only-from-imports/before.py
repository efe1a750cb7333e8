"""Gain schedule fitted by gradient descent."""
from torch import nn, rand, tensor

gains = nn.Parameter(rand(3))
low, mid, high = gains[0], gains[1] * 2, gains[2] * 3
curve = tensor([low, mid, high])
curve.pow(2).mean().backward()
