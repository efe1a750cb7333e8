import torch
from torch import nn


class ScalarMix(nn.Module):
    def __init__(self, num_layers):
        super().__init__()
        self.weights = [nn.Parameter(torch.zeros(1)) for _ in range(num_layers)]
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, layer_outputs):
        normed = torch.softmax(torch.cat(list(self.weights)), dim=0)
        return self.gamma * sum(w * h for w, h in zip(normed, layer_outputs))
