import torch
from torch import nn


@torch.no_grad()
def train_step(model, ema_model, optimizer, x, y, decay=0.99):
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    for p_ema, p in zip(ema_model.parameters(), model.parameters()):
        p_ema.mul_(decay).add_(p, alpha=1 - decay)
    return loss.item()
