import torch

p = torch.randn(6, requires_grad=True)
q = p.exp() * p
head = q[:3]
q[4] = q[0] * q[1]
print(head.sum() + q.sum())
