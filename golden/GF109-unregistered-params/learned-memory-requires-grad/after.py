import torch
from torch import nn
import torch.nn.functional as F


class KeyValueMemory(nn.Module):
    """Attention over a learned set of memory slots."""

    def __init__(self, slots, dim):
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.memory = nn.Parameter(torch.randn(slots, dim))

    def forward(self, x):
        scores = self.query(x) @ self.memory.t()
        return F.softmax(scores, dim=-1) @ self.memory


torch.manual_seed(0)
model = KeyValueMemory(5, 4)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
x = torch.randn(3, 4)
target = torch.randn(3, 4)

out = model(x)
print("FORWARD", repr(out.tolist()))
loss = F.mse_loss(out, target)
optimizer.zero_grad()
loss.backward()
trained = dict(model.named_parameters())
for name in ("memory", "query.weight"):
    grad = trained[name].grad if name in trained else None
    print("GRAD", name, None if grad is None else repr(grad.tolist()))
optimizer.step()
