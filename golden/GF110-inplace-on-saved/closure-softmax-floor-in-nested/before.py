import torch
from torch import nn


class Scorer(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.query = nn.Linear(dim, dim)

    def forward(self, tokens):
        attn = torch.softmax(self.query(tokens) @ tokens.transpose(-2, -1), dim=-1)

        def drop_small(floor):
            attn.masked_fill_(attn < floor, 0.0)

        drop_small(1e-2)
        return attn @ tokens


model = Scorer(8)
out = model(torch.randn(2, 5, 8))
out.sum().backward()
