import torch
from torch import nn

model = nn.Linear(4, 2)
for p in model.parameters():
    p.requires_grad = False
model.requires_grad_(True)
x = torch.randn(3, 4).requires_grad_()
h = model(x)
h.retain_grad()
h.sum().backward()
