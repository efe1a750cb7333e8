import torch
from torch import nn

model = nn.Linear(3, 2)
x = torch.randn(5, 3)
out = model(x)
# GF101 reports these (torch.tensor of graph-carrying tensors); GF108 leaves them to it.
pair = torch.tensor([out[0, 0], out[1, 1]])
pair.sum().backward()
copy = torch.tensor(out.sum(), requires_grad=True)
copy.backward()
