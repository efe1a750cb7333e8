import torch

theta = torch.randn(3, requires_grad=True)
theta = theta.exp()
loss = theta.sum()
loss.backward()
