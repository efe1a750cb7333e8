import torch.nn as nn


class PreActBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.act = nn.ReLU()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        out = self.act(x)
        out = self.conv1(out)
        out = self.conv2(self.act(out))
        return out + x
