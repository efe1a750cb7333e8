import torch
from torch import nn


class Packer(nn.Module):
    def forward(self, hidden, lengths):
        if isinstance(lengths, list):
            lengths = torch.tensor(lengths)
        return hidden[torch.arange(hidden.shape[0]), lengths - 1]
