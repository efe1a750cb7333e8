import torch

k = torch.rand(3, dtype=torch.float64, requires_grad=True)
r = k.sigmoid() * 10
r[1] = r[0] ** 2
print(r.sum())
