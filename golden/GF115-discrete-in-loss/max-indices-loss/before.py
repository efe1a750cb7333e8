import torch
from torch import nn


class Ranker(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.score = nn.Linear(d, k)

    def forward(self, x):
        return self.score(x)


model = Ranker(16, 10)
optimizer = torch.optim.Adam(model.parameters())
criterion = nn.L1Loss()
for x, best in [(torch.randn(8, 16), torch.randint(0, 10, (8,)))]:
    _, position = model(x).max(1)
    loss = criterion(position.float(), best.float())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
