import copy

import torch
from torch import nn


class EMAEnsemble(nn.Module):
    def __init__(self, model, decays=(0.99, 0.999)):
        super().__init__()
        self.model = model
        self.decays = list(decays)
        self.shadows = [copy.deepcopy(model) for _ in self.decays]
        for shadow in self.shadows:
            shadow.requires_grad_(False)

    @torch.no_grad()
    def update(self):
        for decay, shadow in zip(self.decays, self.shadows):
            for p_ema, p in zip(shadow.parameters(), self.model.parameters()):
                p_ema.data.mul_(decay).add_(p.data, alpha=1 - decay)

    def forward(self, x):
        return self.model(x)

    @torch.no_grad()
    def ensemble(self, x):
        return torch.stack([shadow(x) for shadow in self.shadows]).mean(0)
