import torch
from torch import nn

torch.manual_seed(4)
proj = nn.Linear(3, 3)
h = proj(torch.randn(4, 3))
h_new = h.clone()
h_new[0] = h[1] * h[2]
h = h_new
print("FORWARD", repr(h.tolist()))
loss = h.pow(2).sum()
loss.backward()
print("GRAD proj.weight", None if proj.weight.grad is None else repr(proj.weight.grad.tolist()))
