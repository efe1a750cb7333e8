import torch

x = torch.randn(4, 2)
x.requires_grad = True
x64 = x.double()
opt = torch.optim.LBFGS([x64])
