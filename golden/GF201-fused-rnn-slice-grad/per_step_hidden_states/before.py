import torch
import torch.nn as nn

cell = nn.GRUCell(3, 6)
x = torch.randn(2, 8, 3)
h = torch.zeros(2, 6)
hs = []
for t in range(x.shape[1]):
    h = cell(x[:, t], h)
    h.retain_grad()
    hs.append(h)
hs[-1].sum().backward()
print([step.grad.norm().item() for step in hs])
