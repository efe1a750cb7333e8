import math

import torch
from torch import nn


class TinyTransformer(nn.Module):
    def __init__(self, dim, max_len, sizes=(64, 32)):
        super().__init__()
        self.sizes = list(sizes)
        self.handles = []
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.mask = torch.triu(torch.ones(max_len, max_len, dtype=torch.bool), diagonal=1)
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        self.pe = torch.zeros(max_len, dim)
        self.pe[:, 0::2] = torch.sin(position * div)
        self.pe[:, 1::2] = torch.cos(position * div)

    def watch(self, fn):
        self.handles.append(self.attn.register_forward_hook(fn))

    def forward(self, x):
        n = x.shape[1]
        x = x + self.pe[:n]
        out, _ = self.attn(x, x, x, attn_mask=self.mask[:n, :n])
        return out


model = TinyTransformer(16, 32)
opt = torch.optim.Adam(model.parameters())
