import torch
from torch import nn


def freeze_encoder(model: nn.Module):
    for param in model.encoder.parameters():
        param.requires_gard = False
    for name, param in model.named_parameters():
        if name.startswith("head."):
            param.reqiures_grad = True


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.encoder(x))
