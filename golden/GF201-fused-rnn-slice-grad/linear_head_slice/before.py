import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
x = torch.randn(8, 4)
logits = net(x)
logits.retain_grad()
logits[:, 0].mean().backward()
print(logits.grad[:, 1:])
