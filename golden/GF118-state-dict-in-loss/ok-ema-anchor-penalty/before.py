import copy

import torch
import torch.nn.functional as F


def train(model, loader, optimizer, lam=0.1, decay=0.99):
    ema = copy.deepcopy(model)
    for x, y in loader:
        ema_weights = ema.state_dict()
        pull = sum(((p - ema_weights[name]) ** 2).sum() for name, p in model.named_parameters())
        loss = F.cross_entropy(model(x), y) + lam * pull
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.mul_(decay).add_(p, alpha=1 - decay)
