import torch
from torch import nn


class Critic(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.hidden = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])])
        self.out = nn.Linear(dims[-1], 1)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.orthogonal_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, state):
        for layer in self.hidden:
            state = torch.relu(layer(state))
        return self.out(state)
