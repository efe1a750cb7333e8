import torch
import torch.nn as nn

lstm = nn.LSTM(2, 4, batch_first=True)
y, _ = lstm(torch.randn(1, 9, 2))
y.retain_grad()
weights = torch.linspace(0.1, 1.0, 9).view(1, 9, 1)
(y * weights).sum().backward()
print(y.grad[:, :-1].abs().mean())
