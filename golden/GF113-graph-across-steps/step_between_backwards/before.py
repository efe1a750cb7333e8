import torch
import torch.nn as nn

torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6))
head_a, head_b = nn.Linear(6, 1), nn.Linear(6, 1)
opt_a = torch.optim.SGD(list(backbone.parameters()) + list(head_a.parameters()), lr=0.01)
opt_b = torch.optim.SGD(head_b.parameters(), lr=0.01)

for step in range(100):
    x = torch.randn(16, 6)
    features = backbone(x)
    loss_a = head_a(features).pow(2).mean()
    loss_b = (head_b(features) - 1).abs().mean()
    opt_a.zero_grad()
    loss_a.backward(retain_graph=True)
    opt_a.step()
    opt_b.zero_grad()
    loss_b.backward()
    opt_b.step()
