import torch
import torch.nn as nn
from torch.distributions import Bernoulli, Categorical, Poisson


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = nn.Linear(4, 3)

    def forward(self, x):
        mask = Bernoulli(logits=self.logits(x)).sample()
        choice = Categorical(logits=self.logits(x)).sample()
        counts = Poisson(self.logits(x).exp()).sample()
        return x[:, :3] * mask + counts, choice
