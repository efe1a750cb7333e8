import torch
from torch import nn

torch.manual_seed(0)


def physical(raw, scale):
    return torch.sigmoid(raw) * scale


raw = nn.Parameter(torch.randn(3))
scale = torch.tensor([2.0, 4.0, 1.0])
p = physical(raw, scale)
p = torch.stack([p[0], p[1], p[0] / p[1]])
loss = (p ** 2).sum()
print("FORWARD", repr(p.tolist()))
loss.backward()
print("GRAD raw", None if raw.grad is None else repr(raw.grad.tolist()))
