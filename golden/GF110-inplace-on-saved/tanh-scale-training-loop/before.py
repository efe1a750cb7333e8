import torch
from torch import nn

torch.manual_seed(0)
policy = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
max_action = 2.0

for step in range(3):
    states = torch.randn(8, 3)
    actions = torch.tanh(policy(states))
    actions *= max_action
    loss = (actions ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
