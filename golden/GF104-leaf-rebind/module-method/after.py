import torch
from torch import nn


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 2)

    def calibrate(self, x):
        temp = nn.Parameter(torch.ones(1))
        temp_converted = temp.double()
        logits = self.proj(x).double() / temp_converted
        loss = logits.logsumexp(-1).mean()
        print("forward", repr(loss.tolist()))
        loss.backward()
        return temp.grad


torch.manual_seed(3)
g = Scorer().calibrate(torch.randn(5, 3))
print("grad", "temp", None if g is None else repr(g.tolist()))
