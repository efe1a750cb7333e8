import torch as T
import torch.nn as nn


class Pose(nn.Module):
    def __init__(self):
        super().__init__()
        self.angle = nn.Parameter(T.zeros(()))
        self.scale = nn.Parameter(T.ones(()))

    def forward(self, points):
        c = T.cos(self.angle) * self.scale
        s = T.sin(self.angle) * self.scale
        rot = T.tensor([[c, -s], [s, c]])
        return points @ rot
