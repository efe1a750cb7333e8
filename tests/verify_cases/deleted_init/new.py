"""Control: the post's own seed-000 fix deletes the declarations and their init draws."""
import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x, alpha):
        self.alpha = alpha
        return x * torch.sigmoid(self.alpha)


gate = Gate(4)
ctrl = nn.Linear(2, 4)
x = torch.randn(3, 4)
out = gate(x, ctrl(torch.randn(2)))
out.sum().backward()
