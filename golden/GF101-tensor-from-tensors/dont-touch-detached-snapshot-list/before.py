import torch
from torch import nn


class Tracker(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 3)

    def forward(self, x):
        outs = [self.proj(x[i]) for i in range(x.shape[0])]
        with torch.no_grad():
            norms = torch.tensor([o.norm() for o in outs])
        snapshot = torch.tensor([o.detach().sum() for o in outs])
        return torch.stack(outs), norms, snapshot
