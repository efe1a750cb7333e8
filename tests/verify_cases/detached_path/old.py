"""A working two-stage model (used as the original of the detached-path control)."""
import torch
from torch import nn

backbone = nn.Sequential(nn.Linear(6, 8), nn.Tanh())
head = nn.Linear(8, 1)
opt = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=0.1)
x, y = torch.randn(10, 6), torch.randn(10, 1)
for _ in range(2):
    opt.zero_grad()
    features = backbone(x)
    loss = nn.functional.mse_loss(head(features), y)
    loss.backward()
    opt.step()
