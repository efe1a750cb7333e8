import torch
from torch import nn
import torch.nn.functional as F

encoder = nn.GRU(8, 16, batch_first=True)
heads = nn.ModuleList([nn.Linear(16, 1) for _ in range(3)])
params = list(encoder.parameters()) + list(heads.parameters())
optimizer = torch.optim.Adam(params, lr=1e-3)


def train_step(batch, targets):
    _, hidden = encoder(batch)
    features = hidden[-1]
    total_loss = 0.0
    for head, target in zip(heads, targets):
        total_loss += F.mse_loss(head(features), target)
    loss = total_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


for step in range(3):
    batch = torch.randn(4, 5, 8)
    print(train_step(batch, [torch.randn(4, 1) for _ in range(3)]))
