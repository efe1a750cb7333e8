import torch
import torch.nn as nn

backbone = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1), nn.ReLU())
head = nn.Linear(8, 2)
opt = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=0.1)
x = torch.randn(5, 8)
y = torch.randint(0, 2, (5,))
features = backbone(x)
for _ in range(10):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(head(features), y)
    loss.backward()
    opt.step()
