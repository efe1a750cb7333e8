import torch
import torch.nn as nn

torch.manual_seed(0)
trunk = nn.Sequential(nn.Linear(10, 10), nn.ReLU())
heads = nn.ModuleList([nn.Linear(10, 1) for _ in range(2)])
optimizer = torch.optim.SGD([*trunk.parameters(), *heads.parameters()], lr=0.01)

for step in range(20):
    x, y = torch.randn(8, 10), torch.randn(8, 2)
    features = trunk(x)
    optimizer.zero_grad()
    loss_main = ((heads[0](features) - y[:, :1]) ** 2).mean()
    loss_main.backward(retain_graph=True)
    loss_aux = 0.1 * ((heads[1](features) - y[:, 1:]) ** 2).mean()
    loss_aux.backward()
    optimizer.step()
