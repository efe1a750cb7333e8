import torch
import torch.nn as nn


class Decoder(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(d_in, d_out))
        self.layers = layers
        self.sizes = sizes

    def forward(self, z):
        for i, layer in enumerate(self.layers):
            z = layer(z)
            if i < len(self.layers) - 1:
                z = torch.relu(z)
        return z
