import torch

w = torch.randn(4, requires_grad=True)
x = w * 3
x[2] = x[0] + x[1]
x[3] = torch.exp(x[0])
x[1] = 2 * x[0] - 1
x.sum().backward()
