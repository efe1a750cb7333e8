import torch
from torch import nn

torch.manual_seed(0)
policy = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
value_fn = nn.Linear(3, 1)
optimizer = torch.optim.Adam(list(policy.parameters()) + list(value_fn.parameters()), lr=1e-3)
states = torch.randn(20, 3)
returns = torch.randn(20, 1)

for update in range(1):
    values = value_fn(states)
    value_loss = (returns - values).pow(2).mean()
    print("FORWARD", repr(value_loss.item()))
    optimizer.zero_grad()
    value_loss.backward()
    optimizer.step()
    print("GRAD value_fn.weight", None if value_fn.weight.grad is None else repr(value_fn.weight.grad.tolist()))
