import torch
from torch import nn


class MaskHead(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduce0 = nn.Conv2d(dim, dim // 2, 1)
        self.reduce1 = nn.Conv2d(dim, dim // 2, 1)
        self.norm = nn.LayerNorm(dim)

    def forward(self, backbone_out):
        feature_maps = list(backbone_out["fpn"])
        feature_maps[0] = self.reduce0(feature_maps[0])
        feature_maps[1] = self.reduce1(feature_maps[1])
        outputs = {"pair": backbone_out["pair"]}
        outputs["pair"] = self.norm(outputs["pair"])
        outputs["logits"] = outputs["pair"].mean(-1)
        return feature_maps, outputs
