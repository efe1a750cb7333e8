import torch
import torch.nn as nn
import torch.distributions as dd

data = torch.randn(100, 3) * 4 + 1
data_n = (data - data.mean(0)) / data.std(0)
target = dd.Normal(5, 5)
prior = dd.Normal(torch.zeros(3), torch.ones(3))
model = nn.Linear(3, 3)
opt = torch.optim.Adam(model.parameters())
for epoch in range(5):
    opt.zero_grad()
    out = model(data_n)
    loss = -(target.log_prob(out).mean() + prior.log_prob(out).mean())
    loss.backward()
    opt.step()
