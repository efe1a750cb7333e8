import torch.nn as nn


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=1)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x):
        return x + self.norm(self.conv(x)).relu()


class Encoder(nn.Module):
    def __init__(self, channels, num_blocks):
        super().__init__()
        self.stem = nn.Conv1d(1, channels, 7, padding=3)
        self.blocks = nn.ModuleList()
        for _ in range(num_blocks):
            self.blocks.append(ResidualBlock(channels))

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return h.mean(dim=-1)
