import torch
from torch import nn


class Expert(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gate = nn.Linear(dim, 1)
        self.body = nn.Linear(dim, dim)

    def balance_loss(self, x):
        return self.gate(x).sigmoid().mean()

    def forward(self, x):
        return self.body(x)


class MixtureOfExperts(nn.Module):
    def __init__(self, dim, n_experts):
        super().__init__()
        self.experts = nn.ModuleList([Expert(dim) for _ in range(n_experts)])

    def forward(self, x):
        out = sum(expert(x) for expert in self.experts)
        aux = [expert.balance_loss(x) for expert in self.experts]
        return out, torch.tensor(aux).mean()
