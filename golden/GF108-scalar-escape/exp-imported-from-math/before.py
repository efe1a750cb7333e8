import torch
from math import exp

torch.manual_seed(0)
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(8, 3)
for _ in range(3):
    opt.zero_grad()
    energy = model(x).mean()
    loss = torch.tensor(exp(energy), requires_grad=True)
    loss.backward()
    opt.step()
