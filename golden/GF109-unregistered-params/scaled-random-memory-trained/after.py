import torch
from torch import nn


class SlotReader(nn.Module):
    def __init__(self, slots, dim):
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.slots = nn.Parameter(0.1 * torch.randn(slots, dim))

    def forward(self, x):
        attn = torch.softmax(self.query(x) @ self.slots.t(), dim=-1)
        return attn @ self.slots


model = SlotReader(16, 8)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    loss = model(torch.randn(4, 8)).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
