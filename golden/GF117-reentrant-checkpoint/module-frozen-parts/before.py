import torch
import torch.utils.checkpoint as cp
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(4, 4)
        self.embed = nn.Embedding(10, 4)
        self.embed.weight.requires_grad = False
        self.frozen = nn.Linear(4, 4)
        for p in self.frozen.parameters():
            p.requires_grad = False

    def forward(self, x, ids):
        a = cp.checkpoint(self.stem, x, use_reentrant=True)
        b = cp.checkpoint(self.stem, self.embed(ids), use_reentrant=True)
        c = cp.checkpoint(self.stem, self.frozen(x), use_reentrant=True)
        d = cp.checkpoint(self.stem, x.detach(), use_reentrant=True)
        return a + b + c + d


net = Net()
out = net(torch.randn(2, 4), torch.randint(0, 10, (2,)))
out.sum().backward()
