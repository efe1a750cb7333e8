import torch
from torch import nn


class GatedBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.inp = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)

    def forward(self, x):
        h = self.inp(x)
        g = self.gate(h)
        h += g
        return h.tanh()


torch.manual_seed(0)
block = GatedBlock(4)
out = block(torch.randn(2, 4))
print("FORWARD", repr(out.tolist()))
out.sum().backward()
print("GRAD block.inp.weight", None if block.inp.weight.grad is None else repr(block.inp.weight.grad.tolist()))
