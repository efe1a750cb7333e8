import torch
from torch import nn

net = nn.Linear(4, 4)
h = net(torch.randn(2, 4))
h = h.view(-1)
h = h * 2
h.sum().backward()
print(net.weight.grad)
