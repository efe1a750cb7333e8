import torch
from torch import nn
from torchvision.models import resnet18


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = resnet18()

    def forward(self, x):
        feats = self.backbone(x)
        stats = torch.tensor([feats, feats * 2])
        return stats
