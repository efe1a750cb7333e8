import torch
from torch import nn

torch.manual_seed(0)
regressor = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
optimizer = torch.optim.SGD(regressor.parameters(), lr=0.05)
criterion = nn.MSELoss()
x, y = torch.randn(10, 3), torch.randn(10, 1)

optimizer.zero_grad()
loss = criterion(regressor(x), y)
print("FORWARD", repr(loss.item()))
loss.backward()
print("GRAD 0.weight", None if regressor[0].weight.grad is None else repr(regressor[0].weight.grad.tolist()))
optimizer.step()
