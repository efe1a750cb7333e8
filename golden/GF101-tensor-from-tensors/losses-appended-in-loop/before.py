import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
heads = nn.ModuleList([nn.Linear(4, 1) for _ in range(3)])
x = torch.randn(8, 4)
y = torch.randn(8, 1)

losses = []
for head in heads:
    losses.append(F.mse_loss(head(x), y))
total = torch.tensor(losses).sum()
print("FORWARD", repr(total.item()))
total.backward()
for i, head in enumerate(heads):
    print(f"GRAD heads.{i}.weight", None if head.weight.grad is None else repr(head.weight.grad.tolist()))
