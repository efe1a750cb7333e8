import torch
from torch import nn


class Affine(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(n)).double()
        self.shift = nn.Parameter(torch.zeros(n, dtype=torch.float64))

    def forward(self, x):
        return x * self.scale + self.shift


torch.manual_seed(3)
model = Affine(3)
out = model(torch.randn(4, 3, dtype=torch.float64)).sum()
print("forward", repr(out.tolist()))
out.backward()
print("registered", sorted(name for name, _ in model.named_parameters()))
g = model.scale.grad
print("grad", "scale", None if g is None else repr(g.tolist()))
