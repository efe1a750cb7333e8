"""Why is y.grad zero for every step but the last? (seed 001)

Nothing is broken: the loss reads only y[:, -1], so the other slots' gradient is zero by
definition. `gradfix check` explains this (GF201) and changes nothing.
"""

import torch
from torch import nn

torch.manual_seed(0)
gru = nn.GRU(input_size=3, hidden_size=8, num_layers=2, batch_first=True)
x = torch.rand(2, 10, 3, requires_grad=True)
y, h = gru(x)
y.retain_grad()
y[:, -1].sum().backward()
print("earlier slots all zero:", torch.allclose(y.grad[:, :-1], torch.tensor(0.0)))
print("x.grad nonzero at every step:", bool((x.grad.abs().sum(dim=(0, 2)) > 0).all()))
