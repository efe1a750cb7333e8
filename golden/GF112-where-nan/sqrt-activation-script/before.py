import torch
from torch import nn

torch.manual_seed(0)
layer = nn.Linear(3, 4)
x = torch.randn(5, 3)

pre = layer(x)
# a "signed square root" activation: sqrt on the positive side, identity below
act = torch.where(pre > 0, torch.sqrt(pre), pre)
loss = act.pow(2).mean()
print("FORWARD", repr(act.tolist()))
loss.backward()
print("GRAD layer.weight", repr(layer.weight.grad.tolist()))
print("GRAD layer.bias", repr(layer.bias.grad.tolist()))
