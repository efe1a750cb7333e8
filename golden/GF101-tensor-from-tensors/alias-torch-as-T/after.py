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
        rot = T.stack([T.stack([c, -s]), T.stack([s, c])]).reshape(2, 2)
        return points @ rot
