import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n


class NodeEmbedding(Encoder):
    def __init__(self, n, d, device="cpu"):
        super().__init__(n)
        self.table = nn.Parameter(torch.randn(n, d)).to(device, dtype=torch.float64)

    def forward(self, index):
        return self.table[index].sum(-1)


torch.manual_seed(9)
model = NodeEmbedding(6, 3)
out = model(torch.tensor([0, 2, 5])).sum()
print("forward", repr(out.tolist()))
out.backward()
print("registered", sorted(name for name, _ in model.named_parameters()))
g = model.table.grad
print("grad", "table", None if g is None else repr(g.tolist()))
