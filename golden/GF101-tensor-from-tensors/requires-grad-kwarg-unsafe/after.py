import torch
from torch import nn

torch.manual_seed(0)
theta = nn.Parameter(torch.tensor(0.3))
rotation = torch.stack([torch.stack([torch.cos(theta), -torch.sin(theta)]), torch.stack([torch.sin(theta), torch.cos(theta)])])
point = torch.tensor([1.0, 0.0])
loss = (rotation @ point - torch.tensor([0.0, 1.0])).pow(2).sum()
print("FORWARD", repr(rotation.tolist()))
loss.backward()
print("GRAD theta", None if theta.grad is None else repr(theta.grad.item()))
