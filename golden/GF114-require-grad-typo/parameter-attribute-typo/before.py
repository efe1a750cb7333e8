import torch
from torch import nn


class PatchEmbed(nn.Module):
    def __init__(self, num_patches, dim):
        super().__init__()
        self.proj = nn.Linear(48, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))
        self.pos_embed.require_grad = False

    def forward(self, patches):
        return self.proj(patches) + self.pos_embed
