import torch
import torch.nn.functional as F
from torch import nn


class TiedDecoder(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.embed = nn.Parameter(torch.randn(vocab, dim) * 0.02)

    def forward(self, h):
        logits = F.linear(h, self.embed)
        return logits.log_softmax(-1)
