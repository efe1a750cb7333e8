"""Summary statistics packed with torch.tensor([...]) lose the graph (seed 003, P4 shape)."""
import torch
import torch.nn as nn


class StatsHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def features(self, x):
        h = self.proj(x)
        return torch.tensor([h.mean(), h.std(), torch.sigmoid(h).max()])


def main():
    head = StatsHead()
    x = torch.randn(16, 4)
    target = torch.tensor([0.0, 1.0, 0.5])
    loss = ((head.features(x) - target) ** 2).sum()
    loss.backward()
    print("loss", loss.item(), head.proj.weight.grad)


main()
