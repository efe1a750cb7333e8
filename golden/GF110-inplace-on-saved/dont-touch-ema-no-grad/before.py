import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model, decay=0.999):
        self.shadow = copy.deepcopy(model)
        self.decay = decay

    @torch.no_grad()
    def update(self, model):
        for ema_p, p in zip(self.shadow.parameters(), model.parameters()):
            ema_p.mul_(self.decay).add_(p, alpha=1 - self.decay)


model = nn.Linear(4, 2)
ema = EMA(model)
with torch.no_grad():
    model.weight += 0.01
    bias = model.bias
    bias *= 0.5
w = torch.randn(3, requires_grad=True)
with torch.no_grad():
    w -= 0.1 * torch.ones(3)
ema.update(model)
