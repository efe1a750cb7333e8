import torch

weights = torch.randn(4, requires_grad=True)
norms = []
for i in range(4):
    v = weights[i] * (i + 1)
    norms.append(v)
total = torch.stack([norms[0], norms[1]]).float().sum()
total.backward()
