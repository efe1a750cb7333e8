# %% [markdown]
# Quick look at the pretrained predictions, then fine-tune.

# %%
import torch
import torch.nn as nn

torch.set_grad_enabled(False)
net = nn.Sequential(nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 1))
sample = torch.randn(4, 10)
print(net(sample))

# %%
opt = torch.optim.SGD(net.parameters(), lr=0.01)
xs, ys = torch.randn(64, 10), torch.randn(64, 1)
for i in range(100):
    pred = net(xs)
    loss = ((pred - ys) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
