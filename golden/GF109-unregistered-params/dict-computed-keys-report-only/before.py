from torch import nn


class Heads(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        self.heads = {}
        for t in tasks:
            self.heads[t] = nn.Linear(4, 1)

    def forward(self, x):
        return {t: h(x) for t, h in self.heads.items()}
