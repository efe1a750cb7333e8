import torch

scale = torch.ones(4, requires_grad=True)
scale = scale * 0.5
opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = (scale * torch.randn(4)).sum()
    loss.backward()
    opt.step()
