import torch

k = torch.rand(3, dtype=torch.float64, requires_grad=True)
r = k.sigmoid() * 10
r = torch.stack([r[0], r[0] ** 2, r[2]])
print(r.sum())
