from torch import nn


class Tower(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.net = nn.Sequential(*self.layers)

    def forward(self, x):
        return self.net(x)


class Stack(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.blocks = []
        for i in range(n):
            block = nn.Linear(d, d)
            self.add_module(f"block{i}", block)
            self.blocks.append(block)

    def forward(self, x):
        for block in self.blocks:
            x = block(x).relu()
        return x
