import torch

x = torch.randn(5)
x = x * 2
print(x.grad)
