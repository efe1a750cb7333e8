import torch
from torch import nn

net = nn.Linear(3, 1)
y = net(torch.randn(2, 3))
log = torch.tensor([y[0, 0].detach(), y[1, 0].detach()])
print(log)
