import torch
from torch import nn

torch.manual_seed(0)
cell = nn.Linear(4, 4)
steps = 5
h = torch.zeros(steps, 4)
h[0] = torch.randn(4)
for t in range(1, steps):
    h_new = h.clone()
    h_new[t] = torch.tanh(cell(h[t - 1]))
    h = h_new
loss = h.sum()
print("FORWARD", repr(loss.item()))
loss.backward()
print("GRAD cell.weight", None if cell.weight.grad is None else repr(cell.weight.grad.tolist()))
