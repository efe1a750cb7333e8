import torch
import torch.nn.functional as F
from torch import nn


class SimSiam(nn.Module):
    def __init__(self, backbone, dim=128):
        super().__init__()
        self.encoder = nn.Sequential(backbone, nn.Linear(512, dim))
        self.predictor = nn.Sequential(nn.Linear(dim, dim // 2), nn.ReLU(), nn.Linear(dim // 2, dim))

    def forward(self, x1, x2):
        z1, z2 = self.encoder(x1), self.encoder(x2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return p1, p2, z1.detach(), z2.detach()


def criterion(p, z):
    return -F.cosine_similarity(p, z, dim=-1).mean()


def train_step(model, optimizer, x1, x2):
    p1, p2, z1, z2 = model(x1, x2)
    loss = 0.5 * (criterion(p1, z2) + criterion(p2, z1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
