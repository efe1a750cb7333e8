import torch
from torch import nn

torch.manual_seed(0)
heads = nn.ModuleList([nn.Linear(4, 1) for _ in range(3)])
optimizer = torch.optim.SGD(heads.parameters(), lr=0.1)
features = torch.randn(6, 4)
targets = [torch.randn(6, 1) for _ in range(3)]

optimizer.zero_grad()
task_losses = []
for head, target in zip(heads, targets):
    task_losses.append(nn.functional.mse_loss(head(features), target))
total = torch.tensor(task_losses).sum()
total.requires_grad = True
print("FORWARD", repr(total.item()))
total.backward()
print("GRAD 0.weight", None if heads[0].weight.grad is None else repr(heads[0].weight.grad.tolist()))
optimizer.step()
