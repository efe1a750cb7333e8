import torch
from torch import nn


class PatchFusion(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Conv2d(1, width, 3, padding=1)
        self.fuse = nn.Bilinear(width, width, width)

    def forward(self, spectrogram, long_rows=None):
        features = self.proj(spectrogram[:, 0:1]).flatten(2).transpose(1, 2)
        if len(long_rows) > 0:
            local = self.proj(spectrogram[long_rows, 1:2]).flatten(2).transpose(1, 2)
            # `long_rows` holds indices: features[long_rows] is a copy, so writing into
            # features changes nothing that the fusion layer saved for backward.
            features[long_rows] = self.fuse(
                features[long_rows], local
            )
        return features
