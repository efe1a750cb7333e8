import torch

t = torch.nn.Parameter(torch.randn(12, 1), requires_grad=True)
T = t.view(3, 4)
T.sum().backward()
print(t.grad)
