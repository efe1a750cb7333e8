import torch

w = torch.randn(3, requires_grad=True)
x = w * 2
x[2] = (x[0] / x[1]).detach()
x.sum().backward()
