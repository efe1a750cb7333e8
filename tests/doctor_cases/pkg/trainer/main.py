"""Run as `python -m trainer.main`: trains one step, then fails on its data."""
import torch

from trainer.model import Net


class Trainer:
    def __init__(self):
        self.model = Net()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)

    def step(self, x):
        self.opt.zero_grad()
        loss = self.model(x).pow(2).mean()
        loss.backward()
        self.opt.step()


trainer = Trainer()
trainer.step(torch.randn(3, 4))
raise ValueError("no more batches")
