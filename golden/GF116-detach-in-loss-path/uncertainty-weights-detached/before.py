import torch
import torch.nn.functional as F
from torch import nn


class MultiTaskLoss(nn.Module):
    """Learned task weights (homoscedastic uncertainty)."""

    def __init__(self, tasks):
        super().__init__()
        self.log_vars = nn.Parameter(torch.zeros(tasks))

    def forward(self, losses):
        log_vars = self.log_vars.detach()
        weighted = torch.exp(-log_vars) * losses + log_vars
        return weighted.sum()


def train(model, loader, epochs=1):
    weighting = MultiTaskLoss(2)
    params = list(model.parameters()) + list(weighting.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    for _ in range(epochs):
        for x, y_cls, y_reg in loader:
            logits, value = model(x)
            losses = torch.stack([F.cross_entropy(logits, y_cls), F.mse_loss(value, y_reg)])
            loss = weighting(losses)
            opt.zero_grad()
            loss.backward()
            opt.step()
