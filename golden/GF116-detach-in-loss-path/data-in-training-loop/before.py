import torch
from torch import nn

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
criterion = nn.MSELoss()
x, y = torch.randn(10, 4), torch.randn(10, 1)

for epoch in range(1):
    out = net(x).data
    loss = criterion(out, y)
    print("FORWARD", repr(loss.item()))
    optimizer.zero_grad()
    loss.backward()
    print("GRAD 0.weight", None if net[0].weight.grad is None else repr(net[0].weight.grad.tolist()))
    optimizer.step()
