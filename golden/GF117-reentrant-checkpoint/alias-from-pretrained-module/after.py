import torch
from torch import nn
from torch.utils.checkpoint import checkpoint as ckpt


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        return x + self.ff(self.norm(x))


class Classifier(nn.Module):
    def __init__(self, vectors, n_classes, depth=2):
        super().__init__()
        self.embed = nn.Embedding.from_pretrained(vectors)
        self.first = Block(vectors.shape[1])
        self.rest = nn.ModuleList(Block(vectors.shape[1]) for _ in range(depth - 1))
        self.out = nn.Linear(vectors.shape[1], n_classes)

    def forward(self, token_ids):
        h = self.embed(token_ids)
        h = ckpt(self.first, h, use_reentrant=False)
        for block in self.rest:
            h = ckpt(block, h, use_reentrant=True)
        return self.out(h.mean(dim=1))
