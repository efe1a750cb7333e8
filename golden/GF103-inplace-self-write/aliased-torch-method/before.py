import torch as T
from torch import nn


class Balance(nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(T.zeros(3))

    def forward(self):
        p = T.softmax(self.logits, 0)
        p[2] = T.log(p[0] + p[1])
        return p
