import torch
from torch import nn


class BoxHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def forward(self, boxes, image_width):
        coords = self.proj(boxes)
        # dividing by a number the caller passes saves nothing of `coords` for backward
        coords[..., 0] = coords[..., 0] / image_width
        return coords
