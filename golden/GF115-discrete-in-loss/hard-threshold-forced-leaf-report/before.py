import torch
from torch import nn

torch.manual_seed(0)
gate = nn.Linear(4, 1)
optimizer = torch.optim.SGD(gate.parameters(), lr=0.1)
x = torch.randn(8, 4)
wanted = torch.randint(0, 2, (8, 1)).float()

for step in range(2):
    optimizer.zero_grad()
    opened = (torch.sigmoid(gate(x)) > 0.5).float()
    loss = ((opened - wanted) ** 2).mean()
    loss.requires_grad_()
    loss.backward()
    optimizer.step()
