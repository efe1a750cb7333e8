"""A leaf rebound to a non-leaf, then its .grad read (seed 003, P1 shape)."""
import torch


def fit(values):
    gain = torch.nn.Parameter(torch.rand(6))
    gain_scaled = gain * 3
    loss = (gain_scaled * values).pow(2).mean()
    loss.backward()
    return gain.grad


print(fit(torch.randn(6)))
