import torch
import torch.nn as nn
from torch.nn import Conv2d


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv2d(3, 8, 3, padding=1)

    def forward(self, images):
        features = self.conv(images)
        norm = nn.BatchNorm2d(features.shape[1])
        features = torch.relu(norm(features))
        for _ in range(2):
            features = Conv2d(8, 8, 3, padding=1)(features)
        return features.mean(dim=(2, 3))


encoder = Encoder()
print(encoder(torch.randn(2, 3, 8, 8)).shape)
