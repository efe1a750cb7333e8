import math

import torch
from torch import nn
import torch.nn.functional as F


class ContrastiveHead(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.logit_scale = torch.full((), math.log(1 / 0.07)).requires_grad_()

    def forward(self, image, text):
        image = F.normalize(self.proj(image), dim=-1)
        text = F.normalize(text, dim=-1)
        logits = self.logit_scale.exp() * image @ text.t()
        labels = torch.arange(len(logits))
        return F.cross_entropy(logits, labels)
