import torch
from torch import nn


class Experiment:
    """Not a module: `forward` here is one step of an experiment runner."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, batch):
        model = nn.Linear(self.dim, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = model(batch).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return model


print(Experiment(3).forward(torch.randn(4, 3)))
