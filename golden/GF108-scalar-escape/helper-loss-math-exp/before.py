import math

import torch
from torch import nn

torch.manual_seed(0)


def energy_loss(pred, temperature):
    """Boltzmann-style penalty on the mean prediction."""
    energy = math.exp(pred.mean().item() / temperature)
    return torch.tensor(energy)


model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
x = torch.randn(16, 3)
loss = energy_loss(model(x), 2.0)
print("FORWARD", repr(loss.item()))
loss.backward()
print("GRAD 0.weight", None if model[0].weight.grad is None else repr(model[0].weight.grad.tolist()))
