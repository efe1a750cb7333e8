import torch
import torch.nn.functional as F
from torch import nn


class Classifier(nn.Module):
    def __init__(self, d, classes, weight_decay=1e-4):
        super().__init__()
        self.weight_decay = weight_decay
        self.body = nn.Sequential(nn.Linear(d, 128), nn.BatchNorm1d(128), nn.ReLU())
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        return self.head(self.body(x))

    def l2_penalty(self):
        reg = 0.0
        for key, value in self.state_dict(keep_vars=True).items():
            if "weight" in key:
                reg += value.pow(2).sum()
        return self.weight_decay * reg

    def training_step(self, x, y):
        return F.cross_entropy(self(x), y) + self.l2_penalty()
