import torch
from torch import nn

net = nn.Sequential(nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 1))
opt = torch.optim.Adam(net.parameters())
x, y = torch.randn(32, 10), torch.randn(32, 1)
for step in range(100):
    w = net.state_dict()["0.weight"]
    orth = (w @ w.t() - torch.eye(10)).pow(2).sum()
    loss = (net(x) - y).pow(2).mean() + 0.1 * orth
    opt.zero_grad()
    loss.backward()
    opt.step()
