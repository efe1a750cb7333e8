import torch

z = torch.randn(3, requires_grad=True)
z = (z * 2).detach().requires_grad_()
q = torch.nn.Parameter(torch.ones(2))
q = torch.nn.Parameter(q * 3)
(z.sum() + q.sum()).backward()
print(z.grad, q.grad)
