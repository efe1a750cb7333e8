"""A diffusion training step: a learned-variance term through a detached mean, self-conditioning."""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
random.seed(0)
T = 50
betas = torch.linspace(1e-4, 0.02, T)
alphas_cumprod = torch.cumprod(1 - betas, dim=0)


class Denoiser(nn.Module):
    def __init__(self, dim=4):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * dim + 1, 32), nn.SiLU(), nn.Linear(32, 2 * dim))

    def forward(self, x_t, t, x_self_cond=None):
        if x_self_cond is None:
            x_self_cond = torch.zeros_like(x_t)
        h = torch.cat([x_t, x_self_cond, t.float().unsqueeze(-1) / T], dim=-1)
        return self.net(h)


def q_sample(x0, t, noise):
    a = alphas_cumprod[t].unsqueeze(-1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def vlb_term(mean, log_var, x0, x_t, t):
    a = alphas_cumprod[t].unsqueeze(-1)
    true_mean = a.sqrt() * x0
    return (0.5 * (log_var.exp() + (mean - true_mean) ** 2) - 0.5 * log_var).mean()


model = Denoiser()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
for step in range(3):
    x0 = torch.randn(8, 4)
    t = torch.randint(0, T, (8,))
    noise = torch.randn_like(x0)
    x_t = q_sample(x0, t, noise)
    x_self_cond = None
    if random.random() < 0.5:
        with torch.no_grad():
            x_self_cond = model(x_t, t).chunk(2, dim=-1)[0].detach()
    eps, var_out = model(x_t, t, x_self_cond).chunk(2, dim=-1)
    mse = F.mse_loss(eps, noise)
    # the variance head learns through the VLB while the mean (eps) is frozen for that term
    vlb = vlb_term(eps.detach(), var_out, x0, x_t, t)
    loss = mse + 1e-3 * vlb
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 4))
