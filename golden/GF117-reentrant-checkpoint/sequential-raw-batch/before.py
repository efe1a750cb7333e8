import torch
from torch import nn
from torch.utils.checkpoint import checkpoint_sequential

torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(5, 16), nn.Tanh(),
    nn.Linear(16, 16), nn.Tanh(),
    nn.Linear(16, 1),
)
opt = torch.optim.SGD(model.parameters(), lr=0.1)

x = torch.randn(8, 5)
y = torch.randn(8, 1)
pred = checkpoint_sequential(model, 2, x)
loss = ((pred - y) ** 2).mean()
print("FORWARD", repr(pred.tolist()))
opt.zero_grad()
loss.backward()
print("GRAD model.0.weight", None if model[0].weight.grad is None else repr(model[0].weight.grad.tolist()))
print("GRAD model.2.weight", None if model[2].weight.grad is None else repr(model[2].weight.grad.tolist()))
opt.step()
