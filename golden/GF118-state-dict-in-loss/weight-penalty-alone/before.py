import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

# shrink the weights before fine-tuning
penalty = 0.0
for name, value in model.state_dict().items():
    if name.endswith("weight"):
        penalty = penalty + value.pow(2).sum()
print("FORWARD", repr(penalty.item()))
optimizer.zero_grad()
(1e-2 * penalty).backward()
print("GRAD 0.weight", None if model[0].weight.grad is None else repr(model[0].weight.grad.tolist()))
optimizer.step()
