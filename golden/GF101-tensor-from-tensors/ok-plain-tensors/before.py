import torch

data = torch.randn(10)
lo = data.min()
hi = data.max()
bounds = torch.tensor([lo, hi])
print(bounds)
