import torch
from torch import nn


class AppendRatio(nn.Module):
    def forward(self, x):
        x[:, 2] = x[:, 0] / x[:, 1]
        return x


encoder = nn.Linear(5, 3)
head = AppendRatio()
y = head(encoder(torch.randn(8, 5)))
y.sum().backward()
