import torch

weights = torch.zeros(4, requires_grad=True)
bias = torch.ones(1, requires_grad=True)
weights += 0.1
x = torch.randn(8, 4)
loss = (x @ weights + bias).pow(2).mean()
loss.backward()
