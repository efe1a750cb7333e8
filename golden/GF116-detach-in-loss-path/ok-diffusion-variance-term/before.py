import torch
import torch.nn.functional as F


def training_losses(model, x_start, t, noise, q_sample, vb_terms):
    x_t = q_sample(x_start, t, noise)
    out = model(x_t, t)
    eps, var_values = torch.split(out, x_start.shape[1], dim=1)
    # the variational bound trains only the variance: the mean is frozen
    frozen = torch.cat([eps.detach(), var_values], dim=1)
    vb = vb_terms(frozen, x_start, x_t, t)
    mse = F.mse_loss(eps, noise)
    return mse + vb


def train(model, optimizer, loader, q_sample, vb_terms, num_steps):
    for x_start in loader:
        t = torch.randint(0, num_steps, (x_start.shape[0],))
        noise = torch.randn_like(x_start)
        loss = training_losses(model, x_start, t, noise, q_sample, vb_terms).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
