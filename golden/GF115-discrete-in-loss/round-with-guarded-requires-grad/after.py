import torch
from torch import nn

torch.manual_seed(0)
counter = nn.Linear(5, 1)
optimizer = torch.optim.Adam(counter.parameters(), lr=1e-2)
images = torch.randn(6, 5)
counts = torch.randint(0, 4, (6, 1)).float()

for epoch in range(2):
    optimizer.zero_grad()
    predicted = counter(images)
    loss = (((predicted + (predicted.round() - predicted).detach()) - counts) ** 2).mean()
    if not loss.requires_grad:
        loss.requires_grad = True
    loss.backward()
    optimizer.step()
