import torch
from torch import nn
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone


class PyramidHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = resnet_fpn_backbone("resnet18", weights=None)
        self.spp = nn.MaxPool2d(3, 1, 1)

    def forward(self, images):
        features = list(self.backbone(images).values())
        features[-1] = self.spp(features[-1])
        outs = self.backbone.body(images)
        outs["pool"] = outs["pool"] * 2
        return features, outs
