import torch
from torch import nn


class LowRank(nn.Module):
    def __init__(self, n, r):
        super().__init__()
        self.down = nn.Parameter(torch.zeros(r, n, dtype=torch.float16))
        self.up = nn.Parameter(torch.zeros(n, r, dtype=torch.float16))

    def delta(self, upcast):
        down, up = self.down, self.up
        if upcast:
            down = down.float()
        product = up.float() @ down
        if upcast:
            self.down.data = down.to(torch.float16)
        return product
