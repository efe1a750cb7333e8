import torch
from torch import nn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
x = torch.randn(2, 4)
y = checkpoint(net, x, use_reentrant=False)
z = checkpoint_sequential(net, 2, x, use_reentrant=False)
(y.sum() + z.sum()).backward()
