import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(3, 1)
x = torch.randn(4, 3)
target = 0.5

pred = model(x)
err = pred.mean().item() - target
loss = torch.tensor(err ** 2, requires_grad=True)
print("FORWARD", repr(loss.item()))
loss.backward()
print("GRAD model.weight", None if model.weight.grad is None else repr(model.weight.grad.tolist()))
