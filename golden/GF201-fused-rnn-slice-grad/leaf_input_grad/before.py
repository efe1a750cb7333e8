import torch
import torch.nn as nn

gru = nn.GRU(3, 8, batch_first=True)
x = torch.randn(2, 10, 3).requires_grad_()
y, _ = gru(x)
y[:, -1].sum().backward()
print(x.grad[:, :-1].abs().sum(dim=-1))
