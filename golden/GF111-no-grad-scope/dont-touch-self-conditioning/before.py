import random

import torch
import torch.nn as nn
import torch.nn.functional as F


class Denoiser(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * dim + 1, 64), nn.SiLU(), nn.Linear(64, dim))

    def forward(self, x_t, t, x_self_cond=None):
        if x_self_cond is None:
            x_self_cond = torch.zeros_like(x_t)
        return self.net(torch.cat([x_t, x_self_cond, t[:, None]], dim=1))


def p_losses(model, x0, t, noise):
    x_t = x0 * (1 - t[:, None]).sqrt() + noise * t[:, None].sqrt()
    x_self_cond = None
    if random.random() < 0.5:
        with torch.no_grad():
            x_self_cond = model(x_t, t).detach()
    pred = model(x_t, t, x_self_cond)
    return F.mse_loss(pred, x0)


model = Denoiser()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
x0 = torch.randn(8, 16)
loss = p_losses(model, x0, torch.rand(8), torch.randn_like(x0))
loss.backward()
opt.step()
