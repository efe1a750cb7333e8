# %% count regression, notebook style
import torch
from torch import nn

net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.01)
x = torch.randn(100, 8)
counts = torch.randint(0, 20, (100, 1))

# %%
for epoch in range(5):
    predicted = net(x).long()
    loss = (predicted - counts).abs().float().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
