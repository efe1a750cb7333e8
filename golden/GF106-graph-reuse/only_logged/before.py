import torch
import torch.nn as nn

model = nn.Linear(2, 1)
log_std = nn.Parameter(torch.zeros(1))
std = torch.exp(log_std)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = model(torch.ones(1, 2)).pow(2).sum()
    loss.backward()
    opt.step()
    print(step, loss.item(), std.item())
