import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)


class MemoryBank(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.encoder = nn.Linear(d, d)
        self.keys = nn.Parameter(torch.randn(n, d))

    def forward(self, x):
        q = self.encoder(x)
        attn = F.softmax(q @ self.keys.t(), dim=-1)
        return attn @ self.keys


model = MemoryBank(16, 8)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(10):
    x = torch.randn(4, 8)
    loss = (model(x) - x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
