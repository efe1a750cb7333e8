import torch
import torch.nn as nn

log_scale = nn.Parameter(torch.zeros(2))
scale = log_scale.exp()
batches = [torch.randn(4, 2) for _ in range(3)]
total = 0.0
for xb in batches:
    total += (xb * scale).sum().item()
print(total)
