"""Control: the post's own seed-000 fix deletes the declarations and their init draws."""
import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.alpha = nn.Parameter(torch.empty(n))
        nn.init.normal_(self.alpha, std=0.1)

    def forward(self, x, alpha):
        self.alpha.data = alpha
        return x * torch.sigmoid(self.alpha)


gate = Gate(4)
ctrl = nn.Linear(2, 4)
x = torch.randn(3, 4)
out = gate(x, ctrl(torch.randn(2)))
out.sum().backward()
