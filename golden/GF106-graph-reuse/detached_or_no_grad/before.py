import torch
import torch.nn as nn

net = nn.Linear(4, 4)
teacher = nn.Linear(4, 4)
log_alpha = nn.Parameter(torch.zeros(1))
alpha = log_alpha.exp().detach()
with torch.no_grad():
    anchor = teacher.weight * 2
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for step in range(3):
    x = torch.randn(2, 4)
    opt.zero_grad()
    loss = (alpha * (net(x) - x @ anchor).pow(2)).mean()
    loss.backward()
    opt.step()
