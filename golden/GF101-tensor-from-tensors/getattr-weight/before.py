import torch
from torch import nn

layer = nn.Linear(2, 1)
w = getattr(layer, "weight")
stats = torch.tensor([w.sum(), w.mean()])
