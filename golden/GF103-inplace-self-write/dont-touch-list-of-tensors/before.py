import torch.nn.functional as F
from torch import nn


class FeaturePyramid(nn.Module):
    def __init__(self, channels=(8, 16, 32)):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, 8, 1) for c in channels)

    def forward(self, features):
        laterals = [conv(f) for conv, f in zip(self.lateral, features)]
        # a top-down pass over a Python list: each assignment replaces a list element
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[2:])
        return laterals
