import torch
import torch.nn as nn

gru = nn.GRU(3, 8, batch_first=True)
y, _ = gru(torch.randn(2, 5, 3))
y.retain_grad()
y[:, -1].sum().backward()
print(torch.allclose(y.grad[:, -1], torch.ones(2, 8)))
