from torch import nn


class Adapter(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.down = nn.Linear(dim, dim // 4)
        self.up = nn.Linear(dim // 4, dim)

    def freeze(self):
        self.requires_grad = False

    def forward(self, x):
        return x + self.up(self.down(x).relu())
